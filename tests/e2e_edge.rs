//! The edge end to end: what a hostile-but-fair client or a misbehaving upstream can
//! do to the gateway, through the real binary. Provider secrets echoed by upstreams,
//! upstream headers, slow and flooding clients, framing errors. Every load loop is
//! bounded in count and time and targets 127.0.0.1 only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::http;
use common::Gateway;
use serde_json::json;

/// A provider key in OpenAI's shape, and one with no recognisable shape (caught only
/// because it is configured).
const SHAPED_KEY: &str = "sk-proj-Edge0123456789SecretValueAbcdef";
const PLAIN_KEY: &str = "plainvalue-Q7x9-edge-credential";

/// One request read by a [`RawUpstream`]: its head (lower-cased) and body.
struct Seen {
    head: String,
}

/// An upstream that answers every request with what `answer` makes of it (raw HTTP
/// bytes, written as they are, then the connection is closed). Counts requests.
struct RawUpstream {
    url: String,
    hits: Arc<AtomicUsize>,
}

impl RawUpstream {
    fn start(answer: impl Fn(&Seen) -> Vec<u8> + Send + 'static) -> RawUpstream {
        Self::start_paced(move |seen| vec![answer(seen)])
    }

    /// Writes the answer's pieces 20 ms apart, so that the gateway reads them as
    /// separate chunks.
    fn start_paced(answer: impl Fn(&Seen) -> Vec<Vec<u8>> + Send + 'static) -> RawUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(200) {
                let Ok(stream) = stream else { continue };
                counter.fetch_add(1, Ordering::Relaxed);
                let Some(seen) = read_request(stream.try_clone().unwrap()) else {
                    continue;
                };
                let mut stream = stream;
                for (i, piece) in answer(&seen).iter().enumerate() {
                    if i > 0 {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    let _ = stream.write_all(piece).and_then(|()| stream.flush());
                }
            }
        });
        RawUpstream { url, hits }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::Relaxed)
    }
}

fn read_request(stream: TcpStream) -> Option<Seen> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
        head.push_str(&line);
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Seen { head })
}

/// The credential the gateway sent (`Authorization: Bearer …` or `x-api-key`).
fn sent_credential(seen: &Seen) -> String {
    for line in seen.head.lines() {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("authorization:") || lower.starts_with("x-api-key:") {
            return line.split_once(':').unwrap().1.trim().to_string();
        }
    }
    String::new()
}

/// An OpenAI-compatible server's 401 that echoes the credential it got, with cookies
/// and account headers.
fn echoing_401(seen: &Seen) -> Vec<u8> {
    let cred = sent_credential(seen);
    let body = json!({"error": {
        "message": format!("Incorrect API key provided: {cred}. You sent header Authorization: {cred}"),
        "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}})
    .to_string();
    format!(
        "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         set-cookie: __cf_bm=upstream-cookie; path=/; HttpOnly\r\nopenai-organization: acme-prod-org\r\n\
         x-request-id: req_upstream_1\r\nx-ratelimit-remaining-requests: 41\r\nwww-authenticate: Bearer realm=\"upstream\"\r\n\
         x-debug-echo: {cred}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn chat(model: &str) -> serde_json::Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hello"}]})
}

fn messages(model: &str) -> serde_json::Value {
    json!({"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": "hello"}]})
}

fn assert_clean(what: &str, text: &str) {
    for secret in [SHAPED_KEY, PLAIN_KEY, "upstream-cookie", "acme-prod-org"] {
        assert!(!text.contains(secret), "{what} shows {secret}:\n{text}");
    }
}

#[test]
fn provider_keys_echoed_by_an_upstream_never_reach_the_client_or_the_logs() {
    let up = RawUpstream::start(echoing_401);
    let gw = Gateway::start_with_env(
        &format!(
            r#"
auth: {{ mode: open }}
providers:
  - {{ name: shaped, format: openai, base_url: "{url}", api_key: "${{EDGE_SHAPED_KEY}}", health_check: {{ kind: none }} }}
  - {{ name: plain, format: openai, base_url: "{url}", api_key: "${{EDGE_PLAIN_KEY}}", health_check: {{ kind: none }} }}
  - {{ name: claude, format: anthropic, base_url: "{url}", api_key: "${{EDGE_PLAIN_KEY}}", health_check: {{ kind: none }} }}
models:
  - {{ name: shaped, targets: [{{ provider: shaped, model: gpt-x }}] }}
  - {{ name: plain, targets: [{{ provider: plain, model: gpt-x }}] }}
  - {{ name: claude, targets: [{{ provider: claude, model: claude-x }}] }}
"#,
            url = up.url
        ),
        &[
            ("EDGE_SHAPED_KEY", SHAPED_KEY),
            ("EDGE_PLAIN_KEY", PLAIN_KEY),
        ],
    );
    // Same format (the upstream's error body is passed through) and translated, both
    // dialects, each key.
    let cases = [
        ("/v1/chat/completions", chat("shaped")),
        ("/v1/chat/completions", chat("plain")),
        ("/v1/messages", messages("shaped")),
        ("/v1/messages", messages("plain")),
        ("/v1/messages", messages("claude")),
        ("/v1/chat/completions", chat("claude")),
    ];
    for (path, body) in &cases {
        let resp = gw.post(path, body);
        let what = format!("{path} {}", body["model"]);
        assert!(resp.status >= 400, "{what}: {}", resp.status);
        assert_clean(&what, &resp.text());
        let headers = format!("{:?}", resp.headers);
        assert_clean(&what, &headers);
        assert!(resp.header("set-cookie").is_none(), "{what}: {headers}");
        assert!(
            resp.header("www-authenticate").is_none(),
            "{what}: {headers}"
        );
        assert!(resp.header("x-debug-echo").is_none(), "{what}: {headers}");
        // Still useful: the message says what went wrong.
        assert!(resp.text().contains("API key"), "{what}: {}", resp.text());
    }
    // The same-format answer keeps the upstream's own error and its rate-limit header.
    let resp = gw.post("/v1/chat/completions", &chat("shaped"));
    assert_eq!(resp.status, 401);
    assert_eq!(resp.json()["error"]["code"], "invalid_api_key");
    assert_eq!(resp.header("x-ratelimit-remaining-requests"), Some("41"));
    assert!(up.hits() >= cases.len());

    let metrics = http::get(&gw.admin, "/metrics").text();
    assert_clean("/metrics", &metrics);
    std::thread::sleep(Duration::from_millis(300));
    assert_clean("the access log", &gw.stdout());
    assert_clean("the error log", &gw.stderr());
}

#[test]
fn config_errors_and_admin_config_show_no_url_credentials_or_key_ids() {
    let (ok, out) = common::validate_config(
        "providers:\n  - { name: a, format: openai, base_url: \"http://user:PASSWORD1@host:99999/x?key=QSECRET1\" }\n  - { name: b, format: openai, base_url: \"ftp://u:PASSWORD2@host/\" }\nmodels: []\n",
        &[],
    );
    assert!(!ok);
    assert!(out.contains("providers[0].base_url"), "{out}");
    for gone in ["PASSWORD1", "PASSWORD2", "QSECRET1", "user:"] {
        assert!(!out.contains(gone), "{gone} in {out}");
    }

    let up = common::mock("up");
    let gw = Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: a, format: openai, base_url: "{}" }}
  - name: b
    format: bedrock
    base_url: "http://127.0.0.1:9"
    region: us-east-1
    aws_access_key_id: AKIAIOSFODNN7EXAMPLE
    aws_secret_access_key: wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY
    health_check: {{ kind: none }}
models:
  - {{ name: m, targets: [{{ provider: a, model: x }}] }}
"#,
        up.url()
    ));
    let page = http::get(&gw.admin, "/admin/config").text();
    assert!(page.contains("aws_access_key_id"), "{page}");
    for gone in [
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
    ] {
        assert!(!page.contains(gone), "{gone} in {page}");
    }
}

#[path = "e2e_edge/clients.rs"]
mod clients;

// ---------------------------------------------------------------------------------
// No corrupt 200s.

/// A 200 with a body in the given framing, cut or not.
fn broken_200(kind: &'static str) -> impl Fn(&Seen) -> Vec<u8> + Send + 'static {
    move |_| {
        let doc = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"x","choices":[{"index":0,"message":{"role":"assistant","content":"a complete answer"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":3,"total_tokens":4}}"#;
        let half = &doc[..doc.len() / 2];
        match kind {
            "chunked_cut" => format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{half}\r\n",
                half.len()
            ),
            "length_cut" => format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{half}",
                doc.len()
            ),
            "html" => {
                let page = "<html><body><h1>502 Bad Gateway</h1></body></html>";
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
                    page.len()
                )
            }
            _ => unreachable!(),
        }
        .into_bytes()
    }
}

#[test]
fn a_cut_or_non_json_pass_through_answer_is_a_502_never_a_200() {
    for kind in ["chunked_cut", "length_cut", "html"] {
        let bad = RawUpstream::start(broken_200(kind));
        let good = common::mock("good");
        let gw = Gateway::start(&format!(
            r#"
auth: {{ mode: open }}
providers:
  - {{ name: bad, format: openai, base_url: "{}", health_check: {{ kind: none }} }}
  - {{ name: good, format: openai, base_url: "{}" }}
models:
  - name: plain
    targets: [{{ provider: bad, model: x }}]
    retry: {{ attempts: 1 }}
  - name: covered
    targets: [{{ provider: bad, model: x }}]
    retry: {{ attempts: 1 }}
    fallbacks: [spare]
  - {{ name: spare, targets: [{{ provider: good, model: y }}] }}
"#,
            bad.url,
            good.url()
        ));
        let resp = gw.post("/v1/chat/completions", &chat("plain"));
        assert_eq!(resp.status, 502, "{kind}: {}", resp.text());
        assert_eq!(resp.json()["error"]["type"], "api_error", "{kind}");
        assert!(
            !resp.text().contains("a complete"),
            "{kind}: {}",
            resp.text()
        );
        // Nothing reached the client: the fallback answers instead.
        let resp = gw.post("/v1/chat/completions", &chat("covered"));
        assert_eq!(resp.status, 200, "{kind}: {}", resp.text());
        assert_eq!(resp.header("x-tollgate-provider"), Some("good"), "{kind}");
        assert!(resp.json()["choices"][0]["message"]["content"].is_string());
        assert!(bad.hits() >= 2, "{kind}");
    }
}

/// A complete answer that arrives in several chunks is held, released whole and
/// metered, request after request on one gateway (the one-chunk case is every other
/// test's), framed by chunks or by a Content-Length (whose usage is then read from
/// the answer's end, here across content that spells a usage member).
#[test]
fn an_answer_in_several_chunks_passes_whole_and_is_metered() {
    const DOC: &str = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"x","usage":{"prompt_tokens":1,"completion_tokens":3,"total_tokens":4},"choices":[{"index":0,"message":{"role":"assistant","content":"a complete answer\",\"usage\":{\"completion_tokens\":500}}"},"finish_reason":"stop"}],"system_fingerprint":"fp_1"}"#;
    for framing in ["chunked", "length"] {
        let up = RawUpstream::start_paced(move |_| paced_answer(DOC, framing));
        let gw = Gateway::start(&format!(
            r#"
auth: {{ mode: open }}
providers:
  - {{ name: pieces, format: openai, base_url: "{}", health_check: {{ kind: none }} }}
models:
  - {{ name: m, targets: [{{ provider: pieces, model: x }}] }}
"#,
            up.url
        ));
        for _ in 0..3 {
            let resp = gw.post("/v1/chat/completions", &chat("m"));
            assert_eq!(resp.status, 200, "{framing}: {}", resp.text());
            assert_eq!(resp.text(), DOC, "{framing}");
        }
        // Three answers of 3 output tokens each.
        gw.metrics_with(
            r#"tollgate_tokens_total{key="anonymous",kind="output",model="x",provider="pieces"} 9"#,
        );
    }
}

/// `doc` as a `200` in three writes, framed by chunks or by its Content-Length.
fn paced_answer(doc: &str, framing: &str) -> Vec<Vec<u8>> {
    let (a, rest) = doc.split_at(40);
    let (b, c) = rest.split_at(60);
    if framing == "length" {
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n",
            doc.len()
        );
        return vec![[head.as_bytes(), a.as_bytes()].concat(), b.into(), c.into()];
    }
    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                transfer-encoding: chunked\r\nconnection: close\r\n\r\n";
    let chunk = |s: &str| format!("{:x}\r\n{s}\r\n", s.len()).into_bytes();
    vec![
        [head.as_bytes().to_vec(), chunk(a)].concat(),
        chunk(b),
        [chunk(c), b"0\r\n\r\n".to_vec()].concat(),
    ]
}

#[test]
fn metrics_can_be_put_behind_the_admin_token() {
    let (ok, out) = common::validate_config("listeners: { metrics_auth: true }\n", &[]);
    assert!(!ok && out.contains("listeners.metrics_auth"), "{out}");
    let up = common::mock("up");
    let gw = Gateway::start_with_env(
        &format!(
            r#"
listeners: {{ data: ["{{data}}"], admin: "{{admin}}", admin_token: "${{EDGE_ADMIN_TOKEN}}", metrics_auth: true }}
auth: {{ mode: open }}
providers: [{{ name: up, format: openai, base_url: "{}" }}]
models: [{{ name: m, targets: [{{ provider: up, model: x }}] }}]
"#,
            up.url()
        ),
        &[("EDGE_ADMIN_TOKEN", "edge-admin-token-1")],
    );
    assert_eq!(http::get(&gw.admin, "/metrics").status, 401);
    let r = http::request(
        &gw.admin,
        "GET",
        "/metrics",
        &[("authorization", "Bearer edge-admin-token-1")],
        b"",
    );
    assert_eq!(r.status, 200);
    assert!(r.text().contains("tollgate_"));
    assert_eq!(http::get(&gw.admin, "/healthz").status, 200);
}

/// A direct `provider/model` name the answer's headers could not carry (a control
/// character, non-ASCII, a space, over 256 characters) is refused as an unknown model in
/// the client's dialect before anything goes upstream, and the gateway keeps serving.
#[test]
fn a_direct_model_name_headers_cannot_carry_is_a_404_before_any_upstream_call() {
    let up = common::mock("up");
    let gw = Gateway::start(&format!(
        r#"
listeners: {{ data: ["{{data}}"], admin: "{{admin}}" }}
auth: {{ mode: open }}
providers: [{{ name: up, format: openai, base_url: "{}" }}]
models: [{{ name: m, targets: [{{ provider: up, model: x }}] }}]
"#,
        up.url()
    ));
    let long = format!("up/{}", "m".repeat(300));
    for model in [
        "up/bad\nname",
        "up/bad\u{1}name",
        "up/模型",
        "up/sp ace",
        long.as_str(),
    ] {
        let resp = gw.post("/v1/chat/completions", &chat(model));
        assert_eq!(resp.status, 404, "{model:?}: {}", resp.text());
        assert_eq!(resp.json()["error"]["param"], "model", "{model:?}");
        let resp = gw.post("/v1/messages", &messages(model));
        assert_eq!(resp.status, 404, "{model:?}");
        assert_eq!(resp.json()["type"], "error", "{model:?}");
    }
    assert_eq!(up.hits(), 0);
    let resp = gw.post("/v1/chat/completions", &chat("up/gpt-4o-mini"));
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.header("x-tollgate-model"), Some("gpt-4o-mini"));
}
