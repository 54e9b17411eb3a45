//! A TLS front for tests: terminates TLS with the fixture certificate (CN localhost,
//! SAN localhost and 127.0.0.1, signed by `tests/fixtures/tls/ca.pem`) and pipes each
//! connection to a plain-HTTP backend such as the mock. Stops when dropped.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use pingora::tls::{ServerConfig, TlsAcceptor};
use tokio::sync::oneshot;

pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls");

pub struct TlsFront {
    pub addr: SocketAddr,
    handshakes: Arc<AtomicUsize>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TlsFront {
    pub fn start(backend: SocketAddr) -> TlsFront {
        pingora::tls::install_default_crypto_provider();
        let (certs, key) = pingora::tls::load_certs_and_key_files(
            &format!("{FIXTURES}/server.pem"),
            &format!("{FIXTURES}/server.key"),
        )
        .unwrap()
        .unwrap();
        let config = ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let handshakes = Arc::new(AtomicUsize::new(0));
        let counted = handshakes.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let serve = async {
                    loop {
                        let Ok((tcp, _)) = listener.accept().await else {
                            continue;
                        };
                        let (acceptor, counted) = (acceptor.clone(), counted.clone());
                        tokio::spawn(async move {
                            let Ok(mut tls) = acceptor.accept(tcp).await else {
                                return;
                            };
                            counted.fetch_add(1, Ordering::Relaxed);
                            let Ok(mut up) = tokio::net::TcpStream::connect(backend).await else {
                                return;
                            };
                            let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
                        });
                    }
                };
                tokio::select! {
                    _ = stopped => {}
                    () = serve => {}
                }
            });
        });
        TlsFront {
            addr,
            handshakes,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Completed TLS handshakes so far.
    pub fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::Relaxed)
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
