//! `tollgate keys new`: a fresh virtual key, shown once, and the config entry that
//! admits it. The gateway stores only the `sha256:` hash, so the printed key is the
//! only copy: nothing is written to disk.

use std::io::Read;

use base64::Engine;

use crate::policy::keys::hash_key;

/// Prefix of generated keys: tells a tollgate key apart in a secret scanner or a log.
pub const KEY_PREFIX: &str = "tg-";

/// Bytes of randomness in a key (256 bits).
const KEY_BYTES: usize = 32;

/// A new key: [`KEY_PREFIX`] + 32 bytes of the kernel's CSPRNG, base64url.
pub fn new_key() -> std::io::Result<String> {
    let mut bytes = [0u8; KEY_BYTES];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(format!(
        "{KEY_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// What `keys new` prints: the key, then a `keys:` entry to paste into the config.
pub fn render(key: &str, name: Option<&str>) -> String {
    let name = name.unwrap_or("new-key");
    format!(
        "key: {key}\n\
         # Shown only now: give the key to its user; the config keeps only its hash.\n\
         keys:\n  - name: {name}\n    hash: \"{hash}\"\n",
        hash = hash_key(key)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_fresh_and_urlsafe() {
        let a = new_key().unwrap();
        let b = new_key().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(KEY_PREFIX));
        assert_eq!(a.len(), KEY_PREFIX.len() + 43);
        assert!(a[KEY_PREFIX.len()..]
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }

    #[test]
    fn printed_hash_is_the_one_the_gateway_checks() {
        let text = render("tg-abc", Some("ci"));
        assert!(text.contains("key: tg-abc\n"));
        assert!(text.contains("name: ci\n"));
        assert!(text.contains(&format!("hash: \"{}\"", hash_key("tg-abc"))));
    }
}
