//! `tollgate-mock`: the mock LLM upstream as a standalone server, for benchmarks and
//! demos. Runs until SIGTERM or SIGINT. See `tollgate::mock` and `--help`.

use std::process::ExitCode;

use tollgate::mock::cli::{parse_args, Command, USAGE};
use tollgate::mock::MockServer;

fn main() -> ExitCode {
    let (cfg, opts) = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Run(cfg, opts)) => (cfg, opts),
        Ok(Command::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("tollgate-mock: {e}\n\n{USAGE}");
            return ExitCode::from(2);
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
    if let Err(e) = wait_for_signal() {
        eprintln!("tollgate-mock: cannot wait for signals: {e}");
    }
    server.stop();
    ExitCode::SUCCESS
}

/// Blocks until SIGTERM or SIGINT.
fn wait_for_signal() -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = term.recv() => {}
            r = tokio::signal::ctrl_c() => r?,
        }
        Ok(())
    })
}
