//! W3C Trace Context (<https://www.w3.org/TR/trace-context/>): the `traceparent`
//! header, random ids, and the sampling decision.
//!
//! Sampling is parent-based: a valid `traceparent` from the client decides for its own
//! trace (its `sampled` flag), so a trace is either whole or absent; a new trace is
//! kept with the configured ratio, decided from the trace id as OpenTelemetry's
//! `TraceIdRatioBased` sampler does, so every hop that uses the same rule agrees.

use std::fmt::Write as _;

pub type TraceId = [u8; 16];
pub type SpanId = [u8; 8];

/// The trace this request belongs to, and the span it continues (if any).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: TraceId,
    /// The client's span, parent of the request span; `None` for a new trace.
    pub parent: Option<SpanId>,
    pub sampled: bool,
}

impl TraceContext {
    /// The client's context when `traceparent` is valid; otherwise a new trace
    /// sampled with `ratio`.
    pub fn continue_or_start(traceparent: Option<&str>, ratio: f64) -> TraceContext {
        if let Some(parent) = traceparent.and_then(parse_traceparent) {
            return parent;
        }
        let trace_id = new_trace_id();
        TraceContext {
            trace_id,
            parent: None,
            sampled: ratio_keeps(&trace_id, ratio),
        }
    }

    /// The trace id as 32 lower-case hex digits.
    pub fn trace_id_hex(&self) -> String {
        hex::encode(self.trace_id)
    }

    /// The `traceparent` header naming `span` (ours) as the parent of the next hop.
    pub fn traceparent(&self, span: &SpanId) -> String {
        let mut out = String::with_capacity(55);
        out.push_str("00-");
        out.push_str(&hex::encode(self.trace_id));
        out.push('-');
        out.push_str(&hex::encode(span));
        let _ = write!(out, "-{:02x}", u8::from(self.sampled));
        out
    }
}

/// `version-traceid-parentid-flags`; `None` when malformed, an all-zero id, or the
/// forbidden version `ff`. A future version is read by its first four fields, as the
/// specification asks.
pub fn parse_traceparent(value: &str) -> Option<TraceContext> {
    let value = value.trim();
    let mut parts = value.split('-');
    let version = parts.next()?;
    let (trace, span, flags) = (parts.next()?, parts.next()?, parts.next()?);
    let rest = parts.next();
    if version.len() != 2 || version.eq_ignore_ascii_case("ff") {
        return None;
    }
    let version = u8::from_str_radix(version, 16).ok()?;
    if version == 0 && rest.is_some() {
        return None;
    }
    let trace_id: TraceId = lower_hex(trace)?;
    let span_id: SpanId = lower_hex(span)?;
    let flags: [u8; 1] = lower_hex(flags)?;
    if trace_id == [0; 16] || span_id == [0; 8] {
        return None;
    }
    Some(TraceContext {
        trace_id,
        parent: Some(span_id),
        sampled: flags[0] & 1 == 1,
    })
}

/// Fixed-length lower-case hex (the specification forbids upper case).
fn lower_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != N * 2 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

/// Whether a new trace is kept: its last 8 bytes, read as a number below 2^63,
/// fall under `ratio` × 2^63.
fn ratio_keeps(trace_id: &TraceId, ratio: f64) -> bool {
    if ratio >= 1.0 {
        return true;
    }
    if ratio <= 0.0 {
        return false;
    }
    let mut low = [0u8; 8];
    low.copy_from_slice(&trace_id[8..]);
    let value = u64::from_be_bytes(low) >> 1;
    (value as f64) < ratio * (1u64 << 63) as f64
}

pub fn new_trace_id() -> TraceId {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&nonzero_random().to_be_bytes());
    id[8..].copy_from_slice(&crate::routing::cursor::random_u64().to_be_bytes());
    id
}

pub fn new_span_id() -> SpanId {
    nonzero_random().to_be_bytes()
}

/// Ids must not be all zero (the specification's "invalid").
fn nonzero_random() -> u64 {
    loop {
        let r = crate::routing::cursor::random_u64();
        if r != 0 {
            return r;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn the_specifications_example_round_trips() {
        let ctx = parse_traceparent(EXAMPLE).unwrap();
        assert_eq!(ctx.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(
            ctx.parent,
            Some([0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7])
        );
        assert!(ctx.sampled);
        let span = [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7];
        assert_eq!(ctx.traceparent(&span), EXAMPLE);
    }

    #[test]
    fn malformed_headers_start_a_new_trace() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
        ] {
            assert!(parse_traceparent(bad).is_none(), "{bad}");
        }
        // A later version may append fields.
        assert!(parse_traceparent(
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-ever"
        )
        .is_some());
    }

    #[test]
    fn the_parent_decides_and_new_traces_follow_the_ratio() {
        let unsampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
        assert!(!TraceContext::continue_or_start(Some(unsampled), 1.0).sampled);
        assert!(TraceContext::continue_or_start(Some(EXAMPLE), 0.0).sampled);
        assert!(!TraceContext::continue_or_start(None, 0.0).sampled);
        assert!(TraceContext::continue_or_start(None, 1.0).sampled);
        let kept = (0..4000)
            .filter(|_| TraceContext::continue_or_start(None, 0.25).sampled)
            .count();
        assert!((700..1300).contains(&kept), "{kept} of 4000 at 0.25");
        let fresh = TraceContext::continue_or_start(Some("junk"), 1.0);
        assert!(fresh.parent.is_none() && fresh.trace_id != [0; 16]);
    }
}
