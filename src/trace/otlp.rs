//! The OTLP/HTTP protobuf body of a trace export: `ExportTraceServiceRequest` with
//! one `ResourceSpans` (our `service.name`) holding one `ScopeSpans` (`tollgate`).
//!
//! Hand-written: five messages of `opentelemetry/proto/trace/v1/trace.proto` and
//! `common/v1/common.proto`, field numbers as in those files. Nested messages are
//! length-delimited, so each is written into a scratch buffer first and copied in
//! behind its length; a batch is a few hundred spans, written once per flush.

use super::span::{AttrValue, SpanRecord};

const WIRE_VARINT: u8 = 0;
const WIRE_FIXED64: u8 = 1;
const WIRE_LEN: u8 = 2;

/// The body of `POST /v1/traces` (`Content-Type: application/x-protobuf`).
pub fn encode_export(service_name: &str, spans: &[SpanRecord]) -> Vec<u8> {
    let mut resource_msg = Vec::new();
    key_value(
        &mut resource_msg,
        "service.name",
        &AttrValue::from(service_name),
    );

    let mut scope = Vec::new();
    string_field(&mut scope, 1, "tollgate"); // InstrumentationScope.name
    string_field(&mut scope, 2, env!("CARGO_PKG_VERSION")); // .version
    let mut scope_spans = Vec::new();
    message_field(&mut scope_spans, 1, &scope); // ScopeSpans.scope
    let mut scratch = Vec::new();
    for span in spans {
        scratch.clear();
        encode_span(&mut scratch, span);
        message_field(&mut scope_spans, 2, &scratch); // ScopeSpans.spans
    }

    let mut resource_spans = Vec::new();
    message_field(&mut resource_spans, 1, &resource_msg); // ResourceSpans.resource
    message_field(&mut resource_spans, 2, &scope_spans); // ResourceSpans.scope_spans
    let mut out = Vec::with_capacity(resource_spans.len() + 8);
    message_field(&mut out, 1, &resource_spans); // ExportTraceServiceRequest.resource_spans
    out
}

fn encode_span(out: &mut Vec<u8>, s: &SpanRecord) {
    bytes_field(out, 1, &s.trace_id);
    bytes_field(out, 2, &s.span_id);
    if let Some(parent) = &s.parent {
        bytes_field(out, 4, parent);
    }
    string_field(out, 5, &s.name);
    varint_field(out, 6, s.kind as u64);
    fixed64_field(out, 7, s.start_unix_nanos);
    fixed64_field(out, 8, s.end_unix_nanos);
    let mut kv = Vec::new();
    for (key, value) in &s.attributes {
        kv.clear();
        key_value_body(&mut kv, key, value);
        message_field(out, 9, &kv);
    }
    let mut status = Vec::new();
    if s.status as u64 != 0 {
        varint_field(&mut status, 3, s.status as u64); // Status.code
    }
    message_field(out, 15, &status);
}

/// A `KeyValue` as a repeated field 1 of `out` (Resource.attributes).
fn key_value(out: &mut Vec<u8>, key: &str, value: &AttrValue) {
    let mut kv = Vec::new();
    key_value_body(&mut kv, key, value);
    message_field(out, 1, &kv);
}

fn key_value_body(out: &mut Vec<u8>, key: &str, value: &AttrValue) {
    string_field(out, 1, key);
    let mut any = Vec::new();
    any_value(&mut any, value);
    message_field(out, 2, &any);
}

/// `AnyValue`: string = 1, bool = 2, int = 3, array = 5.
fn any_value(out: &mut Vec<u8>, value: &AttrValue) {
    match value {
        AttrValue::Str(s) => string_field(out, 1, s),
        AttrValue::Bool(b) => varint_field(out, 2, u64::from(*b)),
        AttrValue::Int(n) => varint_field(out, 3, *n as u64),
        AttrValue::StrArray(items) => {
            let mut array = Vec::new();
            let mut item = Vec::new();
            for s in items {
                item.clear();
                string_field(&mut item, 1, s);
                message_field(&mut array, 1, &item); // ArrayValue.values
            }
            message_field(out, 5, &array);
        }
    }
}

fn tag(out: &mut Vec<u8>, field: u32, wire: u8) {
    varint(out, (u64::from(field) << 3) | u64::from(wire));
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn varint_field(out: &mut Vec<u8>, field: u32, v: u64) {
    tag(out, field, WIRE_VARINT);
    varint(out, v);
}

fn fixed64_field(out: &mut Vec<u8>, field: u32, v: u64) {
    tag(out, field, WIRE_FIXED64);
    out.extend_from_slice(&v.to_le_bytes());
}

fn bytes_field(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    tag(out, field, WIRE_LEN);
    varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn string_field(out: &mut Vec<u8>, field: u32, s: &str) {
    bytes_field(out, field, s.as_bytes());
}

fn message_field(out: &mut Vec<u8>, field: u32, body: &[u8]) {
    bytes_field(out, field, body);
}

#[cfg(test)]
#[path = "otlp_tests.rs"]
mod tests;
