//! Built-in list prices in USD per million tokens, as published by the providers in
//! 2025 (standard tier, no batch discount). Prices change: operators override them
//! with `pricing:` entries, which are tried first.
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
    // OpenAI
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
    ("gpt-5-nano*", p(0.05, 0.40, Some(0.005), None)),
    ("gpt-5-mini*", p(0.25, 2.0, Some(0.025), None)),
    ("gpt-5*", p(1.25, 10.0, Some(0.125), None)),
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
    // Anthropic (also on Bedrock and Vertex under the same names)
    ("claude-opus-4-5*", anthropic(5.0, 25.0)),
    ("claude-opus-4*", anthropic(15.0, 75.0)),
    ("claude-3-opus*", anthropic(15.0, 75.0)),
    // Sonnet 4 / 4.5 with the 1M context window: prompts above 200k at 2× input, 1.5× output.
    (
        "claude-sonnet-4*",
        tiered(anthropic(3.0, 15.0), 200_000, 2.0, 1.5),
    ),
    ("claude-3-7-sonnet*", anthropic(3.0, 15.0)),
    ("claude-3-5-sonnet*", anthropic(3.0, 15.0)),
    ("claude-haiku-4-5*", anthropic(1.0, 5.0)),
    ("claude-3-5-haiku*", anthropic(0.80, 4.0)),
    ("claude-3-haiku*", p(0.25, 1.25, Some(0.03), Some(0.30))),
    // Google Gemini (paid tier; prompts above the threshold cost more)
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
    // Mistral
    ("mistral-large*", p(2.0, 6.0, None, None)),
    ("mistral-medium*", p(0.40, 2.0, None, None)),
    ("mistral-small*", p(0.10, 0.30, None, None)),
    ("codestral*", p(0.30, 0.90, None, None)),
    ("open-mistral-nemo*", p(0.15, 0.15, None, None)),
    ("mistral-nemo*", p(0.15, 0.15, None, None)),
    ("ministral-8b*", p(0.10, 0.10, None, None)),
    ("ministral-3b*", p(0.04, 0.04, None, None)),
    // DeepSeek
    ("deepseek-chat*", p(0.27, 1.10, Some(0.07), None)),
    ("deepseek-reasoner*", p(0.55, 2.19, Some(0.14), None)),
    // Llama 3.x on Groq
    ("llama-3.3-70b-versatile*", p(0.59, 0.79, None, None)),
    ("llama-3.1-8b-instant*", p(0.05, 0.08, None, None)),
    // Llama 3.x on Together (`meta-llama/...-Turbo`)
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
    // Llama 3.x on Fireworks (`accounts/fireworks/models/...`)
    ("llama-v3p3-70b-instruct*", p(0.90, 0.90, None, None)),
    ("llama-v3p1-405b-instruct*", p(3.0, 3.0, None, None)),
    ("llama-v3p1-70b-instruct*", p(0.90, 0.90, None, None)),
    ("llama-v3p1-8b-instruct*", p(0.20, 0.20, None, None)),
    // Llama 3.x on Bedrock (`meta.llama3-...`)
    ("llama3-3-70b-instruct*", p(0.72, 0.72, None, None)),
    ("llama3-1-405b-instruct*", p(2.40, 2.40, None, None)),
    ("llama3-1-70b-instruct*", p(0.72, 0.72, None, None)),
    ("llama3-1-8b-instruct*", p(0.22, 0.22, None, None)),
];
