//! Build facts for `tollgate --version` and `tollgate_build_info`: the git commit
//! (`TOLLGATE_GIT_COMMIT` when set, as in an image built without `.git`; else
//! `git rev-parse`; else `unknown`) and the pingora version locked in `Cargo.lock`.
//! Also the code layout of release builds: see [`hot_symbol_order`].

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
    hot_symbol_order();
}

/// The functions a request runs, written by `scripts/bench/hot_symbols.sh`.
const HOT_SYMBOLS: &str = "scripts/bench/hot-symbols.txt";

/// Release builds of the gateway binary ask the linker to place the functions a
/// request runs next to each other: a request then touches ~40 % fewer pages
/// of code (docs/perf, eleventh round). Only where the linker is known to be LLD,
/// which reads the option: Rust's own default on x86_64 Linux since 1.90, unless the
/// build names another linker. `TOLLGATE_SYMBOL_ORDER=0` turns it off. A function the
/// file does not name is linked as usual.
fn hot_symbol_order() {
    println!("cargo:rerun-if-changed={HOT_SYMBOLS}");
    println!("cargo:rerun-if-env-changed=TOLLGATE_SYMBOL_ORDER");
    let env = |name: &str| std::env::var(name).unwrap_or_default();
    let file = std::path::Path::new(&env("CARGO_MANIFEST_DIR")).join(HOT_SYMBOLS);
    let wanted = env("PROFILE") == "release" && env("TOLLGATE_SYMBOL_ORDER") != "0";
    let default_lld = env("TARGET") == "x86_64-unknown-linux-gnu" && rustc_minor() >= Some(90);
    // RUSTC_LINKER is set when the build configures a linker for the target.
    let flags = env("CARGO_ENCODED_RUSTFLAGS");
    let other_linker = std::env::var_os("RUSTC_LINKER").is_some()
        || ["linker", "fuse-ld", "link-self-contained"]
            .iter()
            .any(|f| flags.contains(f));
    if !wanted || !default_lld || other_linker || !file.is_file() {
        return;
    }
    let file = file.display();
    println!("cargo:rustc-link-arg-bin=tollgate=-Wl,--symbol-ordering-file={file}");
    println!("cargo:rustc-link-arg-bin=tollgate=-Wl,--no-warn-symbol-ordering");
}

/// The compiler's minor version (`rustc 1.95.0` gives 95).
fn rustc_minor() -> Option<u32> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let out = Command::new(rustc).arg("--version").output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    text.split_whitespace()
        .nth(1)?
        .split('.')
        .nth(1)?
        .parse()
        .ok()
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
