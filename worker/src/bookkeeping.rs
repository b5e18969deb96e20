//! The outbox bookkeeping of this process's running jobs, batched: every
//! job starts (`outbox::start`) and most end (`outbox::mark_done`) with one
//! statement of its own, two transactions per job on top of its step. Here
//! one task runs them for every job of the process: while one statement is
//! in flight the requests that arrive meanwhile queue up and go out together
//! in the next one (as a database groups commits). An idle worker waits for
//! nothing extra; a busy one spends one statement per batch, not per job.
//!
//! Each job still awaits its own answer, so nothing changes for it: a job
//! runs only after its row is stamped, and reports itself finished only after
//! its row is `DONE`.

use chrono::{DateTime, Utc};
use domain::AppContext;
use domain::workflow::outbox;
use sea_orm::DbErr;
use tokio::sync::{mpsc, oneshot};

/// The most rows one statement carries.
const BATCH: usize = 256;

enum Request {
    Start(i64, oneshot::Sender<Result<bool, DbErr>>),
    Done(i64, oneshot::Sender<Result<(), DbErr>>),
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
    async fn ask<T>(
        &self,
        request: impl FnOnce(oneshot::Sender<Result<T, DbErr>>) -> Request,
    ) -> Option<Result<T, DbErr>> {
        let (reply, answer) = oneshot::channel();
        self.requests.send(request(reply)).ok()?;
        answer.await.ok()
    }
}

async fn run(ctx: AppContext, mut incoming: mpsc::UnboundedReceiver<Request>) {
    let mut batch = Vec::with_capacity(BATCH);
    while incoming.recv_many(&mut batch, BATCH).await > 0 {
        let mut starts = Vec::new();
        let mut dones = Vec::new();
        for request in batch.drain(..) {
            match request {
                Request::Start(id, reply) => starts.push((id, reply)),
                Request::Done(id, reply) => dones.push((id, reply)),
            }
        }
        let now = ctx.clock.now();
        tokio::join!(start_all(&ctx, starts, now), finish_all(&ctx, dones, now));
    }
}

async fn start_all(
    ctx: &AppContext,
    starts: Vec<(i64, oneshot::Sender<Result<bool, DbErr>>)>,
    now: DateTime<Utc>,
) {
    if starts.is_empty() {
        return;
    }
    let ids: Vec<i64> = starts.iter().map(|(id, _)| *id).collect();
    match outbox::start_many(&ctx.db, &ids, now).await {
        Ok(to_run) => {
            for (id, reply) in starts {
                let _ = reply.send(Ok(to_run.contains(&id)));
            }
        }
        Err(err) => {
            for (_, reply) in starts {
                let _ = reply.send(Err(DbErr::Custom(err.to_string())));
            }
        }
    }
}

async fn finish_all(
    ctx: &AppContext,
    dones: Vec<(i64, oneshot::Sender<Result<(), DbErr>>)>,
    now: DateTime<Utc>,
) {
    if dones.is_empty() {
        return;
    }
    let ids: Vec<i64> = dones.iter().map(|(id, _)| *id).collect();
    let result = outbox::mark_done_many(&ctx.db, &ids, now).await;
    for (_, reply) in dones {
        let _ = reply.send(
            result
                .as_ref()
                .map(|_| ())
                .map_err(|err| DbErr::Custom(err.to_string())),
        );
    }
}
