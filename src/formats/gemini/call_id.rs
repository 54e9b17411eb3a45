//! Tool-call ids for Gemini, which pairs calls and results by function name and
//! sends no call ids (or, on some models, ids of its own).
//!
//! Clients need an id per call, unique across the conversation (agents key their
//! state on it), so a call is named after its response: `call_<response id>_<n>`.
//!
//! Gemini 3 also attaches a `thoughtSignature` to function calls and rejects the next
//! request (4xx) unless the signature comes back on the same call
//! (<https://ai.google.dev/gemini-api/docs/thought-signatures>). The canonical model
//! has no place for it, and OpenAI clients drop anything but the call, so the
//! signature rides inside the id (`<id>__thought__<signature>`), the one field every
//! client returns verbatim. It is written in URL-safe base64 without padding so the id
//! stays within `[A-Za-z0-9_-]`, which Anthropic requires of tool-use ids, and is
//! turned back into standard base64 when the request is written.

use std::borrow::Cow;

/// Between the call id and the embedded signature.
const SEPARATOR: &str = "__thought__";

/// What Google documents for a call Gemini did not produce (another provider's turn,
/// a signature lost on the way): the request then passes validation.
pub(crate) const FOREIGN_SIGNATURE: &str = "skip_thought_signature_validator";

/// The client-facing id of the `n`th call of the response `response_id`.
pub(crate) fn encode(
    response_id: &str,
    n: u32,
    upstream_id: Option<&str>,
    signature: Option<&str>,
) -> String {
    let mut id = match upstream_id.filter(|i| !i.is_empty()) {
        Some(i) => i.to_owned(),
        None => {
            // Only alphanumerics, so the id can never contain the separator.
            let rid: String = response_id
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect();
            format!("call_{rid}_{n}")
        }
    };
    if let Some(sig) = signature.filter(|s| !s.is_empty()) {
        id.push_str(SEPARATOR);
        id.extend(sig.chars().filter(|c| *c != '=').map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        }));
    }
    id
}

/// The thought signature carried by a client's tool-call id, in standard base64.
pub(crate) fn signature(id: &str) -> Option<Cow<'_, str>> {
    let (_, sig) = id.split_once(SEPARATOR)?;
    if sig.is_empty() {
        return None;
    }
    if !sig.contains(['-', '_']) && sig.len().is_multiple_of(4) {
        return Some(Cow::Borrowed(sig));
    }
    let mut out: String = sig
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    Some(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_the_response() {
        assert_eq!(
            encode("tTCwacuEBM-x_y", 2, None, None),
            "call_tTCwacuEBMxy_2"
        );
        assert_eq!(encode("r", 0, Some("fc_1"), None), "fc_1");
        assert_eq!(encode("r", 0, Some(""), None), "call_r_0");
        assert_eq!(signature("call_r_0"), None);
    }

    #[test]
    fn signature_round_trips_through_a_safe_id() {
        let sig = "AY89a18iOcFus5wr5bW5xN6zZ4aUiCyhgmg6HE2YjtYDV/dwZ5oZlZHeTmiUKv34qq0=";
        let id = encode("resp", 1, None, Some(sig));
        assert!(id.starts_with("call_resp_1__thought__"));
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
        assert_eq!(signature(&id).as_deref(), Some(sig));
        // Already padded standard base64 comes back borrowed.
        let plain = encode("resp", 1, None, Some("AAAA"));
        assert!(matches!(signature(&plain), Some(Cow::Borrowed("AAAA"))));
        assert_eq!(signature("x__thought__"), None);
    }
}
