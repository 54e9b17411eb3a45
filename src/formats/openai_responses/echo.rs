//! The request parameters a Response object repeats (`instructions`, `tools`,
//! `temperature`, `store`, `previous_response_id`, ...): read once from the client's
//! request, set in every Response object tollgate writes for it — the whole answer,
//! and the objects of `response.created`, `.in_progress` and `.completed`.

use serde::Deserialize;
use serde_json::{Map, Value};

/// The echoed fields of a request body (absent ones keep the writer's defaults).
#[derive(Deserialize, Default)]
struct Echoed {
    instructions: Option<Value>,
    max_output_tokens: Option<Value>,
    metadata: Option<Value>,
    parallel_tool_calls: Option<Value>,
    previous_response_id: Option<Value>,
    reasoning: Option<Value>,
    temperature: Option<Value>,
    text: Option<Value>,
    tool_choice: Option<Value>,
    tools: Option<Value>,
    top_p: Option<Value>,
}

/// The fields to echo for a request body; `stored` is whether its answer is kept.
pub(crate) fn read(body: &[u8], stored: bool) -> Map<String, Value> {
    let e: Echoed = serde_json::from_slice(body).unwrap_or_default();
    let fields = [
        ("instructions", e.instructions),
        ("max_output_tokens", e.max_output_tokens),
        ("metadata", e.metadata),
        ("parallel_tool_calls", e.parallel_tool_calls),
        ("previous_response_id", e.previous_response_id),
        ("reasoning", e.reasoning),
        ("temperature", e.temperature),
        ("text", e.text),
        ("tool_choice", e.tool_choice),
        ("tools", e.tools),
        ("top_p", e.top_p),
    ];
    let mut map: Map<String, Value> = fields
        .into_iter()
        .filter_map(|(k, v)| v.filter(|v| !v.is_null()).map(|v| (k.to_string(), v)))
        .collect();
    map.insert("store".to_string(), Value::Bool(stored));
    map
}

/// Sets the echoed fields in a Response object.
pub(crate) fn apply(response: &mut Value, echo: &Map<String, Value>) {
    if !response.is_object() {
        return;
    }
    for (k, v) in echo {
        response[k.as_str()] = v.clone();
    }
}

/// A whole Response body with the echoed fields set (unchanged if it does not read).
pub(crate) fn apply_to_body(body: Vec<u8>, echo: &Map<String, Value>) -> Vec<u8> {
    match serde_json::from_slice::<Value>(&body) {
        Ok(mut v) if v.get("object").and_then(Value::as_str) == Some("response") => {
            apply(&mut v, echo);
            serde_json::to_vec(&v).unwrap_or(body)
        }
        _ => body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_parameters_are_repeated_in_the_response() {
        let body = br#"{"model":"m","input":"x","instructions":"Be brief.","temperature":0.2,
            "tools":[{"type":"function","name":"f"}],"previous_response_id":"resp_1","top_p":null}"#;
        let echo = read(body, true);
        let out = apply_to_body(
            br#"{"object":"response","id":"resp_2","store":false,"top_p":null,"instructions":null}"#
                .to_vec(),
            &echo,
        );
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["instructions"], "Be brief.");
        assert_eq!(v["temperature"], 0.2);
        assert_eq!(v["tools"][0]["name"], "f");
        assert_eq!(v["previous_response_id"], "resp_1");
        assert_eq!(v["store"], true);
        assert_eq!(v["top_p"], Value::Null);
        assert_eq!(v["id"], "resp_2");
        // Not a Response (an error body): untouched.
        let err = br#"{"error":{"message":"x"}}"#.to_vec();
        assert_eq!(apply_to_body(err.clone(), &echo), err);
        assert_eq!(
            read(b"{}", false),
            json!({"store": false}).as_object().unwrap().clone()
        );
    }
}
