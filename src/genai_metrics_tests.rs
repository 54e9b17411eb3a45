use std::time::Duration;

use super::*;

fn streamed(output_tokens: u64) -> Operation<'static> {
    Operation {
        operation: "chat",
        system: "openai",
        model: "m",
        duration: Duration::from_millis(900),
        succeeded: true,
        streamed: true,
        input_tokens: 10,
        output_tokens,
        time_to_first_byte: Some(Duration::from_millis(100)),
        decode: Some(Duration::from_millis(800)),
    }
}

#[test]
fn time_per_output_token_spreads_decode_time_over_the_tokens_after_the_first() {
    let per_token = streamed(5).time_per_output_token().unwrap();
    assert!((per_token - 0.2).abs() < 1e-9, "{per_token}");
}

#[test]
fn time_per_output_token_needs_a_successful_stream_of_several_tokens() {
    assert_eq!(streamed(1).time_per_output_token(), None);
    assert_eq!(streamed(0).time_per_output_token(), None);
    let buffered = Operation {
        streamed: false,
        ..streamed(5)
    };
    assert_eq!(buffered.time_per_output_token(), None);
    assert_eq!(buffered.time_to_first_token(), None);
    let failed = Operation {
        succeeded: false,
        ..streamed(5)
    };
    assert_eq!(failed.time_per_output_token(), None);
    assert_eq!(failed.time_to_first_token(), None);
    let no_decode = Operation {
        decode: None,
        ..streamed(5)
    };
    assert_eq!(no_decode.time_per_output_token(), None);
}

#[test]
fn time_to_first_token_is_the_first_upstream_byte_of_a_stream() {
    let ttft = streamed(5).time_to_first_token().unwrap();
    assert!((ttft - 0.1).abs() < 1e-9, "{ttft}");
}

#[test]
fn overhead_is_the_time_not_spent_waiting_upstream_and_never_negative() {
    let total = Duration::from_millis(120);
    assert_eq!(
        overhead(total, Duration::from_millis(100)),
        Duration::from_millis(20)
    );
    assert_eq!(overhead(total, Duration::from_millis(130)), Duration::ZERO);
}

#[test]
fn operation_and_system_names_follow_the_conventions() {
    assert_eq!(operation_name(Api::ChatCompletions), Some("chat"));
    assert_eq!(operation_name(Api::Messages), Some("chat"));
    assert_eq!(operation_name(Api::Embeddings), Some("embeddings"));
    assert_eq!(operation_name(Api::CountTokens), None);
    assert_eq!(system_name(ProviderKind::Anthropic), "anthropic");
    assert_eq!(system_name(ProviderKind::Bedrock), "aws.bedrock");
    assert_eq!(system_name(ProviderKind::Gemini), "gcp.gemini");
}

#[test]
fn buckets_are_sorted() {
    for buckets in [
        TOKEN_BUCKETS,
        DURATION_BUCKETS,
        TTFT_BUCKETS,
        PER_TOKEN_BUCKETS,
        OVERHEAD_BUCKETS,
    ] {
        assert!(buckets.windows(2).all(|w| w[0] < w[1]), "{buckets:?}");
    }
}
