//! Validation: [`FileConfig`] → runtime [`Config`], strict and complete.
//!
//! Every check runs even after others failed, so one `tollgate -t` run lists every
//! problem, each with its key path (`models[1].targets[0].provider: unknown provider
//! "opneai"`). Values that came from `${ENV}` are quoted as written, never expanded,
//! and a last pass scrubs any environment value from every message.
//!
//! Governance sections (`auth`, `keys`, `teams`, `pricing`, `guardrails`, `state`) are
//! checked and typed by `governance_check` into [`super::Governance`], which the
//! policy layer consumes; its errors are scrubbed of environment values like every
//! other.

use std::net::SocketAddr;

use super::env::Expansions;
use super::errors::{index_path, key_path, ConfigErrors};
use super::file::{LimitsSection, ListenersSection, ServerSection};
use super::parse::parse;
use super::redact::redact;
use super::runtime::Config;
use super::secret::Secret;
use super::{governance_check, provider, route, router};

/// Default data-plane listener.
pub const DEFAULT_DATA_LISTENER: &str = "0.0.0.0:8080";
/// Default admin listener (loopback only: the admin plane is for operators).
pub const DEFAULT_ADMIN_LISTENER: &str = "127.0.0.1:9090";
/// Default request body limit: coding agents send several MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 << 20;
const MIN_BODY_BYTES: u64 = 1 << 10;
const MAX_BODY_BYTES: u64 = 1 << 30;

/// What every check needs: where to put errors, the environment, how to quote values.
pub(crate) struct Ctx<'a> {
    pub errors: &'a mut ConfigErrors,
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub exp: &'a Expansions,
}

impl Ctx<'_> {
    pub fn err(&mut self, path: impl Into<String>, msg: impl Into<String>) {
        self.errors.push(path, msg);
    }

    /// A value quoted for a message (as written when it came from the environment).
    pub fn show(&self, path: &str, value: &str) -> String {
        self.exp.show(path, value)
    }

    /// Number of errors so far (to tell whether a part added some).
    pub fn count(&self) -> usize {
        self.errors.len()
    }
}

/// Parses, expands and validates a whole config text.
/// `base`: the config file's directory, for relative paths (`pricing_file`).
pub(crate) fn validate(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    base: Option<&std::path::Path>,
) -> Result<Config, ConfigErrors> {
    let mut errors = ConfigErrors::default();
    let Some(parsed) = parse(text, env, &mut errors) else {
        return Err(errors);
    };
    let mut cx = Ctx {
        errors: &mut errors,
        env,
        exp: &parsed.expansions,
    };
    let f = &parsed.file;
    check_server(&f.server, &mut cx);
    let (data_listeners, admin_listener) = listeners(&f.listeners, &mut cx);
    let admin_token = admin_token(&f.listeners, &mut cx);
    let metrics_auth = f.listeners.metrics_auth.unwrap_or(false);
    if metrics_auth && admin_token.is_none() {
        cx.err(
            "listeners.metrics_auth",
            "needs listeners.admin_token (the token /metrics would require)",
        );
    }
    let max_body_bytes = body_limit(&f.limits, &mut cx);
    let user_from = super::logging::build(f.logging.user_from.as_deref(), &mut cx);
    let client = super::client::build(&f.client, &mut cx);
    let (providers, provider_index) = provider::build_all(&parsed, &mut cx);
    let capabilities = super::capability::build_all(&f.capabilities, &mut cx);
    let (models, model_index) =
        route::build_all(&parsed, &providers, &provider_index, &capabilities, &mut cx);
    let cache = super::cache::build_settings(&f.cache, f.state.backend.as_deref(), &mut cx);
    super::cache::check_embeddings_routes(&parsed, &models, &mut cx);
    let responses = super::responses::build(&f.responses, &mut cx);
    let routers = router::build_all(&parsed, &mut cx);
    let traces = super::traces::build(f.traces.as_ref(), &mut cx).map(std::sync::Arc::new);
    let mut governance = governance_check::build(f, cx.errors);
    let pricing_file = f
        .pricing_file
        .as_deref()
        .map(|p| super::pricing_file::resolve(p, base));
    if let Some(path) = &pricing_file {
        super::pricing_file::apply(path, &mut governance, cx.errors);
    }
    errors.scrub(parsed.expansions.values());
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Config {
        server: parsed.file.server.clone(),
        data_listeners,
        admin_listener,
        admin_token,
        metrics_auth,
        max_body_bytes,
        client,
        access_log: parsed.file.logging.access_log.unwrap_or(true),
        user_from,
        providers,
        models,
        routers,
        redacted: redact(&parsed.as_written),
        governance,
        cache,
        capabilities,
        responses,
        traces,
        pricing_file,
        provider_index,
        model_index,
    })
}

fn check_server(s: &ServerSection, cx: &mut Ctx) {
    if s.threads == Some(0) {
        cx.err("server.threads", "must be at least 1");
    }
    for (key, v) in [
        ("upgrade_sock", &s.upgrade_sock),
        ("pid_file", &s.pid_file),
        ("error_log", &s.error_log),
        ("ca_file", &s.ca_file),
        ("user", &s.user),
        ("group", &s.group),
    ] {
        if v.as_deref() == Some("") {
            cx.err(
                key_path("server", key),
                "is empty; remove the key to use the default",
            );
        }
    }
}

/// Data and admin listeners, with defaults; each must be `ip:port`, none repeated, and
/// the admin one must not overlap a data one.
fn listeners(l: &ListenersSection, cx: &mut Ctx) -> (Vec<String>, String) {
    let data = if l.data.is_empty() {
        vec![DEFAULT_DATA_LISTENER.to_string()]
    } else {
        l.data.clone()
    };
    let mut parsed: Vec<(usize, SocketAddr)> = Vec::new();
    for (i, a) in data.iter().enumerate() {
        let path = index_path("listeners.data", i);
        let Some(addr) = socket_addr(a, &path, cx) else {
            continue;
        };
        if let Some((j, _)) = parsed.iter().find(|(_, b)| *b == addr) {
            cx.err(path, format!("listed twice (also listeners.data[{j}])"));
        }
        parsed.push((i, addr));
    }
    let admin = l
        .admin
        .clone()
        .unwrap_or_else(|| DEFAULT_ADMIN_LISTENER.to_string());
    if let Some(addr) = socket_addr(&admin, "listeners.admin", cx) {
        if let Some((j, _)) = parsed.iter().find(|(_, d)| overlaps(*d, addr)) {
            cx.err(
                "listeners.admin",
                format!("overlaps data listener listeners.data[{j}]; the admin plane needs its own address"),
            );
        }
    }
    (data, admin)
}

fn socket_addr(a: &str, path: &str, cx: &mut Ctx) -> Option<SocketAddr> {
    match a.parse::<SocketAddr>() {
        Ok(addr) => Some(addr),
        Err(_) => {
            let shown = cx.show(path, a);
            cx.err(path, format!("invalid listen address {shown}: expected ip:port such as 0.0.0.0:8080 or [::]:8080"));
            None
        }
    }
}

/// Two listeners collide when they share a port and an address (a wildcard address
/// shares every address of its family). Port 0 (any free port) never collides.
fn overlaps(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() != 0
        && a.port() == b.port()
        && (a.ip() == b.ip()
            || (a.is_ipv4() == b.is_ipv4() && (a.ip().is_unspecified() || b.ip().is_unspecified())))
}

fn admin_token(l: &ListenersSection, cx: &mut Ctx) -> Option<Secret> {
    match &l.admin_token {
        Some(t) if t.is_empty() => {
            cx.err(
                "listeners.admin_token",
                "is empty; remove the key to run the admin plane without a token",
            );
            None
        }
        other => other.clone(),
    }
}

fn body_limit(l: &LimitsSection, cx: &mut Ctx) -> usize {
    match l.max_body_bytes {
        None => DEFAULT_MAX_BODY_BYTES,
        Some(n) if (MIN_BODY_BYTES..=MAX_BODY_BYTES).contains(&n) => {
            usize::try_from(n).unwrap_or(DEFAULT_MAX_BODY_BYTES)
        }
        Some(n) => {
            cx.err(
                "limits.max_body_bytes",
                format!("{n} is out of range: between 1024 (1 KiB) and 1073741824 (1 GiB)"),
            );
            DEFAULT_MAX_BODY_BYTES
        }
    }
}
