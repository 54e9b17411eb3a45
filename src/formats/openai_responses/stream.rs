//! Canonical stream events → the Responses event sequence:
//! `response.created`, `response.in_progress`, then per output item
//! `response.output_item.added`, its part and delta events and
//! `response.output_item.done`, and finally `response.completed` (or
//! `response.incomplete`) carrying the whole Response with usage. Every event has
//! the next `sequence_number`, from 0. An upstream failure ends the stream with
//! `response.failed` and an `error` event (the SDKs raise on the latter).
//!
//! The encoder keeps each item's text until it closes, because the `.done` events and
//! the final Response repeat it whole (the format asks for it).

use serde_json::{json, Value};

use super::response::*;
use crate::error::GatewayError;
use crate::formats::openai_chat;
use crate::formats::stream::Encoder;
use crate::model::{merge_usage, FinishReason, StreamEvent, Usage};

/// Canonical events → Responses events for the client.
pub(crate) struct ResponsesEncoder {
    public_model: String,
    id: String,
    created: u64,
    seq: u64,
    started: bool,
    /// Items closed so far, as they appear in the final Response.
    done_items: Vec<Value>,
    /// Items still receiving deltas, by canonical block index.
    open: Vec<OpenItem>,
    usage: Usage,
    finish: Option<FinishReason>,
    /// Request parameters every Response object repeats.
    echo: serde_json::Map<String, Value>,
}

/// An output item being streamed.
struct OpenItem {
    block: u32,
    output_index: usize,
    item_id: String,
    kind: OpenKind,
    /// Text, reasoning text or call arguments so far.
    text: String,
}

enum OpenKind {
    Message,
    Reasoning { signature: Option<String> },
    Call { call_id: String, name: String },
}

impl ResponsesEncoder {
    pub(crate) fn new(public_model: &str) -> Self {
        ResponsesEncoder {
            public_model: public_model.to_string(),
            id: String::new(),
            created: openai_chat::response::now(),
            seq: 0,
            started: false,
            done_items: Vec::new(),
            open: Vec::new(),
            usage: Usage::default(),
            finish: None,
            echo: serde_json::Map::new(),
        }
    }

    /// Write one event with its type and the next sequence number.
    fn emit(&mut self, kind: &str, mut body: Value, out: &mut Vec<u8>) {
        body["type"] = json!(kind);
        body["sequence_number"] = json!(self.seq);
        self.seq += 1;
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(b"\ndata: ");
        out.extend_from_slice(body.to_string().as_bytes());
        out.extend_from_slice(b"\n\n");
    }

    fn response(&self, status: Status, output: Vec<Value>, usage: Option<&Usage>) -> Value {
        let mut r = response_object(
            &self.id,
            &self.public_model,
            self.created,
            status,
            output,
            usage,
        );
        super::echo::apply(&mut r, &self.echo);
        r
    }

    fn start(&mut self, upstream_id: &str, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        self.id = response_id(upstream_id);
        let r = self.response(Status::InProgress, Vec::new(), None);
        self.emit("response.created", json!({ "response": r }), out);
        self.emit("response.in_progress", json!({ "response": r }), out);
    }

    fn next_output_index(&self) -> usize {
        self.done_items.len() + self.open.len()
    }

    /// The open item of `block`, opening it with `kind` when it is new.
    fn item(&mut self, block: u32, kind: impl FnOnce() -> OpenKind, out: &mut Vec<u8>) -> usize {
        if let Some(pos) = self.open.iter().position(|o| o.block == block) {
            return pos;
        }
        self.start("", out);
        let output_index = self.next_output_index();
        let kind = kind();
        let item_id = match &kind {
            OpenKind::Message => format!("{}_{output_index}", message_id(&self.id)),
            OpenKind::Reasoning { .. } => {
                format!("rs_{}_{output_index}", self.id.trim_start_matches("resp_"))
            }
            OpenKind::Call { call_id, .. } => function_call_item(call_id, "", "", "")["id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        };
        let item = match &kind {
            OpenKind::Message => {
                json!({"type": "message", "id": item_id, "status": "in_progress", "role": "assistant", "content": []})
            }
            OpenKind::Reasoning { .. } => {
                json!({"type": "reasoning", "id": item_id, "summary": []})
            }
            OpenKind::Call { call_id, name } => {
                function_call_item(call_id, name, "", "in_progress")
            }
        };
        self.emit(
            "response.output_item.added",
            json!({"output_index": output_index, "item": item}),
            out,
        );
        match &kind {
            OpenKind::Message => self.emit(
                "response.content_part.added",
                json!({"item_id": item_id, "output_index": output_index, "content_index": 0, "part": output_text_part("")}),
                out,
            ),
            OpenKind::Reasoning { .. } => self.emit(
                "response.reasoning_summary_part.added",
                json!({"item_id": item_id, "output_index": output_index, "summary_index": 0, "part": {"type": "summary_text", "text": ""}}),
                out,
            ),
            OpenKind::Call { .. } => {}
        }
        self.open.push(OpenItem {
            block,
            output_index,
            item_id,
            kind,
            text: String::new(),
        });
        self.open.len() - 1
    }

    fn text(&mut self, block: u32, text: &str, out: &mut Vec<u8>) {
        let pos = self.item(block, || OpenKind::Message, out);
        let o = &mut self.open[pos];
        o.text.push_str(text);
        let body = json!({"item_id": o.item_id, "output_index": o.output_index, "content_index": 0, "delta": text, "logprobs": []});
        self.emit("response.output_text.delta", body, out);
    }

    fn reasoning(&mut self, block: u32, text: &str, signature: Option<&str>, out: &mut Vec<u8>) {
        let pos = self.item(block, || OpenKind::Reasoning { signature: None }, out);
        let o = &mut self.open[pos];
        if let (OpenKind::Reasoning { signature: slot }, Some(s)) = (&mut o.kind, signature) {
            slot.get_or_insert_with(String::new).push_str(s);
        }
        if text.is_empty() {
            return;
        }
        o.text.push_str(text);
        let body = json!({"item_id": o.item_id, "output_index": o.output_index, "summary_index": 0, "delta": text});
        self.emit("response.reasoning_summary_text.delta", body, out);
    }

    fn call_args(&mut self, block: u32, fragment: &str, out: &mut Vec<u8>) {
        let Some(o) = self.open.iter_mut().find(|o| o.block == block) else {
            return;
        };
        o.text.push_str(fragment);
        let body = json!({"item_id": o.item_id, "output_index": o.output_index, "delta": fragment});
        self.emit("response.function_call_arguments.delta", body, out);
    }

    /// Close one open item: its `.done` events and `response.output_item.done`.
    fn close(&mut self, block: u32, out: &mut Vec<u8>) {
        let Some(pos) = self.open.iter().position(|o| o.block == block) else {
            return;
        };
        let o = self.open.remove(pos);
        let (id, index) = (o.item_id.as_str(), o.output_index);
        let item = match &o.kind {
            OpenKind::Message => {
                let body = json!({"item_id": id, "output_index": index, "content_index": 0, "text": o.text, "logprobs": []});
                self.emit("response.output_text.done", body, out);
                let body = json!({"item_id": id, "output_index": index, "content_index": 0, "part": output_text_part(&o.text)});
                self.emit("response.content_part.done", body, out);
                message_item(id, &o.text, None, "completed")
            }
            OpenKind::Reasoning { signature } => {
                let body = json!({"item_id": id, "output_index": index, "summary_index": 0, "text": o.text});
                self.emit("response.reasoning_summary_text.done", body, out);
                let body = json!({"item_id": id, "output_index": index, "summary_index": 0, "part": {"type": "summary_text", "text": o.text}});
                self.emit("response.reasoning_summary_part.done", body, out);
                reasoning_item(id, &o.text, signature.as_deref())
            }
            OpenKind::Call { call_id, name } => {
                let body = json!({"item_id": id, "output_index": index, "name": name, "arguments": o.text});
                self.emit("response.function_call_arguments.done", body, out);
                function_call_item(call_id, name, &o.text, "completed")
            }
        };
        self.emit(
            "response.output_item.done",
            json!({"output_index": index, "item": item}),
            out,
        );
        self.done_items.push(item);
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        self.start("", out);
        while let Some(block) = self.open.first().map(|o| o.block) {
            self.close(block, out);
        }
        let status = Status::of(self.finish.as_ref());
        let mut items = std::mem::take(&mut self.done_items);
        items.sort_by_key(|i| i["type"] == "function_call");
        let r = self.response(status, items, Some(&self.usage));
        let kind = match status {
            Status::Incomplete(_) => "response.incomplete",
            _ => "response.completed",
        };
        self.emit(kind, json!({ "response": r }), out);
    }

    fn fail(&mut self, e: &GatewayError, out: &mut Vec<u8>) {
        self.start("", out);
        let err = openai_chat::render::render_error(e);
        let detail = &err["error"];
        let items = std::mem::take(&mut self.done_items);
        let mut r = self.response(Status::Failed, items, Some(&self.usage));
        r["error"] = json!({"code": detail["code"].as_str().or(detail["type"].as_str()), "message": e.message});
        self.emit("response.failed", json!({ "response": r }), out);
        let body = json!({
            "code": detail["code"],
            "message": e.message,
            "param": detail["param"],
            "error": detail,
        });
        self.emit("error", body, out);
    }
}

impl Encoder for ResponsesEncoder {
    fn echo(&mut self, fields: &serde_json::Map<String, Value>) {
        self.echo = fields.clone();
    }

    fn encode(&mut self, event: StreamEvent<'_>, out: &mut Vec<u8>) {
        match event {
            StreamEvent::MessageStart { id, usage, .. } => {
                merge_usage(&mut self.usage, &usage);
                self.start(&id, out);
            }
            StreamEvent::TextDelta { index, text } => self.text(index, &text, out),
            StreamEvent::ReasoningDelta {
                index,
                text,
                signature,
            } => self.reasoning(index, &text, signature.as_deref(), out),
            StreamEvent::RedactedReasoning { index, data } => {
                self.reasoning(index, "", Some(&data), out)
            }
            StreamEvent::ToolCallStart { index, id, name } => {
                let kind = || OpenKind::Call {
                    call_id: id.to_string(),
                    name: name.to_string(),
                };
                self.item(index, kind, out);
            }
            StreamEvent::ToolCallArgsDelta {
                index,
                json_fragment,
            } => self.call_args(index, &json_fragment, out),
            StreamEvent::BlockStop { index } => self.close(index, out),
            StreamEvent::Usage(u) => merge_usage(&mut self.usage, &u),
            StreamEvent::Finish { reason, .. } => self.finish = Some(reason),
            StreamEvent::Done => self.finish(out),
            StreamEvent::Error(e) => self.fail(&e, out),
        }
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
