//! Process metrics in the standard Prometheus names (`process_resident_memory_bytes`,
//! `process_cpu_seconds_total`, `process_open_fds`, `process_max_fds`), read from
//! `/proc/self` when `/metrics` is scraped, so they cost nothing between scrapes.
//! Written here rather than through the `prometheus` crate's `process` feature, which
//! would add the `procfs` crate for four numbers. Outside Linux they stay absent.

use once_cell::sync::Lazy;
use prometheus::{Gauge, IntGauge};

fn gauge(name: &str, help: &str) -> Option<Gauge> {
    let g = Gauge::new(name, help).ok()?;
    prometheus::register(Box::new(g.clone())).ok()?;
    Some(g)
}

fn int_gauge(name: &str, help: &str) -> Option<IntGauge> {
    let g = IntGauge::new(name, help).ok()?;
    prometheus::register(Box::new(g.clone())).ok()?;
    Some(g)
}

struct Gauges {
    rss: Option<IntGauge>,
    // A counter in meaning; exposed as a gauge set to the kernel's running total,
    // which only grows (the `_total` name is the convention of every exporter).
    cpu: Option<Gauge>,
    open_fds: Option<IntGauge>,
    max_fds: Option<IntGauge>,
}

static GAUGES: Lazy<Gauges> = Lazy::new(|| Gauges {
    rss: int_gauge(
        "process_resident_memory_bytes",
        "Resident memory size in bytes.",
    ),
    cpu: gauge(
        "process_cpu_seconds_total",
        "Total user and system CPU time spent in seconds.",
    ),
    open_fds: int_gauge("process_open_fds", "Number of open file descriptors."),
    max_fds: int_gauge(
        "process_max_fds",
        "Maximum number of open file descriptors.",
    ),
});

/// Registers the gauges (at start, so they appear on the first scrape) and reads the
/// current values.
pub fn refresh() {
    let g = &*GAUGES;
    if let (Some(gauge), Some(rss)) = (&g.rss, resident_bytes()) {
        gauge.set(rss as i64);
    }
    if let (Some(gauge), Some(cpu)) = (&g.cpu, cpu_seconds()) {
        gauge.set(cpu);
    }
    if let (Some(gauge), Some(n)) = (&g.open_fds, open_fds()) {
        gauge.set(n as i64);
    }
    if let (Some(gauge), Some(n)) = (&g.max_fds, max_fds()) {
        gauge.set(n as i64);
    }
}

/// Field 2 of `/proc/self/statm` (resident pages) times the page size.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf reads a constant of the running system.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}

/// utime + stime of `/proc/self/stat` (fields 14 and 15), in seconds.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces: count fields after its `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // SAFETY: as above.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (ticks > 0).then(|| (utime + stime) as f64 / ticks as f64)
}

fn open_fds() -> Option<usize> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count())
}

/// The soft `Max open files` limit of `/proc/self/limits`.
fn max_fds() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_values_are_plausible() {
        let rss = resident_bytes().unwrap();
        assert!(rss > 1 << 20, "{rss}");
        // Burn a little CPU so the total is above zero whatever the tick size.
        let mut x = 0u64;
        for i in 0..50_000_000u64 {
            x = x.wrapping_add(i ^ (x >> 3));
        }
        assert!(x != 1);
        assert!(cpu_seconds().unwrap() > 0.0);
        let before = open_fds().unwrap();
        let _file = std::fs::File::open("/proc/self/stat").unwrap();
        assert_eq!(open_fds().unwrap(), before + 1);
        assert!(max_fds().unwrap() as usize >= before);
    }
}
