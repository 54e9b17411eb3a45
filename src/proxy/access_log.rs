//! One JSON access-log line per request on stdout: ids, route, outcome and timings.
//! Never a credential, a prompt or a completion.

use std::io::Write;

use serde_json::json;

use super::ctx::Ctx;

pub fn write(ctx: &Ctx, method: &str, path: &str, client: &str) {
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
    let line = json!({
        "ts": timestamp(),
        "request_id": ctx.request_id,
        "client": client,
        "method": method,
        "path": path,
        "model": ctx.model_name(),
        "upstream_model": upstream_model,
        "provider": provider,
        "endpoint": endpoint,
        "status": ctx.status,
        "upstream_status": ctx.upstream_status,
        "attempts": ctx.attempts,
        "stream": ctx.stream_requested(),
        "latency_ms": ctx.started.elapsed().as_secs_f64() * 1000.0,
        "ttfb_ms": ctx.first_byte_at.map(|t| t.duration_since(ctx.started).as_secs_f64() * 1000.0),
        "input_tokens": ctx.usage.input_tokens,
        "output_tokens": ctx.usage.output_tokens,
        "error": ctx.error.as_ref().map(|e| e.metric_label()),
    });
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
}

/// RFC 3339 UTC timestamp with milliseconds, without a date crate.
fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        now.subsec_millis()
    )
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
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_781), (2026, 11, 24));
    }
}
