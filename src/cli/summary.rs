//! The one-line startup summary: what the process listens on and what it loaded,
//! so an operator sees at a glance that the right file was read. No secret appears:
//! counts and addresses only, and the state backend's kind, not its URL.

use std::path::Path;

use crate::config::governance_spec::StateBackend;
use crate::config::Config;

/// `listening on … admin … config … providers=N routes=N keys=N state=…`.
pub fn startup_summary(config: &Config, path: &Path) -> String {
    format!(
        "tollgate {} listening on {} admin {} config {} providers={} routes={} keys={} state={}",
        env!("CARGO_PKG_VERSION"),
        config.data_listeners.join(","),
        config.admin_listener,
        path.display(),
        config.providers.len(),
        config.models.len(),
        config.governance.keys.len(),
        state_kind(&config.governance.state.backend),
    )
}

fn state_kind(backend: &StateBackend) -> &'static str {
    match backend {
        StateBackend::Memory => "memory",
        StateBackend::Redis { .. } => "redis",
        StateBackend::RedisCluster { .. } => "redis-cluster",
    }
}
