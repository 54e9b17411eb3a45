//! [`MockServer`]: owns the listener, a dedicated thread and its own multi-threaded
//! tokio runtime, and the state shared by all connections (configuration, recorder,
//! failure sequence).
//!
//! Stopping drops the listener and then the runtime, which drops every connection
//! task and so closes every open connection, including hung and streaming ones.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::oneshot;

use super::config::MockConfig;
use super::conn::{Conn, Meta};
use super::handler::{error_reply, serve, Flow};
use super::record::{fnv1a64, Entry, RecordedRequest, Recorder};
use super::route::Format;

/// Listen backlog: enough for a thousand connections arriving at once in a bench.
const BACKLOG: u32 = 1024;

/// State shared by every connection of one mock.
#[derive(Debug)]
pub(crate) struct Shared {
    config: ArcSwap<MockConfig>,
    pub recorder: Recorder,
    fail_seq: AtomicU64,
    /// The simulated prefix cache (used when the config enables it).
    pub prefix_cache: super::prefix_cache::PrefixCache,
}

impl Shared {
    fn new(cfg: MockConfig) -> Self {
        Shared {
            config: ArcSwap::from_pointee(cfg),
            recorder: Recorder::default(),
            fail_seq: AtomicU64::new(0),
            prefix_cache: Default::default(),
        }
    }

    /// The configuration in force (one lock-free snapshot per request).
    pub fn config(&self) -> Arc<MockConfig> {
        self.config.load_full()
    }

    /// Position of this request in the failure-ratio sequence.
    pub fn next_fail_seq(&self) -> u64 {
        self.fail_seq.fetch_add(1, Ordering::Relaxed)
    }

    /// Forgets recorded requests and restarts counters and the failure sequence.
    pub fn reset(&self) {
        self.recorder.reset();
        self.fail_seq.store(0, Ordering::Relaxed);
        self.prefix_cache.reset();
    }
}

/// Where and how a [`MockServer`] listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeOptions {
    /// Address to bind (default 127.0.0.1).
    pub bind: IpAddr,
    /// Port to bind; 0 picks a free one.
    pub port: u16,
    /// Tokio worker threads (default 2).
    pub threads: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            threads: 2,
        }
    }
}

/// A running mock LLM upstream. Stops on [`MockServer::stop`] or when dropped.
#[derive(Debug)]
pub struct MockServer {
    /// The address it listens on.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop_tx: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl MockServer {
    /// Binds 127.0.0.1:`port` (0 = any free port), starts serving on its own thread
    /// with its own tokio runtime, and returns once the socket is listening.
    pub fn start(cfg: MockConfig, port: u16) -> std::io::Result<MockServer> {
        MockServer::start_with(
            cfg,
            ServeOptions {
                port,
                ..ServeOptions::default()
            },
        )
    }

    /// Like [`MockServer::start`], with the bind address and thread count chosen.
    pub fn start_with(cfg: MockConfig, opts: ServeOptions) -> std::io::Result<MockServer> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(opts.threads.max(1))
            .thread_name("tollgate-mock")
            .enable_all()
            .build()?;
        // The listener registers with this runtime's reactor, so bind inside it. Entering
        // a runtime is allowed even when the caller runs inside another one.
        let listener = {
            let _guard = runtime.enter();
            bind(SocketAddr::new(opts.bind, opts.port))?
        };
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(cfg));
        let (stop_tx, stop_rx) = oneshot::channel();
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("tollgate-mock-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(accept_loop(listener, thread_shared, stop_rx));
                // Dropping the tasks closes every connection still open.
                runtime.shutdown_timeout(Duration::from_secs(2));
            })?;
        Ok(MockServer {
            addr,
            shared,
            stop_tx: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// `http://ADDR:PORT`, the base URL to configure as a provider.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The last 100 requests received, oldest first (same data as `/__mock/requests`).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.recorder.snapshot()
    }

    /// Provider API requests received since start or the last reset (health probes
    /// and `/__mock/*` calls are not counted).
    pub fn hits(&self) -> usize {
        self.shared.recorder.requests()
    }

    /// `GET /health` probes received since start or the last reset.
    pub fn health_checks(&self) -> usize {
        self.shared.recorder.health_checks()
    }

    /// The configuration in force.
    pub fn config(&self) -> MockConfig {
        MockConfig::clone(&self.shared.config())
    }

    /// Replaces the configuration; requests that already started keep the old one.
    pub fn set_config(&self, cfg: MockConfig) {
        self.shared.config.store(Arc::new(cfg));
    }

    /// `(cached prompt characters, all prompt characters)` of the simulated prefix
    /// cache since the last reset.
    pub fn prefix_cache_stats(&self) -> (u64, u64) {
        self.shared.prefix_cache.stats()
    }

    /// Forgets recorded requests and zeroes the counters, as `POST /__mock/reset`.
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Closes the listener and every open connection, and joins the serving thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(tx) = self.stop_tx.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // Lets a test stop a mock and start another on the same port at once.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: oneshot::Receiver<()>) {
    loop {
        tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(connection(stream, Arc::clone(&shared)));
                }
                // Out of file descriptors and the like: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
        }
    }
}

/// Serves requests on one connection until it closes.
async fn connection(stream: TcpStream, shared: Arc<Shared>) {
    let mut conn = Conn::new(stream);
    loop {
        let head = match conn.read_head().await {
            Ok(Some(head)) => head,
            Ok(None) => return,
            Err(e) => {
                // No request to attribute the error to: answer in the OpenAI shape.
                let reply = error_reply(Format::OpenAi, e.status(), e.reason(), 0);
                let cfg = shared.config();
                let meta = Meta {
                    name: &cfg.name,
                    seq: 0,
                    body_len: 0,
                    body_fnv: fnv1a64(b""),
                };
                let _ = conn.send_reply(&reply, meta, false, false).await;
                conn.close_gracefully().await;
                return;
            }
        };
        let entry = Arc::new(Entry::new(shared.recorder.next_seq(), head));
        match serve(&mut conn, &shared, entry).await {
            Flow::KeepAlive => {}
            Flow::Close => return,
            Flow::CloseGracefully => {
                conn.close_gracefully().await;
                return;
            }
        }
    }
}
