use super::bedrock::region_of_host;

#[test]
fn bedrock_region_from_host() {
    assert_eq!(
        region_of_host("bedrock-runtime.us-east-1.amazonaws.com").as_deref(),
        Some("us-east-1")
    );
    assert_eq!(
        region_of_host("bedrock-runtime-fips.us-west-2.amazonaws.com").as_deref(),
        Some("us-west-2")
    );
    assert_eq!(
        region_of_host("bedrock-runtime.cn-north-1.amazonaws.com.cn").as_deref(),
        Some("cn-north-1")
    );
    assert_eq!(region_of_host("bedrock.us-east-1.amazonaws.com"), None);
    assert_eq!(
        region_of_host("bedrock-runtime.us-east-1.example.com"),
        None
    );
    assert_eq!(region_of_host("127.0.0.1"), None);
}

fn load(key: &str) -> Result<crate::config::Config, String> {
    let yaml = r#"
providers:
  - { name: v6, format: openai, base_url: "http://[::1]:8000/x", api_key: "${K}" }
  - { name: ant, format: anthropic, base_url: "https://api.anthropic.com", api_key: "${K}" }
  - { name: local, format: openai, base_url: "http://127.0.0.1:80" }
"#;
    let key = key.to_string();
    crate::config::load_str(yaml, &move |name| (name == "K").then(|| key.clone()))
        .map_err(|e| e.to_string())
}

#[test]
fn header_values_are_made_at_load() {
    let c = load("sk-test-1").unwrap();
    let v6 = c.provider("v6").unwrap();
    let (name, value) = v6.auth.as_ref().unwrap();
    assert_eq!(
        (*name, value.to_str().unwrap()),
        ("authorization", "Bearer sk-test-1")
    );
    assert!(value.is_sensitive(), "kept out of debug output");
    assert!(!format!("{v6:?}").contains("sk-test-1"));
    assert_eq!(v6.name_value, "v6");
    // An IPv6 literal in brackets, the port kept when it is not the default.
    assert_eq!(v6.endpoints[0].host_value, "[::1]:8000");
    let ant = c.provider("ant").unwrap();
    assert_eq!(ant.auth.as_ref().unwrap().0, "x-api-key");
    assert_eq!(ant.endpoints[0].host_value, "api.anthropic.com");
    let local = c.provider("local").unwrap();
    assert!(local.auth.is_none());
    assert_eq!(local.endpoints[0].host_value, "127.0.0.1");
}

#[test]
fn a_key_that_is_no_header_value_is_refused_at_load() {
    let err = load("sk-test-1\nsecond line").unwrap_err();
    assert!(err.contains("providers[0].api_key"), "{err}");
    assert!(err.contains("is not a valid HTTP header value"), "{err}");
    assert!(!err.contains("second line"), "the key is not shown: {err}");
}
