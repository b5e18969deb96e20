//! The worker: relays outbox rows into the apalis queue and runs the jobs.
//!
//! Runs as its own process (`cargo run -p worker`, any number of them) or
//! inside the api process in the embedded mode. It never links actix-web or
//! async-graphql (`cargo tree -p worker`, checked by the architecture
//! tests), which is why maud's `actix-web` feature is enabled in
//! `api/Cargo.toml` only.

pub mod batches;
pub mod bookkeeping;
pub mod jobs;
pub mod queue;
pub mod relay;

use apalis::prelude::*;
use domain::AppContext;

use queue::Queue;
use sea_orm::sqlx::SqlitePool;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};

/// Shared state of one worker process, handed to every job.
#[derive(Clone)]
pub struct WorkerState {
    pub ctx: AppContext,
    /// Fires after every finished job (tests wait on it instead of sleeping).
    pub finished: broadcast::Sender<i64>,
    /// Starts and ends jobs' outbox rows, many per statement.
    pub bookkeeping: bookkeeping::Bookkeeping,
    /// Runs the steps that go in batches, many per transaction.
    pub batches: batches::Batches,
}

impl WorkerState {
    pub fn new(ctx: AppContext, finished: broadcast::Sender<i64>) -> Self {
        Self {
            bookkeeping: bookkeeping::Bookkeeping::spawn(ctx.clone()),
            batches: batches::Batches::spawn(ctx.clone()),
            ctx,
            finished,
        }
    }
}

pub struct WorkerHandle {
    pub finished: broadcast::Sender<i64>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl WorkerHandle {
    /// Stops the relay and the apalis workers, letting running jobs finish.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

fn worker_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
    format!(
        "billing-{host}-{}-{}",
        std::process::id(),
        uuid::Uuid::now_v7().simple()
    )
}

/// Starts relay + job workers in the background of the current runtime.
pub async fn spawn(
    ctx: AppContext,
    sqlite_pool: Option<SqlitePool>,
) -> anyhow::Result<WorkerHandle> {
    let queue = Queue::connect(&ctx.settings, sqlite_pool).await?;
    let (finished, _) = broadcast::channel(1024);
    let (stop, mut stop_rx) = watch::channel(false);
    let state = WorkerState::new(ctx.clone(), finished.clone());
    let stop_signal = async move {
        let _ = stop_rx.wait_for(|stopped| *stopped).await;
        Ok(())
    };
    let task = tokio::spawn(async move {
        if let Err(err) = run(state, queue, stop_signal).await {
            tracing::error!(error = %err, "worker stopped with an error");
        }
    });
    Ok(WorkerHandle {
        finished,
        stop,
        task,
    })
}

/// Runs the relay and the apalis monitor until `signal` resolves.
pub async fn run<S>(state: WorkerState, queue: Queue, signal: S) -> anyhow::Result<()>
where
    S: Future<Output = std::io::Result<()>> + Send + 'static,
{
    let (relay_stop_tx, relay_stop_rx) = watch::channel(false);
    let relay = tokio::spawn(relay::run(state.ctx.clone(), queue.clone(), relay_stop_rx));
    let settings = state.ctx.settings.clone();
    let poll = Duration::from_millis(settings.worker.poll_interval_ms);
    let concurrency = settings.worker.concurrency;
    // A job running longer than this no longer holds a worker slot (a hung
    // SMTP server must not block the queue); its step still runs to its end
    // in its own task (see `jobs::handle`).
    let job_timeout = Duration::from_secs(settings.worker.job_timeout_secs);
    let name = worker_name();
    tracing::info!(%name, backend = queue.kind(), "worker starting");
    let state = Arc::new(state);
    let monitor = Monitor::new()
        .should_restart(|ctx, err| {
            // apalis stops a worker for good on a backend error (Redis
            // restarted, SQLite busy): restart it instead of going deaf.
            tracing::warn!(worker = %ctx.name(), error = %err, "queue worker failed; restarting");
            true
        })
        .shutdown_timeout(Duration::from_secs(30));
    // One worker definition for both queues: their storages share no type
    // apalis can take as one, so the definition is a local macro.
    macro_rules! register {
        ($storage:expr) => {{
            let backend = $storage.poll_with_interval(poll);
            monitor.register(move |run| {
                WorkerBuilder::new(format!("{name}-{run}"))
                    .backend(backend.clone())
                    .concurrency(concurrency)
                    .data(state.clone())
                    .timeout(job_timeout)
                    .catch_panic()
                    .enable_tracing()
                    .build(jobs::handle)
            })
        }};
    }
    let monitor = match queue {
        Queue::Sqlite(storage) => register!(storage),
        Queue::Redis(storage) => register!(storage),
    };
    let result = monitor.run_with_signal(signal).await;
    let _ = relay_stop_tx.send(true);
    let _ = relay.await;
    tracing::info!("worker stopped");
    result.map_err(|e| anyhow::anyhow!("monitor: {e}"))
}

/// One standalone worker process: its own connections and queue, running
/// until `shutdown` resolves (what `cargo run -p worker` runs).
pub async fn run_process(
    settings: domain::infra::settings::Settings,
    shutdown: impl Future<Output = std::io::Result<()>> + Send + 'static,
) -> anyhow::Result<()> {
    let built = AppContext::build(settings).await?;
    let queue = Queue::connect(&built.ctx.settings, built.sqlite_pool.clone()).await?;
    let (finished, _) = broadcast::channel(16);
    let state = WorkerState::new(built.ctx, finished);
    run(state, queue, shutdown).await
}

/// Ctrl-C or SIGTERM: stop taking jobs, let running ones finish.
pub async fn shutdown_signal() -> std::io::Result<()> {
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
