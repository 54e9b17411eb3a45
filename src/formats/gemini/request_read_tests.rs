use super::*;

const SINGLE_TURN: &[u8] =
    include_bytes!("../../../tests/fixtures/gemini_native/request_single_turn_tools.json");
const FUNCTION_RESPONSE: &[u8] =
    include_bytes!("../../../tests/fixtures/gemini_native/request_function_response.json");

#[test]
fn cookbook_single_turn_with_bare_objects_and_snake_case() {
    let req = read(SINGLE_TURN).unwrap();
    assert_eq!(req.messages.len(), 1);
    assert_eq!(req.messages[0].role, Role::User);
    assert_eq!(
        req.messages[0].content,
        [ContentPart::Text(
            "Which theaters in Mountain View show Barbie movie?".into()
        )]
    );
    let names: Vec<&str> = req.tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, ["find_movies", "find_theaters", "get_showtimes"]);
    assert_eq!(req.tools[1].parameters["required"][0], "location");
}

#[test]
fn cookbook_function_response_pairs_by_name_and_schema_types_are_lowered() {
    let req = read(FUNCTION_RESPONSE).unwrap();
    let roles: Vec<Role> = req.messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [
            Role::User,
            Role::Assistant,
            Role::User,
            Role::Assistant,
            Role::User
        ]
    );
    let ContentPart::ToolCall(call) = &req.messages[1].content[0] else {
        panic!("{:?}", req.messages[1]);
    };
    assert_eq!(
        (call.id.as_ref(), call.name.as_ref()),
        ("call_0", "find_theaters")
    );
    let args: serde_json::Value = serde_json::from_str(&call.arguments).unwrap();
    assert_eq!(args["movie"], "Barbie");
    let ContentPart::ToolResult(result) = &req.messages[2].content[0] else {
        panic!("{:?}", req.messages[2]);
    };
    assert_eq!(result.tool_call_id, "call_0");
    assert!(!result.is_error);
    let ContentPart::Text(text) = &result.content[0] else {
        panic!()
    };
    assert!(text.contains("AMC Mountain View 16"), "{text}");
    let schema = &req.tools[0].parameters;
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["properties"]["location"]["type"], "string");
    // A property named like a keyword keeps its name.
    assert_eq!(schema["properties"]["description"]["type"], "string");
}

#[test]
fn config_system_thinking_and_json_schema() {
    let body = br#"{
      "system_instruction": {"parts": [{"text": "You are a cat."}]},
      "contents": [{"role": "user", "parts": [
        {"text": "Hi"},
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}]}],
      "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f"]}},
      "tools": [{"functionDeclarations": [{"name": "f", "parametersJsonSchema": {"type": "object", "additionalProperties": false}}]}],
      "generationConfig": {"temperature": 0.5, "topK": 40, "maxOutputTokens": 99, "stopSequences": ["END"],
        "responseMimeType": "application/json",
        "responseSchema": {"type": "OBJECT", "properties": {"a": {"type": "INTEGER", "nullable": true}}},
        "thinkingConfig": {"thinkingBudget": 2048, "includeThoughts": true}}
    }"#;
    let req = read(body).unwrap();
    assert_eq!(req.messages[0].role, Role::System);
    assert!(matches!(req.messages[1].content[1], ContentPart::Image(_)));
    assert_eq!(req.tool_choice, Some(ToolChoice::Tool("f".into())));
    assert_eq!(req.tools[0].parameters["additionalProperties"], false);
    assert_eq!(
        (req.sampling.temperature, req.sampling.top_k),
        (Some(0.5), Some(40))
    );
    assert_eq!((req.max_tokens, req.sampling.stop.len()), (Some(99), 1));
    let Some(ResponseFormat::JsonSchema { schema, .. }) = &req.response_format else {
        panic!("{:?}", req.response_format);
    };
    assert_eq!(
        schema["properties"]["a"]["type"],
        serde_json::json!(["integer", "null"])
    );
    let r = req.reasoning.unwrap();
    assert!(r.enabled);
    assert_eq!(r.budget_tokens, Some(2048));
}

#[test]
fn what_other_providers_cannot_take_is_a_400_naming_it() {
    let cases = [
        (
            r#"{"contents":[{"parts":[{"text":"x"}]}],"tools":[{"googleSearch":{}}]}"#,
            "googleSearch",
        ),
        (
            r#"{"contents":[{"parts":[{"inlineData":{"mimeType":"audio/mp3","data":"AA=="}}]}]}"#,
            "audio/mp3",
        ),
        (
            r#"{"contents":[{"parts":[{"functionResponse":{"name":"nope","response":{}}}]}]}"#,
            "nope",
        ),
        (
            r#"{"contents":[{"role":"robot","parts":[{"text":"x"}]}]}"#,
            "robot",
        ),
        (
            r#"{"contents":[],"cachedContent":"cachedContents/1"}"#,
            "cachedContent",
        ),
        (r#"{"contents":[]}"#, "contents"),
        (
            r#"{"contents":[{"parts":[{"executableCode":{"code":"1"}}]}]}"#,
            "code execution",
        ),
        ("[1]", "Invalid JSON"),
        (
            r#"{"contents":[{"parts":[{"text":"x"}]}],"generationConfig":{"candidateCount":2}}"#,
            "candidateCount",
        ),
    ];
    for (body, named) in cases {
        let err = read(body.as_bytes()).unwrap_err();
        assert_eq!(err.status(), 400, "{body}");
        assert!(err.message.contains(named), "{body}: {}", err.message);
    }
}

#[test]
fn ids_pair_calls_and_thoughts_keep_their_signature() {
    let body = br#"{"contents":[
      {"role":"user","parts":[{"text":"weather?"}]},
      {"role":"model","parts":[{"text":"think","thought":true,"thoughtSignature":"c2ln"},
        {"functionCall":{"id":"a","name":"w","args":{"c":"x"}}},{"functionCall":{"name":"w","args":{}}}]},
      {"role":"user","parts":[{"functionResponse":{"name":"w","response":{"output":"sunny"}}},
        {"functionResponse":{"id":"a","name":"w","response":{"error":"down"}}}]}]}"#;
    let req = read(body).unwrap();
    assert_eq!(
        req.messages[1].content[0],
        ContentPart::Reasoning {
            text: "think".into(),
            signature: Some("c2ln".into())
        }
    );
    let results: Vec<(&str, bool)> = req.messages[2]
        .content
        .iter()
        .map(|p| match p {
            ContentPart::ToolResult(r) => (r.tool_call_id.as_ref(), r.is_error),
            other => panic!("{other:?}"),
        })
        .collect();
    // The id-less response answers the oldest unanswered call of its name (the one
    // with id `a`), the other names `a` explicitly.
    assert_eq!(results, [("a", false), ("a", true)]);
}
