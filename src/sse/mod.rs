//! Server-sent events framing: an incremental decoder and encoder helpers.
//!
//! This module knows nothing of LLMs. The decoder follows the WHATWG event-stream
//! parsing rules (<https://html.spec.whatwg.org/multipage/server-sent-events.html>):
//! `\n`, `\r\n` and `\r` line endings, events split at any byte across chunks,
//! `event:` / `data:` / `id:` fields, comment lines, multi-line data joined with `\n`.
//! It bounds the size of one event so that a hostile or broken upstream cannot make
//! it grow without limit.

mod decoder;
mod encoder;

pub use decoder::{SseDecoder, SseError, SseEvent, SseEventRef, DEFAULT_MAX_EVENT_SIZE};
pub use encoder::{write_comment, write_data, write_event};
