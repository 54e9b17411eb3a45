//! Build facts for `tollgate --version` and `tollgate_build_info`: the git commit
//! (`TOLLGATE_GIT_COMMIT` when set, as in an image built without `.git`; else
//! `git rev-parse`; else `unknown`) and the pingora version locked in `Cargo.lock`.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=TOLLGATE_GIT_COMMIT");
    println!("cargo:rerun-if-changed=Cargo.lock");
    // A new commit rewrites the HEAD reflog: rebuild the facts then, not on every build.
    if let Some(reflog) = git(&["rev-parse", "--git-path", "logs/HEAD"]) {
        println!("cargo:rerun-if-changed={reflog}");
    }
    let commit = std::env::var("TOLLGATE_GIT_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=TOLLGATE_GIT_COMMIT={}", commit.trim());
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let pingora = locked_version(&lock, "pingora").unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=TOLLGATE_PINGORA_VERSION={pingora}");
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

/// The `version` of the `[[package]]` named `name` in a Cargo.lock.
fn locked_version(lock: &str, name: &str) -> Option<String> {
    let wanted = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            let version = lines.next()?.trim().strip_prefix("version = \"")?;
            return Some(version.trim_end_matches('"').to_string());
        }
    }
    None
}
