//! Where access-log lines go: stdout, in batches. A `write` per request cost more
//! than formatting the line; here each worker thread appends whole lines to its own
//! buffer (uncontended), which reaches stdout in one `write` when it passes
//! [`BATCH_BYTES`], and at the latest [`FLUSH_EVERY`] later from a flusher thread.
//! `flush` at exit writes what is left, so a graceful stop loses no line (a killed
//! process loses at most the last [`FLUSH_EVERY`]). A batch holds whole lines and is
//! written under the stdout lock: lines of different threads never interleave.

use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use once_cell::sync::Lazy;

/// A batch this large is written at once.
const BATCH_BYTES: usize = 16 * 1024;
/// The longest a line waits in a batch.
const FLUSH_EVERY: Duration = Duration::from_millis(100);

type Batch = Arc<Mutex<Vec<u8>>>;

/// Every thread's batch, for the flusher and `flush`.
static BATCHES: Lazy<Mutex<Vec<Batch>>> = Lazy::new(|| {
    // Started with the first line, not at load: Pingora may fork to daemonize, and
    // a thread started before the fork would not exist in the daemon.
    std::thread::Builder::new()
        .name("access-log".into())
        .spawn(|| loop {
            std::thread::sleep(FLUSH_EVERY);
            flush();
        })
        .ok();
    Mutex::new(Vec::new())
});

thread_local! {
    static MINE: Batch = register();
}

fn register() -> Batch {
    let batch: Batch = Arc::new(Mutex::new(Vec::with_capacity(BATCH_BYTES + 1024)));
    if let Ok(mut all) = BATCHES.lock() {
        all.push(batch.clone());
    }
    batch
}

/// Queue one complete line (ending in `\n`).
pub fn push(line: &[u8]) {
    MINE.with(|batch| {
        let Ok(mut batch) = batch.lock() else {
            return;
        };
        batch.extend_from_slice(line);
        if batch.len() >= BATCH_BYTES {
            write_out(&mut batch);
        }
    });
}

/// Write every queued line now (the flusher's tick, and at exit).
pub fn flush() {
    let batches: Vec<Batch> = match BATCHES.lock() {
        Ok(all) => all.clone(),
        Err(_) => return,
    };
    for batch in batches {
        if let Ok(mut batch) = batch.lock() {
            write_out(&mut batch);
        }
    }
}

fn write_out(batch: &mut Vec<u8>) {
    if batch.is_empty() {
        return;
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(batch);
    let _ = out.flush();
    batch.clear();
}
