//! An OTLP/HTTP trace receiver for tests: a loopback HTTP/1.1 server that accepts
//! `POST /v1/traces` with a protobuf `ExportTraceServiceRequest`, decodes it with a
//! protobuf reader of its own (independent of the gateway's encoder), and keeps the
//! spans. Stopped on drop.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

/// One decoded span.
#[derive(Debug, Clone)]
pub struct Span {
    pub service: String,
    pub scope: String,
    pub trace_id: String,
    pub span_id: String,
    pub parent: Option<String>,
    pub name: String,
    pub kind: u64,
    pub start: u64,
    pub end: u64,
    pub attrs: BTreeMap<String, Value>,
    pub status_code: u64,
}

impl Span {
    pub fn attr(&self, key: &str) -> &Value {
        self.attrs.get(key).unwrap_or(&Value::Null)
    }
}

pub struct Receiver {
    pub addr: String,
    spans: Arc<Mutex<Vec<Span>>>,
    requests: Arc<Requests>,
    stop: Arc<AtomicBool>,
}

impl Receiver {
    pub fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let spans = Arc::new(Mutex::new(Vec::new()));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, r, st) = (spans.clone(), requests.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let (s, r) = (s.clone(), r.clone());
                std::thread::spawn(move || serve(conn, &s, &r));
            }
        });
        Receiver {
            addr,
            spans,
            requests,
            stop,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn spans(&self) -> Vec<Span> {
        self.spans.lock().unwrap().clone()
    }

    /// The spans of one trace once there are at least `n` of them.
    pub fn trace(&self, trace_id: &str, n: usize) -> Vec<Span> {
        let mut found = Vec::new();
        let ok = super::wait_until(Duration::from_secs(10), || {
            found = self
                .spans()
                .into_iter()
                .filter(|s| s.trace_id == trace_id)
                .collect();
            found.len() >= n
        });
        assert!(
            ok,
            "trace {trace_id}: {} of {n} spans arrived: {found:#?}",
            found.len()
        );
        found
    }

    /// (path, headers) of every export request received.
    pub fn requests(&self) -> Vec<(String, Vec<(String, String)>)> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(&self.addr);
    }
}

/// (path, headers) of each export request.
type Requests = Mutex<Vec<(String, Vec<(String, String)>)>>;

fn serve(conn: TcpStream, spans: &Mutex<Vec<Span>>, requests: &Requests) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let decoded = decode_export(&body);
        requests.lock().unwrap().push((path, headers));
        spans.lock().unwrap().extend(decoded);
        let answer =
            b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
        if reader.get_mut().write_all(answer).is_err() {
            return;
        }
    }
}

/// A protobuf field's value, by wire type.
enum Field<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

fn read_varint(buf: &[u8], i: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let b = buf[*i];
        *i += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return v;
        }
        shift += 7;
        assert!(shift < 64, "varint too long");
    }
}

/// Every (field number, value) of a message, in order.
fn fields(buf: &[u8]) -> Vec<(u64, Field<'_>)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < buf.len() {
        let key = read_varint(buf, &mut i);
        let value = match key & 7 {
            0 => Field::Varint(read_varint(buf, &mut i)),
            1 => {
                let v = u64::from_le_bytes(buf[i..i + 8].try_into().unwrap());
                i += 8;
                Field::Fixed64(v)
            }
            2 => {
                let len = read_varint(buf, &mut i) as usize;
                let v = &buf[i..i + len];
                i += len;
                Field::Bytes(v)
            }
            5 => {
                let v = u32::from_le_bytes(buf[i..i + 4].try_into().unwrap());
                i += 4;
                Field::Fixed32(v)
            }
            other => panic!("unexpected wire type {other}"),
        };
        out.push((key >> 3, value));
    }
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).expect("utf-8 string field")
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn decode_export(body: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    for (n, f) in fields(body) {
        let (1, Field::Bytes(rs)) = (n, f) else {
            continue;
        };
        let mut service = String::new();
        let mut scopes = Vec::new();
        for (n, f) in fields(rs) {
            match (n, f) {
                (1, Field::Bytes(resource)) => {
                    for (n, f) in fields(resource) {
                        if let (1, Field::Bytes(kv)) = (n, f) {
                            let (k, v) = key_value(kv);
                            if k == "service.name" {
                                service = v.as_str().unwrap_or("").to_string();
                            }
                        }
                    }
                }
                (2, Field::Bytes(ss)) => scopes.push(ss),
                _ => {}
            }
        }
        for ss in scopes {
            let mut scope = String::new();
            for (n, f) in fields(ss) {
                match (n, f) {
                    (1, Field::Bytes(sc)) => {
                        for (n, f) in fields(sc) {
                            if let (1, Field::Bytes(name)) = (n, f) {
                                scope = text(name);
                            }
                        }
                    }
                    (2, Field::Bytes(span)) => out.push(decode_span(span, &service, &scope)),
                    _ => {}
                }
            }
        }
    }
    out
}

fn decode_span(buf: &[u8], service: &str, scope: &str) -> Span {
    let mut s = Span {
        service: service.to_string(),
        scope: scope.to_string(),
        trace_id: String::new(),
        span_id: String::new(),
        parent: None,
        name: String::new(),
        kind: 0,
        start: 0,
        end: 0,
        attrs: BTreeMap::new(),
        status_code: 0,
    };
    for (n, f) in fields(buf) {
        match (n, f) {
            (1, Field::Bytes(b)) => s.trace_id = hex(b),
            (2, Field::Bytes(b)) => s.span_id = hex(b),
            (4, Field::Bytes(b)) if !b.is_empty() => s.parent = Some(hex(b)),
            (5, Field::Bytes(b)) => s.name = text(b),
            (6, Field::Varint(v)) => s.kind = v,
            (7, Field::Fixed64(v)) => s.start = v,
            (8, Field::Fixed64(v)) => s.end = v,
            (9, Field::Bytes(kv)) => {
                let (k, v) = key_value(kv);
                assert!(
                    s.attrs.insert(k.clone(), v).is_none(),
                    "attribute {k} twice"
                );
            }
            (15, Field::Bytes(st)) => {
                for (n, f) in fields(st) {
                    if let (3, Field::Varint(code)) = (n, f) {
                        s.status_code = code;
                    }
                }
            }
            (_, Field::Fixed32(_)) => {}
            _ => {}
        }
    }
    s
}

fn key_value(buf: &[u8]) -> (String, Value) {
    let mut key = String::new();
    let mut value = Value::Null;
    for (n, f) in fields(buf) {
        match (n, f) {
            (1, Field::Bytes(k)) => key = text(k),
            (2, Field::Bytes(v)) => value = any_value(v),
            _ => {}
        }
    }
    (key, value)
}

fn any_value(buf: &[u8]) -> Value {
    let mut out = Value::Null;
    for (n, f) in fields(buf) {
        out = match (n, f) {
            (1, Field::Bytes(s)) => Value::from(text(s)),
            (2, Field::Varint(b)) => Value::from(b != 0),
            (3, Field::Varint(i)) => Value::from(i as i64),
            (4, Field::Fixed64(d)) => Value::from(f64::from_bits(d)),
            (5, Field::Bytes(array)) => Value::Array(
                fields(array)
                    .into_iter()
                    .filter_map(|(n, f)| match (n, f) {
                        (1, Field::Bytes(v)) => Some(any_value(v)),
                        _ => None,
                    })
                    .collect(),
            ),
            _ => continue,
        };
    }
    out
}
