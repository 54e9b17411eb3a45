//! `tollgate-mock`: the mock LLM upstream as a standalone server, for benchmarks and
//! demos. Runs until SIGTERM or SIGINT. See the crate docs and `--help`.

use std::process::ExitCode;

use tokio::signal::unix::{signal, Signal, SignalKind};
use tollgate_mock::cli::{parse_args, Command, USAGE};
use tollgate_mock::MockServer;

fn main() -> ExitCode {
    let (cfg, opts) = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Run(cfg, opts)) => (*cfg, opts),
        Ok(Command::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("tollgate-mock: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // Handlers are installed before the "listening" line, so a script that starts the
    // mock, waits for that line and then signals it always gets a clean shutdown.
    let signals = match Signals::install() {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("tollgate-mock: cannot install signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    };
    let summary = format!(
        "name={} tokens={} ttft_ms={} delay_ms={} latency_ms={} threads={}",
        cfg.name, cfg.tokens, cfg.ttft_ms, cfg.delay_ms, cfg.latency_ms, opts.threads
    );
    let server = match MockServer::start_with(cfg, opts) {
        Ok(server) => server,
        Err(e) => {
            eprintln!(
                "tollgate-mock: cannot listen on {}:{}: {e}",
                opts.bind, opts.port
            );
            return ExitCode::FAILURE;
        }
    };
    println!("tollgate-mock listening on {} ({summary})", server.url());
    signals.wait();
    server.stop();
    ExitCode::SUCCESS
}

/// SIGTERM and SIGINT streams on a small runtime of their own.
struct Signals {
    runtime: tokio::runtime::Runtime,
    term: Signal,
    int: Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let _guard = runtime.enter();
        let term = signal(SignalKind::terminate())?;
        let int = signal(SignalKind::interrupt())?;
        drop(_guard);
        Ok(Signals { runtime, term, int })
    }

    /// Blocks until either signal arrives.
    fn wait(mut self) {
        self.runtime.block_on(async {
            tokio::select! {
                _ = self.term.recv() => {}
                _ = self.int.recv() => {}
            }
        });
    }
}
