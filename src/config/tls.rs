//! A provider's own trusted CAs (`tls_ca_file`): for self-hosted servers (vLLM, Ollama
//! behind a proxy, an internal gateway) whose certificates come from a private CA.
//! Without it, upstream certificates are checked against the OS trust store.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use pingora::tls::{CertificateDer, RootCertStore};
use pingora::utils::tls::{parse_x509, WrappedX509};

/// Certificates trusted for one provider's endpoints, in the form Pingora's peer
/// options take (`HttpPeer::options.ca`).
#[derive(Clone)]
pub struct TrustedCa {
    pub certs: Arc<[WrappedX509]>,
    /// Where they came from (for `/admin/config` and errors).
    pub file: String,
}

impl fmt::Debug for TrustedCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TrustedCa({}, {} certificates)",
            self.file,
            self.certs.len()
        )
    }
}

impl PartialEq for TrustedCa {
    fn eq(&self, other: &Self) -> bool {
        self.certs.len() == other.certs.len()
            && self
                .certs
                .iter()
                .zip(other.certs.iter())
                .all(|(a, b)| a.borrow_raw_cert() == b.borrow_raw_cert())
    }
}

/// Read a PEM file of one or more CA certificates.
pub fn load_ca_file(file: &str) -> Result<TrustedCa, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?;
    let ders = pem_certificates(&text).map_err(|e| format!("{file}: {e}"))?;
    if ders.is_empty() {
        return Err(format!("{file}: no PEM certificate in the file"));
    }
    let mut check = RootCertStore::empty();
    for (i, der) in ders.iter().enumerate() {
        // Validates the DER for rustls, which will use it.
        check
            .add(CertificateDer::from(der.as_slice()))
            .map_err(|e| format!("{file}: certificate {}: {e}", i + 1))?;
    }
    let mut certs = Vec::with_capacity(ders.len());
    for (i, der) in ders.into_iter().enumerate() {
        // Pingora's parser (another X.509 parser than the check above) panics instead of
        // failing: a certificate both parsers do not agree on must not take the process
        // (or a config reload) down.
        let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            WrappedX509::new(der, parse_x509)
        }))
        .map_err(|_| format!("{file}: certificate {} cannot be parsed", i + 1))?;
        certs.push(parsed);
    }
    Ok(TrustedCa {
        certs: certs.into(),
        file: file.to_string(),
    })
}

/// The DER bytes of each `CERTIFICATE` block of a PEM text.
fn pem_certificates(text: &str) -> Result<Vec<Vec<u8>>, String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let body = &rest[start + BEGIN.len()..];
        let end = body
            .find(END)
            .ok_or_else(|| "a certificate block has no END line".to_string())?;
        let b64: String = body[..end].split_whitespace().collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| format!("certificate {} is not valid base64: {e}", out.len() + 1))?;
        out.push(der);
        rest = &body[end + END.len()..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls");

    #[test]
    fn loads_a_ca_file_and_compares_by_content() {
        let a = load_ca_file(&format!("{FIXTURES}/ca.pem")).unwrap();
        assert_eq!(a.certs.len(), 1);
        let again = load_ca_file(&format!("{FIXTURES}/ca.pem")).unwrap();
        assert_eq!(a, again);
        let other = load_ca_file(&format!("{FIXTURES}/other-ca.pem")).unwrap();
        assert_ne!(a, other);
    }

    #[test]
    fn bundles_keep_every_certificate() {
        let dir = std::env::temp_dir().join(format!("tollgate-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bundle = dir.join("bundle.pem");
        let text = std::fs::read_to_string(format!("{FIXTURES}/ca.pem")).unwrap()
            + &std::fs::read_to_string(format!("{FIXTURES}/other-ca.pem")).unwrap();
        std::fs::write(&bundle, text).unwrap();
        let ca = load_ca_file(bundle.to_str().unwrap()).unwrap();
        assert_eq!(ca.certs.len(), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_files_are_errors_not_panics() {
        assert!(load_ca_file("/nonexistent/ca.pem")
            .unwrap_err()
            .contains("cannot read"));
        let dir = std::env::temp_dir().join(format!("tollgate-badca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text, expected) in [
            ("empty.pem", "nothing here", "no PEM certificate"),
            (
                "open.pem",
                "-----BEGIN CERTIFICATE-----\nMIIB",
                "no END line",
            ),
            (
                "b64.pem",
                "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
                "not valid base64",
            ),
            (
                "der.pem",
                "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
                "certificate 1",
            ),
        ] {
            let file = dir.join(name);
            std::fs::write(&file, text).unwrap();
            let err = load_ca_file(file.to_str().unwrap()).unwrap_err();
            assert!(err.contains(expected), "{name}: {err}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
