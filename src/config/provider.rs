//! Providers: `providers[i]` → [`Provider`] (endpoints, credentials, timeouts, health).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::errors::{index_path, key_path};
use super::file::{BaseUrlEntry, HealthCheckSection, ProviderSection, TimeoutsSection};
use super::parse::Parsed;
use super::resilience;
use super::runtime::{
    AwsKeys, Endpoint, HealthCheck, Provider, ProviderKind, Timeouts, DEFAULT_HEALTH_INTERVAL,
};
use super::secret::Secret;
use super::url::parse_base_url;
use super::validate::Ctx;
use crate::fx_hash::FxMap;

/// Default `anthropic-version` header (<https://docs.anthropic.com/en/api/versioning>).
pub const DEFAULT_ANTHROPIC_VERSION: &str = "2023-06-01";

/// Headers the gateway itself sets per request; configuring them would break framing
/// or routing.
const RESERVED_HEADERS: [&str; 6] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
];

/// Builds every provider; returns them in file order and the name → position index.
/// A provider with errors is left out (its errors are recorded).
pub(crate) fn build_all(
    parsed: &Parsed,
    cx: &mut Ctx,
) -> (Vec<Arc<Provider>>, FxMap<String, usize>) {
    let mut out = Vec::new();
    let mut index = FxMap::default();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (sec, &i) in parsed.file.providers.iter().zip(&parsed.provider_idx) {
        let path = index_path("providers", i);
        let before = cx.count();
        check_name(&sec.name, &path, cx);
        if let Some(first) = seen.insert(&sec.name, i) {
            seen.insert(&sec.name, first);
            cx.err(
                key_path(&path, "name"),
                format!(
                    "duplicate provider name {:?} (first at providers[{first}])",
                    sec.name
                ),
            );
        }
        let provider = build(sec, &path, cx);
        if cx.count() == before {
            if let Some(p) = provider {
                index.insert(p.name.clone(), out.len());
                out.push(Arc::new(p));
            }
        }
    }
    (out, index)
}

/// Provider names appear in `provider/model` direct calls and metric labels.
fn check_name(name: &str, path: &str, cx: &mut Ctx) {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if !ok {
        cx.err(
            key_path(path, "name"),
            format!(
                "invalid provider name {:?}: 1 to 64 characters of A-Z a-z 0-9 - _ .",
                name
            ),
        );
    }
}

fn build(sec: &ProviderSection, path: &str, cx: &mut Ctx) -> Option<Provider> {
    let kind = ProviderKind::parse(&sec.format);
    if kind.is_none() {
        let shown = cx.show(&key_path(path, "format"), &sec.format);
        cx.err(
            key_path(path, "format"),
            format!(
                "unknown format {shown}; expected one of: {}",
                ProviderKind::NAMES.join(", ")
            ),
        );
    }
    let endpoints = endpoints(sec, path, cx);
    let headers = headers(sec, path, cx);
    check_timeouts(&sec.timeouts, &key_path(path, "timeouts"), cx);
    let health = health(
        sec.health_check.as_ref(),
        &key_path(path, "health_check"),
        cx,
    );
    let tls_ca = sec.tls_ca_file.as_deref().and_then(|file| {
        super::tls::load_ca_file(file)
            .map_err(|e| cx.err(key_path(path, "tls_ca_file"), e))
            .ok()
    });
    let kind = kind?;
    check_format_fields(sec, kind, path, cx);
    let (region, aws) = if kind == ProviderKind::Bedrock {
        (
            bedrock_region(sec, &endpoints, path, cx),
            aws_keys(sec, path, cx),
        )
    } else {
        (None, None)
    };
    Some(Provider {
        name: sec.name.clone(),
        name_value: crate::edge::header_value::configured(&sec.name),
        kind,
        endpoints,
        api_key: sec.api_key.clone().filter(|k| !k.is_empty()),
        auth: auth_header(sec, kind, path, cx),
        headers,
        timeouts: Timeouts::default().with_override(&sec.timeouts),
        health,
        api_version: sec.api_version.clone(),
        responses_api: responses_api(sec, kind, path, cx),
        anthropic_version: sec
            .anthropic_version
            .clone()
            .unwrap_or_else(|| DEFAULT_ANTHROPIC_VERSION.to_string()),
        region,
        aws,
        tls_ca,
        breaker: resilience::breaker(sec.breaker.as_ref(), &key_path(path, "breaker"), cx),
        retry_budget: resilience::retry_budget(
            sec.retry_budget.as_ref(),
            &key_path(path, "retry_budget"),
            cx,
        ),
    })
}

/// `base_url` or `base_urls` (exactly one of them), each a valid, distinct URL.
fn endpoints(sec: &ProviderSection, path: &str, cx: &mut Ctx) -> Vec<Endpoint> {
    let entries: Vec<(String, &str, usize, Option<usize>)> =
        match (&sec.base_url, sec.base_urls.is_empty()) {
            (Some(_), false) => {
                cx.err(path, "set base_url or base_urls, not both");
                return Vec::new();
            }
            (None, true) => {
                cx.err(path, "a base URL is required (base_url or base_urls)");
                return Vec::new();
            }
            (Some(u), true) => vec![(key_path(path, "base_url"), u.as_str(), 1, None)],
            (None, false) => sec
                .base_urls
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let item = index_path(&key_path(path, "base_urls"), i);
                    match e {
                        BaseUrlEntry::Plain(u) => (item, u.as_str(), 1, None),
                        BaseUrlEntry::Weighted { url, weight } => {
                            (key_path(&item, "url"), url.as_str(), e.weight(), *weight)
                        }
                    }
                })
                .collect(),
        };
    let mut out: Vec<Endpoint> = Vec::new();
    for (upath, url, weight, explicit_weight) in entries {
        if explicit_weight == Some(0) {
            let wpath = upath.strip_suffix(".url").unwrap_or(&upath).to_string();
            cx.err(key_path(&wpath, "weight"), "must be at least 1");
        }
        match parse_base_url(url) {
            Ok(u) if out.iter().any(|e| e.url == u.normalized) => {
                let shown = cx.show(&upath, url);
                cx.err(upath, format!("duplicate base URL {shown}"));
            }
            Ok(u) => out.push(Endpoint {
                host_value: u.host_header(),
                url: u.normalized,
                tls: u.tls,
                host: u.host,
                port: u.port,
                path_prefix: u.path_prefix,
                weight: weight.max(1),
            }),
            Err(why) => {
                let shown = cx.show(&upath, url);
                cx.err(upath, format!("invalid URL {shown}: {why}"));
            }
        }
    }
    out
}

/// Extra upstream headers: valid names (stored lower-case) and values, none that the
/// gateway sets itself; one with an empty value is dropped. Values are never quoted:
/// they may be secrets.
fn headers(sec: &ProviderSection, path: &str, cx: &mut Ctx) -> Vec<(String, Secret)> {
    let mut out = Vec::new();
    for (name, value) in &sec.headers {
        let hpath = key_path(&key_path(path, "headers"), name);
        let Ok(hn) = http::HeaderName::from_bytes(name.as_bytes()) else {
            cx.err(hpath, "invalid header name");
            continue;
        };
        if RESERVED_HEADERS.contains(&hn.as_str()) {
            cx.err(
                hpath,
                "this header is set by the gateway and cannot be configured",
            );
            continue;
        }
        if http::HeaderValue::from_str(value.expose()).is_err() {
            cx.err(
                hpath,
                "invalid header value (control characters or non-ASCII; value not shown)",
            );
            continue;
        }
        // `${OPT:-}` that expanded to nothing: an optional header left unset.
        if !value.is_empty() {
            out.push((hn.as_str().to_string(), value.clone()));
        }
    }
    out
}

/// Every timeout given must be positive (0 would fail every request).
pub(crate) fn check_timeouts(t: &TimeoutsSection, path: &str, cx: &mut Ctx) {
    for (key, v) in [
        ("connect_ms", t.connect_ms),
        ("first_byte_ms", t.first_byte_ms),
        ("idle_ms", t.idle_ms),
        ("total_ms", t.total_ms),
        ("sse_keepalive_ms", t.sse_keepalive_ms),
    ] {
        if v == Some(0) {
            cx.err(key_path(path, key), "must be greater than 0 (milliseconds)");
        }
    }
}

fn health(h: Option<&HealthCheckSection>, path: &str, cx: &mut Ctx) -> HealthCheck {
    let Some(h) = h else {
        return HealthCheck::default();
    };
    if h.interval_ms == Some(0) {
        cx.err(
            key_path(path, "interval_ms"),
            "must be greater than 0 (milliseconds)",
        );
    }
    let interval = h
        .interval_ms
        .filter(|&ms| ms > 0)
        .map_or(DEFAULT_HEALTH_INTERVAL, Duration::from_millis);
    match (h.kind.as_str(), &h.path) {
        ("none", p) => {
            if p.is_some() || h.interval_ms.is_some() {
                cx.err(path, "kind none takes no path or interval_ms");
            }
            HealthCheck::None
        }
        ("tcp", Some(_)) => {
            cx.err(key_path(path, "path"), "only kind http uses a path");
            HealthCheck::Tcp { interval }
        }
        ("tcp", None) => HealthCheck::Tcp { interval },
        ("http", Some(p)) if p.starts_with('/') && !p.bytes().any(|b| b <= b' ' || b == 0x7f) => {
            HealthCheck::Http {
                path: p.clone(),
                interval,
            }
        }
        ("http", Some(p)) => {
            let shown = cx.show(&key_path(path, "path"), p);
            cx.err(
                key_path(path, "path"),
                format!("invalid path {shown}: must start with '/' and contain no spaces"),
            );
            HealthCheck::None
        }
        ("http", None) => {
            cx.err(path, "kind http needs a path (such as /health)");
            HealthCheck::None
        }
        (other, _) => {
            let shown = cx.show(&key_path(path, "kind"), other);
            cx.err(
                key_path(path, "kind"),
                format!("unknown kind {shown}; expected one of: http, tcp, none"),
            );
            HealthCheck::None
        }
    }
}

/// `api`: `chat_completions` (default) or `responses`, on OpenAI-format providers.
fn responses_api(sec: &ProviderSection, kind: ProviderKind, path: &str, cx: &mut Ctx) -> bool {
    match sec.api.as_deref() {
        None | Some("chat_completions") => false,
        Some("responses") if kind == ProviderKind::OpenAi => true,
        Some("responses") => {
            cx.err(
                key_path(path, "api"),
                "api: responses is only for format openai",
            );
            false
        }
        Some(other) => {
            cx.err(
                key_path(path, "api"),
                format!("unknown api {other:?}; expected one of: chat_completions, responses"),
            );
            false
        }
    }
}

/// Fields that only one format uses are errors elsewhere: they show a misunderstanding
/// (an Azure `api_version` on an OpenAI provider is silently ignored otherwise).
fn check_format_fields(sec: &ProviderSection, kind: ProviderKind, path: &str, cx: &mut Ctx) {
    let only = |field: &str, set: bool, owner: ProviderKind, cx: &mut Ctx| {
        if set && kind != owner {
            cx.err(
                key_path(path, field),
                format!("only used by format {}", owner.as_str()),
            );
        }
    };
    only(
        "api_version",
        sec.api_version.is_some(),
        ProviderKind::Azure,
        cx,
    );
    only(
        "anthropic_version",
        sec.anthropic_version.is_some(),
        ProviderKind::Anthropic,
        cx,
    );
    only("region", sec.region.is_some(), ProviderKind::Bedrock, cx);
    only(
        "aws_access_key_id",
        sec.aws_access_key_id.is_some(),
        ProviderKind::Bedrock,
        cx,
    );
    only(
        "aws_secret_access_key",
        sec.aws_secret_access_key.is_some(),
        ProviderKind::Bedrock,
        cx,
    );
    only(
        "aws_session_token",
        sec.aws_session_token.is_some(),
        ProviderKind::Bedrock,
        cx,
    );
    if kind == ProviderKind::Azure && sec.api_version.as_deref().is_none_or(str::is_empty) {
        cx.err(path, "format azure needs api_version (such as 2024-10-21)");
    }
    if kind == ProviderKind::Bedrock && sec.api_key.is_some() {
        cx.err(key_path(path, "api_key"), "format bedrock signs requests with AWS credentials (aws_access_key_id, aws_secret_access_key), not api_key");
    }
}

#[path = "provider_bedrock.rs"]
mod bedrock;
use bedrock::{aws_keys, bedrock_region};

/// The provider's auth header, made once; a key that cannot be sent as a header
/// value (a stray newline from a secrets file) is refused here, not per request.
fn auth_header(
    sec: &ProviderSection,
    kind: ProviderKind,
    path: &str,
    cx: &mut Ctx,
) -> Option<(&'static str, http::HeaderValue)> {
    let key = sec.api_key.as_ref().filter(|k| !k.is_empty())?;
    let header = Provider::auth_header(kind, key);
    if header.is_none() && kind != ProviderKind::Bedrock {
        cx.err(
            key_path(path, "api_key"),
            "is not a valid HTTP header value",
        );
    }
    header
}

#[cfg(test)]
#[path = "provider_tests.rs"]
mod tests;
