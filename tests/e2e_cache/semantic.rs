//! Semantic hits on one long-lived gateway (memory backend): a paraphrase is a hit,
//! an unrelated question or other parameters a miss, and a dead embeddings route
//! only costs the lookup (the request goes upstream). Also `replay: paced`, and a
//! scope large enough to be searched through its LSH buckets.

use std::time::{Duration, Instant};

use serde_json::json;

use super::common::{http, mock, mock_with, Gateway};
use super::{anthropic_chat, openai_chat, post, stream_text};

const QUESTION: &str = "Please tell me what the capital city of France is, in one short sentence";
const PARAPHRASE: &str =
    "please tell me what the capital city of France is in one short sentence today";
const UNRELATED: &str = "Write a haiku about autumn leaves falling on a quiet pond";

/// A gateway whose route `m` (on `up`) looks up semantically through route `embed`
/// (on `emb`), `extra` added to `m`'s cache section.
pub fn semantic_config(up: &str, emb: &str, head: &str, extra: &str) -> String {
    format!(
        r#"
auth: {{ mode: open }}
{head}
providers:
  - {{ name: up, format: openai, base_url: "{up}", health_check: {{ kind: none }} }}
  - {{ name: emb, format: openai, base_url: "{emb}", health_check: {{ kind: none }} }}
models:
  - name: m
    targets: [{{ provider: up, model: gpt-4o-mini }}]
    cache: {{ ttl_seconds: 600, semantic: {{ embeddings_route: embed, threshold: 0.9, timeout_ms: 2000 }} {extra} }}
  - name: embed
    targets: [{{ provider: emb, model: text-embedding-3-small }}]
"#
    )
}

/// The embeddings upstream: 512-float bag-of-words vectors.
pub fn embeddings_mock() -> tollgate_mock::MockServer {
    mock_with("emb", |c| c.embedding_dims = 512)
}

#[test]
fn a_paraphrase_is_a_hit_an_unrelated_question_a_miss_and_a_dead_embedder_goes_upstream() {
    let up = mock("up");
    let emb = embeddings_mock();
    let gw = Gateway::start(&semantic_config(&up.url(), &emb.url(), "", ""));
    let ask = |prompt: &str, extra| {
        post(
            &gw.addr,
            "/v1/chat/completions",
            &[],
            &openai_chat("m", prompt, extra),
        )
    };

    let first = ask(QUESTION, json!({}));
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.header("x-tollgate-cache"), Some("miss"));
    assert_eq!((up.hits(), emb.hits()), (1, 1));

    // The same question: an exact hit, found before any embedding is asked for.
    let again = ask(QUESTION, json!({}));
    assert_eq!(again.header("x-tollgate-cache"), Some("hit"));
    assert_eq!((up.hits(), emb.hits()), (1, 1));

    // A paraphrase: the stored answer, with its similarity.
    let para = ask(PARAPHRASE, json!({}));
    assert_eq!(para.status, 200);
    assert_eq!(para.header("x-tollgate-cache"), Some("semantic-hit"));
    let similarity: f32 = para
        .header("x-tollgate-cache-similarity")
        .unwrap()
        .parse()
        .unwrap();
    assert!((0.9..=1.0).contains(&similarity), "{similarity}");
    assert_eq!(para.json(), first.json(), "the stored answer itself");
    assert_eq!(up.hits(), 1);

    // In the Anthropic dialect too: the same scope, answered in Anthropic shape.
    let ant = post(
        &gw.addr,
        "/v1/messages",
        &[],
        &anthropic_chat("m", PARAPHRASE, json!({})),
    );
    assert_eq!(ant.header("x-tollgate-cache"), Some("semantic-hit"));
    assert_eq!(ant.json()["type"], "message");
    assert_eq!(up.hits(), 1);
    // And as a stream: the stored answer replayed as events.
    let streamed = ask(PARAPHRASE, json!({"stream": true}));
    assert_eq!(streamed.header("x-tollgate-cache"), Some("semantic-hit"));
    assert_eq!(
        stream_text(&streamed.text()).0,
        first.json()["choices"][0]["message"]["content"]
    );
    assert_eq!(up.hits(), 1);

    // An unrelated question, and the paraphrase with another temperature: misses.
    let other = ask(UNRELATED, json!({}));
    assert_eq!(other.header("x-tollgate-cache"), Some("miss"));
    assert_eq!(up.hits(), 2);
    let warmer = ask(PARAPHRASE, json!({"temperature": 0.9}));
    assert_eq!(warmer.header("x-tollgate-cache"), Some("miss"));
    assert_eq!(up.hits(), 3);

    // The embeddings route goes down: requests are still answered, from upstream.
    emb.stop();
    let fresh = ask("What is the tallest mountain in Europe?", json!({}));
    assert_eq!(fresh.status, 200, "{}", fresh.text());
    assert_eq!(fresh.header("x-tollgate-cache"), Some("miss"));
    assert_eq!(up.hits(), 4);
    // Exact hits need no embedding.
    assert_eq!(
        ask(QUESTION, json!({})).header("x-tollgate-cache"),
        Some("hit")
    );
    gw.metrics_with(r#"tollgate_cache_embedding_errors_total{route="m"} 1"#);
    let page =
        gw.metrics_with(r#"tollgate_cache_requests_total{result="semantic-hit",route="m"} 3"#);
    assert!(page.contains("tollgate_cache_semantic_entries 3"), "{page}");
}

#[test]
fn paced_replay_keeps_the_recorded_gaps() {
    // 6 tokens 150 ms apart: the stored stream's chunks are >= 150 ms apart.
    let up = mock_with("up", |c| {
        c.tokens = 6;
        c.delay_ms = 150;
    });
    let emb = embeddings_mock();
    let gw = Gateway::start(&semantic_config(
        &up.url(),
        &emb.url(),
        "",
        ", replay: paced",
    ));
    let req = openai_chat(
        "m",
        "Tell me a story",
        json!({"stream": true, "stream_options": {"include_usage": true}}),
    );
    let live = post(&gw.addr, "/v1/chat/completions", &[], &req);
    assert_eq!(live.header("x-tollgate-cache"), Some("miss"));
    let (live_text, live_usage) = stream_text(&live.text());

    let started = Instant::now();
    let replay = post(&gw.addr, "/v1/chat/completions", &[], &req);
    let took = started.elapsed();
    assert_eq!(replay.header("x-tollgate-cache"), Some("hit"));
    let (text, usage) = stream_text(&replay.text());
    assert_eq!(text, live_text);
    for field in ["prompt_tokens", "completion_tokens", "total_tokens"] {
        assert_eq!(usage[field], live_usage[field], "{field}");
    }
    assert_eq!(up.hits(), 1);
    // Five gaps of about 150 ms were recorded (as the chunks reached the gateway: a
    // busy machine may deliver two together) and are slept again. A fast replay takes
    // milliseconds; three gaps' worth is a bound no scheduling jitter breaks.
    assert!(took >= Duration::from_millis(3 * 150), "{took:?}");

    // The non-streaming answer of the same entry is not paced (no content to pace).
    let plain = post(
        &gw.addr,
        "/v1/chat/completions",
        &[],
        &openai_chat("m", "Tell me a story", json!({})),
    );
    assert_eq!(plain.header("x-tollgate-cache"), Some("hit"));
}

#[test]
fn tollgate_check_refuses_a_bad_cache_config_with_its_key_paths() {
    let text = semantic_config("http://127.0.0.1:1", "http://127.0.0.1:2", "", "")
        .replace("threshold: 0.9", "threshold: 1.5")
        .replace("ttl_seconds: 600", "ttl_seconds: 0")
        .replace("embeddings_route: embed", "embeddings_route: nowhere");
    let (ok, out) = super::common::validate_config(&text, &[]);
    assert!(!ok, "{out}");
    for path in [
        "models[0].cache.semantic.threshold",
        "models[0].cache.ttl_seconds",
        "models[0].cache.semantic.embeddings_route",
    ] {
        assert!(out.contains(path), "{path}: {out}");
    }
}

/// A question of eight words no other question shares (bag-of-words vectors of two
/// such questions are nearly orthogonal).
fn distinct_question(i: usize) -> String {
    (0..8)
        .map(|w| format!("q{i}w{w}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn a_scope_past_the_ann_size_still_finds_each_paraphrase_and_misses_the_unrelated() {
    const QUESTIONS: usize = 300;
    const { assert!(QUESTIONS > 2 * tollgate::cache::semantic::ANN_MIN_ENTRIES) };
    let up = mock("up");
    let emb = embeddings_mock();
    let gw = Gateway::start(&semantic_config(&up.url(), &emb.url(), "", ""));
    let ask = |prompt: &str| {
        post(
            &gw.addr,
            "/v1/chat/completions",
            &[],
            &openai_chat("m", prompt, json!({})),
        )
    };
    let mut answers = Vec::with_capacity(QUESTIONS);
    for i in 0..QUESTIONS {
        let r = ask(&distinct_question(i));
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("x-tollgate-cache"), Some("miss"), "question {i}");
        answers.push(r.json());
    }
    assert_eq!(up.hits(), QUESTIONS);
    gw.metrics_with(&format!("tollgate_cache_semantic_entries {QUESTIONS}"));

    // One more word (similarity 8/√72 ≈ 0.943 ≥ 0.9): each paraphrase gets its own
    // question's answer, found through the scope's buckets.
    for i in (0..QUESTIONS).step_by(7) {
        let r = ask(&format!("please {}", distinct_question(i)));
        assert_eq!(
            r.header("x-tollgate-cache"),
            Some("semantic-hit"),
            "question {i}"
        );
        assert_eq!(r.json(), answers[i], "question {i}");
    }
    assert_eq!(up.hits(), QUESTIONS);
    let unrelated = ask(UNRELATED);
    assert_eq!(unrelated.header("x-tollgate-cache"), Some("miss"));
    assert_eq!(up.hits(), QUESTIONS + 1);

    // Invalidation empties the index: a paraphrase is then a miss.
    let del = http::request(&gw.admin, "DELETE", "/admin/cache?route=m", &[], b"");
    assert_eq!(del.status, 200, "{}", del.text());
    let after = ask(&format!("please {}", distinct_question(3)));
    assert_eq!(after.header("x-tollgate-cache"), Some("miss"));
}
