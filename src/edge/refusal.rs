//! The answers the edge writes itself, before Pingora parsed a request: a refused
//! connection, a header that came too slowly or too large. Raw HTTP/1.1 with
//! `connection: close`, the body in the dialect the request line names when known.

use std::time::Duration;

use pingora::protocols::Stream;
use tokio::io::AsyncWriteExt;

/// Answer a connection over a cap with a 503 and close it gracefully: the write side
/// first, then whatever the client already sent is read and dropped (briefly), so that
/// the close does not reset the connection before the client read the answer.
pub(super) async fn refuse(mut session: Stream) {
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        let _ = session
            .write_all(&refusal(
                503,
                "overloaded",
                "too many connections; retry shortly",
            ))
            .await;
        let _ = session.flush().await;
        let _ = session.shutdown().await;
        let mut sink = [0u8; 4096];
        let mut left: usize = 64 * 1024;
        while left > 0 {
            match tokio::io::AsyncReadExt::read(&mut session, &mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    })
    .await;
}

/// A complete error response that closes the connection. The body is in OpenAI's
/// shape: the dialect is not known before a request line was read.
pub(super) fn refusal(status: u16, kind: &str, message: &str) -> Vec<u8> {
    let body = serde_json::json!({"error": {"message": message, "type": kind, "param": null, "code": null}});
    respond_raw(status, body, true)
}

/// An error response in the dialect named by a request line (`/v1/messages` is
/// Anthropic's, `/v1beta/...` Google's).
pub(super) fn dialect_refusal(
    status: u16,
    request_line: &[u8],
    kind: &str,
    message: &str,
) -> Vec<u8> {
    let anthropic = request_line.windows(9).any(|w| w == b"/messages");
    let google = request_line.windows(8).any(|w| w == b"/v1beta/");
    let body = if anthropic {
        serde_json::json!({"type": "error", "error": {"type": kind, "message": message}})
    } else if google {
        let name = crate::formats::google_status_name(status);
        serde_json::json!({"error": {"code": status, "message": message, "status": name}})
    } else {
        serde_json::json!({"error": {"message": message, "type": kind, "param": null, "code": null}})
    };
    respond_raw(status, body, status == 503)
}

pub(super) fn respond_raw(status: u16, body: serde_json::Value, retry: bool) -> Vec<u8> {
    let reason = match status {
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        _ => "Service Unavailable",
    };
    let body = body.to_string();
    let retry_after = if retry { "retry-after: 1\r\n" } else { "" };
    format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{retry_after}connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
