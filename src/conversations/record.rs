//! What is kept per response id: a translated turn (the input items it sent and the
//! Response object answered) or, for an answer that a Responses provider produced
//! itself, the target that holds the conversation.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One stored response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Record {
    /// Answered through translation: tollgate holds the whole conversation.
    Stored {
        /// Every input item of this turn: the chain's earlier items, then its own.
        input: Vec<Value>,
        /// The Response object as the client received it.
        response: Value,
    },
    /// Answered by a provider that serves the Responses API: follow-ups go there.
    Pinned { provider: String, model: String },
}

impl Record {
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// `None` for a document that is not a record (another version, damage).
    pub fn from_bytes(bytes: &[u8]) -> Option<Record> {
        serde_json::from_slice(bytes).ok()
    }

    /// The conversation to continue from a stored turn: its input, then its output.
    pub fn history(&self) -> Option<Vec<Value>> {
        let Record::Stored { input, response } = self else {
            return None;
        };
        let mut items = input.clone();
        if let Some(output) = response.get("output").and_then(Value::as_array) {
            items.extend(output.iter().cloned());
        }
        Some(items)
    }
}

/// The `input` of a request as a list of items: a string is one user message.
pub fn input_items(input: Option<Value>) -> Vec<Value> {
    match input {
        Some(Value::Array(items)) => items,
        Some(Value::String(text)) => vec![serde_json::json!({
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": text}],
        })],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn history_is_input_then_output_and_records_round_trip() {
        let r = Record::Stored {
            input: input_items(Some(json!("hi"))),
            response: json!({"id": "resp_1", "output": [{"type": "message", "role": "assistant"}]}),
        };
        let back = Record::from_bytes(&r.to_bytes()).unwrap();
        assert_eq!(back, r);
        let h = back.history().unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!(h[0]["content"][0]["text"], "hi");
        assert_eq!(h[1]["role"], "assistant");
        let p = Record::Pinned {
            provider: "p".into(),
            model: "m".into(),
        };
        assert_eq!(Record::from_bytes(&p.to_bytes()), Some(p.clone()));
        assert_eq!(p.history(), None);
        assert_eq!(Record::from_bytes(b"{\"x\":1}"), None);
    }
}
