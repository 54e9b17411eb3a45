//! The command line as a user meets it: `--help`, `--version`, `check`, `keys new`,
//! `upgrade` without a running process, and the one-line startup summary of a real
//! gateway that then admits a key made by `keys new`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::{Command, Output};

use common::{http, mock, temp_dir, Gateway};
use serde_json::json;

fn tollgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(args)
        .env_remove("TOLLGATE_CONFIG")
        .env_remove("TOLLGATE_OLD_PID")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn default_config() -> String {
    format!("{}/conf/tollgate.yaml", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn help_is_tollgates_own() {
    let out = tollgate(&["--help"]);
    assert!(out.status.success(), "{}", text(&out));
    let help = text(&out);
    for needle in [
        "Usage: tollgate",
        "check",
        "keys",
        "upgrade",
        "run",
        "--conf <FILE>",
        "--daemon",
        "--version",
    ] {
        assert!(help.contains(needle), "{needle} missing:\n{help}");
    }
    assert!(
        !help.contains("base set of command line arguments"),
        "{help}"
    );
    let keys = text(&tollgate(&["keys", "new", "--help"]));
    assert!(keys.contains("--name <NAME>"), "{keys}");
}

#[test]
fn version_names_commit_and_pingora() {
    let out = tollgate(&["--version"]);
    assert!(out.status.success(), "{}", text(&out));
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        line.starts_with(&format!("tollgate {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{line}"
    );
    assert!(line.contains(", pingora 0.9."), "{line}");
    assert_eq!(tollgate(&["-V"]).stdout, out.stdout);
}

#[test]
fn check_and_dash_t_agree_and_name_bad_keys() {
    let config = default_config();
    let check = tollgate(&["check", "-c", &config]);
    let dash_t = tollgate(&["-t", "-c", &config]);
    assert!(check.status.success(), "{}", text(&check));
    assert_eq!(check.stdout, dash_t.stdout);
    assert!(text(&check).contains("configuration is valid"));
    assert!(text(&check).contains("server.upgrade_sock: "));

    let dir = temp_dir("cli");
    let bad = dir.join("bad.yaml");
    std::fs::write(
        &bad,
        "providers: []\nmodels:\n  - { name: m, targets: [{ provider: nope, model: x }] }\n",
    )
    .unwrap();
    let out = tollgate(&["check", "-c", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).contains("models[0]"), "{}", text(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unknown_arguments_fail_with_usage() {
    let out = tollgate(&["--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("Usage: tollgate"), "{}", text(&out));
}

#[test]
fn upgrade_without_a_running_gateway_refuses() {
    let dir = temp_dir("cli");
    let conf = dir.join("c.yaml");
    std::fs::write(
        &conf,
        format!(
            "server:\n  pid_file: {0}/none.pid\n  upgrade_sock: {0}/up.sock\nproviders: []\nmodels: []\n",
            dir.display()
        ),
    )
    .unwrap();
    let out = tollgate(&["upgrade", "-c", conf.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("no running tollgate found"),
        "{}",
        text(&out)
    );
    // Nothing was started: the upgrade socket was never opened.
    assert!(!dir.join("up.sock").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// `keys new` prints a key and its config entry; a gateway given that entry admits
/// the key (and only it), and says at start what it loaded.
#[test]
fn a_new_key_is_admitted_and_the_start_is_summarised() {
    let out = tollgate(&["keys", "new", "--name", "ci"]);
    assert!(out.status.success(), "{}", text(&out));
    let printed = String::from_utf8(out.stdout).unwrap();
    let key = printed
        .lines()
        .find_map(|l| l.strip_prefix("key: "))
        .unwrap()
        .to_string();
    let entry = &printed[printed.find("keys:\n").unwrap()..];
    assert!(entry.contains("  - name: ci\n"), "{printed}");
    let again = String::from_utf8(tollgate(&["keys", "new"]).stdout).unwrap();
    assert!(!again.contains(&key), "keys repeat");

    let up = mock("cli");
    let gw = Gateway::start(&format!(
        "auth: {{ mode: keys }}\nproviders:\n  - {{ name: up, format: openai, base_url: \"{}\" }}\nmodels:\n  - {{ name: m, targets: [{{ provider: up, model: gpt-4o-mini }}] }}\n{entry}",
        up.url()
    ));
    let body =
        serde_json::to_vec(&json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
            .unwrap();
    let post = |auth: &str| {
        http::request(
            &gw.addr,
            "POST",
            "/v1/chat/completions",
            &[
                ("content-type", "application/json"),
                ("authorization", auth),
            ],
            &body,
        )
    };
    assert_eq!(post(&format!("Bearer {key}")).status, 200);
    assert_eq!(post("Bearer tg-not-the-key").status, 401);
    assert_eq!(post(&format!("Bearer {key}")).status, 200);

    let log = gw.stderr();
    let summary = log
        .lines()
        .find(|l| l.contains("listening on"))
        .unwrap_or_else(|| panic!("no startup summary:\n{log}"));
    for needle in [
        format!("listening on {}", gw.addr),
        format!("admin {}", gw.admin),
        format!("config {}", gw.config_path.display()),
        "providers=1 routes=1 keys=1 state=memory".to_string(),
    ] {
        assert!(summary.contains(&needle), "{needle} missing: {summary}");
    }
    assert!(!log.contains(&key), "the key was logged");
}
