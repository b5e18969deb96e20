//! `cargo run -p worker`: one worker process of the production mode.

use clap::Parser;
use domain::infra::settings::Settings;

/// Runs the background jobs (workflow steps, emails, payments) from the queue
/// until Ctrl-C or SIGTERM. Configured like the api (config/app.toml,
/// APP__* variables, DATABASE_URL, REDIS_URL, SMTP_URL).
#[derive(Parser)]
#[command(name = "worker", version)]
struct Cli {}

/// Errors end the process as `error: ...` (one or two lines, no backtrace)
/// with a non-zero status.
#[tokio::main]
async fn main() -> std::process::ExitCode {
    Cli::parse();
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    domain::infra::telemetry::init(&settings);
    if let Some(addr) = &settings.worker.metrics_addr {
        let addr = addr.parse().map_err(|e| {
            anyhow::anyhow!(
                "worker.metrics_addr (APP__WORKER__METRICS_ADDR) `{addr}` is not an address such as 127.0.0.1:9187: {e}"
            )
        })?;
        domain::infra::telemetry::serve_metrics(addr)?;
    }
    worker::run_process(settings, worker::shutdown_signal()).await
}
