//! Steps that run in batches (issue 20): jobs of one step due at the same
//! time share one transaction instead of one each. A job hands its step to
//! the batch task and awaits its own answer, so nothing changes for it; the
//! task gathers for a moment (`GATHER`), then runs what arrived as one batch.
//!
//! Today the batched step is `GenerateInvoice`
//! (`invoicing::generate_invoices`: one commit, and the studio's number
//! counter locked once, for the whole batch). A batch commits whole or not
//! at all; when it fails, each of its jobs runs its step alone, so one
//! session's failure never fails the others. A lone job runs alone.

use domain::AppContext;
use domain::DomainResult;
use domain::billing::invoicing::{self, Generated};
use futures::FutureExt;
use futures::future::join_all;
use std::panic::AssertUnwindSafe;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The most jobs one batch carries: the process's jobs in flight are fewer
/// (`worker.concurrency`), so this only bounds one transaction's length.
const BATCH: usize = 64;

/// How long a batch waits for more jobs after its first: jobs relayed
/// together arrive within this of each other.
const GATHER: Duration = Duration::from_millis(3);

struct Due {
    session_id: i64,
    request_id: Option<String>,
    reply: oneshot::Sender<DomainResult<Generated>>,
}

/// A handle on the batch task. Falls back to running the step alone when
/// the task is gone (a job that outlives its worker at shutdown).
#[derive(Clone)]
pub struct Batches {
    ctx: AppContext,
    invoices: mpsc::UnboundedSender<Due>,
}

impl Batches {
    /// Starts the task; it ends when the last handle is dropped.
    pub fn spawn(ctx: AppContext) -> Self {
        let (invoices, incoming) = mpsc::unbounded_channel();
        tokio::spawn(run(ctx.clone(), incoming));
        Self { ctx, invoices }
    }

    /// `invoicing::generate_invoice`, in a batch with the others due now.
    pub async fn generate_invoice(
        &self,
        session_id: i64,
        request_id: Option<&str>,
    ) -> DomainResult<Generated> {
        let (reply, answer) = oneshot::channel();
        let due = Due {
            session_id,
            request_id: request_id.map(str::to_string),
            reply,
        };
        if self.invoices.send(due).is_ok()
            && let Ok(answer) = answer.await
        {
            return answer;
        }
        invoicing::generate_invoice(&self.ctx, session_id, request_id).await
    }
}

async fn run(ctx: AppContext, mut incoming: mpsc::UnboundedReceiver<Due>) {
    let mut batch = Vec::with_capacity(BATCH);
    while incoming.recv_many(&mut batch, BATCH).await > 0 {
        tokio::time::sleep(GATHER).await;
        while batch.len() < BATCH {
            match incoming.try_recv() {
                Ok(due) => batch.push(due),
                Err(_) => break,
            }
        }
        // A panic drops the batch's answers: its jobs run their steps alone.
        let batch = std::mem::take(&mut batch);
        if AssertUnwindSafe(generate(&ctx, batch))
            .catch_unwind()
            .await
            .is_err()
        {
            tracing::error!("a batch of invoices panicked; its jobs run alone");
        }
    }
}

/// One batch: together, or each alone when together failed.
async fn generate(ctx: &AppContext, batch: Vec<Due>) {
    if batch.len() > 1 {
        let due: Vec<(i64, Option<&str>)> = batch
            .iter()
            .map(|d| (d.session_id, d.request_id.as_deref()))
            .collect();
        match invoicing::generate_invoices(ctx, &due).await {
            Ok(answers) => {
                metrics::histogram!("step_batch_size", "kind" => "generate_invoice")
                    .record(batch.len() as f64);
                for (due, answer) in batch.into_iter().zip(answers) {
                    let _ = due.reply.send(Ok(answer));
                }
                return;
            }
            Err(err) => {
                tracing::warn!(error = %err, size = batch.len(), "a batch of invoices failed; each is generated alone");
            }
        }
    }
    join_all(batch.into_iter().map(|due| async move {
        let answer =
            invoicing::generate_invoice(ctx, due.session_id, due.request_id.as_deref()).await;
        let _ = due.reply.send(answer);
    }))
    .await;
}
