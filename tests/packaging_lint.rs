//! The deployment files checked by the tools their ecosystems use, offline: the
//! Kubernetes manifests against the Kubernetes API schemas (`kubernetes-validate`,
//! which ships them), the compose file against the Compose Specification
//! (`check-jsonschema`'s bundled copy), every shipped YAML file with `yamllint`, and
//! the systemd unit with `systemd-analyze verify`, and every shell script the README
//! points to with `bash -n` (the benchmarks are too heavy for CI to run; a script that
//! no longer parses is caught here). The Python tools live beside the
//! test Python (`scripts/setup.sh` installs them, pinned). Each check is also shown to
//! reject a broken copy, so a passing check means something.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const KUBERNETES_VERSION: &str = "1.31.0";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A console script installed beside the test Python, or `None` (skipped) when the
/// test environment has no Python.
fn python_tool(name: &str, test: &str) -> Option<PathBuf> {
    let python = common::test_env("TOLLGATE_TEST_PYTHON", test)?;
    let tool = Path::new(&python).with_file_name(name);
    assert!(
        tool.exists(),
        "{test}: {} is missing (scripts/setup.sh)",
        tool.display()
    );
    Some(tool)
}

fn run(tool: &Path, args: &[&str], files: &[&Path]) -> Output {
    Command::new(tool).args(args).args(files).output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A scratch copy of `path` with `edit` applied, in a fresh directory.
fn broken_copy(path: &str, name: &str, edit: impl FnOnce(String) -> String) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tollgate-lint-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let original = std::fs::read_to_string(repo(path)).unwrap();
    let edited = edit(original.clone());
    assert_ne!(edited, original, "the edit of {path} changed nothing");
    let copy = dir.join(name);
    std::fs::write(&copy, edited).unwrap();
    copy
}

#[test]
fn kubernetes_manifests_match_the_kubernetes_api_schemas() {
    let test = "kubernetes_manifests_match_the_kubernetes_api_schemas";
    let Some(tool) = python_tool("kubernetes-validate", test) else {
        return;
    };
    let args = ["-k", KUBERNETES_VERSION, "--strict", "--quiet"];
    let manifest = repo("deploy/kubernetes/tollgate.yaml");
    let out = run(&tool, &args, &[&manifest]);
    assert!(out.status.success(), "{}", text(&out));

    let broken = broken_copy("deploy/kubernetes/tollgate.yaml", "k8s.yaml", |s| {
        s.replacen("replicas:", "replicas: \"two\"\n  replicaz:", 1)
    });
    let out = run(&tool, &args, &[&broken]);
    assert!(
        !out.status.success(),
        "a broken Deployment passed: {}",
        text(&out)
    );
}

#[test]
fn the_compose_file_matches_the_compose_specification() {
    let test = "the_compose_file_matches_the_compose_specification";
    let Some(tool) = python_tool("check-jsonschema", test) else {
        return;
    };
    let args = ["--builtin-schema", "vendor.compose-spec"];
    let out = run(&tool, &args, &[&repo("deploy/compose.yaml")]);
    assert!(out.status.success(), "{}", text(&out));

    let broken = broken_copy("deploy/compose.yaml", "compose.yaml", |s| {
        s.replacen("services:\n", "services:\n  bad:\n    imagee: redis\n", 1)
    });
    let out = run(&tool, &args, &[&broken]);
    assert!(
        !out.status.success(),
        "an unknown service key passed: {}",
        text(&out)
    );
}

#[test]
fn every_shipped_yaml_file_passes_yamllint() {
    let test = "every_shipped_yaml_file_passes_yamllint";
    let Some(tool) = python_tool("yamllint", test) else {
        return;
    };
    let config = repo("tests/fixtures/packaging/yamllint.yaml");
    let args = ["--strict", "-c", config.to_str().unwrap()];
    let out = run(&tool, &args, &[&repo("deploy"), &repo("conf")]);
    assert!(out.status.success(), "{}", text(&out));

    let broken = broken_copy("conf/tollgate.yaml", "tollgate.yaml", |s| {
        format!("{s}listeners: {{ data: [] }}\n")
    });
    let out = run(&tool, &args, &[&broken]);
    assert!(
        !out.status.success(),
        "a duplicate key passed: {}",
        text(&out)
    );
}

/// `systemd-analyze verify` checks the unit's syntax, directives and that its commands
/// exist: the built binary stands in for `/usr/local/bin/tollgate`. Any complaint fails
/// (unknown keys are only warnings to systemd).
#[test]
fn the_systemd_unit_verifies() {
    let test = "the_systemd_unit_verifies";
    let Some(analyze) = systemd_analyze(test) else {
        return;
    };
    let unit = |name: &str, edit: &dyn Fn(String) -> String| {
        broken_copy("deploy/systemd/tollgate.service", name, |s| {
            edit(s.replace("/usr/local/bin/tollgate", env!("CARGO_BIN_EXE_tollgate")))
        })
    };
    let good = unit("tollgate.service", &|s| s);
    let out = run(&analyze, &["verify"], &[&good]);
    assert!(
        out.status.success() && text(&out).trim().is_empty(),
        "{}",
        text(&out)
    );

    let broken = unit("tollgate-bad.service", &|s| {
        s.replace("[Service]", "[Service]\nRestartSec=soon")
    });
    let out = run(&analyze, &["verify"], &[&broken]);
    assert!(!text(&out).trim().is_empty(), "a bad RestartSec passed");
}

fn systemd_analyze(test: &str) -> Option<PathBuf> {
    let found = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var_os("TOLLGATE_TEST_REQUIRE_ENV").is_none(),
            "{test}: systemd-analyze is required here (scripts/setup.sh installs systemd)"
        );
        eprintln!("skipped {test}: systemd-analyze is not installed");
    }
    found
}

/// Every shell script under `scripts/` and `.ci/run` parses (`bash -n`): the
/// benchmark scripts are run by hand only, so this is what CI knows of them.
#[test]
fn every_shell_script_parses() {
    let mut scripts = vec![repo(".ci/run")];
    for dir in ["scripts", "scripts/bench", "scripts/soak"] {
        for entry in std::fs::read_dir(repo(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "sh") {
                scripts.push(path);
            }
        }
    }
    assert!(scripts.len() >= 8, "found {scripts:?}");
    let bash = Path::new("bash");
    for script in &scripts {
        let out = run(bash, &["-n"], &[script]);
        assert!(out.status.success(), "{}: {}", script.display(), text(&out));
    }
    let broken = broken_copy("scripts/bench/one_core.sh", "one_core.sh", |s| {
        s.replacen("done\n", "\n", 1)
    });
    let out = run(bash, &["-n"], &[&broken]);
    assert!(!out.status.success(), "an unclosed loop parsed");
}

/// `scripts/bench/hot-symbols.txt` (the linker's order for the request path's
/// functions, see build.rs) holds one symbol per line as the linker spells it, each
/// once, and names the gateway's own phases: a file written from a profile of the
/// wrong binary, or with demangled names, would silently order nothing.
#[test]
fn the_hot_symbol_file_names_the_request_path_as_the_linker_spells_it() {
    let file = std::fs::read_to_string(repo("scripts/bench/hot-symbols.txt")).unwrap();
    assert_eq!(hot_symbol_problems(&file), Vec::<String>::new());
    let demangled = file.replacen("_ZN8tollgate5proxy", "tollgate::proxy::", 1);
    assert!(!hot_symbol_problems(&demangled).is_empty());
    assert!(!hot_symbol_problems(&format!("{file}{}", file.lines().next().unwrap())).is_empty());
}

fn hot_symbol_problems(file: &str) -> Vec<String> {
    let symbol = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_$.".contains(&b))
    };
    let mut seen = std::collections::HashSet::new();
    let mut problems: Vec<String> = file
        .lines()
        .filter(|line| !symbol(line) || !seen.insert(*line))
        .map(|line| format!("not a symbol, or twice: {line:?}"))
        .collect();
    for phase in ["14request_filter", "13upstream_peer", "7logging"] {
        let named = file
            .lines()
            .any(|l| l.starts_with("_ZN8tollgate5proxy") && l.contains(phase));
        if !named {
            problems.push(format!("no tollgate phase {phase}"));
        }
    }
    problems
}
