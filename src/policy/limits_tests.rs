use std::sync::Arc;

use super::*;
use crate::policy::keys::TeamInfo;

fn key_with(limits: LimitsConfig, team: Option<LimitsConfig>) -> KeyInfo {
    let mut k = KeyInfo::anonymous();
    k.anonymous = false;
    k.name = "alice".into();
    k.limits = limits;
    k.team = team.map(|limits| {
        Arc::new(TeamInfo {
            name: "ml".into(),
            limits,
            budget: Default::default(),
        })
    });
    k
}

#[test]
fn buckets_and_slots_cover_key_then_team() {
    let k = key_with(
        LimitsConfig {
            rpm: Some(60),
            tpm: None,
            max_concurrent: Some(4),
        },
        Some(LimitsConfig {
            rpm: Some(600),
            tpm: Some(100_000),
            max_concurrent: None,
        }),
    );
    let b = buckets(&k);
    let names: Vec<_> = b.iter().map(|b| &*b.key).collect();
    assert_eq!(
        names,
        ["rl:key:alice:rpm", "rl:team:ml:rpm", "rl:team:ml:tpm"]
    );
    assert_eq!(b[2].take(1234).cost, 1234);
    assert_eq!(b[0].take(1234).cost, 1);
    let s = slots(&k);
    assert_eq!(s.len(), 1);
    assert_eq!((&*s[0].key, s[0].max), ("cc:key:alice", 4));
    assert!(buckets(&key_with(LimitsConfig::default(), None)).is_empty());
}

#[test]
fn only_token_buckets_are_corrected() {
    let k = key_with(
        LimitsConfig {
            rpm: Some(1),
            tpm: Some(1000),
            max_concurrent: None,
        },
        None,
    );
    let b = buckets(&k);
    assert_eq!(b[0].correct(-50), None);
    assert_eq!(b[1].correct(0), None);
    assert_eq!(b[1].correct(-50).map(|a| a.delta), Some(-50));
}

#[test]
fn reset_format_follows_openai() {
    assert_eq!(format_reset(Duration::from_micros(1)), "1ms");
    assert_eq!(format_reset(Duration::from_millis(17)), "17ms");
    assert_eq!(format_reset(Duration::from_secs(1)), "1s");
    assert_eq!(format_reset(Duration::from_millis(1500)), "1.5s");
    assert_eq!(format_reset(Duration::from_millis(2250)), "2.25s");
    assert_eq!(format_reset(Duration::from_millis(2001)), "2.001s");
    assert_eq!(format_reset(Duration::from_secs(360)), "6m0s");
    assert_eq!(format_reset(Duration::from_secs(3723)), "1h2m3s");
    assert_eq!(format_reset(Duration::ZERO), "0ms");
}

#[test]
fn headers_describe_the_tightest_bucket_per_kind() {
    let k = key_with(
        LimitsConfig {
            rpm: Some(60),
            tpm: Some(10_000),
            max_concurrent: None,
        },
        Some(LimitsConfig {
            rpm: Some(6),
            tpm: None,
            max_concurrent: None,
        }),
    );
    let b = buckets(&k); // key rpm, key tpm, team rpm
                         // key rpm: 1 used (1s from full) → 59 left; team rpm: 3 used (30s) → 3 left.
    let state = [
        Duration::from_secs(1),
        Duration::from_millis(6_000),
        Duration::from_secs(30),
    ];
    let h: Vec<(&str, String)> = headers(&b, &state)
        .into_iter()
        .map(|(name, value)| (name.as_str(), value.to_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        h,
        vec![
            ("x-ratelimit-limit-requests", "6".to_string()),
            ("x-ratelimit-remaining-requests", "3".to_string()),
            ("x-ratelimit-reset-requests", "30s".to_string()),
            ("x-ratelimit-limit-tokens", "10000".to_string()),
            ("x-ratelimit-remaining-tokens", "9000".to_string()),
            ("x-ratelimit-reset-tokens", "6s".to_string()),
        ]
    );
    assert!(headers(&[], &[]).is_empty());
    let full = headers(&b[..1], &[Duration::ZERO]);
    assert_eq!(full[2].1, "0ms");
}

#[test]
fn refusals_are_429_with_retry_after_or_too_large() {
    let k = key_with(
        LimitsConfig {
            rpm: Some(10),
            tpm: Some(500),
            max_concurrent: Some(1),
        },
        None,
    );
    let b = buckets(&k);
    let e = b[0].refusal(Some(Duration::from_micros(5_999_001)), 1);
    assert_eq!(e.status(), 429);
    assert_eq!(e.retry_after, Some(Duration::from_millis(5_000 + 1_000)));
    assert!(e.message.contains("key `alice`") && e.message.contains("10 requests per minute"));
    let big = b[1].refusal(None, 9_000);
    assert_eq!(big.retry_after, None);
    assert_eq!(big.code, Some("request_too_large"));
    assert!(big.message.contains("9000"));
    let c = slots(&k)[0].refusal();
    assert_eq!(c.kind, ErrorKind::RateLimited);
    assert!(c.message.contains("concurrent"));
}
