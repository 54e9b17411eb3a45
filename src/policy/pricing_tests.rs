use super::*;

fn usage(input: u64, output: u64, cache_read: u64, cache_write: u64) -> Usage {
    Usage {
        input_tokens: input,
        output_tokens: output,
        cache_read_tokens: cache_read,
        cache_write_tokens: cache_write,
        reasoning_tokens: 0,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn names_normalize_across_hosts() {
    assert_eq!(normalize("openai/gpt-4o"), "gpt-4o");
    assert_eq!(
        normalize("us.anthropic.claude-sonnet-4-20250514-v1:0"),
        "claude-sonnet-4-20250514-v1:0"
    );
    assert_eq!(
        normalize("anthropic.claude-3-5-haiku-20241022-v1:0"),
        "claude-3-5-haiku-20241022-v1:0"
    );
    assert_eq!(
        normalize("claude-sonnet-4@20250514"),
        "claude-sonnet-4-20250514"
    );
    assert_eq!(
        normalize("meta-llama/Llama-3.3-70B-Instruct-Turbo"),
        "llama-3.3-70b-instruct-turbo"
    );
    assert_eq!(
        normalize("accounts/fireworks/models/llama-v3p1-8b-instruct"),
        "llama-v3p1-8b-instruct"
    );
    assert_eq!(
        normalize("meta.llama3-1-70b-instruct-v1:0"),
        "llama3-1-70b-instruct-v1:0"
    );
}

#[test]
fn the_2026_12_table_orders_new_models_before_their_families() {
    let p = Pricing::new(&[]);
    let input = |m: &str| p.price(m).map(|p| p.input);
    assert_eq!(input("gpt-5.5-2026-04-23"), Some(5.0));
    assert_eq!(input("gpt-5.5-pro"), Some(30.0));
    assert_eq!(input("gpt-5.4-mini"), Some(0.75));
    assert_eq!(input("gpt-5.4-nano"), Some(0.20));
    assert_eq!(input("gpt-5.4"), Some(2.50));
    assert_eq!(input("gpt-5.1"), Some(1.25));
    assert_eq!(input("gpt-5-mini"), Some(0.25));
    assert_eq!(input("claude-opus-4-6"), Some(5.0));
    assert_eq!(input("claude-opus-4-1"), Some(15.0));
    assert_eq!(input("claude-opus-5-5"), Some(4.0));
    assert_eq!(input("claude-fable-5-1"), Some(10.0));
    assert_eq!(
        p.price("claude-sonnet-5-5").and_then(|p| p.cached_input),
        Some(0.10)
    );
    assert_eq!(
        p.price("claude-sonnet-5").and_then(|p| p.cached_input),
        Some(0.2)
    );
    assert!(p.price("claude-sonnet-4-6").unwrap().long_context.is_none());
    assert!(p
        .price("claude-sonnet-4-5-20250929")
        .unwrap()
        .long_context
        .is_some());
    assert_eq!(input("gemini-3.1-pro-preview"), Some(2.0));
    assert_eq!(input("gemini-3-flash-preview"), Some(0.50));
    assert_eq!(input("us.amazon.nova-pro-v1:0"), Some(0.80));
    assert_eq!(
        input("eu.anthropic.claude-haiku-4-5-20251001-v1:0"),
        Some(1.0)
    );
    // Haiku 5.5: a prompt over 100k tokens costs 5x, output included.
    let haiku = p.price("claude-haiku-5-5").unwrap();
    let small = haiku.cost(&split_prompt(
        "claude-haiku-5-5",
        &usage(100_000, 1_000, 0, 0),
    ));
    let large = haiku.cost(&split_prompt(
        "claude-haiku-5-5",
        &usage(100_001, 1_000, 0, 0),
    ));
    assert!(close(small, 0.0105), "{small}");
    assert!(close(large, 0.0500005 + 0.0025), "{large}");
}

#[test]
fn specific_models_win_over_families() {
    let p = Pricing::new(&[]);
    assert_eq!(
        p.price("gpt-4o-mini-2024-07-18").map(|p| p.input),
        Some(0.15)
    );
    assert_eq!(p.price("gpt-4o-2024-08-06").map(|p| p.input), Some(2.50));
    assert_eq!(p.price("gpt-4o-2024-05-13").map(|p| p.input), Some(5.0));
    assert_eq!(p.price("gpt-4.1-nano").map(|p| p.output), Some(0.40));
    assert_eq!(p.price("o3-mini").map(|p| p.input), Some(1.10));
    assert_eq!(p.price("o3").map(|p| p.input), Some(2.0));
    assert_eq!(p.price("o1-pro").map(|p| p.output), Some(600.0));
    assert_eq!(
        p.price("claude-opus-4-5-20251101").map(|p| p.input),
        Some(5.0)
    );
    assert_eq!(
        p.price("claude-opus-4-1-20250805").map(|p| p.input),
        Some(15.0)
    );
    assert_eq!(
        p.price("us.anthropic.claude-3-7-sonnet-20250219-v1:0")
            .map(|p| p.output),
        Some(15.0)
    );
    assert_eq!(
        p.price("gemini-2.5-flash-lite").map(|p| p.input),
        Some(0.10)
    );
    assert_eq!(
        p.price("gemini/gemini-2.5-flash").map(|p| p.input),
        Some(0.30)
    );
    // Large 3 is `latest` now; the dated Large 2 keeps its price.
    assert_eq!(p.price("mistral-large-latest").map(|p| p.input), Some(0.50));
    assert_eq!(p.price("mistral-large-2411").map(|p| p.input), Some(2.0));
    assert_eq!(
        p.price("groq/llama-3.3-70b-versatile").map(|p| p.output),
        Some(0.79)
    );
    assert_eq!(p.price("my-local-model"), None);
}

#[test]
fn openai_cost_counts_cached_tokens_inside_the_prompt() {
    let p = Pricing::new(&[]);
    // gpt-4o: 1M prompt of which 400k cached, 100k output.
    let c = p.cost("gpt-4o", &usage(1_000_000, 100_000, 400_000, 0));
    assert!(close(c, 0.6 * 2.50 + 0.4 * 1.25 + 0.1 * 10.0), "{c}");
}

#[test]
fn anthropic_cost_counts_cache_tokens_beside_the_input() {
    let p = Pricing::new(&[]);
    // claude sonnet: 1k uncached, 10k read at 0.30, 2k written at 3.75, 500 output.
    let c = p.cost(
        "claude-sonnet-4-5-20250929",
        &usage(1_000, 500, 10_000, 2_000),
    );
    let want = (1_000.0 * 3.0 + 10_000.0 * 0.30 + 2_000.0 * 3.75 + 500.0 * 15.0) / 1e6;
    assert!(close(c, want), "{c} != {want}");
}

#[test]
fn long_prompts_use_the_long_context_tier() {
    let p = Pricing::new(&[]);
    let short = p.cost("gemini-2.5-pro", &usage(200_000, 1_000, 0, 0));
    assert!(close(short, 0.2 * 1.25 + 0.001 * 10.0));
    let long = p.cost("gemini-2.5-pro", &usage(200_001, 1_000, 0, 0));
    assert!(close(long, 0.200_001 * 2.50 + 0.001 * 15.0), "{long}");
}

#[test]
fn overrides_come_first_and_fill_gaps_from_builtins() {
    let cfg = [
        PriceConfig {
            model: "gpt-4o".into(),
            input_per_mtok: Some(2.0),
            output_per_mtok: None,
            cached_input_per_mtok: None,
            cache_write_per_mtok: None,
        },
        PriceConfig {
            model: "my-finetune-*".into(),
            input_per_mtok: Some(1.0),
            output_per_mtok: Some(4.0),
            cached_input_per_mtok: None,
            cache_write_per_mtok: None,
        },
    ];
    let p = Pricing::new(&cfg);
    let over = p.price("openai/gpt-4o").unwrap();
    assert_eq!(
        (over.input, over.output, over.cached_input),
        (2.0, 10.0, Some(1.25))
    );
    // gpt-4o-mini is not matched by the literal override.
    assert_eq!(p.price("gpt-4o-mini").map(|p| p.input), Some(0.15));
    let c = p.cost("my-finetune-v2", &usage(1_000_000, 1_000_000, 0, 0));
    assert!(close(c, 5.0));
    // Cached lookups answer the same.
    assert_eq!(p.price("openai/gpt-4o"), Some(over));
}

#[test]
fn unknown_models_cost_nothing() {
    let p = Pricing::new(&[]);
    assert_eq!(p.cost("llama3:8b", &usage(1_000, 1_000, 0, 0)), 0.0);
}

#[test]
fn split_decides_cache_accounting() {
    let openai = split_prompt("gpt-4o", &usage(100, 10, 40, 0));
    assert_eq!(
        openai,
        TokenSplit {
            uncached: 60,
            cache_read: 40,
            cache_write: 0,
            output: 10
        }
    );
    assert_eq!(openai.total(), 110);
    let claude = split_prompt("claude-3-5-haiku", &usage(100, 10, 40, 5));
    assert_eq!(claude.total(), 155);
    // A read larger than the input can only be Anthropic-style.
    let other = split_prompt("some-proxy-model", &usage(10, 1, 500, 0));
    assert_eq!(other.uncached, 10);
}

#[test]
fn claude_is_found_in_any_case_without_a_lowercase_copy() {
    assert!(contains_ignore_case("us.anthropic.CLAUDE-sonnet", "claude"));
    assert!(contains_ignore_case("Claude", "claude"));
    assert!(!contains_ignore_case("clau", "claude"));
    assert!(!contains_ignore_case("gpt-4o", "claude"));
}
