//! Built-in model capabilities, as published in the providers' model documentation
//! (figures taken 2026-12-04 from platform.openai.com/docs/models,
//! docs.anthropic.com/en/docs/about-claude/models, ai.google.dev/gemini-api/docs/models,
//! docs.mistral.ai/getting-started/models, api-docs.deepseek.com/quick_start/pricing,
//! console.groq.com/docs/models, docs.together.ai/docs/serverless-models,
//! fireworks.ai/models and docs.aws.amazon.com/bedrock model cards). Models change:
//! operators override any field with `capabilities:` entries or a target's own
//! `capabilities:`, which are tried first.
//!
//! Patterns are globs on the *normalized* upstream model name (the same
//! normalization as the price table: no `provider/` path, no Bedrock region or vendor
//! prefix, Vertex's `@` turned into `-`). The first match wins, so specific names come
//! before their families. Where a provider's documentation leaves a flag open the
//! entry says "capable": a wrong "no" would skip a target that works, a wrong "yes"
//! only lets the provider answer as it would without tollgate.

use super::capability::Caps;

/// `tools`, `vision`, `json` (JSON mode / structured output), `reasoning`.
const T: u8 = 1;
const V: u8 = 2;
const J: u8 = 4;
const R: u8 = 8;

const fn c(context_window: u64, max_output: u64, flags: u8) -> Caps {
    Caps {
        context_window,
        max_output,
        tools: flags & T != 0,
        vision: flags & V != 0,
        json: flags & J != 0,
        reasoning: flags & R != 0,
    }
}

/// `(glob, capabilities)`, first match wins.
pub const BUILTIN: &[(&str, Caps)] = &[
    // OpenAI
    ("gpt-4o-mini*", c(128_000, 16_384, T | V | J)),
    ("gpt-4o-2024-05-13*", c(128_000, 4_096, T | V | J)),
    ("gpt-4o*", c(128_000, 16_384, T | V | J)),
    ("gpt-4.1*", c(1_047_576, 32_768, T | V | J)),
    ("gpt-4.5*", c(128_000, 16_384, T | V | J)),
    ("gpt-4-turbo*", c(128_000, 4_096, T | V | J)),
    ("gpt-4-0613", c(8_192, 8_192, T)),
    ("gpt-4", c(8_192, 8_192, T)),
    ("gpt-5-chat*", c(128_000, 16_384, V | J)),
    ("gpt-5*", c(400_000, 128_000, T | V | J | R)),
    ("gpt-3.5-turbo-instruct*", c(4_096, 4_096, 0)),
    ("gpt-3.5-turbo*", c(16_385, 4_096, T | J)),
    ("o1-mini*", c(128_000, 65_536, R)),
    ("o1-pro*", c(200_000, 100_000, T | V | J | R)),
    ("o1*", c(200_000, 100_000, T | V | J | R)),
    ("o3-mini*", c(200_000, 100_000, T | J | R)),
    ("o3*", c(200_000, 100_000, T | V | J | R)),
    ("o4-mini*", c(200_000, 100_000, T | V | J | R)),
    // Anthropic (also on Bedrock and Vertex under the same names). JSON output is
    // reached through tool use, so every Claude model counts as JSON-capable.
    ("claude-opus-4-5*", c(200_000, 64_000, T | V | J | R)),
    ("claude-opus-4-1*", c(200_000, 32_000, T | V | J | R)),
    ("claude-opus-4*", c(200_000, 32_000, T | V | J | R)),
    // Sonnet 4 / 4.5: 1M tokens with the long-context beta header, 200k without.
    ("claude-sonnet-4*", c(1_000_000, 64_000, T | V | J | R)),
    ("claude-3-7-sonnet*", c(200_000, 64_000, T | V | J | R)),
    ("claude-3-5-sonnet*", c(200_000, 8_192, T | V | J)),
    ("claude-haiku-4-5*", c(200_000, 64_000, T | V | J | R)),
    ("claude-3-5-haiku*", c(200_000, 8_192, T | V | J)),
    ("claude-3-opus*", c(200_000, 4_096, T | V | J)),
    ("claude-3-haiku*", c(200_000, 4_096, T | V | J)),
    // Google Gemini
    ("gemini-2.5-pro*", c(1_048_576, 65_536, T | V | J | R)),
    (
        "gemini-2.5-flash-lite*",
        c(1_048_576, 65_536, T | V | J | R),
    ),
    ("gemini-2.5-flash*", c(1_048_576, 65_536, T | V | J | R)),
    ("gemini-2.0-flash-lite*", c(1_048_576, 8_192, T | V | J)),
    ("gemini-2.0-flash*", c(1_048_576, 8_192, T | V | J)),
    ("gemini-1.5-pro*", c(2_097_152, 8_192, T | V | J)),
    ("gemini-1.5-flash*", c(1_048_576, 8_192, T | V | J)),
    // Mistral
    ("mistral-large*", c(131_072, 131_072, T | V | J)),
    ("mistral-medium*", c(131_072, 131_072, T | V | J)),
    ("mistral-small*", c(131_072, 131_072, T | V | J)),
    ("pixtral*", c(131_072, 131_072, T | V | J)),
    ("codestral*", c(256_000, 256_000, T | J)),
    ("magistral*", c(40_000, 40_000, T | J | R)),
    ("open-mistral-nemo*", c(131_072, 131_072, T | J)),
    ("mistral-nemo*", c(131_072, 131_072, T | J)),
    ("ministral*", c(131_072, 131_072, T | J)),
    // DeepSeek
    ("deepseek-chat*", c(128_000, 8_192, T | J)),
    ("deepseek-reasoner*", c(128_000, 65_536, J | R)),
    // Llama 3.x on Groq, Together, Fireworks and Bedrock: text only, 128k.
    ("llama-3.3-70b-versatile*", c(131_072, 32_768, T | J)),
    ("llama-3.1-8b-instant*", c(131_072, 131_072, T | J)),
    ("*llama-3.3-70b-instruct*", c(131_072, 8_192, T | J)),
    ("*llama-3.1-*-instruct*", c(131_072, 8_192, T | J)),
    ("llama-v3p3-70b-instruct*", c(131_072, 16_384, T | J)),
    ("llama-v3p1-*-instruct*", c(131_072, 16_384, T | J)),
    ("llama3-3-70b-instruct*", c(128_000, 8_192, T)),
    ("llama3-1-*-instruct*", c(128_000, 8_192, T)),
    // Embedding models: no chat at all, only the window matters.
    ("text-embedding-3-*", c(8_191, 0, 0)),
    ("text-embedding-ada-002*", c(8_191, 0, 0)),
];
