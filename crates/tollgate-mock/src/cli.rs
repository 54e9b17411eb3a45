//! Command-line flags of the `tollgate-mock` binary, parsed by hand (no CLI crate).

use std::net::IpAddr;

use super::config::MockConfig;
use super::server::ServeOptions;

/// Usage text printed by `--help` and after a bad flag.
pub const USAGE: &str = "\
usage: tollgate-mock [--port N] [--bind ADDR] [--threads N] [knobs...]

  --port N            port to listen on (default 9000; 0 = any free port)
  --bind ADDR         address to bind (default 127.0.0.1)
  --threads N         tokio worker threads (default 2)
  --name NAME         value of the x-mock-name response header (default mock)
  --tokens N          tokens per reply (default 8)              [x-mock-tokens]
  --ttft-ms MS        delay before the first stream event       [x-mock-ttft-ms]
  --delay-ms MS       delay between stream tokens               [x-mock-delay-ms]
  --latency-ms MS     delay before an answer's header          [x-mock-latency-ms]
  --status CODE       answer every API call with this error     [x-mock-status]
  --fail-ratio R      answer this fraction of API calls with 500 (0..1)
  --hang              read requests, never answer               [x-mock-hang: 1]
  --stall-after N     stream N tokens, then stop sending        [x-mock-stall-after]
  --abort-after N     stream N tokens, then drop the connection [x-mock-abort-after]
  --retry-after S     retry-after seconds on forced errors      [x-mock-retry-after]
  --embedding-dims N  embedding length (default 8)
  --max-body BYTES    largest accepted request body (default 64 MiB)
  --models A,B,...    ids listed by GET /v1/models
  --prefix-cache-blocks N   simulate a prefix cache of N 64-character blocks
                      (cached_tokens in usage, TTFT grows with the uncached prompt)
  --prefill-us-per-token US prefill time per uncached prompt token (default 10;
                      implies a prefix cache of the default 65536 blocks)
  --unhealthy         GET /health answers 503
  --help              print this text
";

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Serve with these settings.
    Run(Box<MockConfig>, ServeOptions),
    /// Print [`USAGE`].
    Help,
}

/// Parses the arguments after the program name. Flags take `--flag value` or
/// `--flag=value`.
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
    let mut cfg = MockConfig::default();
    let mut opts = ServeOptions {
        port: 9000,
        ..ServeOptions::default()
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or(format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--help" | "-h" => return Ok(Command::Help),
            "--hang" => cfg.hang = true,
            "--unhealthy" => cfg.unhealthy = true,
            "--port" => opts.port = num(&flag, &value()?)?,
            "--bind" => opts.bind = num::<IpAddr>(&flag, &value()?)?,
            "--threads" => opts.threads = num(&flag, &value()?)?,
            "--name" => cfg.name = value()?,
            "--tokens" => cfg.tokens = num(&flag, &value()?)?,
            "--ttft-ms" => cfg.ttft_ms = num(&flag, &value()?)?,
            "--delay-ms" => cfg.delay_ms = num(&flag, &value()?)?,
            "--latency-ms" => cfg.latency_ms = num(&flag, &value()?)?,
            "--status" => cfg.status = Some(num(&flag, &value()?)?),
            "--fail-ratio" => cfg.fail_ratio = ratio(&flag, &value()?)?,
            "--stall-after" => cfg.stall_after = Some(num(&flag, &value()?)?),
            "--abort-after" => cfg.abort_after = Some(num(&flag, &value()?)?),
            "--retry-after" => cfg.retry_after = Some(num(&flag, &value()?)?),
            "--embedding-dims" => cfg.embedding_dims = num(&flag, &value()?)?,
            "--max-body" => cfg.max_body = num(&flag, &value()?)?,
            "--models" => cfg.models = value()?.split(',').map(str::to_owned).collect(),
            "--prefix-cache-blocks" => {
                let blocks = num(&flag, &value()?)?;
                cfg.prefix_cache
                    .get_or_insert_with(Default::default)
                    .capacity_blocks = blocks;
            }
            "--prefill-us-per-token" => {
                let us = num(&flag, &value()?)?;
                let pc = cfg.prefix_cache.get_or_insert_with(Default::default);
                pc.us_per_uncached_token = us;
            }
            _ => return Err(format!("unknown flag {arg}")),
        }
    }
    Ok(Command::Run(Box::new(cfg), opts))
}

fn num<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("{flag}: invalid value {v:?}"))
}

fn ratio(flag: &str, v: &str) -> Result<f64, String> {
    match v.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!(
            "{flag}: expected a number between 0 and 1, got {v:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn prefix_cache_flags_enable_the_cache() {
        let Command::Run(cfg, _) =
            parse(&["--prefix-cache-blocks=1000", "--prefill-us-per-token", "3"]).expect("parses")
        else {
            panic!("not a run");
        };
        let pc = cfg.prefix_cache.expect("enabled");
        assert_eq!(
            (pc.capacity_blocks, pc.us_per_uncached_token, pc.block_chars),
            (1000, 3, 64)
        );
        let Command::Run(cfg, _) = parse(&[]).expect("parses") else {
            panic!("not a run");
        };
        assert_eq!(cfg.prefix_cache, None);
    }

    #[test]
    fn flags_set_config_and_options() {
        let Command::Run(cfg, opts) = parse(&[
            "--port",
            "0",
            "--threads=3",
            "--tokens",
            "5",
            "--ttft-ms",
            "20",
            "--hang",
            "--fail-ratio",
            "0.5",
            "--status=529",
            "--name",
            "a",
            "--models",
            "x,y",
        ])
        .unwrap() else {
            panic!("expected run");
        };
        assert_eq!((opts.port, opts.threads), (0, 3));
        assert_eq!((cfg.tokens, cfg.ttft_ms, cfg.hang), (5, 20, true));
        assert_eq!((cfg.fail_ratio, cfg.status), (0.5, Some(529)));
        assert_eq!(cfg.name, "a");
        assert_eq!(cfg.models, vec!["x".to_owned(), "y".to_owned()]);
    }

    #[test]
    fn bad_flags_are_errors() {
        assert!(parse(&["--nope"]).is_err());
        assert!(parse(&["--tokens"]).is_err());
        assert!(parse(&["--tokens", "x"]).is_err());
        assert!(parse(&["--fail-ratio", "2"]).is_err());
        assert_eq!(parse(&["--help"]).unwrap(), Command::Help);
    }
}
