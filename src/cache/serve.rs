//! The lookup, after admission and before any upstream attempt, and the answer of a
//! hit: the stored body rendered in the client's dialect, as JSON or as a synthesised
//! event stream, with `x-tollgate-cache: hit` and `age`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora_proxy::Session;

use super::{key, metrics, Entry, Outcome, PendingStore};
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

/// Look the request up. `Ok(true)`: a hit was answered. On a miss the request goes
/// upstream with `ctx.req.cache.store` set, so its answer is stored.
pub async fn lookup(session: &mut Session, ctx: &mut Ctx) -> pingora::Result<bool> {
    let (Some(runtime), Some(keyinfo), Some(plan)) =
        (&ctx.req.runtime, &ctx.req.key, &ctx.req.plan)
    else {
        return Ok(false);
    };
    if !matches!(ctx.req.api, Some(Api::ChatCompletions | Api::Messages)) {
        return Ok(false);
    }
    let Some(route) = plan.routes.first() else {
        return Ok(false);
    };
    let Some(rc) = &route.cache else {
        return Ok(false);
    };
    let control = if keyinfo.cache_bypass {
        client_control(session)
    } else {
        ClientControl::default()
    };
    let namespace = key::namespace(rc, keyinfo);
    let Some(k) = key::request_key(ctx.req.dialect, &ctx.req.body, route, rc, &namespace) else {
        return Ok(false);
    };
    let route_name: Arc<str> = Arc::from(route.name.as_str());
    let store = runtime.cache.clone();
    let bypass = control.no_store || control.no_cache;
    let entry = if bypass { None } else { store.get(&k) };
    let outcome = match (&entry, bypass) {
        (_, true) => Outcome::Bypass,
        (Some(_), _) => Outcome::Hit,
        (None, _) => Outcome::Miss,
    };
    metrics::REQUESTS
        .with_label_values(&[&route_name, outcome.as_str()])
        .inc();
    ctx.req.cache.outcome = outcome;
    if let Some(entry) = entry {
        let tokens = entry.usage.input_tokens + entry.usage.output_tokens;
        metrics::TOKENS_SAVED
            .with_label_values(&[&route_name])
            .inc_by(tokens);
        let usd = runtime.policy.cost(&entry.upstream_model, &entry.usage);
        if usd > 0.0 {
            metrics::USD_SAVED
                .with_label_values(&[&route_name])
                .inc_by(usd);
        }
        answer(session, ctx, &entry).await?;
        return Ok(true);
    }
    if !control.no_store {
        let ttl = control.ttl.map_or(rc.ttl, |t| t.min(rc.ttl));
        ctx.req.cache.store = Some(PendingStore {
            key: k,
            route: route_name,
            namespace: Arc::from(namespace),
            ttl,
        });
    }
    Ok(false)
}

/// Write a hit in the client's dialect. A body that no longer renders (it was
/// validated when stored, so only a translator change could cause it) is answered as
/// an internal error rather than sent half-right.
async fn answer(session: &mut Session, ctx: &mut Ctx, entry: &Entry) -> pingora::Result<()> {
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
    let mut resp = ResponseHeader::build(200, Some(8))?;
    if stream {
        resp.insert_header("content-type", "text/event-stream")?;
        resp.insert_header("cache-control", "no-cache")?;
    } else {
        resp.insert_header("content-type", "application/json")?;
    }
    resp.insert_header("content-length", body.len().to_string())?;
    resp.insert_header("x-request-id", ctx.req.id.as_str())?;
    resp.insert_header("x-tollgate-cache", Outcome::Hit.as_str())?;
    resp.insert_header("age", entry.age_seconds().to_string())?;
    for (name, value) in ctx.rate_limit_headers() {
        resp.insert_header(*name, value.as_str())?;
    }
    ctx.resp.status = 200;
    session.write_response_header(Box::new(resp), false).await?;
    session.write_response_body(Some(body), true).await?;
    Ok(())
}

/// `x-tollgate-cache` on an answer that went upstream (`miss` or `bypass`).
pub fn response_header(ctx: &Ctx) -> Option<&'static str> {
    match ctx.req.cache.outcome {
        Outcome::NotCached => None,
        o => Some(o.as_str()),
    }
}
