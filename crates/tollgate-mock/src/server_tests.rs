//! In-process tests: a real [`MockServer`] on 127.0.0.1, driven by raw HTTP/1.1 over
//! blocking `TcpStream`s.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::{fnv1a64, MockConfig, MockServer, RecordedRequest};

/// One response as read off the wire; `chunks` holds each chunk with its arrival time.
#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    chunks: Vec<(Instant, Vec<u8>)>,
    complete: bool,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Client {
            reader: BufReader::new(stream),
        }
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).unwrap();
    }

    fn send(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) {
        let mut raw = format!(
            "{method} {path} HTTP/1.1\r\nhost: mock\r\ncontent-length: {}\r\n",
            body.len()
        );
        for (n, v) in headers {
            raw.push_str(&format!("{n}: {v}\r\n"));
        }
        raw.push_str("\r\n");
        let mut bytes = raw.into_bytes();
        bytes.extend_from_slice(body);
        self.send_raw(&bytes);
    }

    fn line(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_owned()),
        }
    }

    fn response(&mut self) -> Resp {
        let status_line = self.line().expect("status line");
        let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut headers = Vec::new();
        while let Some(line) = self.line().filter(|l| !l.is_empty()) {
            let (n, v) = line.split_once(':').unwrap();
            headers.push((n.to_ascii_lowercase(), v.trim().to_owned()));
        }
        let mut resp = Resp {
            status,
            headers,
            body: Vec::new(),
            chunks: Vec::new(),
            complete: true,
        };
        if status == 100 {
            return resp;
        }
        if let Some(len) = resp.header("content-length") {
            let mut body = vec![0; len.parse().unwrap()];
            self.reader.read_exact(&mut body).unwrap();
            resp.body = body;
        } else if resp.header("transfer-encoding") == Some("chunked") {
            resp.complete = self.read_chunks(&mut resp);
        }
        resp
    }

    /// Reads chunks until the last one (true) or until the connection ends (false).
    fn read_chunks(&mut self, resp: &mut Resp) -> bool {
        loop {
            let Some(size_line) = self.line() else {
                return false;
            };
            let size = usize::from_str_radix(&size_line, 16).unwrap();
            if size == 0 {
                assert_eq!(self.line().as_deref(), Some(""));
                return true;
            }
            let mut data = vec![0; size + 2];
            if self.reader.read_exact(&mut data).is_err() {
                return false;
            }
            data.truncate(size);
            resp.body.extend_from_slice(&data);
            resp.chunks.push((Instant::now(), data));
        }
    }

    /// True once the server closed the connection.
    fn closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(self.reader.read(&mut byte), Ok(0) | Err(_))
    }
}

fn start(cfg: MockConfig) -> MockServer {
    MockServer::start(cfg, 0).unwrap()
}

fn chat_body(stream: bool) -> Vec<u8> {
    format!(
        r#"{{"model":"gpt-test","stream":{stream},"messages":[{{"role":"user","content":"hi"}}]}}"#
    )
    .into_bytes()
}

/// Polls until `f` holds on the recorded requests (at most 3 s).
fn wait_for(server: &MockServer, f: impl Fn(&[RecordedRequest]) -> bool) -> Vec<RecordedRequest> {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let reqs = server.requests();
        if f(&reqs) || Instant::now() > deadline {
            return reqs;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn keep_alive_and_pipelining_on_one_connection() {
    let server = start(MockConfig {
        name: "alpha".into(),
        ..MockConfig::default()
    });
    let mut c = Client::connect(server.addr);
    let body = chat_body(false);
    for _ in 0..2 {
        c.send("POST", "/v1/chat/completions", &[], &body);
        let r = c.response();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-mock-name"), Some("alpha"));
        assert_eq!(
            r.header("x-mock-body-len"),
            Some(body.len().to_string().as_str())
        );
        assert_eq!(
            r.header("x-mock-body-fnv"),
            Some(format!("{:016x}", fnv1a64(&body)).as_str())
        );
        let v = r.json();
        assert_eq!(
            (&v["model"], &v["choices"][0]["message"]["content"]),
            (
                &"gpt-test".into(),
                &"tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7".into()
            )
        );
    }
    // Two requests in one write: two responses, in order.
    let mut both = b"GET /v1/models HTTP/1.1\r\nhost: m\r\n\r\n".to_vec();
    both.extend_from_slice(b"POST /v1/messages/count_tokens HTTP/1.1\r\nhost: m\r\ncontent-length: 8\r\n\r\n{\"a\":1}\n");
    c.send_raw(&both);
    assert_eq!(c.response().json()["object"], "list");
    assert_eq!(c.response().json()["input_tokens"], 2);
    assert_eq!(server.hits(), 4);
    let reqs = server.requests();
    assert_eq!(reqs[0].model.as_deref(), Some("gpt-test"));
    assert_eq!(reqs[0].header("host"), Some("mock"));
    assert_eq!(
        (reqs[3].path.as_str(), reqs[3].status),
        ("/v1/messages/count_tokens", Some(200))
    );
    // Connection: close is honoured.
    c.send("GET", "/v1/models", &[("connection", "close")], b"");
    assert_eq!(c.response().header("connection"), Some("close"));
    assert!(c.closed());
}

#[test]
fn chunked_20_mib_body_with_expect_continue() {
    let server = start(MockConfig::default());
    let mut c = Client::connect(server.addr);
    let mut body = br#"{"model":"big","messages":[{"role":"user","content":""#.to_vec();
    body.resize(20 * 1024 * 1024 - 4, b'x');
    body.extend_from_slice(br#""}]}"#);
    c.send_raw(b"POST /v1/messages HTTP/1.1\r\nhost: m\r\ntransfer-encoding: chunked\r\nexpect: 100-continue\r\n\r\n");
    assert_eq!(c.response().status, 100);
    let writer = c.reader.get_mut();
    for piece in body.chunks(1024 * 1024 + 7) {
        writer
            .write_all(format!("{:x}\r\n", piece.len()).as_bytes())
            .unwrap();
        writer.write_all(piece).unwrap();
        writer.write_all(b"\r\n").unwrap();
    }
    writer.write_all(b"0\r\n\r\n").unwrap();
    let r = c.response();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-mock-body-len"), Some("20971520"));
    assert_eq!(
        r.header("x-mock-body-fnv"),
        Some(format!("{:016x}", fnv1a64(&body)).as_str())
    );
    assert_eq!(r.json()["usage"]["input_tokens"], 20 * 1024 * 1024 / 4);
    let req = &server.requests()[0];
    assert!(req.body_complete && req.model.as_deref() == Some("big"));
    assert_eq!(req.body_prefix.len(), 2048);
    // The connection is still usable afterwards.
    c.send("GET", "/health", &[], b"");
    assert_eq!(c.response().body, b"ok");
}

#[test]
fn stream_timing_follows_ttft_and_delay() {
    let server = start(MockConfig::default());
    let mut c = Client::connect(server.addr);
    let sent = Instant::now();
    let headers = [
        ("x-mock-ttft-ms", "150"),
        ("x-mock-delay-ms", "60"),
        ("x-mock-tokens", "4"),
    ];
    c.send("POST", "/v1/chat/completions", &headers, &chat_body(true));
    let r = c.response();
    assert!(r.complete);
    assert_eq!(
        r.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    // role, 4 tokens, finish, [DONE]: one chunk each.
    assert_eq!(r.chunks.len(), 7);
    let first = r.chunks[0].0;
    let last = r.chunks.last().map(|c| c.0).unwrap();
    assert!(
        first.duration_since(sent) >= Duration::from_millis(140),
        "ttft honoured"
    );
    assert!(
        last.duration_since(first) >= Duration::from_millis(170),
        "three delays between tokens"
    );
    assert!(std::str::from_utf8(&r.chunks[6].1).unwrap() == "data: [DONE]\n\n");
}

#[test]
fn hang_and_stall_record_the_client_going_away() {
    let server = start(MockConfig::default());
    let mut hung = Client::connect(server.addr);
    hung.send(
        "POST",
        "/v1/chat/completions",
        &[("x-mock-hang", "1")],
        &chat_body(false),
    );
    let reqs = wait_for(&server, |r| r.len() == 1 && r[0].body_complete);
    assert!(!reqs[0].cancelled && reqs[0].status.is_none());
    drop(hung);
    let reqs = wait_for(&server, |r| r[0].cancelled);
    assert!(reqs[0].cancelled, "hang noticed the close");

    let mut stalled = Client::connect(server.addr);
    stalled.send(
        "POST",
        "/v1/messages",
        &[("x-mock-stall-after", "2")],
        &chat_body(true),
    );
    let r = {
        // Read the head and the first events; the stream then stalls.
        let status = stalled.line().unwrap();
        assert!(status.contains("200"));
        while stalled.line().is_some_and(|l| !l.is_empty()) {}
        let mut resp = Resp {
            status: 200,
            headers: vec![],
            body: vec![],
            chunks: vec![],
            complete: false,
        };
        stalled
            .reader
            .get_ref()
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        stalled.read_chunks(&mut resp);
        resp
    };
    let text = String::from_utf8_lossy(&r.body).into_owned();
    assert_eq!(text.matches("text_delta").count(), 2, "{text}");
    assert!(!text.contains("message_stop"));
    drop(stalled);
    let reqs = wait_for(&server, |r| r.len() == 2 && r[1].cancelled);
    assert!(reqs[1].cancelled, "stall noticed the close");
    assert_eq!(server.hits(), 2);
}

#[test]
fn abandoned_bodies_are_counted_and_marked_cancelled() {
    let server = start(MockConfig::default());
    let mut c = Client::connect(server.addr);
    c.send_raw(
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: m\r\ncontent-length: 1000\r\n\r\n0123456789",
    );
    let reqs = wait_for(&server, |r| r.len() == 1 && r[0].body_len == 10);
    assert!(!reqs[0].body_complete && reqs[0].body_len == 10 && reqs[0].body_fnv.is_empty());
    drop(c);
    let reqs = wait_for(&server, |r| r[0].cancelled);
    assert!(reqs[0].cancelled && reqs[0].status.is_none());
    assert_eq!(server.hits(), 1);
}

#[test]
fn abort_after_truncates_the_stream() {
    let server = start(MockConfig::default());
    let mut c = Client::connect(server.addr);
    c.send(
        "POST",
        "/v1/chat/completions",
        &[("x-mock-abort-after", "3")],
        &chat_body(true),
    );
    let r = c.response();
    assert!(!r.complete, "no terminating chunk");
    assert_eq!(r.chunks.len(), 4, "role chunk + 3 tokens");
}

#[test]
fn forced_statuses_failure_ratio_and_retry_after() {
    let server = start(MockConfig {
        fail_ratio: 0.5,
        ..MockConfig::default()
    });
    let mut c = Client::connect(server.addr);
    let statuses: Vec<u16> = (0..4)
        .map(|_| {
            c.send("POST", "/v1/chat/completions", &[], &chat_body(false));
            c.response().status
        })
        .collect();
    assert_eq!(statuses, [200, 500, 200, 500]);
    c.send(
        "POST",
        "/v1/chat/completions",
        &[("x-mock-status", "429"), ("x-mock-retry-after", "7")],
        &chat_body(false),
    );
    let r = c.response();
    assert_eq!((r.status, r.header("retry-after")), (429, Some("7")));
    assert_eq!(r.json()["error"]["code"], "rate_limit_exceeded");

    server.set_config(MockConfig {
        status: Some(529),
        ..MockConfig::default()
    });
    c.send("POST", "/v1/messages", &[], &chat_body(true));
    let r = c.response();
    assert_eq!(
        (r.status, &r.json()["error"]["type"]),
        (529, &"overloaded_error".into())
    );
    // A header overrides the configured status: 200 answers normally (here: bad JSON).
    c.send(
        "POST",
        "/v1/chat/completions",
        &[("x-mock-latency-ms", "1"), ("x-mock-status", "200")],
        b"{bad",
    );
    assert_eq!(c.response().status, 400);
}

#[test]
fn introspection_health_and_errors_over_http() {
    let server = start(MockConfig {
        unhealthy: true,
        max_body: 1000,
        ..MockConfig::default()
    });
    let mut c = Client::connect(server.addr);
    c.send("GET", "/health", &[], b"");
    assert_eq!(c.response().status, 503);
    c.send(
        "POST",
        "/v1beta/models/gemini-x:generateContent",
        &[],
        br#"{"contents":[{"parts":[{"text":"hi"}]}]}"#,
    );
    assert_eq!(c.response().json()["modelVersion"], "gemini-x");
    c.send("POST", "/v1/chat/completions", &[], b"{not json");
    assert_eq!(c.response().status, 400);
    c.send("GET", "/__mock/stats", &[], b"");
    assert_eq!(
        c.response().json(),
        serde_json::json!({"requests": 2, "health_checks": 1})
    );
    c.send("GET", "/__mock/requests", &[], b"");
    let reqs: Vec<RecordedRequest> = serde_json::from_slice(&c.response().body).unwrap();
    assert_eq!(reqs, server.requests());
    assert_eq!(reqs[1].body_prefix, "{not json");
    c.send("POST", "/__mock/reset", &[], b"");
    assert_eq!(c.response().status, 200);
    assert_eq!((server.hits(), server.requests().len()), (0, 0));
    c.send("GET", "/nope", &[], b"");
    assert_eq!(c.response().status, 404);
    c.send("POST", "/v1/chat/completions", &[], &[b' '; 2000]);
    let r = c.response();
    assert_eq!((r.status, r.header("connection")), (413, Some("close")));
}

#[test]
fn stop_closes_listener_and_open_connections() {
    let server = start(MockConfig::default());
    let addr = server.addr;
    let mut idle = Client::connect(addr);
    idle.send("GET", "/health", &[], b"");
    assert_eq!(idle.response().status, 200);
    let mut hung = Client::connect(addr);
    hung.send(
        "POST",
        "/v1/chat/completions",
        &[("x-mock-hang", "1")],
        &chat_body(false),
    );
    wait_for(&server, |r| !r.is_empty());
    server.stop();
    assert!(
        TcpStream::connect(addr).is_err(),
        "nothing listens any more"
    );
    assert!(idle.closed() && hung.closed());
}

#[tokio::test]
async fn starts_and_stops_inside_an_async_context() {
    let server = MockServer::start(MockConfig::default(), 0).unwrap();
    let addr = server.addr;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(b"GET /health HTTP/1.1\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.unwrap();
    assert!(out.starts_with(b"HTTP/1.1 200 OK\r\n") && out.ends_with(b"ok"));
    drop(server);
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

/// `GET`/`DELETE /v1/responses/{id}` and `.../input_items`.
#[path = "stored_tests.rs"]
mod stored;
