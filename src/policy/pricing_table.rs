//! Built-in list prices in USD per million tokens (standard tier, no batch or priority
//! rate), as published by the providers. **Taken on 2026-12-04** from OpenAI's,
//! Anthropic's, Google's (Gemini API), Mistral's and AWS Bedrock's pricing pages and
//! price listings that quote them; families not re-checked that day keep their 2025
//! prices (marked below). Prices change: operators override them with `pricing:`
//! entries or a `pricing_file:`, which are tried first.
//!
//! Patterns are globs on the *normalized* upstream model name (lower case, without a
//! `provider/` or `org/` path, without Bedrock's `us.` / `anthropic.` style prefixes,
//! Vertex's `@` turned into `-`). The first match wins, so specific names come before
//! their families (`gpt-4o-mini*` before `gpt-4o*`). Self-hosted models are not
//! listed: they cost nothing unless configured.

use super::pricing::{LongContext, Price};

const fn p(input: f64, output: f64, cached: Option<f64>, write: Option<f64>) -> Price {
    Price {
        input,
        output,
        cached_input: cached,
        cache_write: write,
        long_context: None,
    }
}

/// Anthropic: cache reads at 0.1×, 5-minute cache writes at 1.25× the input price.
const fn anthropic(input: f64, output: f64) -> Price {
    p(input, output, Some(input / 10.0), Some(input * 1.25))
}

/// Anthropic with a cache-read price of its own (newer models read at 0.05x or less).
const fn cached(input: f64, output: f64, read: f64) -> Price {
    p(input, output, Some(read), Some(input * 1.25))
}

const fn tiered(mut price: Price, above: u64, input_x: f64, output_x: f64) -> Price {
    price.long_context = Some(LongContext {
        above_tokens: above,
        input_x,
        output_x,
    });
    price
}

/// `(glob, price)`, first match wins.
pub const BUILTIN: &[(&str, Price)] = &[
    // OpenAI (checked 2026-12-04). The GPT-5.4 / 5.5 rates are for prompts up to
    // 272K tokens; longer ones are billed at 2x input and 1.5x output.
    ("gpt-5.5-pro*", p(30.0, 180.0, None, None)),
    ("gpt-5.4-pro*", p(30.0, 180.0, None, None)),
    (
        "gpt-5.5*",
        tiered(p(5.0, 30.0, Some(0.50), None), 272_000, 2.0, 1.5),
    ),
    ("gpt-5.4-nano*", p(0.20, 1.25, Some(0.02), None)),
    ("gpt-5.4-mini*", p(0.75, 4.50, Some(0.075), None)),
    (
        "gpt-5.4*",
        tiered(p(2.50, 15.0, Some(0.25), None), 272_000, 2.0, 1.5),
    ),
    ("gpt-5.2*", p(1.75, 14.0, Some(0.175), None)),
    ("gpt-5.1*", p(1.25, 10.0, Some(0.125), None)),
    ("gpt-5-nano*", p(0.05, 0.40, Some(0.005), None)),
    ("gpt-5-mini*", p(0.25, 2.0, Some(0.025), None)),
    ("gpt-5*", p(1.25, 10.0, Some(0.125), None)),
    ("gpt-4o-mini*", p(0.15, 0.60, Some(0.075), None)),
    ("gpt-4o-2024-05-13*", p(5.0, 15.0, None, None)),
    ("gpt-4o*", p(2.50, 10.0, Some(1.25), None)),
    ("gpt-4.1-nano*", p(0.10, 0.40, Some(0.025), None)),
    ("gpt-4.1-mini*", p(0.40, 1.60, Some(0.10), None)),
    ("gpt-4.1*", p(2.0, 8.0, Some(0.50), None)),
    ("gpt-4.5*", p(75.0, 150.0, Some(37.5), None)),
    ("gpt-4-turbo*", p(10.0, 30.0, None, None)),
    ("gpt-4", p(30.0, 60.0, None, None)),
    ("gpt-4-0613", p(30.0, 60.0, None, None)),
    ("gpt-3.5-turbo*", p(0.50, 1.50, None, None)),
    ("o1-pro*", p(150.0, 600.0, None, None)),
    ("o1-mini*", p(1.10, 4.40, Some(0.55), None)),
    ("o1*", p(15.0, 60.0, Some(7.50), None)),
    ("o3-pro*", p(20.0, 80.0, None, None)),
    ("o3-mini*", p(1.10, 4.40, Some(0.55), None)),
    ("o3*", p(2.0, 8.0, Some(0.50), None)),
    ("o4-mini*", p(1.10, 4.40, Some(0.275), None)),
    ("text-embedding-3-small*", p(0.02, 0.0, None, None)),
    ("text-embedding-3-large*", p(0.13, 0.0, None, None)),
    ("text-embedding-ada-002*", p(0.10, 0.0, None, None)),
    // Anthropic (checked 2026-12-04; also on Bedrock and Vertex under the same
    // names). Cache writes (5 minutes) at 1.25x input; cache reads as listed.
    ("claude-fable-5-1*", cached(10.0, 50.0, 0.25)),
    ("claude-mythos-5-1*", cached(10.0, 50.0, 0.25)),
    ("claude-fable-5*", anthropic(10.0, 50.0)),
    ("claude-mythos-5*", anthropic(10.0, 50.0)),
    ("claude-opus-5-5*", cached(4.0, 20.0, 0.20)),
    ("claude-opus-5*", anthropic(5.0, 25.0)),
    ("claude-opus-4-8*", anthropic(5.0, 25.0)),
    ("claude-opus-4-7*", anthropic(5.0, 25.0)),
    ("claude-opus-4-6*", anthropic(5.0, 25.0)),
    ("claude-opus-4-5*", anthropic(5.0, 25.0)),
    ("claude-opus-4*", anthropic(15.0, 75.0)),
    ("claude-3-opus*", anthropic(15.0, 75.0)),
    // Sonnet 5.5's cache reads went from 0.1x to 0.05x input on 2026-10-07.
    ("claude-sonnet-5-5*", cached(2.0, 10.0, 0.10)),
    ("claude-sonnet-5*", anthropic(2.0, 10.0)),
    // Sonnet 4.6: the 1M window at the standard rate.
    ("claude-sonnet-4-6*", anthropic(3.0, 15.0)),
    // Sonnet 4 / 4.5 with the 1M context window: prompts above 200k at 2x input, 1.5x output.
    (
        "claude-sonnet-4*",
        tiered(anthropic(3.0, 15.0), 200_000, 2.0, 1.5),
    ),
    ("claude-3-7-sonnet*", anthropic(3.0, 15.0)),
    ("claude-3-5-sonnet*", anthropic(3.0, 15.0)),
    // Haiku 5.5: a prompt above 100k tokens pays 5x on every token of the request.
    (
        "claude-haiku-5-5*",
        tiered(anthropic(0.10, 0.50), 100_000, 5.0, 5.0),
    ),
    ("claude-haiku-4-5*", anthropic(1.0, 5.0)),
    ("claude-3-5-haiku*", anthropic(0.80, 4.0)),
    ("claude-3-haiku*", p(0.25, 1.25, Some(0.03), Some(0.30))),
    // Google Gemini API (paid tier, checked 2026-12-04; context-cache reads at 0.1x input;
    // prompts above the threshold cost more)
    ("gemini-3.5-flash*", p(1.50, 9.0, Some(0.15), None)),
    (
        "gemini-3.1-pro*",
        tiered(p(2.0, 12.0, Some(0.20), None), 200_000, 2.0, 1.5),
    ),
    ("gemini-3.1-flash-lite*", p(0.25, 1.50, Some(0.025), None)),
    (
        "gemini-3-pro*",
        tiered(p(2.0, 12.0, Some(0.20), None), 200_000, 2.0, 1.5),
    ),
    ("gemini-3-flash*", p(0.50, 3.0, Some(0.05), None)),
    (
        "gemini-2.5-pro*",
        tiered(p(1.25, 10.0, Some(0.125), None), 200_000, 2.0, 1.5),
    ),
    ("gemini-2.5-flash-lite*", p(0.10, 0.40, Some(0.01), None)),
    ("gemini-2.5-flash*", p(0.30, 2.50, Some(0.03), None)),
    ("gemini-2.0-flash-lite*", p(0.075, 0.30, None, None)),
    ("gemini-2.0-flash*", p(0.10, 0.40, Some(0.025), None)),
    (
        "gemini-1.5-pro*",
        tiered(p(1.25, 5.0, Some(0.3125), None), 128_000, 2.0, 2.0),
    ),
    ("gemini-1.5-flash-8b*", p(0.0375, 0.15, Some(0.01), None)),
    (
        "gemini-1.5-flash*",
        tiered(p(0.075, 0.30, Some(0.01875), None), 128_000, 2.0, 2.0),
    ),
    // Mistral (checked 2026-12-04). `mistral-large-latest` is Large 3 (2512); the
    // dated Large 2 releases kept their price.
    ("mistral-large-2411*", p(2.0, 6.0, None, None)),
    ("mistral-large-2407*", p(2.0, 6.0, None, None)),
    ("mistral-large*", p(0.50, 1.50, None, None)),
    ("magistral-medium*", p(2.0, 5.0, None, None)),
    ("magistral-small*", p(0.50, 1.50, None, None)),
    ("devstral-medium*", p(0.40, 2.0, None, None)),
    ("devstral-small*", p(0.10, 0.30, None, None)),
    ("mistral-medium*", p(0.40, 2.0, None, None)),
    ("mistral-small*", p(0.10, 0.30, None, None)),
    ("codestral*", p(0.30, 0.90, None, None)),
    ("open-mistral-nemo*", p(0.15, 0.15, None, None)),
    ("mistral-nemo*", p(0.15, 0.15, None, None)),
    ("ministral-14b*", p(0.20, 0.20, None, None)),
    ("ministral-8b-2512*", p(0.15, 0.15, None, None)),
    ("ministral-8b*", p(0.10, 0.10, None, None)),
    ("ministral-3b-2512*", p(0.10, 0.10, None, None)),
    ("ministral-3b*", p(0.04, 0.04, None, None)),
    // Amazon Nova on Bedrock (`amazon.nova-...`, checked 2026-12-04)
    ("nova-pro*", p(0.80, 3.20, Some(0.20), None)),
    ("nova-lite*", p(0.06, 0.24, Some(0.015), None)),
    ("nova-micro*", p(0.035, 0.14, Some(0.00875), None)),
    // DeepSeek (2025 prices, not re-checked)
    ("deepseek-chat*", p(0.27, 1.10, Some(0.07), None)),
    ("deepseek-reasoner*", p(0.55, 2.19, Some(0.14), None)),
    // Llama 3.x on Groq, Together, Fireworks and Bedrock (2025 prices, not re-checked)
    ("llama-3.3-70b-versatile*", p(0.59, 0.79, None, None)),
    ("llama-3.1-8b-instant*", p(0.05, 0.08, None, None)),
    // Together: `meta-llama/...-Turbo`
    ("llama-3.3-70b-instruct-turbo*", p(0.88, 0.88, None, None)),
    (
        "meta-llama-3.1-405b-instruct-turbo*",
        p(3.50, 3.50, None, None),
    ),
    (
        "meta-llama-3.1-70b-instruct-turbo*",
        p(0.88, 0.88, None, None),
    ),
    (
        "meta-llama-3.1-8b-instruct-turbo*",
        p(0.18, 0.18, None, None),
    ),
    // Fireworks: `accounts/fireworks/models/...`
    ("llama-v3p3-70b-instruct*", p(0.90, 0.90, None, None)),
    ("llama-v3p1-405b-instruct*", p(3.0, 3.0, None, None)),
    ("llama-v3p1-70b-instruct*", p(0.90, 0.90, None, None)),
    ("llama-v3p1-8b-instruct*", p(0.20, 0.20, None, None)),
    // Bedrock: `meta.llama3-...`
    ("llama3-3-70b-instruct*", p(0.72, 0.72, None, None)),
    ("llama3-1-405b-instruct*", p(2.40, 2.40, None, None)),
    ("llama3-1-70b-instruct*", p(0.72, 0.72, None, None)),
    ("llama3-1-8b-instruct*", p(0.22, 0.22, None, None)),
];
