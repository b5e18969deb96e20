//! Steps that run in batches (issue 20): jobs of one step due at the same
//! time share one transaction instead of one each. A job hands its step to
//! the step's lane and awaits its own answer, so nothing changes for it; the
//! lane's task gathers for a moment (`GATHER`), then runs what arrived as
//! one batch.
//!
//! Batched today: `GenerateInvoice` (`invoicing::generate_invoices`: one
//! commit, the invoices numbered last with one write of each studio's
//! counter) and `SyncGalleryAccess` (`gallery::sync_many`). The batch's
//! transaction also marks its jobs' outbox rows `DONE`: the job's
//! bookkeeping is folded into the step's commit (no `start` or `mark_done`
//! of its own, `Outcome::Recorded`), so a step and its `DONE` commit
//! together. A batch commits whole or not at all; when it fails (or
//! panics), each of its jobs runs its step alone (a batch of one), so one
//! job's failure never fails the others.

use domain::billing::invoicing::{self, Generated};
use domain::followup::gallery;
use domain::infra::rounds::gather;
use domain::{AppContext, DomainResult};
use futures::FutureExt;
use futures::future::join_all;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The most jobs one batch carries: the process's jobs in flight are fewer
/// (`worker.concurrency`), so this only bounds one transaction's length.
const BATCH: usize = 64;

/// How long a batch waits for more jobs after its first: jobs relayed
/// together arrive within this of each other.
const GATHER: Duration = Duration::from_millis(3);

/// What a job asks of a batched step: its row's id, its request id, and
/// its outbox row (none when asked outside a job).
type Due = (i64, Option<String>, Option<i64>);

/// A step that runs in batches: the items `due`, and the outbox rows
/// `jobs` marked `DONE` in the same transaction.
trait Batched: Send + Sync + 'static {
    type Answer: Send + 'static;
    const NAME: &'static str;
    fn together(
        ctx: &AppContext,
        due: &[(i64, Option<&str>)],
        jobs: &[i64],
    ) -> impl Future<Output = DomainResult<Vec<Self::Answer>>> + Send;
}

struct Invoices;

impl Batched for Invoices {
    type Answer = Generated;
    const NAME: &'static str = "generate_invoice";
    async fn together(
        ctx: &AppContext,
        due: &[(i64, Option<&str>)],
        jobs: &[i64],
    ) -> DomainResult<Vec<Generated>> {
        invoicing::generate_invoices(ctx, due, jobs).await
    }
}

struct Galleries;

impl Batched for Galleries {
    type Answer = ();
    const NAME: &'static str = "sync_gallery_access";
    async fn together(
        ctx: &AppContext,
        due: &[(i64, Option<&str>)],
        jobs: &[i64],
    ) -> DomainResult<Vec<()>> {
        gallery::sync_many(ctx, due, jobs)
            .await
            .map(|()| vec![(); due.len()])
    }
}

struct Request<B: Batched> {
    due: Due,
    reply: oneshot::Sender<DomainResult<B::Answer>>,
}

/// One batched step's queue to its task.
struct Lane<B: Batched> {
    requests: mpsc::UnboundedSender<Request<B>>,
}

impl<B: Batched> Clone for Lane<B> {
    fn clone(&self) -> Self {
        Self {
            requests: self.requests.clone(),
        }
    }
}

impl<B: Batched> Lane<B> {
    fn spawn(ctx: AppContext) -> Self {
        let (requests, incoming) = mpsc::unbounded_channel();
        tokio::spawn(run::<B>(ctx, incoming));
        Self { requests }
    }

    /// The step for `id`, in a batch with the others due now; alone when
    /// the task is gone (a job that outlives its worker at shutdown).
    async fn run(
        &self,
        ctx: &AppContext,
        id: i64,
        request_id: Option<&str>,
        job: Option<i64>,
    ) -> DomainResult<B::Answer> {
        let (reply, answer) = oneshot::channel();
        let due = (id, request_id.map(str::to_string), job);
        if self.requests.send(Request { due, reply }).is_ok()
            && let Ok(answer) = answer.await
        {
            return answer;
        }
        alone::<B>(ctx, id, request_id, job).await
    }
}

/// The batched steps of this process, one lane each.
#[derive(Clone)]
pub struct Batches {
    ctx: AppContext,
    invoices: Lane<Invoices>,
    galleries: Lane<Galleries>,
}

impl Batches {
    /// Starts the lanes' tasks; they end when the last handle is dropped.
    pub fn spawn(ctx: AppContext) -> Self {
        Self {
            invoices: Lane::spawn(ctx.clone()),
            galleries: Lane::spawn(ctx.clone()),
            ctx,
        }
    }

    /// `invoicing::generate_invoice`, in a batch with the others due now;
    /// `job`'s outbox row is `DONE` when this answers `Ok`.
    pub async fn generate_invoice(
        &self,
        session_id: i64,
        request_id: Option<&str>,
        job: Option<i64>,
    ) -> DomainResult<Generated> {
        self.invoices
            .run(&self.ctx, session_id, request_id, job)
            .await
    }

    /// `gallery::sync_access`, in a batch with the others due now; `job`'s
    /// outbox row is `DONE` when this answers `Ok`.
    pub async fn sync_gallery(
        &self,
        invoice_id: i64,
        request_id: Option<&str>,
        job: Option<i64>,
    ) -> DomainResult<()> {
        self.galleries
            .run(&self.ctx, invoice_id, request_id, job)
            .await
    }
}

async fn run<B: Batched>(ctx: AppContext, mut incoming: mpsc::UnboundedReceiver<Request<B>>) {
    let mut batch = Vec::with_capacity(BATCH);
    while gather(&mut incoming, &mut batch, BATCH, GATHER).await {
        // A panic drops the batch's answers: its jobs run their steps alone.
        let batch = std::mem::take(&mut batch);
        if AssertUnwindSafe(run_batch::<B>(&ctx, batch))
            .catch_unwind()
            .await
            .is_err()
        {
            tracing::error!(step = B::NAME, "a batch panicked; its jobs run alone");
        }
    }
}

/// One batch: together, or each alone when together failed.
async fn run_batch<B: Batched>(ctx: &AppContext, batch: Vec<Request<B>>) {
    if batch.len() > 1 {
        let due: Vec<(i64, Option<&str>)> = batch
            .iter()
            .map(|r| (r.due.0, r.due.1.as_deref()))
            .collect();
        let jobs: Vec<i64> = batch.iter().filter_map(|r| r.due.2).collect();
        match B::together(ctx, &due, &jobs).await {
            Ok(answers) => {
                metrics::histogram!("step_batch_size", "kind" => B::NAME)
                    .record(batch.len() as f64);
                for (request, answer) in batch.into_iter().zip(answers) {
                    let _ = request.reply.send(Ok(answer));
                }
                return;
            }
            Err(err) => {
                tracing::warn!(step = B::NAME, error = %err, size = batch.len(), "a batch failed; each of its jobs runs alone");
            }
        }
    }
    join_all(batch.into_iter().map(|request| async move {
        let (id, request_id, job) = &request.due;
        let answer = alone::<B>(ctx, *id, request_id.as_deref(), *job).await;
        let _ = request.reply.send(answer);
    }))
    .await;
}

/// The step for one item: a batch of one.
async fn alone<B: Batched>(
    ctx: &AppContext,
    id: i64,
    request_id: Option<&str>,
    job: Option<i64>,
) -> DomainResult<B::Answer> {
    let jobs: Vec<i64> = job.into_iter().collect();
    let mut answers = B::together(ctx, &[(id, request_id)], &jobs).await?;
    answers
        .pop()
        .ok_or_else(|| anyhow::anyhow!("{}: a batch of one answered nothing", B::NAME).into())
}
