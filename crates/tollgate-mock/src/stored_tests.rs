use super::*;

#[test]
fn stored_responses_are_answered_for_the_mocks_own_ids_only() {
    let server = start(MockConfig::default());
    let mut c = Client::connect(server.addr);
    let id = "resp_mock00000000000000000007";
    let mut call = |method: &str, path: String| {
        c.send(method, &path, &[], b"");
        c.response()
    };
    let got = call("GET", format!("/v1/responses/{id}")).json();
    assert_eq!(
        (got["id"].as_str(), got["object"].as_str()),
        (Some(id), Some("response"))
    );
    assert!(got["output"][0]["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains(id));
    let items = call("GET", format!("/v1/responses/{id}/input_items")).json();
    assert_eq!(
        (items["object"].as_str(), items["data"][0]["type"].as_str()),
        (Some("list"), Some("message"))
    );
    let deleted = call("DELETE", format!("/v1/responses/{id}")).json();
    assert_eq!(
        deleted,
        serde_json::json!({"id": id, "object": "response", "deleted": true})
    );
    assert_eq!(
        call("DELETE", format!("/v1/responses/{id}/input_items")).status,
        405
    );
    let unknown = call("GET", "/v1/responses/resp_elsewhere".to_string());
    assert_eq!(
        (unknown.status, unknown.json()["error"]["type"].as_str()),
        (404, Some("invalid_request_error"))
    );
}
