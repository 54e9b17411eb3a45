//! The runtime snapshot every request reads: config, endpoint pools and counters,
//! swapped atomically on reload (`ArcSwap`), so in-flight requests finish on the
//! snapshot they started with and the hot path never takes a lock.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;

use crate::config::{self, Config};
use crate::fx_hash::FxMap;
use crate::metrics;
use crate::policy::Policy;
use crate::routing::Pools;

thread_local! {
    /// This thread's reference to the snapshot its requests use, while one holds it.
    static HERE: RefCell<Option<Weak<ThreadRuntime>>> = const { RefCell::new(None) };
}

/// A worker thread's reference to a runtime snapshot. A request holds and clones this
/// instead of the snapshot's `Arc`: that `Arc`'s count is a cache line every worker
/// thread wrote several times a request (the request's own reference, and the clones
/// its phases take to read the runtime while changing the context), each write
/// waiting for the line to come from the other core. This one's count only its thread
/// writes. Kept by the thread weakly, so a replaced snapshot is not held alive once
/// its last request is done.
pub struct ThreadRuntime(Arc<Runtime>);

impl ThreadRuntime {
    /// The snapshot itself, to hold beyond this thread's requests.
    pub fn shared(&self) -> &Arc<Runtime> {
        &self.0
    }
}

impl std::ops::Deref for ThreadRuntime {
    type Target = Runtime;

    fn deref(&self) -> &Runtime {
        &self.0
    }
}

/// One consistent view of the gateway's configuration and upstream state.
pub struct Runtime {
    pub config: Arc<Config>,
    pub pools: Pools,
    /// Keys, limits, budgets, guardrails (its state store survives reloads).
    pub policy: Policy,
    /// One weighted-round-robin counter per model route name.
    pub target_counters: FxMap<String, AtomicU64>,
    /// Counter for direct `provider/model` routes.
    pub direct_counter: AtomicU64,
    /// Recent picks per endpoint of each `prefix_affinity` route (bounded loads).
    pub prefix_loads: FxMap<String, crate::routing::prefix::RouteLoads>,
    /// The response cache store (kept across reloads while its size is unchanged).
    pub cache: Arc<crate::cache::CacheStore>,
    /// Stored Responses conversations' in-process store (kept across reloads while
    /// its size is unchanged; unused when the state backend is Redis).
    pub conversations: Arc<crate::conversations::ConversationStore>,
    /// Per-request metric children, resolved once per label set of this config.
    pub metric_handles: crate::metric_handles::MetricHandles,
    /// The embedded examples of semantic router rules, made on first use.
    pub semantic_examples: crate::routing::semantic::ExampleVectors,
}

impl Runtime {
    pub async fn build(config: Config, previous: Option<&Runtime>) -> Result<Runtime, String> {
        crate::edge::scrub::remember(&config);
        let policy = match previous {
            Some(p) => p.policy.reload(&config.governance).await?,
            None => Policy::from_config(&config.governance).await?,
        };
        let pools = Pools::build(&config, previous.map(|p| &p.pools)).await;
        let target_counters = config
            .models
            .iter()
            .map(|m| (m.name.clone(), AtomicU64::new(0)))
            .collect();
        let prefix_loads = config
            .models
            .iter()
            .filter(|m| m.strategy == config::Strategy::PrefixAffinity)
            .map(|m| {
                let loads = crate::routing::prefix::RouteLoads::for_route(m);
                (m.name.clone(), loads)
            })
            .collect();
        let cache = crate::cache::CacheStore::for_reload(
            previous.map(|p| &p.cache),
            &config.cache,
            &config.governance.state,
        )
        .await?;
        let conversations = crate::conversations::ConversationStore::for_reload(
            previous.map(|p| &p.conversations),
            &config.responses,
        );
        let metric_handles = crate::metric_handles::MetricHandles::new(
            config.providers.iter().map(|p| p.name.as_str()),
        );
        Ok(Runtime {
            cache,
            conversations,
            metric_handles,
            config: Arc::new(config),
            pools,
            policy,
            target_counters,
            direct_counter: AtomicU64::new(0),
            prefix_loads,
            semantic_examples: Default::default(),
        })
    }

    pub fn counter_for(&self, route: &str) -> &AtomicU64 {
        self.target_counters
            .get(route)
            .unwrap_or(&self.direct_counter)
    }
}

/// Every metric, with the zero-valued series of the configured providers.
fn init_metrics(runtime: &Runtime) {
    let providers: Vec<&str> = runtime
        .config
        .providers
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    metrics::init(&providers);
    let models: Vec<&str> = runtime
        .config
        .models
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    let kinds: Vec<_> = runtime.config.providers.iter().map(|p| p.kind).collect();
    crate::genai_metrics::init(&models, &kinds, &metrics::ROUTE_LABELS);
    let cached = runtime.config.models.iter().filter_map(|m| {
        let c = m.cache.as_ref()?;
        Some((m.name.as_str(), c.semantic.is_some()))
    });
    crate::cache::metrics::init(cached);
    crate::trace::export::init_metrics();
}

/// The shared handle: the current runtime plus how to reload it.
pub struct Gateway {
    pub current: ArcSwap<Runtime>,
    pub config_path: PathBuf,
    /// The version of the file last loaded (or rejected), for the file watch. Kept
    /// here rather than in the watcher so that an edit made before the watcher's
    /// first look is still seen as a change.
    loaded_version: std::sync::Mutex<Versions>,
    /// When this process started serving (the status page's uptime).
    pub started: std::time::Instant,
    /// The last reloads and their outcome (the status page).
    pub reloads: ReloadLog,
}

/// The last [`ReloadLog::CAPACITY`] reload outcomes, newest last.
#[derive(Default)]
pub struct ReloadLog(std::sync::Mutex<std::collections::VecDeque<ReloadEvent>>);

/// One reload: when, whether it was applied, and the first error line if not.
#[derive(Clone, serde::Serialize)]
pub struct ReloadEvent {
    pub unix_ms: u64,
    pub ok: bool,
    pub error: Option<String>,
}

impl ReloadLog {
    const CAPACITY: usize = 20;

    fn push(&self, ok: bool, error: Option<&str>) {
        let unix_ms = SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let Ok(mut log) = self.0.lock() else { return };
        if log.len() == Self::CAPACITY {
            log.pop_front();
        }
        // The first line names the problem; the rest can be long.
        let error = error
            .and_then(|e| e.lines().next())
            .map(|l| l.chars().take(300).collect());
        log.push_back(ReloadEvent { unix_ms, ok, error });
    }

    pub fn recent(&self) -> Vec<ReloadEvent> {
        self.0
            .lock()
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }
}

impl Gateway {
    /// `runtime` was just built from `config_path`.
    pub fn new(runtime: Runtime, config_path: PathBuf) -> Self {
        init_metrics(&runtime);
        let loaded_version = std::sync::Mutex::new(versions(&config_path, &runtime.config));
        Gateway {
            current: ArcSwap::from_pointee(runtime),
            config_path,
            loaded_version,
            started: std::time::Instant::now(),
            reloads: ReloadLog::default(),
        }
    }

    /// Whether the file differs from the version last loaded.
    fn file_changed(&self) -> bool {
        let now = versions(&self.config_path, &self.snapshot().config);
        self.loaded_version
            .lock()
            .map(|v| *v != now)
            .unwrap_or(false)
    }

    pub fn snapshot(&self) -> Arc<Runtime> {
        self.current.load_full()
    }

    /// The current snapshot for a request of this thread (see [`ThreadRuntime`]).
    pub fn snapshot_here(&self) -> Arc<ThreadRuntime> {
        let current = self.current.load();
        HERE.with(|here| {
            let mut here = here.borrow_mut();
            let kept = here.as_ref().and_then(Weak::upgrade);
            match kept {
                Some(t) if Arc::ptr_eq(&t.0, &current) => t,
                _ => {
                    let t = Arc::new(ThreadRuntime(arc_swap::Guard::into_inner(current)));
                    *here = Some(Arc::downgrade(&t));
                    t
                }
            }
        })
    }

    /// Load, validate and swap in the config file. On any error the old config keeps
    /// serving; the errors are logged and returned, and the outcome is counted.
    pub async fn reload(&self) -> Result<(), String> {
        // Noted before reading, so an edit made during the load triggers another.
        if let Ok(mut v) = self.loaded_version.lock() {
            *v = versions(&self.config_path, &self.snapshot().config);
        }
        let old = self.snapshot();
        let built = match config::load_file(&self.config_path) {
            Ok(cfg) => Runtime::build(cfg, Some(&old)).await,
            Err(errors) => Err(errors.to_string()),
        };
        match built {
            Ok(new) => {
                init_metrics(&new);
                // A price file named for the first time: follow it from now on.
                let prices = new.config.pricing_file.as_deref().and_then(file_version);
                if let Ok(mut v) = self.loaded_version.lock() {
                    if v.1.is_none() {
                        v.1 = prices;
                    }
                }
                self.current.store(Arc::new(new));
                metrics::CONFIG_RELOADS
                    .with_label_values(&["success"])
                    .inc();
                metrics::CONFIG_LAST_RELOAD_OK.set(1);
                self.reloads.push(true, None);
                log::info!("config reloaded from {}", self.config_path.display());
                Ok(())
            }
            Err(errors) => {
                metrics::CONFIG_RELOADS
                    .with_label_values(&["failure"])
                    .inc();
                metrics::CONFIG_LAST_RELOAD_OK.set(0);
                let text = errors.to_string();
                self.reloads.push(false, Some(&text));
                log::error!("config reload rejected, keeping the old config:\n{text}");
                Err(text)
            }
        }
    }
}

/// Background upkeep: endpoint health checks and DNS, config file watching, SIGHUP,
/// and the response cache's semantic records from other replicas.
pub struct Upkeep {
    pub gateway: Arc<Gateway>,
    pub watch_file: bool,
}

const TICK: Duration = Duration::from_millis(250);

#[async_trait]
impl BackgroundService for Upkeep {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let mut hangup =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        let mut ticker = tokio::time::interval(TICK);
        loop {
            let sighup = async {
                match hangup.as_mut() {
                    Some(h) => h.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = sighup => {
                    log::info!("SIGHUP: reloading config");
                    let _ = self.gateway.reload().await;
                }
                _ = ticker.tick() => {
                    if self.watch_file && self.gateway.file_changed() {
                        let _ = self.gateway.reload().await;
                    }
                    self.maintain_pools().await;
                    self.gateway.snapshot().cache.sync().await;
                }
            }
        }
    }
}

impl Upkeep {
    async fn maintain_pools(&self) {
        let runtime = self.gateway.snapshot();
        for (name, pool) in runtime.pools.iter() {
            pool.maintain().await;
            for (url, _, healthy) in pool.health() {
                metrics::UPSTREAM_HEALTHY
                    .with_label_values(&[name.as_str(), url.as_str()])
                    .set(healthy as i64);
            }
        }
    }
}

/// What identifies a version of the config file: modification time, size and inode.
/// Time alone can miss an edit made within the file system's timestamp granularity;
/// an editor's or deployer's atomic rename always changes the inode.
type FileVersion = (SystemTime, u64, u64);

/// The config file's version and its price file's (`pricing_file:`), which the file
/// watch follows too.
type Versions = (Option<FileVersion>, Option<FileVersion>);

fn versions(config_path: &std::path::Path, config: &Config) -> Versions {
    (
        file_version(config_path),
        config.pricing_file.as_deref().and_then(file_version),
    )
}

fn file_version(path: &std::path::Path) -> Option<FileVersion> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len(), meta.ino()))
}

#[cfg(test)]
#[path = "runtime_tests.rs"]
mod tests;
