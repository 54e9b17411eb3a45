//! The status page on the admin listener, in headless Chromium (Debian's `chromium`,
//! `TOLLGATE_TEST_CHROMIUM`; scripts/test.sh installs and sets it): it loads without
//! a console error or CSP violation, takes the admin token from the URL fragment
//! only, shows the configured providers and the keys' spend, and updates live after
//! requests without a reload. Its data endpoint stays behind the admin token.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::chromium::Browser;
use common::{http, mock, test_env, Gateway};
use serde_json::{json, Value};
use tollgate::policy::hash_key;

const TOKEN: &str = "status-admin-token-42";
const KEY: &str = "sk-tg-status-page-key-1";

fn config(up: &str, dead: &str) -> String {
    format!(
        r#"
listeners: {{ data: ["{{data}}"], admin: "{{admin}}", admin_token: "${{STATUS_ADMIN_TOKEN}}" }}
providers:
  - {{ name: openai-main, format: openai, base_url: "{up}", health_check: {{ kind: none }} }}
  - {{ name: claude, format: anthropic, base_url: "{up}", health_check: {{ kind: none }} }}
  - {{ name: dead-one, format: openai, base_url: "{dead}", health_check: {{ kind: tcp, interval_ms: 200 }} }}
models:
  - {{ name: m, targets: [{{ provider: openai-main, model: gpt-4o-mini }}] }}
pricing:
  - {{ model: gpt-4o-mini, input_per_mtok: 1000, output_per_mtok: 1000 }}
keys:
  - {{ name: web-app, hash: "{hash}", team: product, budget: {{ daily_usd: 50 }} }}
teams:
  - {{ name: product, budget: {{ monthly_usd: 900 }} }}
"#,
        hash = hash_key(KEY)
    )
}

fn text_of(id: &str) -> String {
    format!("document.getElementById('{id}').innerText")
}

#[test]
fn the_status_page_shows_providers_and_updates_live_in_chromium() {
    let Some(chromium) = test_env(
        "TOLLGATE_TEST_CHROMIUM",
        "the_status_page_shows_providers_and_updates_live_in_chromium",
    ) else {
        return;
    };
    let up = mock("up");
    let dead = format!("http://127.0.0.1:{}", common::free_port());
    let gw = Gateway::start_with_env(&config(&up.url(), &dead), &[("STATUS_ADMIN_TOKEN", TOKEN)]);
    let bearer = format!("Bearer {TOKEN}");

    // The HTML holds no data and says so in its headers; the data needs the token.
    let page = http::get(&gw.admin, "/");
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"));
    assert!(!page.text().contains(TOKEN) && !page.text().contains("openai-main"));
    assert_eq!(http::get(&gw.admin, "/admin/status").status, 401);
    let status = http::request(
        &gw.admin,
        "GET",
        "/admin/status",
        &[("authorization", &bearer)],
        b"",
    );
    assert_eq!(status.status, 200);
    assert_eq!(status.json()["traffic"]["requests"], 0.0);
    // One applied reload for the page's list.
    let r = http::request(
        &gw.admin,
        "POST",
        "/admin/reload",
        &[("authorization", &bearer)],
        b"",
    );
    assert_eq!(r.status, 200);

    let profile = common::temp_dir("chromium");
    let mut browser = Browser::launch(&chromium, &profile);
    let page = browser.open(&format!("http://{}/#token={TOKEN}", gw.admin));
    let providers = browser.wait_for(&page, &text_of("providers"), Duration::from_secs(20), |v| {
        v.as_str().is_some_and(|t| t.contains("dead-one"))
    });
    let providers = providers.as_str().unwrap();
    for name in ["openai-main", "claude", "dead-one", "anthropic"] {
        assert!(providers.contains(name), "{name} missing:\n{providers}");
    }
    // The dead provider is shown down once its health check has run.
    browser.wait_for(
        &page,
        "[...document.querySelectorAll('#providers tbody tr')].filter(r => r.innerText.includes('dead-one') && r.innerText.includes('down')).length",
        Duration::from_secs(20),
        |v| v == &json!(1),
    );
    assert_eq!(browser.eval(&page, &text_of("requests-total")), "0");
    assert_eq!(
        browser.eval(&page, "location.hash"),
        "",
        "the token stays in the URL"
    );
    let keys = browser.eval(&page, &text_of("keys"));
    assert!(keys.as_str().unwrap().contains("web-app"), "{keys}");
    assert!(browser
        .eval(&page, &text_of("reloads"))
        .as_str()
        .unwrap()
        .contains("applied"));

    // Requests move the numbers without reloading the page.
    for stream in [false, true, false, true, false] {
        let body = serde_json::to_vec(&json!({"model": "m", "stream": stream,
            "messages": [{"role": "user", "content": "hello"}]}))
        .unwrap();
        let auth = format!("Bearer {KEY}");
        let r = http::request(
            &gw.addr,
            "POST",
            "/v1/chat/completions",
            &[("authorization", &auth)],
            &body,
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    browser.wait_for(
        &page,
        &text_of("requests-total"),
        Duration::from_secs(20),
        |v| v == "5",
    );
    let latency = browser.wait_for(&page, &text_of("latency"), Duration::from_secs(20), |v| {
        v.as_str()
            .is_some_and(|t| t.contains("ms") || t.contains(" s"))
    });
    assert!(!latency.as_str().unwrap().contains('–'), "{latency}");
    let ttft = browser.eval(&page, &text_of("ttft"));
    assert!(
        !ttft.as_str().unwrap().contains('–'),
        "TTFT after two streams: {ttft}"
    );
    let rps = browser.eval(&page, &text_of("rps"));
    assert!(rps.as_str().unwrap().parse::<f64>().unwrap() > 0.0, "{rps}");
    let keys = browser.wait_for(&page, &text_of("keys"), Duration::from_secs(20), |v| {
        v.as_str()
            .is_some_and(|t| t.contains("web-app") && !t.contains("$0.0000\t"))
    });
    let keys = keys.as_str().unwrap().to_string();
    assert!(keys.contains("product"), "{keys}");
    assert!(browser
        .eval(&page, &text_of("teams"))
        .as_str()
        .unwrap()
        .contains("product"));
    assert!(browser
        .eval(&page, &text_of("state"))
        .as_str()
        .unwrap()
        .starts_with("live"));

    let problems = browser.problems(&page);
    assert!(problems.is_empty(), "console problems: {problems:#?}");
    let png = browser.screenshot(&page);
    assert!(png.starts_with(b"\x89PNG"));
    if let Ok(path) = std::env::var("TOLLGATE_STATUS_SCREENSHOT") {
        std::fs::write(path, &png).unwrap();
    }

    // Without the token the page asks for it and shows nothing.
    let bare = browser.open(&format!("http://{}/", gw.admin));
    browser.wait_for(
        &bare,
        "document.getElementById('login').hidden",
        Duration::from_secs(20),
        |v| v == &Value::Bool(false),
    );
    assert_eq!(
        browser.eval(&bare, "document.getElementById('main').hidden"),
        true
    );
    assert!(!browser
        .eval(&bare, "document.body.innerText")
        .as_str()
        .unwrap()
        .contains("openai-main"));
    drop(browser);
    let _ = std::fs::remove_dir_all(profile);
}
