//! Configuration: `file` (serde shapes of the YAML) → `validate` (every error with its
//! key path) → [`Config`] (the runtime snapshot the proxy reads per request).

pub mod file;
pub mod governance;
