//! The outbox bookkeeping of this process's running jobs, batched: every
//! job starts (`outbox::start`) and most end (`outbox::mark_done`) with one
//! statement of its own, two transactions per job on top of its step. Here
//! one task runs them for every job of the process: while one statement is
//! in flight the requests that arrive meanwhile queue up and go out together
//! in the next one (as a database groups commits). An idle worker waits for
//! nothing extra; a busy one spends one statement per batch, not per job.
//!
//! A round gathers for a moment (`GATHER`) before it writes, so that the
//! jobs finishing and starting beside each other share it, and a round's
//! starts and finishes go in one transaction: under a burst one commit
//! carries many jobs' bookkeeping instead of one or two.
//!
//! Each job still awaits its own answer, so nothing changes for it: a job
//! runs only after its row is stamped, and reports itself finished only after
//! its row is `DONE`.

use chrono::{DateTime, Utc};
use domain::AppContext;
use domain::infra::db::begin_write;
use domain::infra::rounds::gather;
use domain::workflow::outbox;
use sea_orm::DbErr;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The most rows one statement carries.
const BATCH: usize = 256;

/// How long a round waits for more requests after its first: a step takes
/// milliseconds, so jobs running side by side finish within this of each
/// other. It is added once to a job's start and once to its end.
const GATHER: Duration = Duration::from_millis(3);

type Reply<T> = oneshot::Sender<Result<T, DbErr>>;

enum Request {
    Start(i64, Reply<bool>),
    Done(i64, Reply<()>),
}

/// A handle on the bookkeeping task. Falls back to a statement of its own
/// when the task is gone (a job that outlives its worker at shutdown).
#[derive(Clone)]
pub struct Bookkeeping {
    ctx: AppContext,
    requests: mpsc::UnboundedSender<Request>,
}

impl Bookkeeping {
    /// Starts the task; it ends when the last handle is dropped.
    pub fn spawn(ctx: AppContext) -> Self {
        let (requests, incoming) = mpsc::unbounded_channel();
        tokio::spawn(run(ctx.clone(), incoming));
        Self { ctx, requests }
    }

    /// `outbox::start` for this job's row.
    pub async fn start(&self, id: i64) -> Result<bool, DbErr> {
        match self.ask(|reply| Request::Start(id, reply)).await {
            Some(result) => result,
            None => outbox::start(&self.ctx.db, id, self.ctx.clock.now()).await,
        }
    }

    /// `outbox::mark_done` for this job's row.
    pub async fn done(&self, id: i64) -> Result<(), DbErr> {
        match self.ask(|reply| Request::Done(id, reply)).await {
            Some(result) => result,
            None => outbox::mark_done(&self.ctx.db, id, self.ctx.clock.now()).await,
        }
    }

    /// The task's answer, or `None` when the task is gone.
    async fn ask<T>(&self, request: impl FnOnce(Reply<T>) -> Request) -> Option<Result<T, DbErr>> {
        let (reply, answer) = oneshot::channel();
        self.requests.send(request(reply)).ok()?;
        answer.await.ok()
    }
}

async fn run(ctx: AppContext, mut incoming: mpsc::UnboundedReceiver<Request>) {
    let mut batch = Vec::with_capacity(BATCH);
    while gather(&mut incoming, &mut batch, BATCH, GATHER).await {
        let mut starts = Vec::new();
        let mut dones = Vec::new();
        for request in batch.drain(..) {
            match request {
                Request::Start(id, reply) => starts.push((id, reply)),
                Request::Done(id, reply) => dones.push((id, reply)),
            }
        }
        let now = ctx.clock.now();
        let start_ids: Vec<i64> = starts.iter().map(|(id, _)| *id).collect();
        let done_ids: Vec<i64> = dones.iter().map(|(id, _)| *id).collect();
        match write_round(&ctx, &start_ids, &done_ids, now).await {
            Ok(to_run) => {
                for (id, reply) in starts {
                    let _ = reply.send(Ok(to_run.contains(&id)));
                }
                for (_, reply) in dones {
                    let _ = reply.send(Ok(()));
                }
            }
            Err(err) => {
                let failed = || DbErr::Custom(err.to_string());
                for (_, reply) in starts {
                    let _ = reply.send(Err(failed()));
                }
                for (_, reply) in dones {
                    let _ = reply.send(Err(failed()));
                }
            }
        }
    }
}

/// One round's finishes and starts, in one transaction when it has both;
/// returns the started ids whose jobs are to run (the others are finished).
async fn write_round(
    ctx: &AppContext,
    starts: &[i64],
    dones: &[i64],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, DbErr> {
    if starts.is_empty() {
        outbox::mark_done_many(&ctx.db, dones, now).await?;
        return Ok(Vec::new());
    }
    if dones.is_empty() {
        return outbox::start_many(&ctx.db, starts, now).await;
    }
    let tx = begin_write(&ctx.db).await?;
    outbox::mark_done_many(&tx, dones, now).await?;
    let to_run = outbox::start_many(&tx, starts, now).await?;
    tx.commit().await?;
    Ok(to_run)
}
