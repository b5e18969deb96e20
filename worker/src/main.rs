//! `cargo run -p worker`: one worker process of the production mode.

use domain::AppContext;
use domain::settings::Settings;
use worker::{WorkerState, queue::Queue};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    domain::telemetry::init(&settings);
    if let Some(addr) = &settings.worker.metrics_addr {
        domain::telemetry::serve_metrics(addr.parse()?)?;
    }
    let built = AppContext::build(settings).await?;
    let queue = Queue::connect(&built.ctx.settings, built.sqlite_pool.clone()).await?;
    let (finished, _) = tokio::sync::broadcast::channel(16);
    let state = WorkerState {
        ctx: built.ctx,
        finished,
    };
    worker::run(state, queue, shutdown_signal()).await
}

/// Ctrl-C or SIGTERM: stop taking jobs, let running ones finish.
async fn shutdown_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
