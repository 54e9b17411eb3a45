//! Test support: start the real `tollgate` binary on free loopback ports with a
//! given config, talk HTTP to it, stop it on drop.

#![allow(dead_code)]

pub mod chromium;
pub mod http;
pub mod otlp;
pub mod tls;

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tollgate_mock::{MockConfig, MockServer};

/// A free TCP port on 127.0.0.1 for a process the test starts later (a gateway, a
/// Redis server, a port left dead on purpose).
///
/// The port is drawn from below the kernel's ephemeral range. A port from that
/// range, bound and released, could meanwhile be handed to another test's
/// `bind(0)` listener or to an outgoing connection's source port, and the
/// gateway would then fail to bind while the test talks to the stranger. A port
/// given to a test of this process is never returned twice; the start of the
/// walk depends on the process id so that two test processes rarely meet.
pub fn free_port() -> u16 {
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let (low, high) = reserved_range();
    let span = u32::from(high - low);
    let start = std::process::id() % span;
    let mut given = GIVEN.lock().unwrap();
    for step in 0..span {
        let port = low + ((start + step) % span) as u16;
        if !given.contains(&port) && TcpListener::bind(("127.0.0.1", port)).is_ok() {
            given.push(port);
            return port;
        }
    }
    panic!("no free loopback port in {low}..{high}");
}

/// Ports the tests hand out: 15000 up to the start of the ephemeral range.
fn reserved_range() -> (u16, u16) {
    const LOW: u16 = 15000;
    let ephemeral_start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    (LOW, ephemeral_start.max(LOW + 1000))
}

/// A running gateway process.
pub struct Gateway {
    pub child: Child,
    pub addr: String,
    pub admin: String,
    pub dir: PathBuf,
    pub config_path: PathBuf,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    grace: u64,
}

/// Config text with `{data}` and `{admin}` placeholders filled in, plus a test
/// server section (short grace period, private upgrade socket and pid file).
fn complete_config(
    body: &str,
    data: &str,
    admin: &str,
    dir: &std::path::Path,
    grace: u64,
) -> String {
    let server = format!(
        "server:\n  threads: 2\n  grace_period_seconds: {grace}\n  graceful_shutdown_timeout_seconds: 1\n  upgrade_sock: {}/upgrade.sock\n  pid_file: {}/tollgate.pid\n",
        dir.display(),
        dir.display(),
    );
    let listeners = format!("listeners:\n  data: [\"{data}\"]\n  admin: \"{admin}\"\n");
    let mut text = String::new();
    if !body.contains("server:") {
        text.push_str(&server);
    }
    if !body.contains("listeners:") {
        text.push_str(&listeners);
    }
    text.push_str(&body.replace("{data}", data).replace("{admin}", admin));
    text
}

pub fn temp_dir(tag: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("tollgate-test-{}-{tag}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn capture(mut pipe: impl Read + Send + 'static) -> Arc<Mutex<Vec<u8>>> {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let sink = buf.clone();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut chunk) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    buf
}

impl Gateway {
    /// Start tollgate with this config (YAML without listeners; they are added) and
    /// wait until it serves.
    pub fn start(config: &str) -> Gateway {
        Self::start_with_env(config, &[])
    }

    pub fn start_with_env(config: &str, env: &[(&str, &str)]) -> Gateway {
        Self::start_full(config, env, 1)
    }

    /// Start with a given `grace_period_seconds` (upgrade tests need streams to finish).
    pub fn start_full(config: &str, env: &[(&str, &str)], grace: u64) -> Gateway {
        let dir = temp_dir("gw");
        let addr = format!("127.0.0.1:{}", free_port());
        let admin = format!("127.0.0.1:{}", free_port());
        let config_path = dir.join("tollgate.yaml");
        std::fs::write(
            &config_path,
            complete_config(config, &addr, &admin, &dir, grace),
        )
        .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tollgate"));
        cmd.arg("-c")
            .arg(&config_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd.env("RUST_LOG", "info");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn tollgate");
        let stdout = capture(child.stdout.take().unwrap());
        let stderr = capture(child.stderr.take().unwrap());
        let mut gw = Gateway {
            child,
            addr,
            admin,
            dir,
            config_path,
            stdout,
            stderr,
            grace,
        };
        gw.wait_ready();
        gw
    }

    /// Waits until both ports accept. A gateway that exited (a port it could not
    /// bind, a config it refused) fails here with its stderr, rather than letting
    /// the test talk to whatever else listens there.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "tollgate exited ({status}) before it was ready; stderr:\n{}",
                    self.stderr()
                );
            }
            if std::net::TcpStream::connect(&self.addr).is_ok()
                && std::net::TcpStream::connect(&self.admin).is_ok()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("tollgate did not start; stderr:\n{}", self.stderr());
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// Rewrite the config file (listeners kept) — the gateway picks it up by file watch.
    pub fn write_config(&self, config: &str) {
        let text = complete_config(config, &self.addr, &self.admin, &self.dir, self.grace);
        let tmp = self.dir.join("next.yaml");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &self.config_path).unwrap();
    }

    pub fn post(&self, path: &str, body: &serde_json::Value) -> http::Response {
        http::post_json(&self.addr, path, body)
    }

    /// The metrics page once it contains `needle`. Request metrics are recorded in the
    /// logging phase, after the client already has its response, so a scrape right
    /// after a request may not show it yet.
    pub fn metrics_with(&self, needle: &str) -> String {
        let mut page = String::new();
        let found = wait_until(Duration::from_secs(5), || {
            page = http::get(&self.admin, "/metrics").text();
            page.contains(needle)
        });
        assert!(found, "metrics never showed {needle}:\n{page}");
        page
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stop gracefully (SIGTERM) and wait for the exit; true when it exited cleanly
    /// within `timeout`. The captured output is complete afterwards.
    pub fn terminate(&mut self, timeout: Duration) -> bool {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                // The capture threads read to the end of the closed pipes.
                std::thread::sleep(Duration::from_millis(200));
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Run `tollgate -t -c <file>` on a config text; returns (exit success, stdout+stderr).
pub fn validate_config(text: &str, env: &[(&str, &str)]) -> (bool, String) {
    let dir = temp_dir("t");
    let path = dir.join("check.yaml");
    std::fs::write(&path, text).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tollgate"));
    cmd.arg("-t").arg("-c").arg(&path);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// Poll `check` until it returns true or the timeout passes.
pub fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// FNV-1a 64 of a body, as the mock reports it.
pub fn fnv1a(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

/// A loopback address whose connects never complete: a listener with a full accept
/// queue that never accepts, so the kernel drops further SYNs (the closest thing to
/// an unreachable host that stays on 127.0.0.1). Kept open while it lives.
pub struct SynBlackhole {
    pub addr: std::net::SocketAddr,
    _runtime: tokio::runtime::Runtime,
    _listener: tokio::net::TcpListener,
    _queued: Vec<std::net::TcpStream>,
}

impl SynBlackhole {
    pub fn start() -> SynBlackhole {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime.block_on(async {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
            socket.listen(1).unwrap()
        });
        let addr = listener.local_addr().unwrap();
        // Fill the accept queue; the connects beyond it time out, and so will the
        // gateway's.
        let queued = (0..4)
            .filter_map(|_| {
                std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()
            })
            .collect();
        SynBlackhole {
            addr,
            _runtime: runtime,
            _listener: listener,
            _queued: queued,
        }
    }

    /// Whether a connect to it indeed times out (the kernel may behave otherwise).
    pub fn swallows_connects(&self) -> bool {
        std::net::TcpStream::connect_timeout(&self.addr, Duration::from_millis(300)).is_err()
    }
}

/// A mock upstream called `name` on a free loopback port, its knobs set by `knobs`.
/// Stops when dropped.
pub fn mock_with(name: &str, knobs: impl FnOnce(&mut MockConfig)) -> MockServer {
    let mut cfg = MockConfig {
        name: name.into(),
        ..Default::default()
    };
    knobs(&mut cfg);
    MockServer::start(cfg, 0).unwrap()
}

/// A mock upstream called `name` with the default knobs.
pub fn mock(name: &str) -> MockServer {
    mock_with(name, |_| {})
}

/// An optional test prerequisite from the environment (a Python with the SDKs, a Redis
/// URL). Unset, the test says so and skips — unless `TOLLGATE_TEST_REQUIRE_ENV` is set
/// (scripts/test.sh, and so CI, sets it), where a missing prerequisite fails the test
/// instead of letting it pass without running.
pub fn test_env(var: &str, test: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            assert!(
                std::env::var_os("TOLLGATE_TEST_REQUIRE_ENV").is_none(),
                "{test}: {var} is required here but not set"
            );
            eprintln!("skipped {test}: {var} is not set (scripts/test.sh sets it)");
            None
        }
    }
}
