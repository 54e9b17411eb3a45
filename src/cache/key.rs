//! The exact-match key: what makes two requests ask the same thing of the same model.

use sha2::{Digest, Sha256};

use crate::config::{CacheNamespace, ModelRoute, RouteCache};
use crate::error::Dialect;
use crate::policy::KeyInfo;

/// The namespace of a caller on a route: entries are shared only within it.
pub fn namespace(rc: &RouteCache, key: &KeyInfo) -> String {
    match rc.namespace {
        CacheNamespace::Global => "global".to_string(),
        CacheNamespace::Team => match &key.team {
            Some(team) => format!("team:{}", team.name),
            // A key without a team shares with nobody.
            None => format!("key:{}", key.name),
        },
        CacheNamespace::Key => format!("key:{}", key.name),
    }
}

/// What a cacheable request is looked up by.
pub struct Keys {
    /// The exact key.
    pub exact: [u8; 32],
    /// The question to embed and the scope a similar entry must share, when the
    /// route looks up semantically and the request is a candidate.
    pub semantic: Option<(String, [u8; 32])>,
}

/// The keys of a chat request body of `dialect` on `route`, or `None` when the body
/// cannot be read as a chat request (it then goes upstream and gets its error there).
///
/// The hash covers the canonical request — messages (system included), tools and
/// tool choice, response format, sampling, the output cap, reasoning, `n` — with the
/// fields that do not change the answer cleared: `model` (the route stands for it),
/// `stream`, `include_usage`, `user` and `metadata`. The canonical model is what makes
/// an OpenAI and an Anthropic request for the same thing one entry; its `Debug` form
/// is a complete, deterministic rendering of it (floats included), and the crate
/// version in the hash keeps entries of another build apart.
pub fn request_keys(
    dialect: Dialect,
    body: &[u8],
    route: &ModelRoute,
    rc: &RouteCache,
    namespace: &str,
) -> Option<Keys> {
    let mut req = crate::formats::read_request(dialect, body).ok()?;
    req.model = Default::default();
    req.stream = false;
    req.include_usage = false;
    req.user = None;
    req.metadata = None;
    let mut base = Vec::with_capacity(64 + route.name.len() + namespace.len());
    base.extend_from_slice(env!("CARGO_PKG_VERSION").as_bytes());
    base.push(0);
    base.extend_from_slice(route.name.as_bytes());
    base.push(0);
    base.extend_from_slice(&rc.version.to_le_bytes());
    base.extend_from_slice(namespace.as_bytes());
    base.push(0);
    let semantic = rc.semantic.as_ref().and_then(|s| {
        let question = super::semantic::text::question(&req, s.context_messages)?;
        let mut scope_base = base.clone();
        scope_base.extend_from_slice(s.embeddings_route.as_bytes());
        Some((question, super::semantic::text::scope(&scope_base, &req)))
    });
    let mut h = Sha256::new();
    h.update(&base);
    h.update(format!("{req:?}").as_bytes());
    Some(Keys {
        exact: h.finalize().into(),
        semantic,
    })
}

/// The exact key alone (see [`request_keys`]).
pub fn request_key(
    dialect: Dialect,
    body: &[u8],
    route: &ModelRoute,
    rc: &RouteCache,
    namespace: &str,
) -> Option<[u8; 32]> {
    request_keys(dialect, body, route, rc, namespace).map(|k| k.exact)
}
