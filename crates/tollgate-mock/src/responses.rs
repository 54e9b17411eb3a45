//! OpenAI Responses answers (`POST /v1/responses`): the `response` object and its
//! numbered SSE event sequence.
//!
//! Shapes follow the API reference at platform.openai.com/docs/api-reference/responses
//! (the Response object with `output` items and `usage` with its details) and
//! responses-streaming (`response.created`, `response.in_progress`, per item
//! `response.output_item.added`, `response.content_part.added`, text or arguments
//! deltas and `.done` events, `response.output_item.done`, `response.completed`).
//! The mock keeps no state: `GET`/`DELETE /v1/responses/{id}` and `.../input_items`
//! answer for any id the mock could have issued (`resp_mock...`) and 404 otherwise.

use super::reply::{quote, EventKind, Gen, Reply, StreamPlan};

fn usage_json(g: &Gen) -> String {
    format!(
        r#"{{"input_tokens":{},"input_tokens_details":{{"cached_tokens":0}},"output_tokens":{},"output_tokens_details":{{"reasoning_tokens":0}},"total_tokens":{}}}"#,
        g.prompt_tokens,
        g.tokens,
        g.total_tokens()
    )
}

/// The output item, complete: one text message, or one function call when `g.tool`
/// is set.
fn item(g: &Gen, status: &str, text: &str, args: &str) -> String {
    match g.tool {
        Some(_) => format!(
            r#"{{"type":"function_call","id":"{}","call_id":"{}","name":{},"arguments":{},"status":"{status}"}}"#,
            g.id("fc_"),
            g.id("call_"),
            g.tool_json(),
            quote(args)
        ),
        None => {
            let content = if status == "in_progress" {
                String::new()
            } else {
                format!(
                    r#"{{"type":"output_text","text":{},"annotations":[]}}"#,
                    quote(text)
                )
            };
            format!(
                r#"{{"type":"message","id":"{}","status":"{status}","role":"assistant","content":[{content}]}}"#,
                g.id("msg_")
            )
        }
    }
}

fn response_json(g: &Gen, status: &str, output: &str, usage: &str) -> String {
    format!(
        r#"{{"id":"{}","object":"response","created_at":{},"status":"{status}","error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"model":{},"output":[{output}],"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{{"effort":null,"summary":null}},"store":true,"temperature":1.0,"text":{{"format":{{"type":"text"}}}},"tool_choice":"auto","tools":[],"top_p":1.0,"truncation":"disabled","usage":{usage},"user":null,"metadata":{{}}}}"#,
        g.id("resp_"),
        g.created,
        g.model_json()
    )
}

/// A non-stream Response.
pub fn response(g: &Gen) -> Reply {
    let output = item(g, "completed", &g.text(), &g.tool_args());
    Reply::json(response_json(g, "completed", &output, &usage_json(g)))
}

/// The streamed Responses events, each `event: X\ndata: {...}\n\n`, numbered.
pub fn response_stream(g: &Gen) -> StreamPlan {
    let mut plan = StreamPlan::new("text/event-stream; charset=utf-8");
    let mut seq = 0u64;
    let mut emit = |plan: &mut StreamPlan, kind: EventKind, name: &str, body: String| {
        let json = format!(r#"{{"type":"{name}","sequence_number":{seq},{body}}}"#);
        seq += 1;
        plan.named(kind, name, &json);
    };
    let empty = response_json(g, "in_progress", "", "null");
    for name in ["response.created", "response.in_progress"] {
        emit(
            &mut plan,
            EventKind::Preamble,
            name,
            format!(r#""response":{empty}"#),
        );
    }
    let added = item(g, "in_progress", "", "");
    emit(
        &mut plan,
        EventKind::Preamble,
        "response.output_item.added",
        format!(r#""output_index":0,"item":{added}"#),
    );
    let item_id = if g.tool.is_some() {
        g.id("fc_")
    } else {
        g.id("msg_")
    };
    let (text, args) = (g.text(), g.tool_args());
    match g.tool {
        Some(_) => {
            for (kind, fragment) in g.tool_fragments() {
                let body = format!(
                    r#""item_id":"{item_id}","output_index":0,"delta":{}"#,
                    quote(&fragment)
                );
                emit(
                    &mut plan,
                    kind,
                    "response.function_call_arguments.delta",
                    body,
                );
            }
            let body = format!(
                r#""item_id":"{item_id}","output_index":0,"name":{},"arguments":{}"#,
                g.tool_json(),
                quote(&args)
            );
            emit(
                &mut plan,
                EventKind::Tail,
                "response.function_call_arguments.done",
                body,
            );
        }
        None => {
            let part = r#"{"type":"output_text","text":"","annotations":[]}"#;
            let body = format!(
                r#""item_id":"{item_id}","output_index":0,"content_index":0,"part":{part}"#
            );
            emit(
                &mut plan,
                EventKind::Preamble,
                "response.content_part.added",
                body,
            );
            for i in 0..g.tokens {
                let body = format!(
                    r#""item_id":"{item_id}","output_index":0,"content_index":0,"delta":{},"logprobs":[]"#,
                    quote(&g.token(i))
                );
                emit(
                    &mut plan,
                    EventKind::Token(i),
                    "response.output_text.delta",
                    body,
                );
            }
            let body = format!(
                r#""item_id":"{item_id}","output_index":0,"content_index":0,"text":{},"logprobs":[]"#,
                quote(&text)
            );
            emit(
                &mut plan,
                EventKind::Tail,
                "response.output_text.done",
                body,
            );
            let part = format!(
                r#"{{"type":"output_text","text":{},"annotations":[]}}"#,
                quote(&text)
            );
            let body = format!(
                r#""item_id":"{item_id}","output_index":0,"content_index":0,"part":{part}"#
            );
            emit(
                &mut plan,
                EventKind::Tail,
                "response.content_part.done",
                body,
            );
        }
    }
    let done = item(g, "completed", &text, &args);
    emit(
        &mut plan,
        EventKind::Tail,
        "response.output_item.done",
        format!(r#""output_index":0,"item":{done}"#),
    );
    let full = response_json(g, "completed", &done, &usage_json(g));
    emit(
        &mut plan,
        EventKind::Tail,
        "response.completed",
        format!(r#""response":{full}"#),
    );
    plan
}

/// The answer to `GET` (`input_items` or not) or `DELETE` of a stored response: for
/// an id of the mock's own shape, a Response with that id (its one message says
/// which id), the deletion object, or a one-item input list; a 404 for any other id.
pub fn stored(id: &str, input_items: bool, delete: bool, seq: u64) -> Reply {
    if !id.starts_with("resp_mock") {
        return super::openai::error(404, &format!("Response with id '{id}' not found."));
    }
    let id_json = quote(id);
    if delete {
        return Reply::json(format!(
            r#"{{"id":{id_json},"object":"response","deleted":true}}"#
        ));
    }
    let g = Gen::new("mock-stored", 1, 0, seq);
    if input_items {
        let item = format!("msg_input{seq:020}");
        return Reply::json(format!(
            r#"{{"object":"list","data":[{{"id":"{item}","type":"message","role":"user","content":[{{"type":"input_text","text":{}}}]}}],"first_id":"{item}","last_id":"{item}","has_more":false}}"#,
            quote(&format!("mock: input of {id}"))
        ));
    }
    let output = format!(
        r#"{{"type":"message","id":"{}","status":"completed","role":"assistant","content":[{{"type":"output_text","text":{},"annotations":[]}}]}}"#,
        g.id("msg_"),
        quote(&format!("mock: stored {id}"))
    );
    let body = response_json(&g, "completed", &output, &usage_json(&g));
    Reply::json(body.replacen(&quote(&g.id("resp_")), &id_json, 1))
}
