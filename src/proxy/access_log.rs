//! One JSON access-log line per request on stdout: ids, route, outcome and timings,
//! and who asked and what it cost (`access_fields`). Never a credential, a prompt or
//! a completion.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::time::Instant;

use pingora::protocols::l4::socket::SocketAddr;

use super::ctx::Ctx;

thread_local! {
    // One line buffer per worker thread: no allocation per request once warm.
    static LINE: RefCell<String> = RefCell::new(String::with_capacity(512));
    // The second the thread last wrote a timestamp for, and its text (`timestamp`).
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// Queue the access-log line of this request (see `log_sink`: batched writes); `now`
/// ends its latency.
pub fn write(ctx: &Ctx, method: &str, path: &str, client: Option<&SocketAddr>, now: Instant) {
    LINE.with(|line| {
        let mut line = line.borrow_mut();
        line.clear();
        format_line(&mut line, ctx, method, path, client, now);
        super::log_sink::push(line.as_bytes());
    });
}

fn format_line(
    out: &mut String,
    ctx: &Ctx,
    method: &str,
    path: &str,
    client: Option<&SocketAddr>,
    now: Instant,
) {
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
    out.push('{');
    out.push_str("\"ts\":\"");
    timestamp(out);
    out.push_str("\",");
    field_str(out, "request_id", ctx.req.id.as_str());
    field_client(out, client);
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
        Some(value) => field_str(out, "route_reason", value.to_str().unwrap_or("")),
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
        Millis(now.duration_since(ctx.req.started)),
    );
    match ctx.resp.first_byte_at {
        Some(t) => field_raw(out, "ttfb_ms", Millis(t.duration_since(ctx.req.started))),
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

// The field writers are inlined into each call, where the field's name is a literal:
// its copies then have a known length and compile to a few stores instead of a call
// to `memcpy` each (~950 instructions a line, measured with callgrind).
#[inline(always)]
pub(super) fn field_raw(out: &mut String, name: &str, value: impl RawValue) {
    field_name(out, name);
    value.push_to(out);
    out.push(',');
}

/// A JSON value written as it is (numbers, booleans, `null`), by hand: the
/// formatting machinery cost more than the rest of a line's fields together.
pub(super) trait RawValue {
    fn push_to(self, out: &mut String);
}

impl RawValue for &str {
    fn push_to(self, out: &mut String) {
        out.push_str(self);
    }
}

impl RawValue for bool {
    fn push_to(self, out: &mut String) {
        out.push_str(if self { "true" } else { "false" });
    }
}

impl RawValue for u64 {
    fn push_to(self, out: &mut String) {
        push_u64(out, self);
    }
}

impl RawValue for u16 {
    fn push_to(self, out: &mut String) {
        push_u64(out, self.into());
    }
}

impl RawValue for u32 {
    fn push_to(self, out: &mut String) {
        push_u64(out, self.into());
    }
}

impl RawValue for usize {
    fn push_to(self, out: &mut String) {
        push_u64(out, self as u64);
    }
}

/// A duration in milliseconds with three decimals (`12.345`).
pub(super) struct Millis(pub std::time::Duration);

impl RawValue for Millis {
    fn push_to(self, out: &mut String) {
        let micros = u64::try_from(self.0.as_micros()).unwrap_or(u64::MAX);
        push_u64(out, micros / 1000);
        out.push('.');
        push_padded(out, micros % 1000, 3);
    }
}

/// US dollars with eight decimals (`0.00001234`), rounded to the nearest.
pub(super) struct Usd(pub f64);

impl RawValue for Usd {
    fn push_to(self, out: &mut String) {
        const SCALE: f64 = 1e8;
        if !(self.0.is_finite() && self.0 >= 0.0 && self.0 < u64::MAX as f64 / SCALE) {
            let _ = write!(out, "{:.8}", self.0);
            return;
        }
        let units = (self.0 * SCALE).round() as u64;
        push_u64(out, units / SCALE as u64);
        out.push('.');
        push_padded(out, units % SCALE as u64, 8);
    }
}

/// Decimal digits of `n`.
fn push_u64(out: &mut String, n: u64) {
    out.push_str(itoa::Buffer::new().format(n));
}

/// `"client":"ip:port",`. An IPv4 peer, nearly every one, is written digit by
/// digit: `to_string` through the formatter cost 1,700 instructions a line.
fn field_client(out: &mut String, client: Option<&SocketAddr>) {
    field_name(out, "client");
    out.push('"');
    match client {
        Some(SocketAddr::Inet(std::net::SocketAddr::V4(a))) => {
            for (i, octet) in a.ip().octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                push_u64(out, u64::from(octet));
            }
            out.push(':');
            push_u64(out, u64::from(a.port()));
        }
        Some(other) => escape_into(out, &other.to_string()),
        None => {}
    }
    out.push_str("\",");
}

/// `n` in `width` digits, zero-padded (`n` < 10^width).
fn push_padded(out: &mut String, n: u64, width: u32) {
    let mut bound = 10u64.pow(width.saturating_sub(1));
    while bound > 1 && n < bound {
        out.push('0');
        bound /= 10;
    }
    push_u64(out, n);
}

#[inline(always)]
pub(super) fn field_str(out: &mut String, name: &str, value: &str) {
    field_name(out, name);
    out.push('"');
    escape_into(out, value);
    out.push_str("\",");
}

/// `"name":` (names are the log's own constants: nothing to escape). Plain pushes:
/// the formatting machinery cost more than the copy on every field of every line.
#[inline(always)]
fn field_name(out: &mut String, name: &str) {
    out.push('"');
    out.push_str(name);
    out.push_str("\":");
}

/// JSON string escaping (quotes, backslashes, control characters). Values are
/// nearly always clean: those are copied in one piece.
fn escape_into(out: &mut String, s: &str) {
    if !needs_escape(s.as_bytes()) {
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

/// Whether `b` holds a quote, a backslash or a control character: the JSON
/// scanner's eight-bytes-at-a-time search (a byte at a time cost ~5 instructions per
/// byte of every value).
fn needs_escape(b: &[u8]) -> bool {
    crate::json::scan::skip_plain(b, 0) < b.len()
}

/// RFC 3339 UTC timestamp with milliseconds, without a date crate, written in place.
/// The date and time of day change once a second, so each thread keeps the text of
/// its last second and only the milliseconds are written per line.
fn timestamp(out: &mut String) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    SECOND.with(|cached| {
        let mut cached = cached.borrow_mut();
        let (second, text) = &mut *cached;
        if *second != now.as_secs() {
            *second = now.as_secs();
            text.clear();
            second_text(text, now.as_secs());
        }
        out.push_str(text);
    });
    push_padded(out, now.subsec_millis().into(), 3);
    out.push('Z');
}

/// `YYYY-MM-DDTHH:MM:SS.` of a second since the epoch.
fn second_text(out: &mut String, secs: u64) {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    push_padded(out, y.max(0) as u64, 4);
    for (sep, n) in [('-', m as u64), ('-', d as u64), ('T', rem / 3600)] {
        out.push(sep);
        push_padded(out, n, 2);
    }
    for (sep, n) in [(':', (rem % 3600) / 60), (':', rem % 60)] {
        out.push(sep);
        push_padded(out, n, 2);
    }
    out.push('.');
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
        let client = SocketAddr::Inet("1.2.3.4:5".parse().unwrap());
        format_line(
            &mut line,
            &ctx,
            "POST",
            "/v1/\"x\\y\n\u{1}",
            Some(&client),
            Instant::now(),
        );
        assert!(line.ends_with('\n'));
        let v: serde_json::Value = serde_json::from_str(line.trim_end()).expect("valid JSON");
        assert_eq!(v["path"], "/v1/\"x\\y\n\u{1}");
        assert_eq!(v["status"], 200);
        assert_eq!(v["request_id"], "id-1");
        assert_eq!(v["client"], "1.2.3.4:5");
        let ts = v["ts"].as_str().expect("ts");
        assert_eq!((ts.len(), &ts[10..11], &ts[23..]), (24, "T", "Z"), "{ts}");
        assert!(v["upstream_status"].is_null() && v["ttfb_ms"].is_null());
    }

    #[test]
    fn client_addresses_are_written_as_displayed() {
        let client = |addr: Option<SocketAddr>| {
            let mut out = String::new();
            field_client(&mut out, addr.as_ref());
            out
        };
        for text in ["255.0.10.1:65535", "0.0.0.0:0", "[::1]:8080", "[fe80::1]:1"] {
            let addr = SocketAddr::Inet(text.parse().unwrap());
            assert_eq!(
                client(Some(addr.clone())),
                format!("\"client\":\"{addr}\",")
            );
        }
        assert_eq!(client(None), "\"client\":\"\",");
    }

    #[test]
    fn seconds_are_written_as_dates() {
        let text = |secs| {
            let mut out = String::new();
            second_text(&mut out, secs);
            out
        };
        assert_eq!(text(0), "1970-01-01T00:00:00.");
        assert_eq!(text(951_782_399), "2000-02-28T23:59:59.");
        assert_eq!(text(1_796_511_845), "2026-12-05T23:04:05.");
    }

    #[test]
    fn timestamps_are_rfc_3339_with_milliseconds_and_follow_the_clock() {
        let stamp = || {
            let mut out = String::new();
            timestamp(&mut out);
            out
        };
        let before = std::time::SystemTime::now();
        let first = stamp();
        assert_eq!(first.len(), "2026-12-05T23:04:05.123Z".len(), "{first}");
        let secs = before
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut expected = String::new();
        second_text(&mut expected, secs);
        let mut next = String::new();
        second_text(&mut next, secs + 1);
        assert!(
            first.starts_with(&expected) || first.starts_with(&next),
            "{first}"
        );
        // Past the cached second, the text moves on.
        std::thread::sleep(std::time::Duration::from_millis(1_100));
        assert!(!stamp().starts_with(&expected));
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_781), (2026, 11, 24));
    }

    #[test]
    fn numbers_are_written_as_the_formatter_would() {
        use std::time::Duration;
        let raw = |v: &dyn Fn(&mut String)| {
            let mut out = String::new();
            v(&mut out);
            out
        };
        for n in [0u64, 7, 10, 999, 1_000_000, u64::MAX] {
            assert_eq!(raw(&|o| n.push_to(o)), n.to_string());
        }
        for micros in [0u64, 5, 1_234, 12_345_678] {
            let d = Duration::from_micros(micros);
            let want = format!("{:.3}", d.as_secs_f64() * 1000.0);
            assert_eq!(raw(&|o| Millis(d).push_to(o)), want);
        }
        for usd in [0.0, 0.000_012_34, 0.5, 12.345_678_91, 1e-9] {
            assert_eq!(raw(&|o| Usd(usd).push_to(o)), format!("{usd:.8}"));
        }
        assert_eq!(raw(&|o| Usd(f64::NAN).push_to(o)), "NaN");
    }

    #[test]
    fn escaping_is_needed_exactly_where_a_byte_needs_it() {
        let naive = |b: &[u8]| b.iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\');
        let bases = [
            "",
            "a",
            "model-name",
            "ünïcödé-名前-🙂-text",
            "0123456789abcdefghij",
        ];
        let specials = [0u8, 0x1f, b'"', b'\\', 0x20, b'!', b'#', b'[', b']', 0x7f];
        for base in bases {
            assert!(!needs_escape(base.as_bytes()), "{base:?}");
            for len in 0..=base.len() {
                for at in 0..=len {
                    for &c in &specials {
                        let mut b = base.as_bytes()[..len].to_vec();
                        b.insert(at, c);
                        assert_eq!(needs_escape(&b), naive(&b), "{b:?}");
                    }
                }
            }
        }
        let mut out = String::new();
        escape_into(&mut out, "a\"b\\c\u{1}ü");
        assert_eq!(out, "a\\\"b\\\\c\\u0001ü");
    }
}
