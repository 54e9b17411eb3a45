//! `GET /v1/responses/{id}/input_items` of a stored response: the items the model was
//! given for that turn (the chain's earlier items, then the turn's own), as OpenAI's
//! cursor-paged list (`object: "list"`, `data`, `first_id`, `last_id`, `has_more`)
//! with the reference's `limit` (1–100, default 20), `order` (`asc` | `desc`, default
//! `desc`) and `after` (an item id) query parameters.

use serde_json::{json, Value};

use crate::error::{ErrorKind, GatewayError};

/// The page of `items` the query asks for. Items the client sent without an `id` get
/// one derived from the response id and their position, so paging is stable.
pub fn page(response_id: &str, items: &[Value], query: &str) -> Result<Value, GatewayError> {
    let q = Query::parse(query)?;
    let mut listed: Vec<Value> = items
        .iter()
        .enumerate()
        .map(|(i, item)| with_id(response_id, i, item))
        .collect();
    if q.descending {
        listed.reverse();
    }
    let start = match &q.after {
        Some(after) => listed
            .iter()
            .position(|item| item["id"] == after.as_str())
            .map(|p| p + 1)
            .ok_or_else(|| invalid("after", format!("No input item with id '{after}'.")))?,
        None => 0,
    };
    let rest = &listed[start..];
    let data: Vec<Value> = rest.iter().take(q.limit).cloned().collect();
    Ok(json!({
        "object": "list",
        "first_id": data.first().map(|i| i["id"].clone()),
        "last_id": data.last().map(|i| i["id"].clone()),
        "has_more": rest.len() > data.len(),
        "data": data,
    }))
}

/// The item with an `id`: its own, or `<prefix>_<response id>_<position>`.
fn with_id(response_id: &str, position: usize, item: &Value) -> Value {
    if item.get("id").and_then(Value::as_str).is_some() {
        return item.clone();
    }
    let prefix = match item.get("type").and_then(Value::as_str) {
        Some("function_call") => "fc",
        Some("function_call_output") => "fco",
        Some("reasoning") => "rs",
        _ => "msg",
    };
    let bare = response_id.strip_prefix("resp_").unwrap_or(response_id);
    let mut item = item.clone();
    if let Some(fields) = item.as_object_mut() {
        fields.insert("id".into(), json!(format!("{prefix}_{bare}_{position}")));
    }
    item
}

struct Query {
    limit: usize,
    descending: bool,
    after: Option<String>,
}

impl Query {
    /// The reference's parameters; `include` and unknown ones are ignored.
    fn parse(query: &str) -> Result<Query, GatewayError> {
        let mut q = Query {
            limit: 20,
            descending: true,
            after: None,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            match name {
                "limit" => q.limit = limit(value)?,
                "order" => q.descending = descending(value)?,
                "after" if !value.is_empty() => q.after = Some(value.to_string()),
                _ => {}
            }
        }
        Ok(q)
    }
}

fn limit(value: &str) -> Result<usize, GatewayError> {
    match value.parse::<usize>() {
        Ok(n @ 1..=100) => Ok(n),
        _ => Err(invalid(
            "limit",
            format!("Invalid 'limit': {value:.32}. Expected an integer between 1 and 100."),
        )),
    }
}

fn descending(value: &str) -> Result<bool, GatewayError> {
    match value {
        "desc" => Ok(true),
        "asc" => Ok(false),
        _ => Err(invalid(
            "order",
            format!("Invalid 'order': {value:.32}. Expected 'asc' or 'desc'."),
        )),
    }
}

fn invalid(param: &str, message: String) -> GatewayError {
    GatewayError::new(ErrorKind::InvalidRequest, message).with_param(param)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: usize) -> Vec<Value> {
        (0..n)
            .map(|i| json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": format!("t{i}")}]}))
            .collect()
    }

    fn texts(page: &Value) -> Vec<String> {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["content"][0]["text"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn newest_first_by_default_with_the_reference_list_fields() {
        let p = page("resp_abc", &items(3), "").unwrap();
        assert_eq!(texts(&p), ["t2", "t1", "t0"]);
        assert_eq!(p["object"], "list");
        assert_eq!(p["has_more"], false);
        assert_eq!(p["first_id"], "msg_abc_2");
        assert_eq!(p["last_id"], "msg_abc_0");
    }

    #[test]
    fn pages_follow_after_in_either_order() {
        let all = items(5);
        let first = page("resp_r", &all, "order=asc&limit=2").unwrap();
        assert_eq!(texts(&first), ["t0", "t1"]);
        assert_eq!(first["has_more"], true);
        let after = first["last_id"].as_str().unwrap();
        let second = page("resp_r", &all, &format!("order=asc&limit=2&after={after}")).unwrap();
        assert_eq!(texts(&second), ["t2", "t3"]);
        let last = page("resp_r", &all, "order=asc&limit=2&after=msg_r_3").unwrap();
        assert_eq!(texts(&last), ["t4"]);
        assert_eq!(last["has_more"], false);
        let desc = page("resp_r", &all, "limit=2&after=msg_r_3").unwrap();
        assert_eq!(texts(&desc), ["t2", "t1"]);
    }

    #[test]
    fn own_ids_are_kept_and_bad_parameters_name_themselves() {
        let own = vec![
            json!({"type": "function_call_output", "id": "fco_1", "call_id": "c", "output": "x"}),
            json!({"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}),
        ];
        let p = page("resp_q", &own, "order=asc").unwrap();
        assert_eq!(p["data"][0]["id"], "fco_1");
        assert_eq!(p["data"][1]["id"], "fc_q_1");
        for (query, param) in [
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("limit=x", "limit"),
            ("order=up", "order"),
            ("after=nope", "after"),
        ] {
            let err = page("resp_q", &own, query).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidRequest, "{query}");
            assert_eq!(err.param.as_deref(), Some(param), "{query}");
        }
        let empty = page("resp_q", &[], "").unwrap();
        assert_eq!(empty["data"], json!([]));
        assert_eq!(empty["first_id"], Value::Null);
    }
}
