//! OTLP traces through the real binary, against a receiver in the test that decodes
//! the protobuf it is sent: one span per request with a child per upstream attempt,
//! GenAI attributes, W3C `traceparent` from the client continued and passed upstream
//! with a new span id per attempt, parent-based sampling, and a dead collector that
//! costs requests nothing but counted drops. All on one long-lived gateway.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::http::{self, Conn};
use common::otlp::{Receiver, Span};
use common::{mock, mock_with, wait_until, Gateway};
use serde_json::{json, Value};

const CLIENT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

fn config(up: &str, bad: &str, traces: &str) -> String {
    format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: p, format: openai, base_url: "{up}", health_check: {{ kind: none }} }}
  - {{ name: bad, format: openai, base_url: "{bad}", health_check: {{ kind: none }} }}
models:
  - name: m
    targets: [{{ provider: p, model: gpt-4o-mini }}]
  - name: flaky
    targets: [{{ provider: bad, model: gpt-4.1 }}]
    fallbacks: [m]
traces:
{traces}
"#
    )
}

fn chat(gw: &Gateway, model: &str, stream: bool, headers: &[(&str, &str)]) -> http::Response {
    let body = serde_json::to_vec(&json!({
        "model": model, "stream": stream,
        "messages": [{"role": "user", "content": "hello"}]
    }))
    .unwrap();
    Conn::open(&gw.addr).request("POST", "/v1/chat/completions", headers, &body)
}

/// The `traceparent` the upstream received on its last request.
fn upstream_traceparent(up: &tollgate_mock::MockServer) -> String {
    let reqs = up.requests();
    let last = reqs.last().expect("the upstream saw a request");
    last.headers
        .iter()
        .find(|(k, _)| k == "traceparent")
        .map(|(_, v)| v.clone())
        .expect("traceparent sent upstream")
}

fn reload(gw: &Gateway, text: &str) {
    gw.write_config(text);
    let r = http::request(&gw.admin, "POST", "/admin/reload", &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
}

fn metric(gw: &Gateway, series: &str) -> f64 {
    let page = http::get(&gw.admin, "/metrics").text();
    page.lines()
        .find_map(|l| l.strip_prefix(series))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(-1.0)
}

fn by_kind(spans: &[Span], kind: u64) -> Vec<Span> {
    spans.iter().filter(|s| s.kind == kind).cloned().collect()
}

#[test]
fn spans_attributes_propagation_sampling_and_a_dead_collector() {
    let up = mock("up");
    let bad = mock_with("bad", |c| c.status = Some(500));
    let recv = Receiver::start();
    let traces_on = format!(
        "  endpoint: \"{}\"\n  flush_interval_ms: 50\n  service_name: gw-test\n  headers: {{ x-otlp-token: t0ken }}",
        recv.url()
    );
    let gw = Gateway::start(&config(&up.url(), &bad.url(), &traces_on));

    // 1. The client's sampled trace is continued: server span under the client's
    //    span, one client span under it, and the upstream sees that client span.
    let parent = format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01");
    let r = chat(&gw, "m", false, &[("traceparent", &parent)]);
    assert_eq!(r.status, 200, "{}", r.text());
    let spans = recv.trace(CLIENT_TRACE, 2);
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let server = &by_kind(&spans, 2)[0];
    let client = &by_kind(&spans, 3)[0];
    assert_eq!(server.parent.as_deref(), Some(CLIENT_SPAN));
    assert_eq!(client.parent.as_deref(), Some(server.span_id.as_str()));
    assert_ne!(client.span_id, server.span_id);
    assert_eq!(
        (server.service.as_str(), server.scope.as_str()),
        ("gw-test", "tollgate")
    );
    assert_eq!(server.name, "POST chat_completions");
    assert_eq!(client.name, "chat gpt-4o-mini");
    assert!(
        server.start <= client.start && client.end <= server.end,
        "{spans:#?}"
    );
    assert_eq!(server.attr("gen_ai.request.model"), "m");
    assert_eq!(client.attr("gen_ai.request.model"), "gpt-4o-mini");
    for s in [server, client] {
        assert_eq!(s.attr("gen_ai.system"), "openai");
        assert_eq!(s.attr("gen_ai.operation.name"), "chat");
        assert_eq!(s.attr("gen_ai.response.model"), "gpt-4o-mini");
        assert_eq!(s.attr("gen_ai.response.finish_reasons"), &json!(["stop"]));
        assert_eq!(s.attr("http.response.status_code"), 200);
        assert!(
            s.attr("gen_ai.usage.output_tokens").as_i64().unwrap() > 0,
            "{s:#?}"
        );
        assert!(
            s.attr("gen_ai.usage.input_tokens").as_i64().unwrap() > 0,
            "{s:#?}"
        );
        assert_eq!(s.status_code, 0);
    }
    assert_eq!(client.attr("server.address"), "127.0.0.1");
    assert_eq!(
        upstream_traceparent(&up),
        format!("00-{CLIENT_TRACE}-{}-01", client.span_id)
    );
    // The receiver got the configured header on its default path.
    let (path, headers) = &recv.requests()[0];
    assert_eq!(path, "/v1/traces");
    assert!(headers.contains(&("x-otlp-token".into(), "t0ken".into())));
    // The access log names the trace.
    assert!(wait_until(Duration::from_secs(5), || gw
        .stdout()
        .lines()
        .any(
            |l| l.contains(&format!("\"trace_id\":\"{CLIENT_TRACE}\""))
        )));

    // 2. A new trace, a stream whose route fails (three attempts, the route's
    //    default retries) and falls back: a client span per attempt under the server
    //    span, the failed ones marked, each upstream request given its own
    //    attempt's span id.
    let r = chat(&gw, "flaky", true, &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    let sent_bad = bad.requests().last().unwrap().headers.clone();
    let bad_parent = sent_bad
        .iter()
        .find(|(k, _)| k == "traceparent")
        .unwrap()
        .1
        .clone();
    let good_parent = upstream_traceparent(&up);
    let trace_id = bad_parent.split('-').nth(1).unwrap().to_string();
    assert_ne!(trace_id, CLIENT_TRACE);
    assert_eq!(good_parent.split('-').nth(1), Some(trace_id.as_str()));
    let spans = recv.trace(&trace_id, 5);
    let server = &by_kind(&spans, 2)[0];
    assert!(server.parent.is_none(), "a new trace has a root span");
    let mut attempts = by_kind(&spans, 3);
    attempts.sort_by_key(|s| s.start);
    assert_eq!(attempts.len(), 4, "{spans:#?}");
    for a in &attempts {
        assert_eq!(a.parent.as_deref(), Some(server.span_id.as_str()));
    }
    let mut ids: Vec<_> = attempts.iter().map(|a| a.span_id.clone()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 4, "one span id per attempt");
    for failed in &attempts[..3] {
        assert_eq!(failed.attr("tollgate.provider"), "bad");
        assert_eq!(failed.attr("http.response.status_code"), 500);
        assert_eq!(failed.attr("error.type"), "server_error");
        assert_eq!(failed.status_code, 2);
    }
    let (failed, served) = (&attempts[2], &attempts[3]);
    assert_eq!(served.attr("tollgate.provider"), "p");
    assert_eq!(
        served.attr("gen_ai.response.finish_reasons"),
        &json!(["stop"])
    );
    assert_eq!(served.status_code, 0);
    assert_eq!(bad_parent, format!("00-{trace_id}-{}-01", failed.span_id));
    assert_eq!(good_parent, format!("00-{trace_id}-{}-01", served.span_id));
    assert_eq!(server.attr("tollgate.attempts"), 4);
    assert_eq!(server.attr("tollgate.route"), "m");

    // 3. Ratio 0 after a reload: new traces are not recorded but still propagated
    //    (flag 00); a sampled parent still decides for its own trace.
    reload(
        &gw,
        &config(
            &up.url(),
            &bad.url(),
            &format!("{traces_on}\n  sample_ratio: 0.0"),
        ),
    );
    assert_eq!(chat(&gw, "m", false, &[]).status, 200);
    let unsampled = upstream_traceparent(&up);
    assert!(unsampled.ends_with("-00"), "{unsampled}");
    let unsampled_trace = unsampled.split('-').nth(1).unwrap().to_string();
    let second_trace = "0af7651916cd43dd8448eb211c80319c";
    let parent = format!("00-{second_trace}-b7ad6b7169203331-01");
    assert_eq!(
        chat(&gw, "m", true, &[("traceparent", &parent)]).status,
        200
    );
    recv.trace(second_trace, 2);
    assert!(
        recv.spans().iter().all(|s| s.trace_id != unsampled_trace),
        "an unsampled trace was exported"
    );
    // A client's unsampled parent: nothing recorded, the flag passed on.
    let parent = format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-00");
    assert_eq!(
        chat(&gw, "m", false, &[("traceparent", &parent)]).status,
        200
    );
    assert!(upstream_traceparent(&up).starts_with(&format!("00-{CLIENT_TRACE}-")));
    assert!(upstream_traceparent(&up).ends_with("-00"));

    // 4. A collector that accepts connections and never answers: every request is
    //    still served, the exports time out, and the spans are counted as dropped.
    let black_hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!(
        "  endpoint: \"http://{}\"\n  flush_interval_ms: 20\n  export_timeout_ms: 200\n  batch_size: 2",
        black_hole.local_addr().unwrap()
    );
    reload(&gw, &config(&up.url(), &bad.url(), &dead));
    let before = metric(
        &gw,
        "tollgate_trace_spans_dropped_total{reason=\"export_failed\"} ",
    );
    assert_eq!(before, 0.0);
    let exported_before = recv.spans().len();
    for i in 0..10 {
        assert_eq!(chat(&gw, "m", i % 2 == 0, &[]).status, 200);
    }
    assert!(
        wait_until(Duration::from_secs(15), || metric(
            &gw,
            "tollgate_trace_spans_dropped_total{reason=\"export_failed\"} "
        ) >= 2.0),
        "no export failure counted"
    );
    assert_eq!(recv.spans().len(), exported_before);
    assert!(metric(&gw, "tollgate_trace_spans_exported_total ") >= 7.0);
    // Without traces the client's traceparent goes upstream as it came, and the
    // access log has no trace id.
    reload(&gw, &config(&up.url(), &bad.url(), "  enabled: false"));
    let parent = format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01");
    let r = chat(&gw, "m", false, &[("traceparent", &parent)]);
    assert_eq!(r.status, 200);
    assert_eq!(upstream_traceparent(&up), parent);
    let id = r.header("x-request-id").unwrap().to_string();
    let mut line = Value::Null;
    assert!(wait_until(Duration::from_secs(5), || {
        line = gw
            .stdout()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["request_id"] == id.as_str())
            .unwrap_or(Value::Null);
        !line.is_null()
    }));
    assert!(line["trace_id"].is_null(), "{line}");
}
