use super::memory_store::ManualClock;
use super::store::{ReadRequest, ReadResult, SettleRequest, StoreError};
use super::*;
use crate::config::governance::{BudgetConfig, LimitsConfig};
use crate::config::KeySpec;

const ALICE: &str = "sk-tg-test-alice";
const CI: &str = "sk-tg-test-ci";

fn fixture() -> Governance {
    let path = format!(
        "{}/tests/fixtures/policy/governance.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).unwrap();
    let mut g = crate::config::load_str(&text, &|_| None)
        .unwrap()
        .governance;
    g.state = StateSpec::default();
    g
}

fn body(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/policy/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn policy(f: &Governance) -> (Arc<ManualClock>, Policy) {
    let clock = Arc::new(ManualClock::new(1_700_000_000_000_000));
    let store = Arc::new(MemoryStore::with_clock(clock.clone()));
    (clock, Policy::with_store(f, store).unwrap())
}

fn header<'a>(a: &'a Admission, name: &str) -> Option<&'a str> {
    a.headers
        .iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, v)| v.to_str().ok())
}

fn usage(input: u64, output: u64) -> Usage {
    Usage {
        input_tokens: input,
        output_tokens: output,
        ..Usage::default()
    }
}

#[tokio::test]
async fn admission_sets_openai_headers() {
    let (_, p) = policy(&fixture());
    let alice = p.authenticate(Some(ALICE)).unwrap();
    let a = p.admit(&alice, 1_000).await.unwrap();
    assert!(a.is_metered());
    assert_eq!(header(&a, "x-ratelimit-limit-requests"), Some("60"));
    assert_eq!(header(&a, "x-ratelimit-remaining-requests"), Some("59"));
    assert_eq!(header(&a, "x-ratelimit-reset-requests"), Some("1s"));
    assert_eq!(header(&a, "x-ratelimit-limit-tokens"), Some("200000"));
    assert_eq!(header(&a, "x-ratelimit-remaining-tokens"), Some("199000"));
}

#[tokio::test]
async fn rpm_limit_refuses_with_retry_after_and_recovers() {
    let (clock, p) = policy(&fixture());
    let ci = p.authenticate(Some(CI)).unwrap();
    for _ in 0..30 {
        p.admit(&ci, 10).await.unwrap();
    }
    let e = p.admit(&ci, 10).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited);
    assert_eq!(e.retry_after, Some(Duration::from_secs(2)));
    clock.advance(Duration::from_secs(2));
    assert!(p.admit(&ci, 10).await.is_ok());
}

#[tokio::test]
async fn settlement_refunds_unused_estimate() {
    let (_, p) = policy(&fixture());
    let alice = p.authenticate(Some(ALICE)).unwrap();
    let a = p.admit(&alice, 150_000).await.unwrap();
    // The estimate leaves too little for a second big request...
    assert_eq!(
        p.admit(&alice, 100_000).await.unwrap_err().kind,
        ErrorKind::RateLimited
    );
    // ...until the first settles with its real usage.
    p.settle(a, "openai", "gpt-4o-2024-08-06", &usage(1_000, 500))
        .await;
    let b = p.admit(&alice, 100_000).await.unwrap();
    assert_eq!(header(&b, "x-ratelimit-remaining-tokens"), Some("98500"));
}

#[tokio::test]
async fn concurrency_is_released_on_settle_and_on_drop() {
    let (_, p) = policy(&fixture());
    let alice = p.authenticate(Some(ALICE)).unwrap();
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(p.admit(&alice, 1).await.unwrap());
    }
    let e = p.admit(&alice, 1).await.unwrap_err();
    assert!(e.message.contains("concurrent"), "{}", e.message);
    drop(held.pop());
    let again = p.admit(&alice, 1).await.unwrap();
    p.settle(again, "openai", "gpt-4o", &Usage::default()).await;
    assert!(p.admit(&alice, 1).await.is_ok());
}

#[tokio::test]
async fn budget_blocks_after_spend_until_the_next_period() {
    let mut f = fixture();
    f.keys[1].budget = BudgetConfig {
        daily_usd: Some(1.0),
        monthly_usd: None,
    };
    let (_, p) = policy(&f);
    let ci = p.authenticate(Some(CI)).unwrap();
    let a = p.admit(&ci, 10).await.unwrap();
    // gpt-4o is overridden at $2.50/$10 per Mtok: 100k in + 80k out = $1.05.
    p.settle(a, "openai", "gpt-4o", &usage(100_000, 80_000))
        .await;
    let e = p.admit(&ci, 10).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::BudgetExceeded);
    assert_eq!(e.status(), 429);
    assert!(e.message.contains("$1.05"), "{}", e.message);
    assert!(e
        .retry_after
        .is_some_and(|d| d <= Duration::from_secs(86_400)));
}

#[tokio::test]
async fn team_budget_applies_to_members() {
    let mut f = fixture();
    f.teams[0].budget.daily_usd = Some(0.5);
    let (_, p) = policy(&f);
    let alice = p.authenticate(Some(ALICE)).unwrap();
    let a = p.admit(&alice, 10).await.unwrap();
    p.settle(a, "openai", "gpt-4o", &usage(200_000, 10_000))
        .await; // $0.60
    let e = p.admit(&alice, 10).await.unwrap_err();
    assert!(e.message.contains("team `ml-research`"), "{}", e.message);
}

#[tokio::test]
async fn usage_report_shows_spend_tokens_and_limits() {
    let (_, p) = policy(&fixture());
    let alice = p.authenticate(Some(ALICE)).unwrap();
    let a = p.admit(&alice, 2_000).await.unwrap();
    p.settle(a, "openai", "gpt-4o", &usage(100_000, 0)).await;
    let _open = p.admit(&alice, 10).await.unwrap();
    let r = p.usage_report().await;
    let k = &r["keys"][0];
    assert_eq!(k["name"], "alice");
    assert_eq!(k["team"], "ml-research");
    assert_eq!(k["requests"], 1);
    assert_eq!(k["tokens"], 100_000);
    assert_eq!(k["spend_usd"]["today"], 0.25);
    assert_eq!(k["budget"]["daily_remaining_usd"], 19.75);
    assert_eq!(k["limits"]["rpm"]["remaining"], 58);
    assert_eq!(k["limits"]["max_concurrent"]["in_flight"], 1);
    assert_eq!(r["teams"][0]["spend_usd"]["total"], 0.25);
    assert_eq!(r["models"][0]["model"], "gpt-4o");
    assert_eq!(r["models"][0]["requests"], 1);
    assert_eq!(r["backend"], "memory");
}

#[tokio::test]
async fn keys_without_limits_skip_the_store() {
    let mut f = fixture();
    f.keys[1].limits = LimitsConfig::default();
    let (_, p) = policy(&f);
    let ci = p.authenticate(Some(CI)).unwrap();
    let a = p.admit(&ci, 10).await.unwrap();
    assert!(!a.is_metered());
    assert!(a.headers.is_empty());
}

#[test]
fn input_guardrails_follow_the_key() {
    let (_, p) = policy(&fixture());
    let alice = p.authenticate(Some(ALICE)).unwrap();
    // alice: no-secrets (block) beats redact-pii.
    let e = p
        .check_input(&alice, "gpt-4o", &body("openai_chat_request.json"))
        .unwrap_err();
    assert!(e.message.contains("no-secrets") && e.message.contains("secret"));
    let out = p
        .check_input(&alice, "claude", &body("anthropic_messages_request.json"))
        .unwrap()
        .unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("[REDACTED:iban]") && out.contains("[REDACTED:us_ssn]"),
        "{out}"
    );
    assert!(out.starts_with("{\n  \"model\": \"claude-sonnet-4-20250514\""));
    // ci has only the global guardrails: the codename is blocked, PII passes.
    let ci = p.authenticate(Some(CI)).unwrap();
    assert_eq!(
        p.check_input(&ci, "gpt-4o", &body("anthropic_messages_request.json"))
            .unwrap(),
        None
    );
    let e = p.check_input(
        &ci,
        "gpt-4o",
        br#"{"messages":[{"role":"user","content":"status of Project Falcon?"}]}"#,
    );
    assert!(e.unwrap_err().message.contains("codenames"));
}

#[test]
fn output_scanner_only_for_keys_with_output_guardrails() {
    let (_, p) = policy(&fixture());
    let alice = p.authenticate(Some(ALICE)).unwrap();
    let ci = p.authenticate(Some(CI)).unwrap();
    assert!(p.output_scanner(&ci, "gpt-4o").is_none());
    let mut s = p.output_scanner(&alice, "gpt-4o").unwrap();
    assert!(matches!(
        s.feed("here: AKIAIOSFODNN7EXAMPLE"),
        Verdict::Block(_)
    ));
    let e = p
        .check_output_text(
            &alice,
            "gpt-4o",
            "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB",
        )
        .unwrap_err();
    assert!(e.message.starts_with("response blocked"));
}

/// A store that always fails, to exercise `on_error`.
struct Broken;

#[async_trait::async_trait]
impl StateStore for Broken {
    async fn admit(&self, _: &AdmitRequest) -> Result<AdmitOutcome, StoreError> {
        Err(StoreError::new("down"))
    }
    async fn settle(&self, _: &SettleRequest) -> Result<Vec<i64>, StoreError> {
        Err(StoreError::new("down"))
    }
    async fn read(&self, _: &ReadRequest) -> Result<ReadResult, StoreError> {
        Err(StoreError::new("down"))
    }
    fn backend(&self) -> &'static str {
        "broken"
    }
}

#[tokio::test]
async fn store_failures_follow_on_error() {
    let mut f = fixture();
    let open = Policy::with_store(&f, Arc::new(Broken)).unwrap();
    let alice = open.authenticate(Some(ALICE)).unwrap();
    let a = open.admit(&alice, 10).await.unwrap();
    assert!(!a.is_metered());
    open.settle(a, "openai", "gpt-4o", &usage(1, 1)).await; // must not panic or hang
    assert!(open.usage_report().await["error"].is_string());
    f.state.on_error = OnError::FailClosed;
    let closed = Policy::with_store(&f, Arc::new(Broken)).unwrap();
    let e = closed.admit(&alice, 10).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Overloaded);
    assert!(e.retry_after.is_some());
}

#[tokio::test]
async fn reload_keeps_counters_when_state_is_unchanged() {
    let (_, p) = policy(&fixture());
    let ci = p.authenticate(Some(CI)).unwrap();
    for _ in 0..30 {
        p.admit(&ci, 1).await.unwrap();
    }
    let mut f = fixture();
    f.keys.push(KeySpec {
        name: "new".into(),
        digest: keys::parse_hash(&hash_key("sk-new")).unwrap(),
        team: None,
        models: vec![],
        metadata: Default::default(),
        limits: Default::default(),
        budget: Default::default(),
        guardrails: vec![],
        cache_bypass: true,
    });
    let p2 = p.reload(&f).await.unwrap();
    assert!(p2.authenticate(Some("sk-new")).is_ok());
    let ci2 = p2.authenticate(Some(CI)).unwrap();
    assert_eq!(
        p2.admit(&ci2, 1).await.unwrap_err().kind,
        ErrorKind::RateLimited
    );
}

#[test]
fn cost_uses_the_price_book() {
    let (_, p) = policy(&fixture());
    assert!((p.cost("my-finetune-3", &usage(1_000_000, 1_000_000)) - 15.0).abs() < 1e-9);
}

fn assert_send<T: Send>(_: &T) {}

#[test]
fn policy_futures_and_values_are_send() {
    let (_, p) = policy(&fixture());
    let alice = p.authenticate(Some(ALICE)).unwrap();
    assert_send(&p.admit(&alice, 1));
    assert_send(&p.usage_report());
    assert_send(&p.output_scanner(&alice, "gpt-4o"));
    assert_send(&p);
}
