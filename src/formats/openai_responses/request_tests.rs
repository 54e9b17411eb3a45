use super::*;

#[test]
fn string_input_and_instructions() {
    let body = br#"{"model":"m","input":"Hi","instructions":"Be brief.","max_output_tokens":50,"temperature":0.2,"reasoning":{"effort":"low"}}"#;
    let r = read(body).unwrap();
    assert_eq!(r.messages.len(), 2);
    assert_eq!(r.messages[0].role, Role::System);
    assert_eq!(r.messages[1].content, vec![ContentPart::Text("Hi".into())]);
    assert_eq!(r.max_tokens, Some(50));
    assert_eq!(r.sampling.temperature, Some(0.2));
    assert_eq!(r.reasoning.unwrap().effort.as_deref(), Some("low"));
}

#[test]
fn function_call_round_trip_items() {
    let body = br#"{"model":"m","input":[
        {"role":"user","content":[{"type":"input_text","text":"Weather?"}]},
        {"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"think"}]},
        {"type":"function_call","id":"fc_1","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},
        {"type":"function_call_output","call_id":"call_1","output":"sunny"}],
        "tools":[{"type":"function","name":"get_weather","parameters":{"type":"object"}}],
        "tool_choice":{"type":"function","name":"get_weather"}}"#;
    let r = read(body).unwrap();
    let roles: Vec<Role> = r.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, vec![Role::User, Role::Assistant, Role::Tool]);
    assert!(
        matches!(&r.messages[1].content[0], ContentPart::Reasoning { text, .. } if text == "think")
    );
    assert!(matches!(&r.messages[1].content[1], ContentPart::ToolCall(c) if c.id == "call_1"));
    assert!(
        matches!(&r.messages[2].content[0], ContentPart::ToolResult(t) if t.tool_call_id == "call_1")
    );
    assert_eq!(r.tool_choice, Some(ToolChoice::Tool("get_weather".into())));
    assert_eq!(r.tools[0].name, "get_weather");
}

#[test]
fn builtin_tools_are_refused_by_name() {
    let body = br#"{"model":"m","input":"x","tools":[{"type":"web_search_preview"},{"type":"file_search","vector_store_ids":["v"]}]}"#;
    let e = read(body).unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(
        e.message.contains("web_search_preview, file_search"),
        "{}",
        e.message
    );
}

#[test]
fn json_schema_format_and_images() {
    let body = br#"{"model":"m","text":{"format":{"type":"json_schema","name":"city","schema":{"type":"object"},"strict":true}},
        "input":[{"role":"user","content":[{"type":"input_image","image_url":"data:image/png;base64,AAAA","detail":"low"}]}]}"#;
    let r = read(body).unwrap();
    assert!(
        matches!(&r.response_format, Some(ResponseFormat::JsonSchema { name, strict: Some(true), .. }) if name == "city")
    );
    assert!(
        matches!(&r.messages[0].content[0], ContentPart::Image(Image { source: ImageSource::Base64 { media_type, .. }, .. }) if media_type == "image/png")
    );
}

#[test]
fn missing_input_and_previous_response_id_are_400() {
    assert_eq!(read(br#"{"model":"m"}"#).unwrap_err().status(), 400);
    let e = read(br#"{"model":"m","input":"x","previous_response_id":"resp_1"}"#).unwrap_err();
    assert_eq!(e.param.as_deref(), Some("previous_response_id"));
}
