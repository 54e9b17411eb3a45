//! What tollgate itself answers to Responses clients: errors in OpenAI's shape (the
//! SDK raises from `{"error":{...}}`), and the in-band stream error as the `error`
//! event the Responses stream defines.

use serde_json::{json, Value};

use crate::error::GatewayError;
use crate::formats::openai_chat;

/// The error body of `e`: OpenAI's.
pub(crate) fn render_error(e: &GatewayError) -> Value {
    openai_chat::render::render_error(e)
}

/// An `error` event for a stream that already started, outside the encoder (no
/// sequence number is known there).
pub(crate) fn error_event(e: &GatewayError) -> Vec<u8> {
    let err = render_error(e);
    let detail = &err["error"];
    let body = json!({
        "type": "error",
        "code": detail["code"],
        "message": detail["message"],
        "param": detail["param"],
        "error": detail,
    });
    format!("event: error\ndata: {body}\n\n").into_bytes()
}
