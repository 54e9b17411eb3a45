//! One JSON access-log line per request on stdout: ids, route, outcome and timings,
//! and who asked and what it cost (`access_fields`). Never a credential, a prompt or
//! a completion.

use std::cell::RefCell;
use std::fmt::Write as _;

use super::ctx::Ctx;

thread_local! {
    // One line buffer per worker thread: no allocation per request once warm.
    static LINE: RefCell<String> = RefCell::new(String::with_capacity(512));
}

/// Queue the access-log line of this request (see `log_sink`: batched writes).
pub fn write(ctx: &Ctx, method: &str, path: &str, client: &str) {
    LINE.with(|line| {
        let mut line = line.borrow_mut();
        line.clear();
        format_line(&mut line, ctx, method, path, client);
        super::log_sink::push(line.as_bytes());
    });
}

fn format_line(out: &mut String, ctx: &Ctx, method: &str, path: &str, client: &str) {
    let (provider, endpoint, upstream_model) = match &ctx.attempt {
        Some(a) => (
            a.provider.name.as_str(),
            a.provider
                .endpoints
                .get(a.endpoint_index)
                .map_or("", |e| e.url.as_str()),
            a.upstream_model.as_str(),
        ),
        None => ("", "", ""),
    };
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    out.push('{');
    out.push_str("\"ts\":\"");
    timestamp(out);
    out.push_str("\",");
    field_str(out, "request_id", &ctx.req.id);
    field_str(out, "client", client);
    field_str(out, "method", method);
    field_str(out, "path", path);
    field_str(out, "model", ctx.model_name());
    field_str(out, "upstream_model", upstream_model);
    field_str(out, "provider", provider);
    field_str(out, "endpoint", endpoint);
    field_raw(out, "status", ctx.resp.status);
    match ctx.resp.upstream_status {
        Some(s) => field_raw(out, "upstream_status", s),
        None => field_raw(out, "upstream_status", "null"),
    }
    field_raw(out, "attempts", ctx.route.cursor.attempts());
    match &ctx.route.explained {
        Some(text) => field_str(out, "route_reason", text),
        None => {
            if let Some(text) = ctx.route_explanation() {
                field_str(out, "route_reason", &text);
            }
        }
    }
    field_raw(out, "stream", ctx.stream_requested());
    if let Some(cache) = crate::cache::response_header(ctx) {
        field_str(out, "cache", cache);
    }
    field_raw(
        out,
        "latency_ms",
        format_args!("{:.3}", ms(ctx.req.started.elapsed())),
    );
    match ctx.resp.first_byte_at {
        Some(t) => field_raw(
            out,
            "ttfb_ms",
            format_args!("{:.3}", ms(t.duration_since(ctx.req.started))),
        ),
        None => field_raw(out, "ttfb_ms", "null"),
    }
    field_raw(out, "input_tokens", ctx.resp.usage.input_tokens);
    field_raw(out, "output_tokens", ctx.resp.usage.output_tokens);
    match &ctx.resp.error {
        Some(e) => field_str(out, "error", e.metric_label()),
        None => field_raw(out, "error", "null"),
    }
    super::access_fields::write_identity_and_cost(out, ctx);
    if out.ends_with(',') {
        out.pop();
    }
    out.push_str("}\n");
}

pub(super) fn field_raw(out: &mut String, name: &str, value: impl std::fmt::Display) {
    field_name(out, name);
    let _ = write!(out, "{value},");
}

pub(super) fn field_str(out: &mut String, name: &str, value: &str) {
    field_name(out, name);
    out.push('"');
    escape_into(out, value);
    out.push_str("\",");
}

/// `"name":` (names are the log's own constants: nothing to escape). Plain pushes:
/// the formatting machinery cost more than the copy on every field of every line.
fn field_name(out: &mut String, name: &str) {
    out.push('"');
    out.push_str(name);
    out.push_str("\":");
}

/// JSON string escaping (quotes, backslashes, control characters). Values are
/// nearly always clean: those are copied in one piece.
fn escape_into(out: &mut String, s: &str) {
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// RFC 3339 UTC timestamp with milliseconds, without a date crate, written in place.
fn timestamp(out: &mut String) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        now.subsec_millis()
    );
}

/// Days since 1970-01-01 → (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_is_valid_json_with_hostile_strings() {
        let mut ctx = Ctx::new();
        ctx.req.id = "id-1".into();
        ctx.resp.status = 200;
        let mut line = String::new();
        format_line(&mut line, &ctx, "POST", "/v1/\"x\\y\n\u{1}", "1.2.3.4:5");
        assert!(line.ends_with('\n'));
        let v: serde_json::Value = serde_json::from_str(line.trim_end()).expect("valid JSON");
        assert_eq!(v["path"], "/v1/\"x\\y\n\u{1}");
        assert_eq!(v["status"], 200);
        assert_eq!(v["request_id"], "id-1");
        let ts = v["ts"].as_str().expect("ts");
        assert_eq!((ts.len(), &ts[10..11], &ts[23..]), (24, "T", "Z"), "{ts}");
        assert!(v["upstream_status"].is_null() && v["ttfb_ms"].is_null());
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_781), (2026, 11, 24));
    }
}
