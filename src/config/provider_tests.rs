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
