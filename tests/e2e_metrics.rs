//! What clients can and cannot do to `/metrics`: label values come from the
//! configuration and from enums only. And the access log: batched, yet complete.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{http, mock, Gateway};
use serde_json::json;

#[test]
fn client_chosen_model_names_never_become_label_values() {
    let up = mock("up");
    let gw = Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: p, format: openai, base_url: "{}", health_check: {{ kind: none }} }}
models:
  - name: known
    targets: [{{ provider: p, model: gpt-4o-mini }}]
"#,
        up.url()
    ));
    for i in 0..20 {
        let body = json!({"model": format!("p/made-up-{i}"), "stream": i % 2 == 0,
            "messages": [{"role": "user", "content": "hi"}]});
        assert_eq!(gw.post("/v1/chat/completions", &body).status, 200);
    }
    let body = json!({"model": "known", "messages": [{"role": "user", "content": "hi"}]});
    assert_eq!(gw.post("/v1/chat/completions", &body).status, 200);
    let page = gw.metrics_with("model=\"known\"");
    assert!(
        !page.contains("made-up"),
        "client input in a label:\n{page}"
    );
    let series = page
        .lines()
        .filter(|l| l.starts_with("tollgate_requests_total{"))
        .count();
    assert!(
        series <= 2,
        "{series} request series for two model labels:\n{page}"
    );
    assert!(page.contains("model=\"other\""), "{page}");
}

#[test]
fn every_series_exists_at_start_and_readiness_ignores_provider_health() {
    let up = mock("up");
    let dead = format!("http://127.0.0.1:{}", common::free_port());
    let gw = Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: live, format: openai, base_url: "{}" }}
  - {{ name: dead, format: openai, base_url: "{dead}", health_check: {{ kind: tcp, interval_ms: 200 }} }}
models:
  - name: m
    targets: [{{ provider: live, model: gpt-4o-mini }}]
"#,
        up.url()
    ));
    let page = http::get(&gw.admin, "/metrics").text();
    for series in [
        "tollgate_build_info{",
        "tollgate_requests_in_flight 0",
        "tollgate_upstream_attempts_total{outcome=\"failed\",provider=\"dead\"} 0",
        "tollgate_breaker_trips_total{provider=\"live\",scope=\"model\"} 0",
        "tollgate_retry_budget_exhausted_total{provider=\"live\"} 0",
        "tollgate_config_reloads_total{result=\"failure\"} 0",
        "process_resident_memory_bytes ",
        "process_cpu_seconds_total ",
        "process_open_fds ",
        "process_max_fds ",
    ] {
        assert!(
            page.contains(series),
            "{series} missing before any request:\n{page}"
        );
    }
    // Process metrics carry the gateway's real values, read at scrape time.
    let value = |name: &str| -> f64 {
        let line = page.lines().find(|l| l.starts_with(name)).unwrap();
        line[name.len()..].trim().parse().unwrap()
    };
    assert!(
        value("process_resident_memory_bytes ") > 1_048_576.0,
        "{page}"
    );
    assert!(value("process_open_fds ") >= 3.0, "{page}");
    // One dead provider: the replica is still live and ready; the provider page says
    // which provider is down.
    let down = common::wait_until(std::time::Duration::from_secs(10), || {
        http::get(&gw.admin, "/health/providers").status == 503
    });
    assert!(down, "{}", http::get(&gw.admin, "/health/providers").text());
    let view = http::get(&gw.admin, "/health/providers").json();
    let dead = view["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == "dead")
        .unwrap();
    assert_eq!(dead["up"], 0);
    assert_eq!(http::get(&gw.admin, "/livez").status, 200);
    assert_eq!(http::get(&gw.admin, "/readyz").status, 200);
}

#[test]
fn batched_access_log_lines_are_all_there_after_a_graceful_stop() {
    let up = mock("up");
    let mut gw = Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: p, format: openai, base_url: "{}", health_check: {{ kind: none }} }}
models:
  - name: m
    targets: [{{ provider: p, model: gpt-4o-mini }}]
"#,
        up.url()
    ));
    let requests = 60;
    for i in 0..requests {
        let body = json!({"model": "m", "stream": i % 3 == 0,
            "messages": [{"role": "user", "content": "hi"}]});
        assert_eq!(gw.post("/v1/chat/completions", &body).status, 200);
    }
    // Stopped at once: the lines of the last requests are still batched.
    assert!(
        gw.terminate(std::time::Duration::from_secs(20)),
        "{}",
        gw.stderr()
    );
    let log = gw.stdout();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| l.contains("\"request_id\""))
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), requests, "{log}");
    assert!(lines.iter().all(|l| l["status"] == 200));
}

/// Each line says who asked (key name, team, end user), which route and target
/// answered and what it cost; an unpriced model's cost is null, not 0; the key itself
/// and the prompt never appear.
#[test]
fn access_log_lines_carry_key_team_user_route_and_cost() {
    const KEY: &str = "tg-access-log-key-5c1e";
    let up = mock("up");
    let mut gw = Gateway::start(&format!(
        r#"
auth: {{ mode: keys }}
providers:
  - {{ name: p, format: openai, base_url: "{}", health_check: {{ kind: none }} }}
models:
  - name: m
    targets: [{{ provider: p, model: gpt-4o-mini }}]
  - name: unpriced
    targets: [{{ provider: p, model: in-house-model-7 }}]
teams:
  - {{ name: research }}
keys:
  - {{ name: ci-bot, team: research, hash: "{}" }}
"#,
        up.url(),
        tollgate::policy::hash_key(KEY)
    ));
    let auth = format!("Bearer {KEY}");
    let send = |body: serde_json::Value| {
        let bytes = serde_json::to_vec(&body).unwrap();
        http::request(
            &gw.addr,
            "POST",
            "/v1/chat/completions",
            &[
                ("content-type", "application/json"),
                ("authorization", &auth),
            ],
            &bytes,
        )
    };
    let long_user = "u".repeat(500);
    let prompt = "the secret prompt 81f2";
    assert_eq!(send(json!({"model": "m", "user": "alice@example", "messages": [{"role": "user", "content": prompt}]})).status, 200);
    assert_eq!(send(json!({"model": "m", "stream": true, "user": long_user, "messages": [{"role": "user", "content": "hi"}]})).status, 200);
    assert_eq!(
        send(json!({"model": "unpriced", "messages": [{"role": "user", "content": "hi"}]})).status,
        200
    );
    assert!(
        gw.terminate(std::time::Duration::from_secs(20)),
        "{}",
        gw.stderr()
    );
    let log = gw.stdout();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| l.contains("\"request_id\""))
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 3, "{log}");
    for line in &lines {
        assert_eq!(line["key"], "ci-bot", "{line}");
        assert_eq!(line["team"], "research", "{line}");
        assert_eq!(line["target"], 0, "{line}");
    }
    // A line is written after its answer reached the client, so the next request
    // may log first: find each by what it sent.
    let find = |pick: &dyn Fn(&serde_json::Value) -> bool| {
        lines
            .iter()
            .find(|l| pick(l))
            .unwrap_or_else(|| panic!("{log}"))
    };
    let first = find(&|l| l["user"] == "alice@example");
    let second = find(&|l| l["user"].as_str().is_some_and(|u| u.starts_with("uuu")));
    let third = find(&|l| l["route"] == "unpriced");
    assert_eq!(first["user"], "alice@example");
    assert_eq!(first["route"], "m");
    // gpt-4o-mini: $0.15 / $0.60 per million input / output tokens.
    let expected = first["input_tokens"].as_f64().unwrap() * 0.15e-6
        + first["output_tokens"].as_f64().unwrap() * 0.60e-6;
    let cost = first["cost_usd"].as_f64().unwrap();
    assert!(
        cost > 0.0 && (cost - expected).abs() < 1e-9,
        "{cost} vs {expected}"
    );
    assert_eq!(
        second["user"].as_str().unwrap().len(),
        128,
        "end user not bounded"
    );
    assert!(second["cost_usd"].as_f64().unwrap() > 0.0, "{second}");
    assert_eq!(third["route"], "unpriced");
    assert!(third["cost_usd"].is_null(), "{third}");
    assert!(
        !log.contains(KEY) && !log.contains(prompt),
        "a secret or a prompt was logged"
    );
}

/// Sum of every sample of `name` whose labels include all of `labels`.
fn sample_sum(page: &str, name: &str, labels: &[&str]) -> f64 {
    page.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .filter(|l| labels.iter().all(|label| l.contains(label)))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

#[test]
fn genai_convention_metrics_and_gateway_overhead_follow_the_requests() {
    let up = common::mock_with("up", |c| {
        c.latency_ms = 20;
        c.delay_ms = 5;
    });
    let gw = Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: p, format: openai, base_url: "{}", health_check: {{ kind: none }} }}
models:
  - name: known
    targets: [{{ provider: p, model: gpt-4o-mini }}]
"#,
        up.url()
    ));
    let known = [
        "gen_ai_operation_name=\"chat\"",
        "gen_ai_request_model=\"known\"",
        "gen_ai_system=\"openai\"",
    ];
    let input = [&known[..], &["gen_ai_token_type=\"input\""]].concat();
    let output = [&known[..], &["gen_ai_token_type=\"output\""]].concat();
    // Registered before any request.
    let page = http::get(&gw.admin, "/metrics").text();
    for name in [
        "gen_ai_client_token_usage_count",
        "gen_ai_client_operation_duration_seconds_count",
        "gen_ai_server_time_to_first_token_seconds_count",
        "gen_ai_server_time_per_output_token_seconds_count",
    ] {
        assert!(
            page.lines()
                .any(|l| l.starts_with(name) && known.iter().all(|k| l.contains(k))),
            "{name} missing at start:\n{page}"
        );
    }
    assert!(
        page.contains("tollgate_gateway_overhead_seconds_count{route=\"chat_completions\"} 0"),
        "{page}"
    );

    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let random = format!("rnd{nanos}x");
    for stream in [false, true, false, true, false, true] {
        let body = json!({"model": "known", "stream": stream,
            "messages": [{"role": "user", "content": "hi"}]});
        let resp = gw.post("/v1/chat/completions", &body);
        assert_eq!(resp.status, 200, "{}", resp.text());
    }
    for _ in 0..2 {
        let body = json!({"model": format!("p/{random}"),
            "messages": [{"role": "user", "content": "hi"}]});
        assert_eq!(gw.post("/v1/chat/completions", &body).status, 200);
    }
    let page =
        gw.metrics_with("tollgate_gateway_overhead_seconds_count{route=\"chat_completions\"} 8");
    assert!(!page.contains(&random), "client input in a label:\n{page}");

    let count = |name: &str, labels: &[&str]| sample_sum(&page, name, labels);
    assert_eq!(
        count("gen_ai_client_token_usage_count", &input),
        6.0,
        "{page}"
    );
    assert_eq!(
        count("gen_ai_client_token_usage_count", &output),
        6.0,
        "{page}"
    );
    // The mock answers 8 tokens, streamed or not.
    assert_eq!(
        count("gen_ai_client_token_usage_sum", &output),
        48.0,
        "{page}"
    );
    assert!(
        count("gen_ai_client_token_usage_sum", &input) > 0.0,
        "{page}"
    );
    assert_eq!(
        count("gen_ai_client_operation_duration_seconds_count", &known),
        6.0
    );
    let other = ["gen_ai_request_model=\"other\"", "gen_ai_system=\"openai\""];
    assert_eq!(
        count("gen_ai_client_operation_duration_seconds_count", &other),
        2.0,
        "{page}"
    );
    // Token timing: streams only.
    assert_eq!(
        count("gen_ai_server_time_to_first_token_seconds_count", &known),
        3.0,
        "{page}"
    );
    assert_eq!(
        count("gen_ai_server_time_per_output_token_seconds_count", &known),
        3.0,
        "{page}"
    );
    assert!(count("gen_ai_server_time_per_output_token_seconds_sum", &known) > 0.0);

    // The gateway's own time: positive, and less than the whole requests' time
    // (each answer waited at least the mock's latency upstream).
    let route = ["route=\"chat_completions\""];
    let overhead = count("tollgate_gateway_overhead_seconds_sum", &route);
    let total = count("tollgate_request_duration_seconds_sum", &route);
    assert!(overhead > 0.0, "{page}");
    assert!(overhead < total, "overhead {overhead} vs requests {total}");
}

#[test]
fn the_access_log_user_comes_from_the_configured_source_across_reloads() {
    let up = mock("up");
    let config = |user_from: &str| {
        format!(
            r#"
auth: {{ mode: open }}
logging: {{ user_from: "{user_from}" }}
providers:
  - {{ name: p, format: openai, base_url: "{}", health_check: {{ kind: none }} }}
models:
  - {{ name: m, targets: [{{ provider: p, model: gpt-4o-mini }}] }}
"#,
            up.url()
        )
    };
    let gw = Gateway::start(&config("header:X-End-User"));
    let body = serde_json::to_vec(&json!({"model": "m", "user": "body-user",
        "metadata": {"end_user": "meta-user"},
        "messages": [{"role": "user", "content": "hi"}]}))
    .unwrap();
    let send = || {
        http::request(
            &gw.addr,
            "POST",
            "/v1/chat/completions",
            &[("x-end-user", "header-user")],
            &body,
        )
    };
    let user_of = |r: &http::Response| {
        let id = r.header("x-request-id").unwrap().to_string();
        let mut user = serde_json::Value::Null;
        assert!(common::wait_until(
            std::time::Duration::from_secs(5),
            || {
                let line = gw
                    .stdout()
                    .lines()
                    .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                    .find(|v| v["request_id"] == id.as_str());
                user = line
                    .map(|l| l["user"].clone())
                    .unwrap_or(serde_json::Value::Null);
                !user.is_null()
            }
        ));
        user
    };
    assert_eq!(user_of(&send()), "header-user");
    let reload = |text: &str| {
        gw.write_config(text);
        let r = http::request(&gw.admin, "POST", "/admin/reload", &[], b"");
        assert_eq!(r.status, 200, "{}", r.text());
    };
    reload(&config("metadata:end_user"));
    assert_eq!(user_of(&send()), "meta-user");
    reload(&config("body_user"));
    assert_eq!(user_of(&send()), "body-user");
    for (bad, why) in [
        ("header:authorization", "credentials"),
        ("header:", "not a user source"),
        ("cookie", "not a user source"),
        ("metadata:a b", "not a user source"),
    ] {
        let (ok, out) =
            common::validate_config(&format!("logging: {{ user_from: \"{bad}\" }}\n"), &[]);
        assert!(
            !ok && out.contains("logging.user_from") && out.contains(why),
            "{bad}: {out}"
        );
    }
}
