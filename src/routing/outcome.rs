//! What an attempt's result means for passive health: which breaker it counts
//! against (the endpoint, or the (endpoint, model) pair) and for how long the
//! upstream asked to be left alone.

use std::time::Duration;

use crate::config::ErrorClass;

/// An attempt's result, as passive health sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// The endpoint answered (2xx, or a client error that is no fault of its own).
    Success { latency: Duration },
    /// A fault of the endpoint: connect, TLS, reset, timeout, 5xx.
    EndpointFault(ErrorClass),
    /// A fault of one model on the endpoint: rate limit or overload, with the time
    /// the upstream asked to wait when it said.
    ModelFault {
        class: ErrorClass,
        hold_off: Option<Duration>,
    },
    /// Nothing to learn (a stale pooled connection, a client that went away).
    Neutral,
}

/// The failure class of an upstream status, if retry policies know it.
pub fn class_of_status(status: u16) -> Option<ErrorClass> {
    match status {
        429 => Some(ErrorClass::RateLimit),
        529 => Some(ErrorClass::Overloaded),
        500 | 502 | 503 => Some(ErrorClass::ServerError),
        408 | 504 => Some(ErrorClass::Timeout),
        _ => None,
    }
}

/// The health outcome of an upstream answer with `status`.
pub fn of_status(status: u16, latency: Duration, hold_off: Option<Duration>) -> Outcome {
    match class_of_status(status) {
        Some(class @ (ErrorClass::RateLimit | ErrorClass::Overloaded)) => {
            Outcome::ModelFault { class, hold_off }
        }
        Some(class) => Outcome::EndpointFault(class),
        // 2xx, and 4xx client errors: the endpoint works.
        None => Outcome::Success { latency },
    }
}

/// How long an upstream asked to wait, from its headers: `retry-after-ms`,
/// `retry-after` (seconds), else OpenAI's `x-ratelimit-reset-{requests,tokens}` for
/// the limit whose `x-ratelimit-remaining-*` is 0. `header` looks a header up by
/// lower-case name. Capped at one hour.
pub fn hold_off(header: impl Fn(&str) -> Option<String>) -> Option<Duration> {
    let secs = |name: &str| header(name).and_then(|v| v.trim().parse::<f64>().ok());
    let from_secs = |s: f64| Duration::from_secs_f64(s.clamp(0.0, 3600.0));
    if let Some(ms) = secs("retry-after-ms") {
        return Some(from_secs(ms / 1000.0));
    }
    if let Some(s) = secs("retry-after") {
        return Some(from_secs(s));
    }
    let limits = [
        (
            "x-ratelimit-remaining-requests",
            "x-ratelimit-reset-requests",
        ),
        ("x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"),
    ];
    limits
        .into_iter()
        .filter(|(remaining, _)| header(remaining).is_some_and(|v| v.trim() == "0"))
        .filter_map(|(_, reset)| header(reset).and_then(|v| parse_go_duration(&v)))
        .max()
        .map(|d| d.min(Duration::from_secs(3600)))
}

/// OpenAI's reset durations: `20ms`, `1s`, `6m0s`, `1h2m3.5s`.
pub fn parse_go_duration(text: &str) -> Option<Duration> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0f64;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, scale) = if rest.starts_with("ms") {
            ("ms", 0.001)
        } else if rest.starts_with('h') {
            ("h", 3600.0)
        } else if rest.starts_with('m') {
            ("m", 60.0)
        } else if rest.starts_with('s') {
            ("s", 1.0)
        } else {
            return None;
        };
        total += value * scale;
        rest = &rest[unit.len()..];
    }
    (total.is_finite() && total >= 0.0).then(|| Duration::from_secs_f64(total.min(86_400.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn faults_go_where_they_are() {
        let l = Duration::from_millis(5);
        assert_eq!(
            of_status(429, l, None),
            Outcome::ModelFault {
                class: ErrorClass::RateLimit,
                hold_off: None
            }
        );
        assert!(matches!(
            of_status(529, l, None),
            Outcome::ModelFault {
                class: ErrorClass::Overloaded,
                ..
            }
        ));
        assert_eq!(
            of_status(503, l, None),
            Outcome::EndpointFault(ErrorClass::ServerError)
        );
        assert_eq!(
            of_status(408, l, None),
            Outcome::EndpointFault(ErrorClass::Timeout)
        );
        for client_error in [400, 401, 403, 404, 413, 422] {
            assert_eq!(
                of_status(client_error, l, None),
                Outcome::Success { latency: l }
            );
        }
    }

    #[test]
    fn hold_off_from_headers() {
        assert_eq!(
            hold_off(headers(&[("retry-after-ms", "250"), ("retry-after", "9")])),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            hold_off(headers(&[("retry-after", "2")])),
            Some(Duration::from_secs(2))
        );
        let openai = [
            ("x-ratelimit-remaining-requests", "0"),
            ("x-ratelimit-reset-requests", "1.5s"),
            ("x-ratelimit-remaining-tokens", "5000"),
            ("x-ratelimit-reset-tokens", "6m0s"),
        ];
        assert_eq!(
            hold_off(headers(&openai)),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            hold_off(headers(&[("x-ratelimit-reset-tokens", "1s")])),
            None
        );
        assert_eq!(hold_off(headers(&[("retry-after", "soon")])), None);
        assert_eq!(
            hold_off(headers(&[("retry-after", "99999")])),
            Some(Duration::from_secs(3600))
        );
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("20ms"), Some(Duration::from_millis(20)));
        assert_eq!(parse_go_duration("6m0s"), Some(Duration::from_secs(360)));
        assert_eq!(
            parse_go_duration("1h2m3.5s"),
            Some(Duration::from_millis(3_723_500))
        );
        for bad in ["", "5", "1x", "s", "1.2.3s"] {
            assert_eq!(parse_go_duration(bad), None, "{bad}");
        }
    }
}
