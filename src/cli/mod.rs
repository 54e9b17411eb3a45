//! The command line: `tollgate [run]`, `check`, `keys new`, `upgrade`, `--version`.
//!
//! Pingora's own flags (`-c`, `-t`, `-u`, `-d`) keep their meaning and may be given
//! before or after a subcommand, so every existing invocation (`tollgate -t -c f`,
//! `tollgate -u -d -c f`) still works. Parsing is clap's derive API, the parser
//! pingora itself uses; [`Cli::pingora_opt`] hands pingora the flags it acts on.

pub mod keys;
pub mod summary;
pub mod upgrade;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use pingora::server::configuration::Opt;

/// The config file read when neither `-c` nor `TOLLGATE_CONFIG` names one.
pub const DEFAULT_CONFIG: &str = "conf/tollgate.yaml";

/// Version, commit and pingora version, as `--version` prints them.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("TOLLGATE_GIT_COMMIT"),
    ", pingora ",
    env!("TOLLGATE_PINGORA_VERSION"),
    ")"
);

/// An LLM gateway on Pingora: one API, keys, routing, failover, limits, spend and telemetry.
#[derive(Parser, Debug)]
#[command(name = "tollgate", version = LONG_VERSION, about, long_about = None)]
pub struct Cli {
    /// The YAML config file [default: $TOLLGATE_CONFIG, else conf/tollgate.yaml]
    #[arg(short, long, global = true, value_name = "FILE")]
    pub conf: Option<PathBuf>,

    /// Check the config and exit (same as the `check` subcommand)
    #[arg(short, long, global = true)]
    pub test: bool,

    /// Take the listening sockets over from a running tollgate (started by `upgrade`)
    #[arg(short, long, global = true)]
    pub upgrade: bool,

    /// Run in the background (pid file: `server.pid_file`)
    #[arg(short, long, global = true)]
    pub daemon: bool,

    /// Ignored; `cargo test` sometimes passes it to binaries
    #[arg(long, hide = true, global = true)]
    pub nocapture: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug, PartialEq)]
pub enum Command {
    /// Serve (the default when no subcommand is given)
    Run,
    /// Validate the config and print the facts an upgrade needs, then exit
    Check,
    /// Virtual keys
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Zero-downtime binary upgrade: start this binary on the running one's sockets,
    /// let the old one drain its requests, and report when it has exited
    Upgrade {
        /// The running process [default: $TOLLGATE_OLD_PID, else the config's `server.pid_file`]
        #[arg(long, value_name = "PID")]
        old_pid: Option<i32>,
        /// Longest wait for the old process to exit, in seconds
        /// [default: $TOLLGATE_UPGRADE_WAIT, else grace period + shutdown timeout + 30]
        #[arg(long, value_name = "SECONDS")]
        wait: Option<u64>,
    },
}

#[derive(Subcommand, Debug, PartialEq)]
pub enum KeysCommand {
    /// Print a fresh random key (shown only this once) and the `hash:` line for the config
    New {
        /// The key's name in the printed config entry
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
    },
}

impl Cli {
    /// The config path: `-c`, else `TOLLGATE_CONFIG`, else [`DEFAULT_CONFIG`].
    pub fn config_path(&self) -> PathBuf {
        self.conf
            .clone()
            .or_else(|| std::env::var_os("TOLLGATE_CONFIG").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG))
    }

    /// `-t` and `check` are the same request.
    pub fn is_check(&self) -> bool {
        self.test || self.command == Some(Command::Check)
    }

    /// The flags pingora acts on when serving. The config path is not among them:
    /// tollgate reads its own file and gives pingora a built `ServerConf`.
    pub fn pingora_opt(&self) -> Opt {
        Opt {
            upgrade: self.upgrade,
            daemon: self.daemon,
            nocapture: self.nocapture,
            test: false,
            conf: None,
        }
    }
}

#[cfg(test)]
#[path = "cli_tests.rs"]
mod tests;
