//! Spend accounting and budgets.
//!
//! Spend is counted per key, per team and per upstream model, in three counters each:
//! the current UTC day, the current UTC month and all time. Counters hold integer
//! nano-dollars (exact sums, Redis `INCRBY`) and their keys carry the period
//! (`spend:key:alice:d:20250314`), so a new day simply starts a new counter; old ones
//! expire. With the Redis store spend survives restarts and is shared by replicas.
//!
//! A budget (`daily_usd`, `monthly_usd` on a key or a team) is checked at admission:
//! a request is refused with `BudgetExceeded` (429, `insufficient_quota`) once the
//! period's spend has reached the budget, with `retry-after` at the period's end.
//! Requests already admitted may still finish, so spend can overshoot a budget by what
//! the requests in flight at that moment cost (the same trade-off LiteLLM makes;
//! reserving worst-case cost up front would refuse legitimate requests).

use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::keys::KeyInfo;
use super::limits::Scope;
use super::store::{BudgetOp, CounterOp};
use crate::config::governance::BudgetConfig;
use crate::error::{ErrorKind, GatewayError};

const NANOS_PER_USD: f64 = 1e9;
const DAY_TTL: Duration = Duration::from_secs(8 * 86_400);
const MONTH_TTL: Duration = Duration::from_secs(63 * 86_400);

/// Budget period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Daily,
    Monthly,
}

impl Period {
    /// The config and metric-label spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Daily => "daily",
            Period::Monthly => "monthly",
        }
    }
}

/// The current UTC day and month, as used in counter keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    /// Days since 1970-01-01.
    pub day_no: u64,
    /// `YYYYMMDD`
    pub day: String,
    /// `YYYYMM`
    pub month: String,
    /// Day number of the first day of the next month.
    next_month_day_no: u64,
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

thread_local! {
    /// Today's calendar, built once per day by each thread: one shared by all would
    /// have its reference count written by every thread on every request.
    static TODAY: RefCell<Option<Arc<Calendar>>> = const { RefCell::new(None) };
}

/// Days since 1970-01-01 → (year, month 1..=12, day 1..=31); Howard Hinnant's
/// `civil_from_days`, exact for the proleptic Gregorian calendar.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

impl Calendar {
    /// The calendar of the UTC day containing `unix_secs`.
    pub fn at(unix_secs: u64) -> Calendar {
        let day_no = unix_secs / 86_400;
        let (y, m, d) = civil_from_days(day_no as i64);
        let days_left = u64::from(days_in_month(y, m) - d);
        Calendar {
            day_no,
            day: format!("{y:04}{m:02}{d:02}"),
            month: format!("{y:04}{m:02}"),
            next_month_day_no: day_no + days_left + 1,
        }
    }

    /// Today's calendar (cached until the day changes).
    pub fn now() -> Arc<Calendar> {
        let today = unix_now() / 86_400;
        TODAY.with_borrow_mut(|cached| match cached {
            Some(c) if c.day_no == today => c.clone(),
            _ => cached
                .insert(Arc::new(Calendar::at(today * 86_400)))
                .clone(),
        })
    }

    /// Time from `unix_secs` to the end of this day.
    pub fn until_day_end(&self, unix_secs: u64) -> Duration {
        Duration::from_secs(((self.day_no + 1) * 86_400).saturating_sub(unix_secs))
    }

    /// Time from `unix_secs` to the end of this month.
    pub fn until_month_end(&self, unix_secs: u64) -> Duration {
        Duration::from_secs((self.next_month_day_no * 86_400).saturating_sub(unix_secs))
    }
}

/// USD → nano-dollars (rounded to nearest, saturating).
pub fn usd_to_nanos(usd: f64) -> i64 {
    (usd * NANOS_PER_USD).round() as i64
}

/// Nano-dollars → USD.
pub fn nanos_to_usd(nanos: i64) -> f64 {
    nanos as f64 / NANOS_PER_USD
}

/// Counter key of spend: `spend:<scope>:<name>:<d:YYYYMMDD|m:YYYYMM|total>`.
pub fn spend_key(scope: &str, name: &str, period: &str) -> String {
    format!("spend:{scope}:{name}:{period}")
}

/// A budget that applies to a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Cap {
    pub scope: Scope,
    pub name: String,
    pub period: Period,
    pub usd: f64,
    pub key: Arc<str>,
}

impl Cap {
    /// The admission check of this cap.
    pub fn op(&self) -> BudgetOp<'_> {
        BudgetOp {
            key: &self.key,
            limit: usd_to_nanos(self.usd),
        }
    }

    /// The refusal a client sees at `unix_secs`, with `retry-after` at the end of the period.
    pub fn refusal(&self, spent_nanos: i64, cal: &Calendar, unix_secs: u64) -> GatewayError {
        let (word, after) = match self.period {
            Period::Daily => ("daily", cal.until_day_end(unix_secs)),
            Period::Monthly => ("monthly", cal.until_month_end(unix_secs)),
        };
        GatewayError::new(
            ErrorKind::BudgetExceeded,
            format!(
                "budget exceeded: {} `{}` spent ${:.2} of its {word} budget of ${:.2}",
                self.scope.as_str(),
                self.name,
                nanos_to_usd(spent_nanos),
                self.usd
            ),
        )
        .with_retry_after(after)
    }
}

fn caps_of(scope: Scope, name: &str, budget: &BudgetConfig, cal: &Calendar, out: &mut Vec<Cap>) {
    let scope_s = scope.as_str();
    for (period, usd, tag) in [
        (Period::Daily, budget.daily_usd, format!("d:{}", cal.day)),
        (
            Period::Monthly,
            budget.monthly_usd,
            format!("m:{}", cal.month),
        ),
    ] {
        if let Some(usd) = usd {
            let key = spend_key(scope_s, name, &tag).into();
            out.push(Cap {
                scope,
                name: name.to_string(),
                period,
                usd,
                key,
            });
        }
    }
}

/// Budgets that apply to `key` in the current periods.
pub fn caps(key: &KeyInfo, cal: &Calendar) -> Vec<Cap> {
    let mut out = Vec::new();
    caps_of(Scope::Key, &key.name, &key.budget, cal, &mut out);
    if let Some(team) = &key.team {
        caps_of(Scope::Team, &team.name, &team.budget, cal, &mut out);
    }
    out
}

/// Counter key of all-time usage: `usage:<scope>:<name>:<requests|tokens>`.
pub fn usage_key(scope: &str, name: &str, what: &str) -> String {
    format!("usage:{scope}:{name}:{what}")
}

/// The counter keys of one scope for one day: spend of the day, of the month and of
/// all time, then all-time requests and tokens. Built once per day per scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeKeys(pub [Arc<str>; 5]);

impl ScopeKeys {
    /// The keys of `scope`/`name` for the day of `cal`.
    pub fn new(scope: &str, name: &str, cal: &Calendar) -> ScopeKeys {
        ScopeKeys([
            spend_key(scope, name, &format!("d:{}", cal.day)).into(),
            spend_key(scope, name, &format!("m:{}", cal.month)).into(),
            spend_key(scope, name, "total").into(),
            usage_key(scope, name, "requests").into(),
            usage_key(scope, name, "tokens").into(),
        ])
    }

    /// The writes of one settled request.
    pub fn counters(&self, nanos: i64, tokens: u64) -> [CounterOp<'_>; 5] {
        let tokens = i64::try_from(tokens).unwrap_or(i64::MAX);
        let [d, m, total, requests, tok] = &self.0;
        [
            CounterOp {
                key: d,
                delta: nanos,
                ttl: Some(DAY_TTL),
            },
            CounterOp {
                key: m,
                delta: nanos,
                ttl: Some(MONTH_TTL),
            },
            CounterOp {
                key: total,
                delta: nanos,
                ttl: None,
            },
            CounterOp {
                key: requests,
                delta: 1,
                ttl: None,
            },
            CounterOp {
                key: tok,
                delta: tokens,
                ttl: None,
            },
        ]
    }
}

/// What one key needs per day: its budget caps and the counter keys of its scopes.
#[derive(Debug)]
pub struct DayKeys {
    pub day_no: u64,
    pub caps: Vec<Cap>,
    pub key: ScopeKeys,
    pub team: Option<ScopeKeys>,
}

impl DayKeys {
    /// The caps and keys of `key` (and its team) for the day of `cal`.
    pub fn new(key: &KeyInfo, cal: &Calendar) -> DayKeys {
        DayKeys {
            day_no: cal.day_no,
            caps: caps(key, cal),
            key: ScopeKeys::new("key", &key.name, cal),
            team: key
                .team
                .as_ref()
                .map(|t| ScopeKeys::new("team", &t.name, cal)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_match_known_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(20_088), (2024, 12, 31));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn calendar_keys_and_period_ends() {
        // 2024-02-29T23:00:00Z
        let t = 1_709_247_600;
        let c = Calendar::at(t);
        assert_eq!(c.day, "20240229");
        assert_eq!(c.month, "202402");
        assert_eq!(c.until_day_end(t), Duration::from_secs(3600));
        assert_eq!(c.until_month_end(t), Duration::from_secs(3600));
        // 2025-01-15T00:00:00Z: 17 days to February.
        let t = 1_736_899_200;
        let c = Calendar::at(t);
        assert_eq!(c.day, "20250115");
        assert_eq!(c.until_day_end(t), Duration::from_secs(86_400));
        assert_eq!(c.until_month_end(t), Duration::from_secs(17 * 86_400));
        // 2024-12-31T12:00:00Z rolls over into the next year.
        let t = 1_735_646_400;
        let c = Calendar::at(t);
        assert_eq!((c.day.as_str(), c.month.as_str()), ("20241231", "202412"));
        assert_eq!(c.until_month_end(t), Duration::from_secs(12 * 3600));
    }

    #[test]
    fn today_is_cached_and_scope_keys_follow_the_day() {
        let a = Calendar::now();
        assert!(Arc::ptr_eq(&a, &Calendar::now()) || a.day_no != Calendar::now().day_no);
        let keys = ScopeKeys::new("key", "alice", &Calendar::at(1_736_899_200));
        let w = keys.counters(7, 12);
        assert_eq!(&**w[0].key, "spend:key:alice:d:20250115");
        assert_eq!(&**w[1].key, "spend:key:alice:m:202501");
        assert_eq!((&**w[2].key, w[2].ttl), ("spend:key:alice:total", None));
        assert_eq!((&**w[3].key, w[3].delta), ("usage:key:alice:requests", 1));
        assert_eq!((&**w[4].key, w[4].delta), ("usage:key:alice:tokens", 12));
    }

    #[test]
    fn nanos_round_trip() {
        assert_eq!(usd_to_nanos(1.5), 1_500_000_000);
        assert_eq!(usd_to_nanos(0.000_000_000_4), 0);
        assert_eq!(usd_to_nanos(0.000_000_000_6), 1);
        assert!((nanos_to_usd(usd_to_nanos(12.345_678)) - 12.345_678).abs() < 1e-9);
    }

    #[test]
    fn refusal_names_scope_and_waits_for_period_end() {
        let now = 1_736_899_200 + 3600;
        let cal = Calendar::at(now);
        let cap = Cap {
            scope: Scope::Team,
            name: "ml".into(),
            period: Period::Daily,
            usd: 5.0,
            key: "k".into(),
        };
        let e = cap.refusal(usd_to_nanos(5.25), &cal, now);
        assert_eq!(e.kind, ErrorKind::BudgetExceeded);
        assert_eq!(e.status(), 429);
        assert!(
            e.message.contains("team `ml`") && e.message.contains("$5.25"),
            "{}",
            e.message
        );
        assert_eq!(e.retry_after, Some(Duration::from_secs(23 * 3600)));
    }
}
