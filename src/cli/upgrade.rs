//! `tollgate upgrade`: zero-downtime binary upgrade with Pingora's socket hand-over.
//!
//! 1. The config was already checked by this (new) binary before we get here.
//! 2. Starts this binary in upgrade mode (`-u -d -c <file>`). It binds the config's
//!    `server.upgrade_sock` and waits there for the listening sockets; it daemonizes
//!    only once it has them, so its starter is waited for, not left in the foreground.
//! 3. Once the new process listens on the upgrade socket, SIGQUIT tells the old one to
//!    hand its sockets over; the old one keeps serving its in-flight requests and
//!    streams for `server.grace_period_seconds`, then exits.
//! 4. Checks that the new process took over (its starter exits 0, the pid file names a
//!    live process other than the old one, `/healthz` answers on the admin listener),
//!    then waits for the old process to exit.
//!
//! The old process is never signalled unless the new one is ready to take the sockets.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::config::{Config, DEFAULT_GRACE_PERIOD_SECONDS};

/// Longest wait for the new process to open the upgrade socket.
const SOCKET_WAIT: Duration = Duration::from_secs(10);
/// Longest wait for the daemon to write its pid file, and for `/healthz` to answer.
const READY_WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(50);

/// Who to replace and how long to wait for it.
pub struct Plan {
    pub config_path: PathBuf,
    /// The binary started in upgrade mode (normally this one).
    pub binary: PathBuf,
    pub old_pid: Option<i32>,
    pub wait: Option<Duration>,
}

/// Runs the hand-over; progress lines go to stdout, the error says what failed.
pub fn upgrade(config: &Config, plan: &Plan) -> Result<(), String> {
    let server = config.server_conf();
    let grace = server
        .grace_period_seconds
        .unwrap_or(DEFAULT_GRACE_PERIOD_SECONDS);
    let shutdown = server.graceful_shutdown_timeout_seconds.unwrap_or(10);
    let pid_file = Path::new(&server.pid_file);
    let sock = Path::new(&server.upgrade_sock);

    let old = plan
        .old_pid
        .or_else(|| read_pid(pid_file))
        .filter(|&pid| alive(pid))
        .ok_or_else(|| {
            format!(
                "no running tollgate found (pid file {}; pass --old-pid)",
                pid_file.display()
            )
        })?;

    // A stale socket file from an earlier upgrade would look like a ready new process.
    let _ = std::fs::remove_file(sock);
    let mut starter = Command::new(&plan.binary)
        .args(["-u", "-d", "-c"])
        .arg(&plan.config_path)
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", plan.binary.display()))?;
    wait_for_socket(&mut starter, sock)
        .map_err(|e| format!("{e}; old pid {old} left untouched"))?;

    // SAFETY: kill(2) with a plain pid and signal number touches no memory of ours.
    if unsafe { libc::kill(old, libc::SIGQUIT) } != 0 {
        return Err(format!(
            "cannot signal old pid {old}: {}",
            std::io::Error::last_os_error()
        ));
    }
    println!("SIGQUIT sent: old pid {old} hands over its sockets and drains for {grace}s");

    // The daemon's starter exits 0 once the sockets arrived and the daemon forked.
    let status = starter.wait().map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("new process failed to take the sockets over (see its log)".into());
    }
    let new = wait_until(READY_WAIT, || {
        read_pid(pid_file).filter(|&pid| pid != old && alive(pid))
    })
    .ok_or_else(|| format!("new process not running (pid file {})", pid_file.display()))?;
    wait_until(READY_WAIT, || healthz(&config.admin_listener).then_some(())).ok_or_else(|| {
        format!(
            "new pid {new} does not answer /healthz on {}",
            config.admin_listener
        )
    })?;
    println!("new pid {new} serves");

    let wait = plan
        .wait
        .unwrap_or(Duration::from_secs(grace + shutdown + 30));
    wait_until(wait, || (!alive(old)).then_some(())).ok_or_else(|| {
        format!(
            "old pid {old} still draining after {}s (long grace period?)",
            wait.as_secs()
        )
    })?;
    println!("old process exited");
    Ok(())
}

fn wait_for_socket(starter: &mut Child, sock: &Path) -> Result<(), String> {
    let deadline = Instant::now() + SOCKET_WAIT;
    loop {
        if std::fs::metadata(sock).is_ok_and(|m| m.file_type().is_socket()) {
            return Ok(());
        }
        if let Ok(Some(_)) = starter.try_wait() {
            return Err("new process exited before taking the sockets".into());
        }
        if Instant::now() > deadline {
            let _ = starter.kill();
            let _ = starter.wait();
            return Err(format!("new process never opened {}", sock.display()));
        }
        sleep(POLL);
    }
}

/// Polls `probe` until it yields a value or `limit` has passed.
fn wait_until<T>(limit: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = probe() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        sleep(POLL);
    }
}

fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// A process that exists and is not a zombie (exited, not yet reaped by its parent).
pub fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the pid exists and may be signalled.
    let exists = pid > 0 && unsafe { libc::kill(pid, 0) } == 0;
    exists && !is_zombie(pid)
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
        s.lines()
            .any(|l| l.starts_with("State:") && l[6..].trim_start().starts_with('Z'))
    })
}

/// `GET /healthz` on the admin listener answers 200. A wildcard bind is asked on loopback.
fn healthz(admin: &str) -> bool {
    let target = admin
        .replacen("0.0.0.0:", "127.0.0.1:", 1)
        .replacen("[::]:", "[::1]:", 1);
    let Some(addr) = target.to_socket_addrs().ok().and_then(|mut a| a.next()) else {
        return false;
    };
    let Ok(mut conn) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return false;
    };
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let request = "GET /healthz HTTP/1.1\r\nHost: tollgate\r\nConnection: close\r\n\r\n";
    let mut head = [0u8; 12];
    conn.write_all(request.as_bytes()).is_ok()
        && conn.read_exact(&mut head).is_ok()
        && head.starts_with(b"HTTP/1.1 200")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_reaped_child_is_not() {
        assert!(alive(std::process::id() as i32));
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        child.wait().unwrap();
        assert!(!alive(pid));
        assert!(!alive(0) && !alive(-1));
    }

    #[test]
    fn an_unreaped_child_is_a_zombie_not_alive() {
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        assert!(wait_until(Duration::from_secs(5), || is_zombie(pid).then_some(())).is_some());
        assert!(!alive(pid));
        child.wait().unwrap();
    }

    #[test]
    fn healthz_is_false_when_nothing_listens() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        assert!(!healthz(&format!("127.0.0.1:{port}")));
    }
}
