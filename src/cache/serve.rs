//! The lookup, after admission and before any upstream attempt, and the answer of a
//! hit: the stored body rendered in the client's dialect, as JSON or as a synthesised
//! event stream (at once, or paced with the recorded gaps), with `x-tollgate-cache`
//! (`hit` or `semantic-hit` with `x-tollgate-cache-similarity`) and `age`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora_proxy::Session;

use super::{codec, key, metrics, semantic, Entry, Outcome, PendingStore};
use crate::config::Replay;
use crate::formats;
use crate::providers::Api;
use crate::proxy::ctx::Ctx;

/// What the client asked of the cache (`Cache-Control`, `x-tollgate-cache-ttl`).
#[derive(Debug, Default, PartialEq, Eq)]
struct ClientControl {
    /// `no-cache`: skip the lookup, store the fresh answer.
    no_cache: bool,
    /// `no-store`: neither read nor write.
    no_store: bool,
    /// A shorter TTL for the stored answer.
    ttl: Option<Duration>,
}

fn client_control(session: &Session) -> ClientControl {
    let headers = &session.req_header().headers;
    let mut c = ClientControl::default();
    for v in headers.get_all("cache-control") {
        let Ok(v) = v.to_str() else { continue };
        for directive in v.split(',').map(|d| d.trim().to_ascii_lowercase()) {
            match directive.as_str() {
                "no-cache" => c.no_cache = true,
                "no-store" => c.no_store = true,
                _ => {}
            }
        }
    }
    c.ttl = headers
        .get("x-tollgate-cache-ttl")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&s| s > 0)
        .map(Duration::from_secs);
    c
}

/// The request's first route and its cache settings, when its answers are cached
/// and the request is of a kind the cache serves.
fn cached_route(
    ctx: &Ctx,
) -> Option<(
    &crate::config::ModelRoute,
    &crate::config::cache::RouteCache,
)> {
    let cacheable = matches!(
        ctx.req.api,
        Some(Api::ChatCompletions | Api::Messages | Api::Responses)
    );
    let route = ctx.req.plan.as_ref()?.routes.first()?;
    let rc = route.cache.as_ref().filter(|_| cacheable)?;
    Some((route, rc))
}

/// Whether [`lookup`] can find anything for this request: a cheap test, so that the
/// lookup's future (embeddings, store calls) is made only where a cache is on.
pub fn applies(ctx: &Ctx) -> bool {
    cached_route(ctx).is_some()
}

/// Look the request up. `Ok(true)`: a hit was answered. On a miss the request goes
/// upstream with `ctx.req.cache.store` set, so its answer is stored.
pub async fn lookup(session: &mut Session, ctx: &mut Ctx) -> pingora::Result<bool> {
    let (Some(runtime), Some(keyinfo), Some((route, rc))) =
        (&ctx.req.runtime, &ctx.req.key, cached_route(ctx))
    else {
        return Ok(false);
    };
    let control = if keyinfo.cache_bypass {
        client_control(session)
    } else {
        ClientControl::default()
    };
    let namespace = key::namespace(rc, keyinfo);
    let Some(keys) = key::request_keys(ctx.req.dialect, &ctx.req.body, route, rc, &namespace)
    else {
        return Ok(false);
    };
    let (runtime, rc) = (runtime.clone(), rc.clone());
    let route_name: Arc<str> = Arc::from(route.name.as_str());
    let store = runtime.cache.clone();
    let bypass = control.no_store || control.no_cache;
    let mut found = if bypass {
        None
    } else {
        store.get(&route_name, &namespace, &keys.exact).await
    };
    let mut similarity = None;
    let mut semantic = None;
    if let (Some(sem), Some((question, scope)), None, false) =
        (&rc.semantic, keys.semantic, &found, control.no_store)
    {
        match semantic::embed::embed(&runtime, &sem.embeddings_route, &question, sem.timeout).await
        {
            Ok(vector) => {
                let vector: Arc<[f32]> = vector.into();
                if !bypass {
                    let best = nearest(&store.semantic, scope, &vector, sem.threshold).await;
                    if let Some(m) = best {
                        found = store.get(&route_name, &namespace, &m.key).await;
                        match found {
                            Some(_) => similarity = Some(m.similarity),
                            // Expired or invalidated: the index entry goes too.
                            None => store.semantic.remove(&scope, &m.key),
                        }
                    }
                }
                semantic = Some((scope, vector));
            }
            Err(e) => {
                metrics::EMBEDDING_ERRORS
                    .with_label_values(&[&route_name])
                    .inc();
                log::debug!("semantic cache lookup skipped on route {route_name}: {e}");
            }
        }
    }
    let outcome = match (&found, bypass, similarity) {
        (_, true, _) => Outcome::Bypass,
        (Some(_), _, Some(_)) => Outcome::SemanticHit,
        (Some(_), _, None) => Outcome::Hit,
        (None, _, _) => Outcome::Miss,
    };
    metrics::REQUESTS
        .with_label_values(&[&route_name, outcome.as_str()])
        .inc();
    ctx.req.cache.outcome = outcome;
    if let Some(entry) = found {
        let tokens = entry.usage.input_tokens + entry.usage.output_tokens;
        if rc.tpm_on_hits {
            if let Some(admission) = ctx.req.admission.as_mut() {
                admission.count_tokens_against_limits(tokens);
            }
        }
        metrics::TOKENS_SAVED
            .with_label_values(&[&route_name])
            .inc_by(tokens);
        let usd = runtime.policy.cost(&entry.upstream_model, &entry.usage);
        if usd > 0.0 {
            metrics::USD_SAVED
                .with_label_values(&[&route_name])
                .inc_by(usd);
        }
        let hit = Hit {
            entry: &entry,
            outcome,
            similarity,
            paced: rc.replay == Replay::Paced,
        };
        answer(session, ctx, hit).await?;
        return Ok(true);
    }
    if !control.no_store {
        let ttl = control.ttl.map_or(rc.ttl, |t| t.min(rc.ttl));
        ctx.req.cache.store = Some(PendingStore {
            key: keys.exact,
            route: route_name,
            namespace: Arc::from(namespace),
            ttl,
            semantic,
        });
    }
    Ok(false)
}

/// Lookups that may scan more rows than this are run on the blocking pool, not on
/// the request's worker thread (a scan of this many 1536-float rows takes about half
/// a millisecond; a lookup through the LSH buckets of a large scope compares far
/// fewer and stays inline).
const INLINE_SCAN_ENTRIES: usize = 2_000;

/// The best semantic match of `vector` in `scope`.
async fn nearest(
    index: &Arc<semantic::SemanticIndex>,
    scope: [u8; 32],
    vector: &Arc<[f32]>,
    threshold: f32,
) -> Option<semantic::Match> {
    let now = codec::unix_ms(SystemTime::now());
    if !index.may_scan_long(threshold, INLINE_SCAN_ENTRIES) {
        return index.lookup(&scope, vector, threshold, now);
    }
    let (index, vector) = (index.clone(), vector.clone());
    tokio::task::spawn_blocking(move || index.lookup(&scope, &vector, threshold, now))
        .await
        .ok()
        .flatten()
}

/// How a hit is answered.
struct Hit<'a> {
    entry: &'a Entry,
    outcome: Outcome,
    similarity: Option<f32>,
    /// Replay a stream with its recorded gaps.
    paced: bool,
}

/// Write a hit in the client's dialect. A body that no longer renders (it was
/// validated when stored, so only a translator change could cause it) is answered as
/// an internal error rather than sent half-right.
async fn answer(session: &mut Session, ctx: &mut Ctx, hit: Hit<'_>) -> pingora::Result<()> {
    let entry = hit.entry;
    let dialect = ctx.req.dialect;
    let model = ctx.model_name().to_string();
    let stream = ctx.stream_requested();
    let rendered = if stream {
        let usage = ctx.req.envelope.as_ref().is_some_and(|e| e.include_usage);
        formats::replay::synthesize_stream(entry.format, &entry.body, dialect, usage, &model)
            .map(Bytes::from)
    } else if entry.format.native_dialect() == Some(dialect) {
        Ok(entry.body.clone())
    } else {
        formats::translate_response(entry.format, dialect, &entry.body, &model)
            .map(|(b, _)| Bytes::from(b))
    };
    let body = match rendered {
        Ok(body) => body,
        Err(err) => return crate::proxy::respond::send_error(session, ctx, err).await,
    };
    let paced = stream && hit.paced && !entry.gaps_ms.is_empty();
    let mut resp = ResponseHeader::build(200, Some(10))?;
    if stream {
        resp.insert_header("content-type", "text/event-stream")?;
        resp.insert_header("cache-control", "no-cache")?;
    } else {
        resp.insert_header("content-type", "application/json")?;
    }
    if !paced {
        resp.insert_header("content-length", body.len().to_string())?;
    }
    resp.insert_header("x-request-id", ctx.req.id.value().clone())?;
    resp.insert_header("x-tollgate-cache", hit.outcome.as_str())?;
    if let Some(s) = hit.similarity {
        resp.insert_header("x-tollgate-cache-similarity", format!("{s:.4}"))?;
    }
    resp.insert_header("age", entry.age_seconds().to_string())?;
    for (name, value) in ctx.rate_limit_headers() {
        resp.insert_header(name.as_str(), value.clone())?;
    }
    ctx.resp.status = 200;
    session.write_response_header(Box::new(resp), false).await?;
    // Settled before the body goes out, as proxied answers are: the client's next
    // request must find its concurrency slot free and its tokens counted.
    crate::proxy::finish::settle_early(ctx);
    if paced {
        return write_paced(session, body, &entry.gaps_ms).await;
    }
    session.write_response_body(Some(body), true).await?;
    Ok(())
}

/// The synthesised stream in groups of events, with the recorded gaps between them
/// (see [`pace`]).
async fn write_paced(session: &mut Session, body: Bytes, gaps_ms: &[u32]) -> pingora::Result<()> {
    let events = split_events(&body);
    let plan = pace(events.len(), gaps_ms);
    let mut start = 0;
    let last = plan.len().saturating_sub(1);
    for (i, (count, gap)) in plan.into_iter().enumerate() {
        let end = events.get(start + count - 1).map_or(body.len(), |e| e.end);
        let begin = events.get(start).map_or(end, |e| e.start);
        session
            .write_response_body(Some(body.slice(begin..end)), i == last)
            .await?;
        start += count;
        if gap > 0 {
            tokio::time::sleep(Duration::from_millis(u64::from(gap))).await;
        }
    }
    Ok(())
}

/// Byte ranges of the events of an SSE body (each ending with its blank line).
fn split_events(body: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + 1 < body.len() {
        if body[i] == b'\n' && body[i + 1] == b'\n' {
            out.push(start..i + 2);
            start = i + 2;
            i += 2;
        } else {
            i += 1;
        }
    }
    if start < body.len() {
        out.push(start..body.len());
    }
    out
}

/// How `events` replayed events are paced by the `gaps` recorded between the
/// original stream's chunks: `(events in the group, pause after it)` per group. There
/// are as many groups as original chunks (fewer when there are fewer events: then
/// neighbouring gaps are merged), so the replay lasts as long as the original and
/// keeps its rhythm.
pub(super) fn pace(events: usize, gaps: &[u32]) -> Vec<(usize, u32)> {
    if events == 0 {
        return Vec::new();
    }
    let groups = events.min(gaps.len() + 1);
    let mut out = Vec::with_capacity(groups);
    for g in 0..groups {
        let count = events * (g + 1) / groups - events * g / groups;
        let pause = if g + 1 == groups {
            0
        } else {
            let (from, to) = (
                gaps.len() * g / (groups - 1),
                gaps.len() * (g + 1) / (groups - 1),
            );
            gaps[from..to]
                .iter()
                .copied()
                .fold(0u32, u32::saturating_add)
        };
        out.push((count, pause));
    }
    out
}

/// `x-tollgate-cache` on an answer that went upstream (`miss` or `bypass`).
pub fn response_header(ctx: &Ctx) -> Option<&'static str> {
    match ctx.req.cache.outcome {
        Outcome::NotCached => None,
        o => Some(o.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacing_keeps_the_total_and_the_rhythm() {
        // As many events as chunks: one event per group, each original gap.
        assert_eq!(pace(3, &[10, 20]), vec![(1, 10), (1, 20), (1, 0)]);
        // More events than chunks: events spread, gaps kept.
        assert_eq!(pace(6, &[10, 20]), vec![(2, 10), (2, 20), (2, 0)]);
        // Fewer events than chunks: gaps merged, total kept.
        let plan = pace(2, &[10, 20, 30, 40]);
        assert_eq!(plan.iter().map(|p| p.0).sum::<usize>(), 2);
        assert_eq!(plan.iter().map(|p| p.1).sum::<u32>(), 100);
        assert_eq!(pace(4, &[]), vec![(4, 0)]);
        assert!(pace(0, &[5]).is_empty());
    }

    #[tokio::test]
    async fn large_indexes_are_searched_off_the_worker_with_the_same_answer() {
        let index = Arc::new(semantic::SemanticIndex::new(10_000));
        let expires_ms = codec::unix_ms(SystemTime::now()) + 60_000;
        for i in 0..(INLINE_SCAN_ENTRIES as u32 + 10) {
            let mut key = [0u8; 32];
            key[..4].copy_from_slice(&i.to_le_bytes());
            let angle = i as f32 * 0.001;
            index.insert(
                &semantic::Record {
                    scope: [3; 32],
                    key,
                    expires_ms,
                    route: Arc::from("r"),
                    namespace: Arc::from("global"),
                    vector: vec![angle.cos(), angle.sin()].into(),
                },
                0,
            );
        }
        let query: Arc<[f32]> = vec![1.0, 0.0].into();
        let m = nearest(&index, [3; 32], &query, 0.999).await.unwrap();
        assert_eq!(m.key[..4], 0u32.to_le_bytes());
        assert!(nearest(&index, [4; 32], &query, 0.5).await.is_none());
    }

    #[test]
    fn events_are_split_at_blank_lines() {
        let body = b"data: a\n\nevent: x\ndata: b\n\ndata: [DONE]\n\n";
        let ev = split_events(body);
        assert_eq!(ev.len(), 3);
        assert_eq!(&body[ev[1].clone()], b"event: x\ndata: b\n\n");
        assert_eq!(ev.last().unwrap().end, body.len());
    }
}
