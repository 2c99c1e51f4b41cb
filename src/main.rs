//! The `hookd` command: `hookd` / `hookd serve` runs the server; the other subcommands are the
//! client of a running server, `verify` and the local test receiver `receive` (see `hookd::cli`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand};
use hookd::config::{Config, DEV_MODE_WARNING, LogConfig, LogFormat, LogLevel};

/// hookd — webhook delivery in one binary.
#[derive(Parser)]
#[command(name = "hookd", version, about)]
struct Cli {
    /// Configuration file (TOML); also HOOKD_CONFIG.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The server's options, so that `hookd --dev` works like `hookd serve --dev`.
    #[command(flatten)]
    serve: ServeArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve(ServeArgs),
    #[command(flatten)]
    Client(hookd::cli::Command),
}

/// Options of `hookd serve`.
#[derive(Args)]
struct ServeArgs {
    /// Dev mode, for a first try on one machine: allow http:// and loopback/private webhook
    /// URLs and log at debug. Never in production.
    #[arg(long)]
    dev: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => serve(cli.config, &cli.serve),
        Some(Command::Serve(args)) => {
            let dev = args.dev || cli.serve.dev;
            serve(cli.config, &ServeArgs { dev })
        }
        Some(Command::Client(_)) if cli.serve.dev => Cli::command()
            .error(
                ErrorKind::ArgumentConflict,
                "--dev is an option of the server: hookd serve --dev",
            )
            .exit(),
        Some(Command::Client(command)) => hookd::cli::run(command, cli.config.as_deref()),
    }
}

fn serve(config_file: Option<PathBuf>, args: &ServeArgs) -> ExitCode {
    let mut config = match Config::from_env(config_file.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("hookd: {e}");
            return ExitCode::from(2);
        }
    };
    if args.dev {
        config.apply_dev_mode();
    }
    init_logging(&config.log);
    if args.dev {
        tracing::warn!("{DEV_MODE_WARNING}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hookd: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(hookd::run(config, shutdown_signal()));
    // After a storage fault a blocking task may still wait on the failed store: the process
    // must exit regardless, so that its supervisor starts it again.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("hookd: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on SIGTERM or SIGINT.
async fn shutdown_signal() {
    hookd::cli::termination().await;
    tracing::info!("shutdown requested");
}

/// Sets up the log. The database driver logs every statement with its parameters at debug
/// level, and those parameters hold webhook secrets: it is kept at info whatever the level.
fn init_logging(log: &LogConfig) {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::prelude::*;
    let level = match log.level {
        LogLevel::Error => LevelFilter::ERROR,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Trace => LevelFilter::TRACE,
    };
    let driver = level.min(LevelFilter::INFO);
    let filter = Targets::new()
        .with_default(level)
        .with_target("tokio_postgres", driver)
        .with_target("postgres_protocol", driver)
        .with_target("deadpool_postgres", driver);
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match log.format {
        LogFormat::Text => tracing_subscriber::registry()
            .with(layer.with_filter(filter))
            .init(),
        LogFormat::Json => tracing_subscriber::registry()
            .with(layer.json().with_filter(filter))
            .init(),
    }
}
