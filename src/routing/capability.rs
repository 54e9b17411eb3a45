//! Capability-aware targets: before any target is chosen, the targets whose model
//! cannot serve this request are taken out of the plan — an estimated prompt over
//! the context window, `max_tokens` over the output limit, images to a text-only
//! model, tools to a model without tools, `response_format` JSON to a model without
//! JSON mode, reasoning settings to a model without reasoning. No call is made to
//! find out. A route left without targets is dropped (its fallbacks stay); when no
//! route is left, the client gets a 400 naming what is missing.
//!
//! Targets whose model has no known capabilities (`Target::caps` is `None`) are kept:
//! tollgate does not refuse what it cannot judge.

use std::sync::Arc;

use crate::config::capability::Caps;
use crate::config::ModelRoute;
use crate::error::{ErrorKind, GatewayError};
use crate::formats::RequestShape;

use super::RoutePlan;

/// A capability a request needs and a model lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    ContextWindow,
    MaxOutput,
    Vision,
    Tools,
    JsonMode,
    Reasoning,
}

impl Missing {
    /// Metric label and the name in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Missing::ContextWindow => "context_window",
            Missing::MaxOutput => "max_output_tokens",
            Missing::Vision => "vision",
            Missing::Tools => "tools",
            Missing::JsonMode => "json_mode",
            Missing::Reasoning => "reasoning",
        }
    }

    /// The request parameter that asks for it.
    fn param(self) -> &'static str {
        match self {
            Missing::ContextWindow | Missing::Vision => "messages",
            Missing::MaxOutput => "max_tokens",
            Missing::Tools => "tools",
            Missing::JsonMode => "response_format",
            Missing::Reasoning => "reasoning",
        }
    }
}

/// The first capability `caps` lacks for `shape`, if any.
pub fn missing(caps: &Caps, shape: &RequestShape) -> Option<Missing> {
    let checks = [
        (
            shape.prompt_tokens > caps.context_window,
            Missing::ContextWindow,
        ),
        (
            shape.max_tokens.is_some_and(|m| m > caps.max_output),
            Missing::MaxOutput,
        ),
        (shape.images && !caps.vision, Missing::Vision),
        (shape.tools && !caps.tools, Missing::Tools),
        (shape.json_output && !caps.json, Missing::JsonMode),
        (shape.reasoning && !caps.reasoning, Missing::Reasoning),
    ];
    checks.into_iter().find(|(lacks, _)| *lacks).map(|(_, m)| m)
}

/// Keys and part types through which a body asks for images, tools, JSON output or
/// reasoning. A body containing none of them asks for none of those.
const FEATURE_MARKERS: [&[u8]; 8] = [
    b"\"image",
    b"\"input_image\"",
    b"\"tools\"",
    b"\"functions\"",
    b"\"response_format\"",
    b"\"output_format\"",
    b"\"reasoning",
    b"\"thinking\"",
];

/// An upper bound of the request's shape without parsing it, when the body names no
/// feature: prompt tokens at most a quarter of its bytes (the estimate counts a
/// quarter of the text characters, and text is part of the body), `max_tokens` from
/// the envelope. `None` when a feature key appears: then only a parse can tell.
pub fn quick_shape(body: &[u8], max_tokens: Option<u64>) -> Option<RequestShape> {
    // One pass over the quotes (few in a text-heavy body), each checked against the
    // markers, instead of one scan of the whole body per marker.
    let named = memchr::memchr_iter(b'"', body).any(|at| {
        let rest = &body[at..];
        FEATURE_MARKERS.iter().any(|m| rest.starts_with(m))
    });
    if named {
        return None;
    }
    Some(RequestShape {
        prompt_tokens: (body.len() as u64).div_ceil(4),
        max_tokens,
        ..RequestShape::default()
    })
}

/// Whether every target of the plan can serve `shape` (nothing to skip).
pub fn serves_all(plan: &RoutePlan, shape: &RequestShape) -> bool {
    plan.routes
        .iter()
        .all(|r| lacking(r, shape).iter().all(Option::is_none))
}

/// Whether the request's shape matters to this plan: a target with known
/// capabilities, or a strategy that prices the request (else the body is not read
/// for it).
pub fn plan_needs_shape(plan: &RoutePlan) -> bool {
    plan.routes
        .iter()
        .any(|r| r.strategy.prices_requests() || r.targets.iter().any(|t| t.caps.is_some()))
}

/// Each target of `route` with what it lacks for `shape` (`None`: it can serve it).
/// Pure, for the explain endpoint.
pub fn lacking(route: &ModelRoute, shape: &RequestShape) -> Vec<Option<Missing>> {
    route
        .targets
        .iter()
        .map(|t| t.caps.as_ref().and_then(|c| missing(c, shape)))
        .collect()
}

/// The plan without the targets that cannot serve `shape`; an error naming the
/// missing capability when none can.
pub fn restrict(plan: RoutePlan, shape: &RequestShape) -> Result<RoutePlan, GatewayError> {
    let mut routes = Vec::with_capacity(plan.routes.len());
    let mut refusals: Vec<(String, Caps, Missing)> = Vec::new();
    for route in plan.routes {
        let lacking = lacking(&route, shape);
        for (t, m) in route.targets.iter().zip(&lacking) {
            if let (Some(m), Some(caps)) = (m, t.caps) {
                count_skip(&t.provider.name, *m);
                if refusals.len() < 4 {
                    refusals.push((t.model.clone(), caps, *m));
                }
            }
        }
        if lacking.iter().all(Option::is_none) {
            routes.push(route);
        } else if lacking.iter().any(Option::is_none) {
            routes.push(Arc::new(only_capable(&route, &lacking)));
        }
    }
    if routes.is_empty() {
        return Err(refusal(&refusals, shape));
    }
    Ok(RoutePlan { routes })
}

/// A copy of `route` with only the targets that lack nothing.
fn only_capable(route: &ModelRoute, lacking: &[Option<Missing>]) -> ModelRoute {
    let mut copy = route.clone();
    copy.targets = route
        .targets
        .iter()
        .zip(lacking)
        .filter(|(_, m)| m.is_none())
        .map(|(t, _)| t.clone())
        .collect();
    copy
}

fn count_skip(provider: &str, m: Missing) {
    crate::metrics::CAPABILITY_SKIPS
        .with_label_values(&[provider, m.as_str()])
        .inc();
}

/// The 400 for a request no target can serve, in words a client can act on.
fn refusal(refusals: &[(String, Caps, Missing)], shape: &RequestShape) -> GatewayError {
    let Some((_, _, first)) = refusals.first() else {
        return GatewayError::invalid("No target can serve this request");
    };
    let reasons: Vec<String> = refusals
        .iter()
        .map(|(model, caps, m)| format!("{model}: {}", explain(*m, caps, shape)))
        .collect();
    let kind = if *first == Missing::ContextWindow {
        ErrorKind::ContextWindowExceeded
    } else {
        ErrorKind::InvalidRequest
    };
    GatewayError::new(
        kind,
        format!(
            "No model of this route can serve the request; missing capability `{}` ({})",
            first.as_str(),
            reasons.join("; ")
        ),
    )
    .with_param(first.param())
}

fn explain(m: Missing, caps: &Caps, shape: &RequestShape) -> String {
    match m {
        Missing::ContextWindow => format!(
            "context window {} tokens, prompt about {} tokens",
            caps.context_window, shape.prompt_tokens
        ),
        Missing::MaxOutput => format!(
            "at most {} output tokens, max_tokens {}",
            caps.max_output,
            shape.max_tokens.unwrap_or_default()
        ),
        Missing::Vision => "no image input".into(),
        Missing::Tools => "no tool use".into(),
        Missing::JsonMode => "no JSON mode".into(),
        Missing::Reasoning => "no reasoning settings".into(),
    }
}

#[cfg(test)]
#[path = "capability_tests.rs"]
mod tests;
