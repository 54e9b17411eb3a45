//! The admin plane, on its own listener: `/metrics` (Prometheus), `/healthz`,
//! `/readyz`, and under `/admin/` (bearer token when configured): upstream health
//! and stats, the redacted config, reload. `listeners.metrics_auth` puts `/metrics`
//! behind the token too.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use async_trait::async_trait;
use http::{Response, StatusCode};
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;
use serde_json::json;

use crate::metrics;
use crate::runtime::Gateway;

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
        // Drain any request body so the connection can be reused.
        let _ = session.drain_request_body().await;
        match (method.as_str(), path.as_str()) {
            ("GET", "/metrics") => text_response(
                StatusCode::OK,
                "text/plain; version=0.0.4",
                metrics::render(),
            ),
            ("GET", "/healthz") => text_response(StatusCode::OK, "text/plain", b"ok\n".to_vec()),
            ("GET", "/readyz") => self.ready(),
            ("GET", "/admin/upstreams") => json_response(StatusCode::OK, self.upstreams()),
            ("GET", "/admin/usage") => {
                let report = self.gateway.snapshot().policy.usage_report().await;
                json_response(StatusCode::OK, report)
            }
            ("GET", "/admin/config") => {
                let yaml = self.gateway.snapshot().config.redacted_yaml();
                text_response(StatusCode::OK, "application/yaml", yaml.into_bytes())
            }
            ("POST", "/admin/reload") => match self.gateway.reload().await {
                Ok(()) => json_response(StatusCode::OK, json!({"status": "reloaded"})),
                Err(errors) => json_response(
                    StatusCode::BAD_REQUEST,
                    json!({"status": "rejected", "errors": errors.lines().collect::<Vec<_>>()}),
                ),
            },
            _ => json_response(StatusCode::NOT_FOUND, json!({"error": "not found"})),
        }
    }
}

impl AdminApp {
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
    fn ready(&self) -> Response<Vec<u8>> {
        let runtime = self.gateway.snapshot();
        let unhealthy: Vec<&String> = runtime
            .pools
            .iter()
            .filter(|(_, pool)| !pool.any_healthy())
            .map(|(name, _)| name)
            .collect();
        if unhealthy.is_empty() {
            text_response(StatusCode::OK, "text/plain", b"ready\n".to_vec())
        } else {
            json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"status": "not ready", "no_healthy_endpoint": unhealthy}),
            )
        }
    }

    fn upstreams(&self) -> serde_json::Value {
        let runtime = self.gateway.snapshot();
        let mut providers: Vec<_> = runtime.pools.iter().collect();
        providers.sort_by(|a, b| a.0.cmp(b.0));
        let list: Vec<_> = providers
            .into_iter()
            .map(|(name, pool)| {
                let endpoints: Vec<_> = pool
                    .health()
                    .into_iter()
                    .enumerate()
                    .map(|(i, (url, addr, healthy))| {
                        let s = &pool.stats[i];
                        json!({
                            "url": url,
                            "address": addr.map(|a| a.to_string()),
                            "healthy": healthy,
                            "cooling_down": pool.is_cooling_down(i),
                            "in_flight": s.in_flight.load(Ordering::Relaxed),
                            "requests": s.requests.load(Ordering::Relaxed),
                            "failures": s.failures.load(Ordering::Relaxed),
                            "latency_ewma_ms": s.latency_ewma_us.load(Ordering::Relaxed) as f64 / 1000.0,
                        })
                    })
                    .collect();
                json!({"provider": name, "endpoints": endpoints})
            })
            .collect();
        json!({ "providers": list })
    }
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
