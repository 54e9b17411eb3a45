//! The admin plane, on its own listener: `/metrics` (Prometheus), `/healthz`,
//! `/readyz`, the status page (`/`, whose data comes from `/admin/status`), and under
//! `/admin/` (bearer token when configured): upstream health and stats, the redacted
//! config, reload, response-cache invalidation, routing explanations.
//! `listeners.metrics_auth` puts `/metrics` behind the token too.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use async_trait::async_trait;
use http::{Response, StatusCode};
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;
use serde_json::json;

use crate::metrics;
use crate::routing::health::BreakerView;
use crate::routing::EndpointPool;
use crate::runtime::Gateway;

mod explain;
mod page;
mod status;

/// Largest explain request: a prompt to explain, not an upload.
const MAX_EXPLAIN_BYTES: usize = 4 << 20;

/// The request body, or `None` when it is over [`MAX_EXPLAIN_BYTES`] or broken.
async fn read_body(session: &mut ServerSession) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = session.read_request_body().await.ok()? {
        if body.len() + chunk.len() > MAX_EXPLAIN_BYTES {
            return None;
        }
        body.extend_from_slice(&chunk);
    }
    Some(body)
}

pub struct AdminApp {
    pub gateway: Arc<Gateway>,
}

#[async_trait]
impl ServeHttp for AdminApp {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let method = session.req_header().method.clone();
        let path = session.req_header().uri.path().to_string();
        let guarded = path.starts_with("/admin/")
            || (path == "/metrics" && self.gateway.snapshot().config.metrics_auth);
        if guarded && !self.authorized(session) {
            return json_response(
                StatusCode::UNAUTHORIZED,
                json!({"error": "admin token required"}),
            );
        }
        let body = if (method.as_str(), path.as_str()) == ("POST", "/admin/route/explain") {
            match read_body(session).await {
                Some(body) => body,
                None => {
                    return json_response(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        json!({"error": "body over 4 MiB or unreadable"}),
                    )
                }
            }
        } else {
            // Drain any request body so the connection can be reused.
            let _ = session.drain_request_body().await;
            Vec::new()
        };
        match (method.as_str(), path.as_str()) {
            ("GET", "/metrics") => text_response(
                StatusCode::OK,
                "text/plain; version=0.0.4",
                metrics::render(),
            ),
            // Liveness: the process serves. Readiness: a config is loaded and serving;
            // one unhealthy provider must not pull every replica out of a load
            // balancer, so provider health has its own page.
            ("GET", "/livez" | "/healthz") => {
                text_response(StatusCode::OK, "text/plain", b"ok\n".to_vec())
            }
            ("GET", "/readyz") => text_response(StatusCode::OK, "text/plain", b"ready\n".to_vec()),
            ("GET", "/health/providers") => self.provider_health(),
            ("GET", "/") => page::response(),
            ("GET", "/admin/status") => {
                json_response(StatusCode::OK, status::status(&self.gateway).await)
            }
            ("GET", "/admin/upstreams") => {
                json_response(StatusCode::OK, upstreams(&self.gateway.snapshot()))
            }
            ("GET", "/admin/usage") => {
                let report = self.gateway.snapshot().policy.usage_report().await;
                json_response(StatusCode::OK, report)
            }
            ("GET", "/admin/config") => {
                let yaml = self.gateway.snapshot().config.redacted_yaml();
                text_response(StatusCode::OK, "application/yaml", yaml.into_bytes())
            }
            ("POST", "/admin/route/explain") => {
                let (status, answer) = explain::explain(&self.gateway.snapshot(), &body).await;
                json_response(status, answer)
            }
            ("POST", "/admin/reload") => match self.gateway.reload().await {
                Ok(()) => json_response(StatusCode::OK, json!({"status": "reloaded"})),
                Err(errors) => json_response(
                    StatusCode::BAD_REQUEST,
                    json!({"status": "rejected", "errors": errors.lines().collect::<Vec<_>>()}),
                ),
            },
            ("DELETE", "/admin/cache") => {
                let query = session.req_header().uri.query().unwrap_or("").to_string();
                self.invalidate_cache(&query).await
            }
            _ => json_response(StatusCode::NOT_FOUND, json!({"error": "not found"})),
        }
    }
}

impl AdminApp {
    /// `DELETE /admin/cache[?route=R][&namespace=N]`: drop every response-cache entry,
    /// or those of one route and/or namespace (`team:<name>`, `key:<name>`, `global`).
    async fn invalidate_cache(&self, query: &str) -> Response<Vec<u8>> {
        let mut route = None;
        let mut namespace = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("route", v)) => route = Some(v.to_string()),
                Some(("namespace", v)) => namespace = Some(v.to_string()),
                _ => {
                    return json_response(
                        StatusCode::BAD_REQUEST,
                        json!({"error": "query parameters: route, namespace"}),
                    )
                }
            }
        }
        let before = self
            .gateway
            .snapshot()
            .cache
            .invalidate(route.as_deref(), namespace.as_deref())
            .await;
        json_response(
            StatusCode::OK,
            json!({"status": "invalidated", "route": route, "namespace": namespace,
                   "entries_before": before}),
        )
    }

    fn authorized(&self, session: &ServerSession) -> bool {
        let runtime = self.gateway.snapshot();
        let Some(token) = &runtime.config.admin_token else {
            return true;
        };
        let presented = session
            .req_header()
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        token.matches(presented)
    }

    /// Ready when every provider has at least one healthy endpoint.
    /// Per provider: endpoints up by active health checks, and those in a passive
    /// cool-down. 503 when some provider has no endpoint up at all.
    fn provider_health(&self) -> Response<Vec<u8>> {
        let runtime = self.gateway.snapshot();
        let mut providers: Vec<_> = runtime.pools.iter().collect();
        providers.sort_by(|a, b| a.0.cmp(b.0));
        let mut all_up = true;
        let list: Vec<_> = providers
            .into_iter()
            .map(|(name, pool)| {
                let health = pool.health();
                let up = health.iter().filter(|(_, _, healthy)| *healthy).count();
                let cooling = (0..health.len())
                    .filter(|i| pool.endpoint_breaker(*i).is_some_and(|b| b.open_until_ms != 0))
                    .count();
                all_up &= up > 0;
                json!({"provider": name, "endpoints": health.len(), "up": up, "cooling_down": cooling})
            })
            .collect();
        let status = if all_up {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        json_response(status, json!({ "providers": list }))
    }
}

/// Every provider's endpoints, breakers and cool-downs, by name.
fn upstreams(runtime: &crate::runtime::Runtime) -> serde_json::Value {
    let mut providers: Vec<_> = runtime.pools.iter().collect();
    providers.sort_by(|a, b| a.0.cmp(b.0));
    let list: Vec<_> = providers
        .into_iter()
        .map(|(name, pool)| provider_view(name, pool))
        .collect();
    json!({ "providers": list })
}

/// One provider's endpoints, their breakers, the (endpoint, model) cool-downs and
/// the retry budget in use.
fn provider_view(name: &str, pool: &EndpointPool) -> serde_json::Value {
    let now = pool.now_ms();
    let endpoints: Vec<_> = pool
        .health()
        .into_iter()
        .enumerate()
        .map(|(i, (url, addr, healthy))| {
            let s = &pool.stats[i];
            let breaker = pool.endpoint_breaker(i).map(|b| breaker_view(&b, now));
            json!({
                "url": url,
                "address": addr.map(|a| a.to_string()),
                "healthy": healthy,
                "cooling_down": breaker.as_ref().is_some_and(|b| b["state"] == "open"),
                "breaker": breaker,
                "in_flight": s.in_flight.load(Ordering::Relaxed),
                "requests": s.requests.load(Ordering::Relaxed),
                "failures": s.failures.load(Ordering::Relaxed),
                "latency_ewma_ms": s.latency_ewma_us.load(Ordering::Relaxed) as f64 / 1000.0,
            })
        })
        .collect();
    let models: Vec<_> = pool
        .model_breakers()
        .into_iter()
        .map(|(i, model, b)| {
            let mut v = breaker_view(&b, now);
            v["endpoint"] = json!(pool.endpoints.get(i).map(|e| e.url.as_str()));
            v["model"] = json!(model);
            v
        })
        .collect();
    json!({
        "provider": name,
        "endpoints": endpoints,
        "model_cooldowns": models,
        "retries_in_flight": pool.budget.retries_in_flight(),
    })
}

/// A breaker as the admin plane shows it: state, reason, remaining cool-down.
fn breaker_view(b: &BreakerView, now_ms: u64) -> serde_json::Value {
    let state = match b.open_until_ms {
        0 => "closed",
        until if now_ms < until => "open",
        _ => "half_open",
    };
    json!({
        "state": state,
        "reason": b.reason.map(|r| r.as_str()),
        "remaining_ms": b.open_until_ms.saturating_sub(now_ms),
        "trips": b.trips,
    })
}

fn json_response(status: StatusCode, value: serde_json::Value) -> Response<Vec<u8>> {
    text_response(status, "application/json", value.to_string().into_bytes())
}

fn text_response(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response<Vec<u8>> {
    let len = body.len();
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("content-length", len)
        .body(body)
        .unwrap_or_else(|_| Response::new(Vec::new()))
}
