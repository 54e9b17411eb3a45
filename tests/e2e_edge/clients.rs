//! Client-side clocks and limits: slowloris headers, idle and kept-alive connections,
//! header limits, stalled and broken bodies, slow uploads, connection floods and the
//! body-memory budget.

use super::*;

/// A gateway in front of a fast mock, with a `client:` section.
fn gateway_with_client(client: &str, mock_url: &str, timeouts: &str) -> Gateway {
    Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
client: {client}
providers:
  - {{ name: up, format: openai, base_url: "{mock_url}", timeouts: {timeouts} }}
models:
  - {{ name: m, targets: [{{ provider: up, model: x }}] }}
"#
    ))
}

fn chat_ok(gw: &Gateway) -> bool {
    gw.post("/v1/chat/completions", &chat("m")).status == 200
}

/// Everything a raw connection receives until the server closes it (or `limit`).
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, bool) {
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let deadline = std::time::Instant::now() + limit;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while std::time::Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), true),
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), false)
}

#[test]
fn slowloris_headers_get_408_in_their_dialect_while_others_are_served() {
    let up = common::mock("up");
    let gw = gateway_with_client("{ header_timeout_ms: 1500 }", &up.url(), "{}");
    // 20 clients each dripping a header, one byte every 200 ms (Pingora alone would
    // wait 60 s per byte, forever).
    let drippers: Vec<_> = (0..20)
        .map(|i| {
            let addr = gw.addr.clone();
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(&addr).unwrap();
                let path = if i % 2 == 0 { "/v1/messages" } else { "/v1/chat/completions" };
                s.write_all(format!("POST {path} HTTP/1.1\r\nHost: x\r\n").as_bytes()).unwrap();
                let started = std::time::Instant::now();
                for b in b"x-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
                    if s.write_all(&[*b]).is_err() || started.elapsed() > Duration::from_secs(20) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                let (text, closed) = read_until_closed(&mut s, Duration::from_secs(5));
                (path, text, closed)
            })
        })
        .collect();
    // Normal requests keep being served meanwhile.
    for _ in 0..10 {
        assert!(chat_ok(&gw));
        std::thread::sleep(Duration::from_millis(100));
    }
    for d in drippers {
        let (path, text, closed) = d.join().unwrap();
        assert!(text.starts_with("HTTP/1.1 408"), "{path}: {text:?}");
        let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        if path == "/v1/messages" {
            assert_eq!(v["type"], "error", "{body}");
        } else {
            assert!(v["error"]["message"].is_string(), "{body}");
        }
        assert!(closed, "{path}: connection left open");
    }
    assert!(chat_ok(&gw));
    gw.metrics_with(r#"tollgate_client_rejects_total{reason="header_timeout"} 20"#);
}

#[test]
fn silent_and_idle_keepalive_connections_are_closed() {
    let up = common::mock("up");
    let gw = gateway_with_client(
        "{ header_timeout_ms: 1000, keepalive_timeout_ms: 2000 }",
        &up.url(),
        "{}",
    );
    // A connection that never sends a byte.
    let mut silent = TcpStream::connect(&gw.addr).unwrap();
    // A kept-alive connection after one request.
    let mut kept = http::Conn::open(&gw.addr);
    let body = serde_json::to_vec(&chat("m")).unwrap();
    let resp = kept.request("POST", "/v1/chat/completions", &[], &body);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("connection"), Some("keep-alive"));
    let t = std::time::Instant::now();
    let (text, closed) = read_until_closed(&mut silent, Duration::from_secs(15));
    assert!(
        closed && text.is_empty(),
        "silent connection: {closed} {text:?}"
    );
    assert!(
        t.elapsed() >= Duration::from_millis(500),
        "closed too early"
    );
    let mut raw = kept.into_stream();
    let (text, closed) = read_until_closed(&mut raw, Duration::from_secs(15));
    assert!(
        closed && text.is_empty(),
        "idle keep-alive: {closed} {text:?}"
    );
    assert!(chat_ok(&gw));
}

#[test]
fn header_size_and_count_limits_answer_431() {
    let up = common::mock("up");
    let gw = gateway_with_client(
        "{ max_headers: 20, max_header_bytes: 4096 }",
        &up.url(),
        "{}",
    );
    let many: String = (0..40).map(|i| format!("x-h{i}: v\r\n")).collect();
    let big = format!("x-big: {}\r\n", "a".repeat(8000));
    for extra in [many, big] {
        let mut s = TcpStream::connect(&gw.addr).unwrap();
        let _ =
            s.write_all(format!("POST /v1/messages HTTP/1.1\r\nHost: x\r\n{extra}\r\n").as_bytes());
        let (text, closed) = read_until_closed(&mut s, Duration::from_secs(10));
        assert!(text.starts_with("HTTP/1.1 431"), "{text:?}");
        assert!(text.contains(r#""type":"error""#), "{text}");
        assert!(closed);
    }
    assert!(chat_ok(&gw));
}

#[test]
fn a_stalled_or_broken_body_is_the_clients_fault_and_reaches_no_upstream() {
    let up = common::mock("up");
    let gw = gateway_with_client("{ body_timeout_ms: 1000 }", &up.url(), "{}");
    let before = up.hits();
    // Stalled mid-body.
    let mut s = TcpStream::connect(&gw.addr).unwrap();
    s.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"model\":").unwrap();
    let (text, _) = read_until_closed(&mut s, Duration::from_secs(15));
    assert!(text.starts_with("HTTP/1.1 408"), "{text:?}");
    assert!(text.contains("timeout_error"), "{text}");
    // Expect: 100-continue and no body.
    let mut s = TcpStream::connect(&gw.addr).unwrap();
    s.write_all(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\ncontent-length: 50\r\nexpect: 100-continue\r\n\r\n").unwrap();
    let (text, _) = read_until_closed(&mut s, Duration::from_secs(15));
    assert!(text.contains("HTTP/1.1 408"), "{text:?}");
    assert!(text.contains(r#""type":"error""#), "{text}");
    // A bad chunk size.
    let mut s = TcpStream::connect(&gw.addr).unwrap();
    s.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n").unwrap();
    let (text, _) = read_until_closed(&mut s, Duration::from_secs(15));
    assert!(text.starts_with("HTTP/1.1 400"), "{text:?}");
    assert_eq!(up.hits(), before, "an upstream was contacted");
    // No upstream was blamed: the next request is served at once.
    assert!(chat_ok(&gw));
    let m = gw.metrics_with(r#"tollgate_client_rejects_total{reason="body_timeout"} 2"#);
    assert!(
        m.contains(r#"tollgate_client_rejects_total{reason="body_framing"} 1"#),
        "{m}"
    );
    assert!(
        !m.contains("tollgate_errors_total{kind=\"upstream_timeout\"}"),
        "{m}"
    );
}

#[test]
fn a_slow_upload_is_not_an_upstream_timeout() {
    // The issue's reproduction: total_ms shorter than the upload.
    let up = common::mock("up");
    let gw = gateway_with_client("{ body_timeout_ms: 5000 }", &up.url(), "{ total_ms: 1500 }");
    let body = serde_json::to_vec(&chat("m")).unwrap();
    let drips: Vec<_> = (0..3)
        .map(|_| {
            let (addr, body) = (gw.addr.clone(), body.clone());
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(&addr).unwrap();
                s.write_all(format!("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n", body.len()).as_bytes()).unwrap();
                // ~2.5 s for the whole body, a piece every 250 ms.
                for piece in body.chunks(body.len() / 10 + 1) {
                    s.write_all(piece).unwrap();
                    std::thread::sleep(Duration::from_millis(250));
                }
                read_until_closed(&mut s, Duration::from_secs(15)).0
            })
        })
        .collect();
    for d in drips {
        let text = d.join().unwrap();
        assert!(text.starts_with("HTTP/1.1 200"), "{text:?}");
    }
    // The provider was not cooled down: everybody else is served.
    for _ in 0..5 {
        assert!(chat_ok(&gw));
    }
}

/// Open `n` idle connections from `source` (a loopback address) to `addr`, bounded
/// by `limit`; returns the sockets that connected.
fn flood(source: &str, addr: &str, n: usize, limit: Duration) -> Vec<tokio::net::TcpStream> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let target: std::net::SocketAddr = addr.parse().unwrap();
    let source: std::net::SocketAddr = format!("{source}:0").parse().unwrap();
    rt.block_on(async {
        let deadline = tokio::time::Instant::now() + limit;
        let mut out = Vec::new();
        for _ in 0..n {
            if tokio::time::Instant::now() > deadline {
                break;
            }
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind(source).unwrap();
            if let Ok(Ok(s)) =
                tokio::time::timeout(Duration::from_secs(1), socket.connect(target)).await
            {
                out.push(s);
            }
        }
        out
    })
}

/// How many of these connections were answered with a 503 refusal (read within
/// `limit`).
fn refused(conns: Vec<tokio::net::TcpStream>, limit: Duration) -> usize {
    let mut count = 0;
    let deadline = std::time::Instant::now() + limit;
    for c in conns {
        let mut s = c.into_std().unwrap();
        s.set_nonblocking(false).unwrap();
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        s.set_read_timeout(Some(left.max(Duration::from_millis(10))))
            .unwrap();
        let mut buf = [0u8; 12];
        if s.read_exact(&mut buf).is_ok() && &buf == b"HTTP/1.1 503" {
            count += 1;
        }
    }
    count
}

#[test]
fn a_connection_flood_is_refused_cleanly_and_others_are_served() {
    let up = common::mock("up");
    let gw = gateway_with_client(
        "{ max_connections: 400, max_connections_per_ip: 100, header_timeout_ms: 3000 }",
        &up.url(),
        "{}",
    );
    // 600 silent sockets from 127.0.0.2: 100 are held (until the header timeout), the
    // rest are refused at once with a 503.
    let conns = flood("127.0.0.2", &gw.addr, 600, Duration::from_secs(10));
    assert!(conns.len() >= 500, "only {} connected", conns.len());
    // The flood does not reach other clients.
    for _ in 0..5 {
        assert!(chat_ok(&gw));
    }
    let n = conns.len();
    let refusals = refused(conns, Duration::from_secs(5));
    assert!(
        refusals >= n - 100 && refusals < n,
        "{refusals} of {n} refused (100 may stay open)"
    );
    gw.metrics_with("tollgate_client_connections_refused_total");
    // Over the global cap: everyone is refused cleanly, nothing crashes; once the
    // flood's connections time out, service is back.
    let a = flood("127.0.0.3", &gw.addr, 100, Duration::from_secs(5));
    let b = flood("127.0.0.4", &gw.addr, 100, Duration::from_secs(5));
    let c = flood("127.0.0.5", &gw.addr, 100, Duration::from_secs(5));
    let d = flood("127.0.0.6", &gw.addr, 150, Duration::from_secs(5));
    let over = refused(d, Duration::from_secs(5));
    assert!(over >= 50, "only {over} refused over the global cap");
    drop((a, b, c));
    let back = common::wait_until(Duration::from_secs(20), || chat_ok(&gw));
    assert!(back, "not served after the flood");
    let gauge = common::wait_until(Duration::from_secs(10), || {
        http::get(&gw.admin, "/metrics")
            .text()
            .lines()
            .any(|l| l.starts_with("tollgate_client_connections ") && l.trim_end().ends_with(" 0"))
    });
    assert!(gauge, "connections not released");
}

#[test]
fn concurrent_large_uploads_stay_within_the_body_memory_budget() {
    let up = common::mock("up");
    let gw = gateway_with_client("{ body_memory_bytes: 5000000 }", &up.url(), "{}");
    let size = 2_000_000;
    // Two uploads in progress hold 4 MB of the 5 MB budget...
    let open: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut s = TcpStream::connect(&gw.addr).unwrap();
            s.write_all(format!("POST /v1/messages HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: {size}\r\n\r\n{{").as_bytes()).unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    // ...so a third is refused, in its dialect, with retry-after.
    let body = format!(
        r#"{{"model":"m","max_tokens":5,"messages":[{{"role":"user","content":"{}"}}]}}"#,
        "a".repeat(size - 80)
    );
    let resp =
        http::Conn::open(&gw.addr).request_refusable("POST", "/v1/messages", body.as_bytes());
    assert_eq!(resp.status, 529, "{}", resp.text());
    assert_eq!(resp.json()["error"]["type"], "overloaded_error");
    assert_eq!(resp.header("retry-after"), Some("1"));
    let resp = http::Conn::open(&gw.addr).request_refusable(
        "POST",
        "/v1/chat/completions",
        body.replace("max_tokens\":5,", "").as_bytes(),
    );
    assert_eq!(resp.status, 503, "{}", resp.text());
    // Once they are gone, the memory is back. The gateway learns of the closed uploads
    // a moment later: until then a try is refused before its body is read (the write
    // may then break), so each try is a refusable one.
    drop(open);
    let served = common::wait_until(Duration::from_secs(10), || {
        http::Conn::open(&gw.addr)
            .request_refusable("POST", "/v1/messages", body.as_bytes())
            .status
            == 200
    });
    assert!(served);
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// An open connection costs what its HTTP session needs, not a 64 KiB read buffer
/// in front of it: Pingora's default zero-fills one per accepted connection, which
/// made 1,000 idle sockets (or 1,000 open streams) cost 64 MiB more. Closed, their
/// memory goes back to the system.
#[test]
fn idle_connections_hold_no_read_buffer() {
    let up = common::mock("up");
    let gw = gateway_with_client(
        "{ max_connections: 5000, max_connections_per_ip: 5000, header_timeout_ms: 30000 }",
        &up.url(),
        "{}",
    );
    // Warm the worker threads and the allocator first, so the measurement below is
    // of the connections only.
    let warm = flood("127.0.0.8", &gw.addr, 300, Duration::from_secs(10));
    assert!(chat_ok(&gw));
    drop(warm);
    std::thread::sleep(Duration::from_millis(500));
    let before = rss_kib(gw.pid());
    let n = 1000;
    let conns = flood("127.0.0.9", &gw.addr, n, Duration::from_secs(20));
    assert!(conns.len() >= n * 9 / 10, "only {} connected", conns.len());
    // Every connection accepted: the gauge counts them.
    let accepted = common::wait_until(Duration::from_secs(10), || {
        http::get(&gw.admin, "/metrics").text().lines().any(|l| {
            l.starts_with("tollgate_client_connections ")
                && l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
                    >= Some(conns.len() as f64)
        })
    });
    assert!(accepted, "the gateway did not accept them all");
    let peak = rss_kib(gw.pid());
    let per_conn = peak.saturating_sub(before) / conns.len() as u64;
    // Measured in this (debug) build: 41 KiB per connection without the buffer, 84
    // with it (the session's own buffers and task are the rest).
    assert!(
        per_conn < 62,
        "{per_conn} KiB of RSS per idle connection ({} connections)",
        conns.len()
    );
    drop(conns);
    // Closed, they are given back to the system once the workers are idle (the
    // allocator would otherwise keep the pages for a next burst, indefinitely).
    let half = before + peak.saturating_sub(before) / 2;
    let returned = common::wait_until(Duration::from_secs(8), || rss_kib(gw.pid()) < half);
    assert!(
        returned,
        "RSS {} KiB 8 s after the close (before {before}, peak {peak})",
        rss_kib(gw.pid())
    );
    assert!(chat_ok(&gw));
}
