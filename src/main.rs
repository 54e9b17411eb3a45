//! `tollgate`: composition root. The command line is `tollgate::cli` (clap); Pingora's
//! own flags are kept (`-c`, `-d`, `-u`, `-t`); `-c` names tollgate's YAML file, whose
//! `server:` section holds Pingora's settings.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use pingora::prelude::*;
use pingora::server::configuration::Opt;
use pingora::services::listening::Service;
use pingora_proxy::HttpProxy;

use tollgate::admin::AdminApp;
use tollgate::cli::{self, Cli, Command, KeysCommand};
use tollgate::config;
use tollgate::edge::conn::EdgeApp;
use tollgate::edge::listen;
use tollgate::proxy::Proxy;
use tollgate::runtime::{Gateway, Runtime, Upkeep};

#[global_allocator]
static ALLOCATOR: tollgate::alloc::Mimalloc = tollgate::alloc::Mimalloc;

/// Commits the allocator's arena as it is used rather than all at once. With the
/// arena committed up front, mimalloc gives freed pages back by resetting them,
/// which the kernel keeps counting as resident; committed on use, it decommits
/// them. 1,000 concurrent streams peaked at 170 MiB before and 98 MiB after.
/// The option must be set before the first allocation reserves the arena, so it
/// runs as a constructor, before `main` and before the Rust runtime allocates.
/// `MIMALLOC_ARENA_EAGER_COMMIT` in the environment still wins.
extern "C" fn commit_arena_on_use() {
    // `mi_option_arena_eager_commit` in mimalloc.h (v3); the bindings name no constant for it.
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    if std::env::var_os("MIMALLOC_ARENA_EAGER_COMMIT").is_none() {
        // SAFETY: sets one option value; takes no pointers.
        unsafe { libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0) }
    }
}

#[used]
#[link_section = ".init_array"]
static COMMIT_ARENA_ON_USE: extern "C" fn() = commit_arena_on_use;

/// Gives the pages an idle worker's heap holds free back to the system (called by
/// `proxy::idle` on the worker, a quiet second after its last request).
fn collect_idle_heap() {
    // SAFETY: mi_collect takes no pointers; it only walks the calling thread's
    // heap and the allocator's own free lists.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = Cli::parse();
    // Needs no config file.
    if let Some(Command::Keys(KeysCommand::New { name })) = &cli.command {
        return keys_new(name.as_deref());
    }
    let path = cli.config_path();
    let config = match config::load_file(&path) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("{}: invalid configuration:\n{errors}", path.display());
            return ExitCode::FAILURE;
        }
    };
    if cli.is_check() {
        println!("{}: configuration is valid", path.display());
        print!("{}", config.upgrade_facts());
        return ExitCode::SUCCESS;
    }
    if let Some(Command::Upgrade { old_pid, wait }) = cli.command {
        return upgrade(&config, path, old_pid, wait);
    }
    log::info!("{}", cli::summary::startup_summary(&config, &path));
    run(cli.pingora_opt(), config, path)
}

fn keys_new(name: Option<&str>) -> ExitCode {
    match cli::keys::new_key() {
        Ok(key) => {
            print!("{}", cli::keys::render(&key, name));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cannot read random bytes: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A number from the environment; unset or unparsable is `None`.
fn env_number<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

fn upgrade(
    config: &config::Config,
    config_path: PathBuf,
    old_pid: Option<i32>,
    wait: Option<u64>,
) -> ExitCode {
    let binary = match std::env::current_exe() {
        Ok(binary) => binary,
        Err(e) => {
            eprintln!("cannot find this binary: {e}");
            return ExitCode::FAILURE;
        }
    };
    let plan = cli::upgrade::Plan {
        config_path,
        binary,
        old_pid: old_pid.or_else(|| env_number("TOLLGATE_OLD_PID")),
        wait: wait
            .or_else(|| env_number("TOLLGATE_UPGRADE_WAIT"))
            .map(Duration::from_secs),
    };
    match cli::upgrade::upgrade(config, &plan) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("upgrade failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The data plane: one single-threaded proxy service per worker thread, all on the
/// same listening sockets (Pingora shares one socket per address between services,
/// also across an upgrade).
///
/// Why not one service with N threads: Pingora hands a pooled upstream connection to
/// an "idle watch" task spawned on any thread of the service's runtime. Taking the
/// connection back for the next request then waits for that task, on another thread:
/// two cross-thread wake-ups per request, and under load a race in which the
/// connection cannot be taken back ("failed to acquire reusable stream") and a new one
/// is opened. With one thread per service, a request, its upstream connection and
/// that connection's idle watch stay on one thread.
fn data_plane_services(
    server: &Server,
    gateway: &Arc<Gateway>,
    listeners: &[String],
) -> Vec<Service<EdgeApp<HttpProxy<Proxy>>>> {
    let workers = server.configuration.threads.max(1);
    (0..workers)
        .map(|i| {
            let mut app = HttpProxy::new(Proxy::new(gateway.clone()), server.configuration.clone());
            app.handle_init_modules();
            // Connection caps and the request-header clock run before Pingora reads.
            let edge = EdgeApp::new(app, gateway.clone());
            let mut proxy = Service::new(format!("tollgate data plane {i}"), edge);
            proxy.threads = Some(1);
            for addr in listeners {
                proxy.add_listener(listen::listener(addr, i));
            }
            proxy
        })
        .collect()
}

fn run(opt: Opt, config: config::Config, path: PathBuf) -> ExitCode {
    tollgate::proxy::idle::set_hook(collect_idle_heap);
    let mut server = Server::new_with_opt_and_conf(opt, config.server_conf());
    server.bootstrap();

    let data_listeners = config.data_listeners.clone();
    let admin_listener = config.admin_listener.clone();
    // Connections made while building (the Redis state store) are driven by tasks of
    // the runtime that made them, so this runtime lives as long as the process.
    let setup = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("tollgate-setup")
        .enable_all()
        .build()
    {
        Ok(rt) => Box::leak(Box::new(rt)),
        Err(e) => {
            eprintln!("cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let built = setup.block_on(Runtime::build(config, None));
    let runtime = match built {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let gateway = Arc::new(Gateway::new(runtime, path));

    let proxies = data_plane_services(&server, &gateway, &data_listeners);
    let mut admin = Service::new(
        "tollgate admin".to_string(),
        pingora::apps::http_app::HttpServer::new_app(AdminApp {
            gateway: gateway.clone(),
        }),
    );
    admin.add_tcp(&admin_listener);
    let exporter = background_service(
        "tollgate trace export",
        tollgate::trace::export::Exporter::new(gateway.clone()),
    );
    let upkeep = background_service(
        "tollgate upkeep",
        Upkeep {
            gateway,
            watch_file: true,
        },
    );

    for proxy in proxies {
        server.add_service(proxy);
    }
    server.add_service(admin);
    server.add_service(upkeep);
    server.add_service(exporter);
    server.run(pingora::server::RunArgs::default());
    // The services have drained: the access-log lines still batched go out last.
    tollgate::proxy::log_sink::flush();
    ExitCode::SUCCESS
}
