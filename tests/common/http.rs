//! A small blocking HTTP/1.1 client for tests: exact control over framing,
//! keep-alive, and the arrival time of each response chunk.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Each body chunk (chunked framing) with its arrival time since the request was sent.
    pub chunks: Vec<(Duration, Vec<u8>)>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// One keep-alive connection.
pub struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn open(addr: &str) -> Conn {
        let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Conn {
            reader: BufReader::new(stream),
        }
    }

    /// The raw connection (to watch it being closed).
    pub fn into_stream(self) -> TcpStream {
        self.reader.into_inner()
    }

    pub fn set_read_timeout(&self, t: Duration) {
        self.reader.get_ref().set_read_timeout(Some(t)).unwrap();
    }

    /// Send a request with a Content-Length body and read the whole response.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let start = Instant::now();
        self.send(method, path, headers, body);
        self.read_response(start, method == "HEAD")
    }

    pub fn send(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\n");
        let mut has_len = false;
        for (k, v) in headers {
            has_len |= k.eq_ignore_ascii_case("content-length")
                || k.eq_ignore_ascii_case("transfer-encoding");
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if !has_len && (method == "POST" || !body.is_empty()) {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        stream.flush().unwrap();
    }

    /// Like [`Conn::request`], for a server that may answer and close before it read
    /// the whole body (a refusal, as HTTP allows): write errors are ignored and the
    /// answer read.
    pub fn request_refusable(&mut self, method: &str, path: &str, body: &[u8]) -> Response {
        let start = Instant::now();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\ncontent-type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let stream = self.reader.get_mut();
        let _ = stream
            .write_all(head.as_bytes())
            .and_then(|()| stream.write_all(body));
        self.read_response(start, false)
    }

    /// Write raw bytes (for malformed or hand-framed requests).
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).unwrap();
    }

    pub fn read_response(&mut self, start: Instant, head_only: bool) -> Response {
        loop {
            let resp = self.read_one(start, head_only);
            if resp.status >= 200 || resp.status == 101 {
                return resp;
            }
        }
    }

    fn read_one(&mut self, start: Instant, head_only: bool) -> Response {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line: {line:?}"));
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            self.reader.read_line(&mut h).unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let mut resp = Response {
            status,
            headers,
            body: Vec::new(),
            chunks: Vec::new(),
        };
        if head_only || status < 200 || status == 204 || status == 304 {
            return resp;
        }
        let chunked = resp
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        if chunked {
            self.read_chunked(&mut resp, start);
        } else if let Some(len) = resp
            .header("content-length")
            .and_then(|v| v.parse::<usize>().ok())
        {
            let mut body = vec![0; len];
            self.reader.read_exact(&mut body).unwrap();
            resp.chunks.push((start.elapsed(), body.clone()));
            resp.body = body;
        } else {
            self.reader.read_to_end(&mut resp.body).unwrap();
        }
        resp
    }

    fn read_chunked(&mut self, resp: &mut Response, start: Instant) {
        loop {
            let mut size_line = String::new();
            if self.reader.read_line(&mut size_line).unwrap() == 0 {
                panic!(
                    "connection closed inside a chunked body (after {} bytes)",
                    resp.body.len()
                );
            }
            let size = usize::from_str_radix(size_line.trim().split(';').next().unwrap_or(""), 16)
                .unwrap_or_else(|_| panic!("bad chunk size {size_line:?}"));
            if size == 0 {
                let mut end = String::new();
                self.reader.read_line(&mut end).unwrap();
                return;
            }
            let mut chunk = vec![0; size];
            self.reader.read_exact(&mut chunk).unwrap();
            let mut crlf = [0u8; 2];
            self.reader.read_exact(&mut crlf).unwrap();
            resp.chunks.push((start.elapsed(), chunk.clone()));
            resp.body.extend_from_slice(&chunk);
        }
    }

    /// True if the server closed this connection (a read returns EOF quickly).
    pub fn is_closed(&mut self) -> bool {
        self.set_read_timeout(Duration::from_millis(300));
        let mut b = [0u8; 1];
        matches!(self.reader.read(&mut b), Ok(0))
    }
}

/// One request on a fresh connection, or `None` when the server closed that
/// connection before a single byte of the answer (the request was refused unread, as
/// a server that is shutting down does with connections it has not read yet: an
/// HTTP client may send such a request again). Any other failure panics.
pub fn request_unless_unanswered(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<Response> {
    let mut conn = Conn::open(addr);
    let start = Instant::now();
    let sent = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        conn.send(method, path, headers, body)
    }));
    match conn.reader.fill_buf() {
        Ok(buf) if !buf.is_empty() => {}
        _ => return None,
    }
    assert!(
        sent.is_ok(),
        "answered while the request could not be written"
    );
    Some(conn.read_response(start, method == "HEAD"))
}

/// One request on a fresh connection.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    Conn::open(addr).request(method, path, headers, body)
}

pub fn post_json(addr: &str, path: &str, body: &serde_json::Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap();
    request(
        addr,
        "POST",
        path,
        &[("content-type", "application/json")],
        &bytes,
    )
}

pub fn get(addr: &str, path: &str) -> Response {
    request(addr, "GET", path, &[], b"")
}
