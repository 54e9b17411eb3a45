//! `pricing_file:` — prices kept in a YAML file of their own, so a price list can be
//! maintained (and refreshed) apart from the gateway's config:
//!
//! ```yaml
//! builtin: keep        # keep (default): the built-in table still prices what the file
//!                      # does not list; replace: this file is the whole table
//! prices:
//!   - { model: "gpt-5.5*", input_per_mtok: 5, output_per_mtok: 30, cached_input_per_mtok: 0.5 }
//! ```
//!
//! Entries are checked like `pricing:` entries, with their key paths inside the file,
//! and are tried after the config's own `pricing:` entries and before the built-in
//! table. A relative path is relative to the config file's directory. The file is read
//! on every (re)load, and the file watch follows it like the config itself.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::errors::ConfigErrors;
use super::governance::PriceConfig;
use super::governance_spec::Governance;

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PricingFile {
    builtin: Option<String>,
    #[serde(default)]
    prices: Vec<PriceConfig>,
}

/// Largest price file read: a price list, not a data set.
const MAX_BYTES: u64 = 4 << 20;

/// The file's absolute (or cwd-relative) path, resolved against the config's directory.
pub(crate) fn resolve(path: &str, base: Option<&Path>) -> PathBuf {
    let p = Path::new(path);
    match base {
        Some(dir) if p.is_relative() => dir.join(p),
        _ => p.to_path_buf(),
    }
}

/// Reads `path` and adds its prices to `gov`; every problem goes to `errors` under
/// `pricing_file`.
pub(crate) fn apply(path: &Path, gov: &mut Governance, errors: &mut ConfigErrors) {
    let at = "pricing_file";
    let shown = path.display();
    match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_BYTES => {
            errors.push(at, format!("{shown} is over 4 MiB"));
            return;
        }
        Ok(_) => {}
        Err(e) => {
            errors.push(at, format!("cannot read {shown}: {e}"));
            return;
        }
    }
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            errors.push(at, format!("cannot read {shown}: {e}"));
            return;
        }
    };
    let file: PricingFile = match serde_yaml::from_str(&text) {
        Ok(f) => f,
        Err(e) => {
            errors.push(at, format!("{shown}: {e}"));
            return;
        }
    };
    let before = errors.len();
    match file.builtin.as_deref() {
        None | Some("keep") => {}
        Some("replace") => gov.builtin_prices = false,
        Some(other) => errors.push(
            format!("{at}: {shown}: builtin"),
            format!("unknown value {other:?}: expected keep or replace"),
        ),
    }
    for (i, p) in file.prices.iter().enumerate() {
        super::governance_check::price(&format!("{at}: {shown}: prices[{i}]"), p, errors);
    }
    if errors.len() == before {
        gov.pricing.extend(file.prices);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tollgate-prices-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn prices_are_appended_and_builtin_can_be_replaced() {
        let path = write(
            "ok.yaml",
            "builtin: replace\nprices:\n  - { model: \"x-*\", input_per_mtok: 1, output_per_mtok: 2 }\n",
        );
        let mut gov = Governance::default();
        let mut errors = ConfigErrors::default();
        apply(&path, &mut gov, &mut errors);
        assert!(errors.is_empty(), "{errors}");
        assert_eq!(gov.pricing.len(), 1);
        assert!(!gov.builtin_prices);
    }

    #[test]
    fn bad_files_name_the_entry_and_change_nothing() {
        let path = write(
            "bad.yaml",
            "builtin: maybe\nprices:\n  - { model: \"\", input_per_mtok: -1 }\n",
        );
        let mut gov = Governance::default();
        let mut errors = ConfigErrors::default();
        apply(&path, &mut gov, &mut errors);
        let text = errors.to_string();
        assert!(text.contains("bad.yaml: builtin"), "{text}");
        assert!(text.contains("prices[0].model"), "{text}");
        assert!(text.contains("prices[0].input_per_mtok"), "{text}");
        assert!(gov.pricing.is_empty());
        let mut errors = ConfigErrors::default();
        apply(&write("typo.yaml", "price: []\n"), &mut gov, &mut errors);
        assert!(errors.to_string().contains("price"), "{errors}");
        let mut errors = ConfigErrors::default();
        apply(Path::new("/nonexistent/prices.yaml"), &mut gov, &mut errors);
        assert!(errors.to_string().contains("cannot read"), "{errors}");
    }

    #[test]
    fn relative_paths_follow_the_config() {
        assert_eq!(
            resolve("p.yaml", Some(Path::new("/etc/tollgate"))),
            PathBuf::from("/etc/tollgate/p.yaml")
        );
        assert_eq!(
            resolve("/abs/p.yaml", Some(Path::new("/etc"))),
            PathBuf::from("/abs/p.yaml")
        );
        assert_eq!(resolve("p.yaml", None), PathBuf::from("p.yaml"));
    }
}
