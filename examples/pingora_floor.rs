//! The floor of `scripts/bench.sh`: the smallest Pingora proxy of the version tollgate
//! is built on, laid out like tollgate's data plane (one single-threaded service per
//! worker on a shared `SO_REUSEPORT` socket, mimalloc, upstream keep-alive pool) and
//! doing nothing else: a fixed peer, the request and answer passed untouched.
//! tollgate's cost per request is reported against this, so what Pingora itself
//! costs on this machine is never counted as tollgate's.
//!
//!   cargo build --release --example pingora_floor
//!   target/release/examples/pingora_floor 127.0.0.1:18085 127.0.0.1:18181 2

use async_trait::async_trait;
use pingora::listeners::TcpSocketOptions;
use pingora::prelude::*;
use pingora::server::configuration::ServerConf;
use pingora::services::listening::Service;
use pingora_proxy::{HttpProxy, ProxyHttp, Session};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Every request goes to the one upstream, over plain HTTP/1.1.
struct Floor {
    upstream: String,
}

#[async_trait]
impl ProxyHttp for Floor {
    type CTX = ();

    fn new_ctx(&self) {}

    async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut ()) -> Result<Box<HttpPeer>> {
        Ok(Box::new(HttpPeer::new(
            self.upstream.as_str(),
            false,
            String::new(),
        )))
    }
}

fn reuseport() -> TcpSocketOptions {
    let mut options = TcpSocketOptions::default();
    options.so_reuseport = Some(true);
    options
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(listen), Some(upstream)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: pingora_floor <listen addr> <upstream addr> [workers]");
        std::process::exit(2);
    };
    let workers: usize = args.get(3).and_then(|w| w.parse().ok()).unwrap_or(2);
    let conf = ServerConf {
        threads: 1,
        grace_period_seconds: Some(1),
        graceful_shutdown_timeout_seconds: Some(1),
        ..Default::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();
    for i in 0..workers {
        let mut app = HttpProxy::new(
            Floor {
                upstream: upstream.clone(),
            },
            server.configuration.clone(),
        );
        app.handle_init_modules();
        let mut service = Service::new(format!("floor {i}"), app);
        service.threads = Some(1);
        // Pingora keys sockets by the address string: a distinct spelling per worker
        // (leading zeros in the port, as tollgate does) gives each its own socket.
        let (host, port) = listen.rsplit_once(':').unwrap_or((listen, "80"));
        let key = format!("{host}:{}{port}", "0".repeat(i));
        service.add_tcp_with_settings(&key, reuseport());
        server.add_service(service);
    }
    server.run_forever();
}
