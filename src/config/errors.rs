//! [`ConfigError`] / [`ConfigErrors`]: every problem of a config file, each with the key
//! path it is about (`providers[2].base_urls[0]`), collected so `tollgate -t` reports
//! all of them at once.

use std::fmt;

/// One problem: where (`models[1].targets[0].provider`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Key path in the file; empty for problems of the file as a whole.
    pub path: String,
    /// What is wrong, never containing the value of a secret or of an env variable.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// All problems found in one config; `Display` prints one per line.
///
/// Each check adds its problems through [`ConfigErrors::push`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// Records a problem at a key path.
    pub fn push(&mut self, path: impl Into<String>, msg: impl Into<String>) {
        self.0.push(ConfigError {
            path: path.into(),
            message: msg.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &ConfigError> {
        self.0.iter()
    }

    /// Replaces every occurrence of the given values in the messages by `***`.
    /// A safety net: values substituted from the environment may be secrets, and a
    /// message quoting a value (serde does) must not carry them. Values shorter than
    /// three bytes are left alone, they cannot be secrets and would mangle the text.
    pub(crate) fn scrub(&mut self, values: &[String]) {
        for err in &mut self.0 {
            for v in values.iter().filter(|v| v.len() >= 3) {
                if err.message.contains(v.as_str()) {
                    err.message = err.message.replace(v.as_str(), "***");
                }
            }
        }
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Key path of a mapping entry: `parent.key` (or `key` at the top).
pub(crate) fn key_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// Key path of a list item: `parent[index]`.
pub(crate) fn index_path(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}
