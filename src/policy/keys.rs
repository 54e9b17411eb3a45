//! Virtual keys: who is calling, which team they belong to, which models they may use.
//!
//! Keys are configured as `sha256:<hex>` hashes only. A presented key is hashed once,
//! the first 8 bytes of the digest pick a bucket of a hash map, and the full 32 bytes
//! are compared in constant time, so a lookup is O(1) and timing reveals nothing an
//! attacker could steer (they do not control the digest). Error messages never echo
//! the presented key.

use std::collections::BTreeMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::glob::Glob;
use crate::config::governance::{BudgetConfig, LimitsConfig};
pub use crate::config::governance_spec::parse_hash;
use crate::config::{AuthMode, Governance};
use crate::error::{ErrorKind, GatewayError};
use crate::fx_hash::FxMap;

/// Name given to the identity of unauthenticated requests in `auth.mode: open`.
pub const ANONYMOUS: &str = "anonymous";

/// A team: limits and budgets shared by all of its keys.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamInfo {
    pub name: String,
    pub limits: LimitsConfig,
    pub budget: BudgetConfig,
}

/// An authenticated caller. Shared as `Arc<KeyInfo>` for the life of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyInfo {
    /// Configured name (metrics label, logs); never the secret.
    pub name: String,
    pub team: Option<Arc<TeamInfo>>,
    /// Allowed model globs; empty = all.
    pub models: Vec<Glob>,
    pub metadata: BTreeMap<String, String>,
    pub limits: LimitsConfig,
    pub budget: BudgetConfig,
    /// Guardrail names from the key's config (global guardrails are added by the policy).
    pub guardrails: Vec<String>,
    /// True for the identity of `auth.mode: open` requests without a known key.
    pub anonymous: bool,
    /// Whether the key's clients may bypass the response cache (`Cache-Control`,
    /// `x-tollgate-cache-ttl`); `keys[].cache_bypass`, default true.
    pub cache_bypass: bool,
}

impl KeyInfo {
    /// The identity used for requests without a key in open mode.
    pub fn anonymous() -> KeyInfo {
        KeyInfo {
            name: ANONYMOUS.to_string(),
            team: None,
            models: Vec::new(),
            metadata: BTreeMap::new(),
            limits: LimitsConfig::default(),
            budget: BudgetConfig::default(),
            guardrails: Vec::new(),
            anonymous: true,
            cache_bypass: true,
        }
    }

    /// The team's name, if the key belongs to one.
    pub fn team_name(&self) -> Option<&str> {
        self.team.as_ref().map(|t| t.name.as_str())
    }
}

/// A stored digest and the key it identifies.
type Entry = ([u8; 32], Arc<KeyInfo>);

/// Authentication and model authorization over the configured keys.
#[derive(Debug)]
pub struct KeyStore {
    mode: AuthMode,
    /// First 8 digest bytes → (full digest, key). Collisions of the prefix keep a list.
    by_prefix: FxMap<u64, Vec<Entry>>,
    keys: Vec<Arc<KeyInfo>>,
    teams: Vec<Arc<TeamInfo>>,
    anonymous: Arc<KeyInfo>,
}

/// `sha256:<hex>` of a plaintext key, the form `keys[].hash` expects.
pub fn hash_key(plain: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(plain.as_bytes())))
}

/// The key a client presented: `Authorization: Bearer <key>` (scheme case-insensitive)
/// or `x-api-key: <key>` (what Anthropic SDKs send). Empty values count as absent.
pub fn presented_key<'a>(
    authorization: Option<&'a str>,
    x_api_key: Option<&'a str>,
) -> Option<&'a str> {
    let bearer = authorization.and_then(|v| {
        let v = v.trim();
        let (scheme, rest) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
    });
    bearer
        .filter(|k| !k.is_empty())
        .or_else(|| x_api_key.map(str::trim).filter(|k| !k.is_empty()))
}

/// Compares two digests without an early exit.
fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

fn prefix_of(digest: &[u8; 32]) -> u64 {
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(head)
}

impl KeyStore {
    /// A configured key by its name (the admin plane's explain endpoint).
    pub fn by_name(&self, name: &str) -> Option<Arc<KeyInfo>> {
        self.keys.iter().find(|k| k.name == name).cloned()
    }

    /// Builds the store from a validated config; errors name the offending entry.
    pub fn from_config(gov: &Governance) -> Result<KeyStore, String> {
        let mode = gov.auth;
        let teams: Vec<Arc<TeamInfo>> = gov
            .teams
            .iter()
            .map(|t| {
                Arc::new(TeamInfo {
                    name: t.name.clone(),
                    limits: t.limits.clone(),
                    budget: t.budget.clone(),
                })
            })
            .collect();
        let mut by_prefix: FxMap<u64, Vec<Entry>> = FxMap::default();
        let mut keys = Vec::with_capacity(gov.keys.len());
        for (i, k) in gov.keys.iter().enumerate() {
            let digest = k.digest;
            let team = match &k.team {
                Some(name) => Some(
                    teams
                        .iter()
                        .find(|t| &t.name == name)
                        .cloned()
                        .ok_or_else(|| format!("keys[{i}].team: unknown team `{name}`"))?,
                ),
                None => None,
            };
            let info = Arc::new(KeyInfo {
                name: k.name.clone(),
                team,
                models: k.models.iter().map(|g| Glob::new(g)).collect(),
                metadata: k.metadata.clone(),
                limits: k.limits.clone(),
                budget: k.budget.clone(),
                guardrails: k.guardrails.clone(),
                anonymous: false,
                cache_bypass: k.cache_bypass,
            });
            by_prefix
                .entry(prefix_of(&digest))
                .or_default()
                .push((digest, info.clone()));
            keys.push(info);
        }
        Ok(KeyStore {
            mode,
            by_prefix,
            keys,
            teams,
            anonymous: Arc::new(KeyInfo::anonymous()),
        })
    }

    /// The configured auth mode.
    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    /// Every configured key, in config order.
    pub fn keys(&self) -> &[Arc<KeyInfo>] {
        &self.keys
    }

    /// Every configured team, in config order.
    pub fn teams(&self) -> &[Arc<TeamInfo>] {
        &self.teams
    }

    fn lookup(&self, presented: &str) -> Option<&Arc<KeyInfo>> {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let candidates = self.by_prefix.get(&prefix_of(&digest))?;
        // Visit every candidate so the time does not depend on which one matched.
        let mut found = None;
        for (stored, info) in candidates {
            if ct_eq(stored, &digest) {
                found = Some(info);
            }
        }
        found
    }

    /// Identifies the caller. `keys` mode: a missing or unknown key is `Unauthorized`.
    /// `open` mode: a known key still identifies its owner (limits, spend), anything
    /// else is the anonymous identity.
    pub fn authenticate(&self, presented: Option<&str>) -> Result<Arc<KeyInfo>, GatewayError> {
        let found = presented.and_then(|p| self.lookup(p));
        match (found, self.mode) {
            (Some(info), _) => Ok(info.clone()),
            (None, AuthMode::Open) => Ok(self.anonymous.clone()),
            (None, AuthMode::Keys) if presented.is_none() => Err(GatewayError::new(
                ErrorKind::Unauthorized,
                "missing API key: send it as `Authorization: Bearer <key>` or `x-api-key: <key>`",
            )),
            (None, AuthMode::Keys) => Err(GatewayError::new(
                ErrorKind::Unauthorized,
                "invalid API key",
            )),
        }
    }

    /// Whether `key` may call `model` (the name the client sent).
    pub fn authorize_model(&self, key: &KeyInfo, model: &str) -> Result<(), GatewayError> {
        authorize_model(key, model)
    }
}

/// Whether `key` may call `model`: allowed when its allow-list is empty or one glob matches.
pub fn authorize_model(key: &KeyInfo, model: &str) -> Result<(), GatewayError> {
    if key.models.is_empty() || key.models.iter().any(|g| g.matches(model)) {
        return Ok(());
    }
    Err(GatewayError::new(
        ErrorKind::Forbidden,
        format!("this API key is not allowed to use model `{model}`"),
    )
    .with_param("model")
    .with_code("model_not_allowed"))
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
