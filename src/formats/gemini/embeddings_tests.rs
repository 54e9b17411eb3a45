use super::*;

#[test]
fn single_and_batch_requests_round_trip_with_the_upstream_model() {
    let single = br#"{"model":"models/text-embedding-004","content":{"parts":[{"text":"What is the meaning of life?"}]},"taskType":"RETRIEVAL_QUERY","outputDimensionality":8}"#;
    let r = read_request(single).unwrap();
    assert!(r.single);
    assert_eq!(r.inputs, ["What is the meaning of life?"]);
    assert_eq!(
        (r.task_type.as_deref(), r.dimensions),
        (Some("RETRIEVAL_QUERY"), Some(8))
    );
    let out: serde_json::Value =
        serde_json::from_slice(&write_request(&r, "up-model").unwrap()).unwrap();
    assert_eq!(out["model"], "models/up-model");
    assert_eq!(
        out["content"]["parts"][0]["text"],
        "What is the meaning of life?"
    );
    assert_eq!(out["outputDimensionality"], 8);

    let batch = br#"{"requests":[{"model":"models/e","content":{"parts":[{"text":"a"},{"text":"b"}]}},{"model":"models/e","content":{"parts":[{"text":"c"}]}}]}"#;
    let r = read_request(batch).unwrap();
    assert!(!r.single);
    assert_eq!(r.inputs, ["a b", "c"]);
    let out: serde_json::Value = serde_json::from_slice(&write_request(&r, "up").unwrap()).unwrap();
    assert_eq!(out["requests"].as_array().map(Vec::len), Some(2));
    assert_eq!(out["requests"][1]["model"], "models/up");

    for bad in [
        r#"{"requests":[]}"#,
        r#"{"content":{"parts":[]}}"#,
        r#"{"content":{"parts":[{"inlineData":{}}]}}"#,
        "[]",
    ] {
        assert_eq!(
            read_request(bad.as_bytes()).unwrap_err().status(),
            400,
            "{bad}"
        );
    }
}

#[test]
fn responses_of_either_form() {
    let one = read_response(br#"{"embedding":{"values":[0.1,-0.2]}}"#).unwrap();
    assert_eq!(one.vectors, vec![vec![0.1, -0.2]]);
    let many = read_response(br#"{"embeddings":[{"values":[1]},{"values":[2]}]}"#).unwrap();
    assert_eq!(many.vectors.len(), 2);
    assert_eq!(read_response(b"{}").unwrap_err().status(), 502);
    let single = String::from_utf8(write_response(&one, true).unwrap()).unwrap();
    assert_eq!(single, r#"{"embedding":{"values":[0.1,-0.2]}}"#);
    let batch = String::from_utf8(write_response(&many, false).unwrap()).unwrap();
    assert_eq!(
        batch,
        r#"{"embeddings":[{"values":[1.0]},{"values":[2.0]}]}"#
    );
}
