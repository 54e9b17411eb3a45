//! A pool of equivalent endpoints of one provider (its base URLs), balanced by
//! pingora-load-balancing's weighted round robin and kept honest by background
//! health checks.
//!
//! Host names are resolved here, off the request path: `HttpPeer::new` with a host
//! name does a blocking lookup on the async runtime and panics when it fails, so the
//! proxy only ever builds peers from the `SocketAddr`s this pool resolved.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pingora::lb::discovery::ServiceDiscovery;
use pingora::lb::health_check::{
    HealthCheck as PingoraHealthCheck, HttpHealthCheck, TcpHealthCheck,
};
use pingora::lb::selection::RoundRobin;
use pingora::lb::{Backend, Backends, LoadBalancer};
use pingora::protocols::l4::socket::SocketAddr as PingoraAddr;
use pingora::Result as PResult;

use crate::config::{Endpoint, HealthCheck, Provider};

/// Index of an endpoint in its provider's `endpoints` list, carried in `Backend::ext`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct EndpointIndex(usize);

/// Live counters of one endpoint, shared by all requests.
#[derive(Debug, Default)]
pub struct EndpointStats {
    pub in_flight: AtomicU64,
    pub requests: AtomicU64,
    pub failures: AtomicU64,
    /// Peak-EWMA of response latency in microseconds (0 = no sample yet).
    pub latency_ewma_us: AtomicU64,
    /// Until when (ms since the pool's epoch) the endpoint is cooled down after failures.
    pub cooldown_until_ms: AtomicU64,
    /// Consecutive failures; reset by a success.
    pub consecutive_failures: AtomicU64,
}

/// The endpoints of one provider.
pub struct EndpointPool {
    pub provider: String,
    pub endpoints: Vec<Endpoint>,
    pub stats: Vec<EndpointStats>,
    lb: LoadBalancer<RoundRobin>,
    health_interval: Option<Duration>,
    health: HealthCheck,
    /// The CAs the health check trusts (part of the pool's shape).
    tls_ca: Option<crate::config::tls::TrustedCa>,
    /// Resolved address of each endpoint, for the admin view.
    resolved: arc_swap::ArcSwap<Vec<Option<SocketAddr>>>,
    epoch: Instant,
    last_check: std::sync::Mutex<Option<Instant>>,
    last_resolve: std::sync::Mutex<Option<Instant>>,
}

/// How often host names are resolved again.
const RESOLVE_EVERY: Duration = Duration::from_secs(30);

impl EndpointPool {
    /// Build the pool and resolve its endpoints once. Endpoints that cannot be resolved
    /// yet are left out until the next resolution.
    pub async fn new(provider: &Provider) -> Self {
        let discovery = ResolvingDiscovery {
            endpoints: provider.endpoints.clone(),
        };
        let backends = Backends::new(Box::new(discovery));
        let mut lb = LoadBalancer::<RoundRobin>::from_backends(backends);
        let health_interval = health_interval(provider);
        if let Some(check) = health_check_for(provider) {
            lb.set_health_check(check);
        }
        let pool = EndpointPool {
            provider: provider.name.clone(),
            endpoints: provider.endpoints.clone(),
            stats: provider
                .endpoints
                .iter()
                .map(|_| EndpointStats::default())
                .collect(),
            lb,
            health_interval,
            health: provider.health.clone(),
            tls_ca: provider.tls_ca.clone(),
            resolved: arc_swap::ArcSwap::from_pointee(vec![None; provider.endpoints.len()]),
            epoch: Instant::now(),
            last_check: std::sync::Mutex::new(None),
            last_resolve: std::sync::Mutex::new(None),
        };
        pool.resolve().await;
        pool
    }

    /// True when `other` would build the same pool (same endpoints and health check),
    /// so a config reload can keep this one with its health and stats.
    pub fn same_shape(&self, provider: &Provider) -> bool {
        self.endpoints == provider.endpoints
            && self.health == provider.health
            && self.tls_ca == provider.tls_ca
    }

    async fn resolve(&self) {
        if let Err(e) = self.lb.update().await {
            log::warn!(
                "provider {}: endpoint resolution failed: {e}",
                self.provider
            );
        }
        let mut resolved = vec![None; self.endpoints.len()];
        for backend in self.lb.backends().get_backend().iter() {
            if let (Some(EndpointIndex(i)), PingoraAddr::Inet(addr)) =
                (backend.ext.get::<EndpointIndex>(), &backend.addr)
            {
                if let Some(slot) = resolved.get_mut(*i) {
                    *slot = Some(*addr);
                }
            }
        }
        self.resolved.store(Arc::new(resolved));
        if let Ok(mut t) = self.last_resolve.lock() {
            *t = Some(Instant::now());
        }
    }

    /// Background upkeep: re-resolve host names and run health checks when due.
    pub async fn maintain(&self) {
        let resolve_due = due(&self.last_resolve, RESOLVE_EVERY);
        if resolve_due {
            self.resolve().await;
        }
        if let Some(interval) = self.health_interval {
            if due(&self.last_check, interval) {
                self.lb.backends().run_health_check(true).await;
                if let Ok(mut t) = self.last_check.lock() {
                    *t = Some(Instant::now());
                }
            }
        }
    }

    /// Healthy, not cooling down endpoints that `accept` allows, as `(index, address)`.
    pub fn candidates(&self, accept: impl Fn(usize) -> bool) -> Vec<(usize, SocketAddr)> {
        let now_ms = self.now_ms();
        let backends = self.lb.backends();
        backends
            .get_backend()
            .iter()
            .filter(|b| backends.ready(b))
            .filter_map(|b| match (b.ext.get::<EndpointIndex>(), &b.addr) {
                (Some(EndpointIndex(i)), PingoraAddr::Inet(addr)) => Some((*i, *addr)),
                _ => None,
            })
            .filter(|(i, _)| accept(*i) && !self.cooling_down(*i, now_ms))
            .collect()
    }

    /// Whether any endpoint is healthy (for `/readyz`).
    pub fn any_healthy(&self) -> bool {
        self.lb
            .backends()
            .get_backend()
            .iter()
            .any(|b| self.lb.backends().ready(b))
    }

    /// Health of each endpoint as `(url, resolved address, healthy)`.
    pub fn health(&self) -> Vec<(String, Option<SocketAddr>, bool)> {
        let resolved = self.resolved.load();
        let backends = self.lb.backends().get_backend();
        self.endpoints
            .iter()
            .enumerate()
            .map(|(i, ep)| {
                let healthy = backends.iter().any(|b| {
                    b.ext.get::<EndpointIndex>() == Some(&EndpointIndex(i))
                        && self.lb.backends().ready(b)
                });
                (ep.url.clone(), resolved.get(i).copied().flatten(), healthy)
            })
            .collect()
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn cooling_down(&self, i: usize, now_ms: u64) -> bool {
        self.stats
            .get(i)
            .is_some_and(|s| s.cooldown_until_ms.load(Ordering::Relaxed) > now_ms)
    }

    /// Record the outcome of an attempt on endpoint `i` (passive health): after
    /// `threshold` consecutive failures the endpoint is cooled down for `cooldown`,
    /// after which it is tried again (half-open) and a success closes the breaker.
    pub fn record(
        &self,
        i: usize,
        ok: bool,
        latency: Duration,
        threshold: u64,
        cooldown: Duration,
    ) {
        let Some(s) = self.stats.get(i) else { return };
        s.requests.fetch_add(1, Ordering::Relaxed);
        if ok {
            s.consecutive_failures.store(0, Ordering::Relaxed);
            update_ewma(&s.latency_ewma_us, latency.as_micros() as u64);
            return;
        }
        s.failures.fetch_add(1, Ordering::Relaxed);
        let n = s.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1;
        if n >= threshold {
            let until = self.now_ms() + cooldown.as_millis() as u64;
            s.cooldown_until_ms.store(until, Ordering::Relaxed);
            s.consecutive_failures.store(0, Ordering::Relaxed);
        }
    }

    /// Cool endpoint `i` down until `after` from now (e.g. a 429 with `retry-after`).
    pub fn cool_down_for(&self, i: usize, after: Duration) {
        if let Some(s) = self.stats.get(i) {
            let until = self.now_ms() + after.as_millis() as u64;
            s.cooldown_until_ms.fetch_max(until, Ordering::Relaxed);
        }
    }

    /// Whether endpoint `i` is in a cool-down right now.
    pub fn is_cooling_down(&self, i: usize) -> bool {
        self.cooling_down(i, self.now_ms())
    }
}

/// Peak-EWMA: a slower sample replaces the average at once, a faster one decays into it.
fn update_ewma(cell: &AtomicU64, sample_us: u64) {
    let old = cell.load(Ordering::Relaxed);
    let new = if old == 0 || sample_us > old {
        sample_us
    } else {
        (old * 7 + sample_us) / 8
    };
    cell.store(new, Ordering::Relaxed);
}

fn due(last: &std::sync::Mutex<Option<Instant>>, every: Duration) -> bool {
    match last.lock() {
        Ok(t) => t.is_none_or(|t| t.elapsed() >= every),
        Err(_) => false,
    }
}

fn health_interval(provider: &Provider) -> Option<Duration> {
    match &provider.health {
        HealthCheck::None => None,
        HealthCheck::Tcp { interval } | HealthCheck::Http { interval, .. } => Some(*interval),
    }
}

fn health_check_for(provider: &Provider) -> Option<Box<dyn PingoraHealthCheck + Send + Sync>> {
    let first = provider.endpoints.first()?;
    let ca = provider.tls_ca.as_ref().map(|ca| ca.certs.clone());
    match &provider.health {
        HealthCheck::None => None,
        HealthCheck::Tcp { .. } => Some(if first.tls {
            let mut hc = TcpHealthCheck::new_tls(&first.host);
            hc.peer_template.options.ca = ca;
            hc
        } else {
            TcpHealthCheck::new()
        }),
        HealthCheck::Http { path, .. } => {
            let mut hc = HttpHealthCheck::new(&first.host, first.tls);
            hc.peer_template.options.ca = ca;
            let uri = format!("{}{}", first.path_prefix, path);
            hc.req.set_uri(uri.parse().ok()?);
            Some(Box::new(hc))
        }
    }
}

/// Turns the provider's base URLs into backends, resolving host names.
struct ResolvingDiscovery {
    endpoints: Vec<Endpoint>,
}

#[async_trait]
impl ServiceDiscovery for ResolvingDiscovery {
    async fn discover(&self) -> PResult<(BTreeSet<Backend>, HashMap<u64, bool>)> {
        let mut set = BTreeSet::new();
        for (i, ep) in self.endpoints.iter().enumerate() {
            let Some(addr) = resolve(&ep.host, ep.port).await else {
                log::warn!("cannot resolve {}", ep.url);
                continue;
            };
            let mut backend = Backend {
                addr: PingoraAddr::Inet(addr),
                weight: ep.weight.max(1),
                ext: Default::default(),
            };
            backend.ext.insert(EndpointIndex(i));
            set.insert(backend);
        }
        Ok((set, HashMap::new()))
    }
}

/// Resolve `host:port`, preferring IPv4, bounded in time.
async fn resolve(host: &str, port: u16) -> Option<SocketAddr> {
    if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, port));
    }
    let lookup = tokio::net::lookup_host((host, port));
    let addrs: Vec<SocketAddr> = tokio::time::timeout(Duration::from_secs(5), lookup)
        .await
        .ok()?
        .ok()?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
}
