//! One handler per job kind, each reading like its step of the workflow.
//! The logic lives in `domain`; a handler only calls it. This module turns
//! the outcome into outbox bookkeeping (done / retry later with back-off).
//!
//! A step runs in a task of its own (`handle`), never cancelled by apalis (a
//! timeout, a worker restarted after a backend error, shutdown): a
//! transaction dropped mid-statement would go back to the pool still open.
//! A step outside its time is postponed (`Outcome::Postpone`), not failed.

mod charge;
mod gallery;
mod generate_invoice;
mod send_invoice;
mod send_receipt;

use crate::WorkerState;
use apalis::prelude::{BoxDynError, Data};
use domain::followup::disputes;
use domain::workflow::jobs::{Job, JobKind};
use domain::workflow::outcome::Outcome;
use domain::{AppContext, DomainError, workflow::outbox};
use futures::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// Runs the step a job stands for and says what it came to.
async fn run_step(state: &WorkerState, job: &Job) -> Outcome {
    let (ctx, request_id) = (&state.ctx, job.request_id.as_deref());
    match &job.kind {
        JobKind::GenerateInvoice { session_id } => Outcome::recorded(
            generate_invoice::run(&state.batches, *session_id, request_id, job.outbox_id).await,
        ),
        JobKind::Charge {
            invoice_id,
            attempt,
            payer,
        } => charge::run(ctx, *invoice_id, *attempt, *payer, request_id).await,
        JobKind::ResolvePayment { payment_id } => {
            charge::resolve(ctx, *payment_id, request_id).await
        }
        JobKind::ResolveRefund { refund_id } => {
            Outcome::of(domain::billing::refunds::resolve(ctx, *refund_id, request_id).await)
        }
        JobKind::SendDeclineNotice {
            invoice_id,
            attempt,
        } => send_invoice::decline_notice(ctx, *invoice_id, *attempt).await,
        JobKind::SendInvoice { invoice_id, resend } => {
            send_invoice::run(ctx, *invoice_id, resend.as_deref()).await
        }
        JobKind::SendReceipt { payment_id } => send_receipt::run(ctx, *payment_id).await,
        JobKind::SendRefundConfirmation { refund_id } => {
            send_receipt::refund(ctx, *refund_id).await
        }
        JobKind::SyncGalleryAccess { invoice_id, .. } => {
            gallery::sync(&state.batches, *invoice_id, request_id, job.outbox_id).await
        }
        JobKind::SendGalleryCredentials { invoice_id } => {
            gallery::send_credentials(ctx, *invoice_id).await
        }
        JobKind::SendGalleryUpgrade { invoice_id, level } => {
            gallery::send_upgrade(ctx, *invoice_id, *level).await
        }
        JobKind::DeliverSimulatedWebhook { key } => {
            Outcome::of(domain::adapters::sim_webhooks::deliver(ctx, key).await)
        }
        JobKind::ReminderStep { invoice_id, step } => {
            use domain::followup::reminders::{self, StepOutcome};
            match reminders::run_step(ctx, *invoice_id, *step, request_id).await {
                Ok(StepOutcome::NotYet(until)) => Outcome::Postpone(until),
                Ok(outcome) => {
                    tracing::info!(invoice_id, step, ?outcome, "reminder step");
                    Outcome::Done
                }
                Err(err) => Outcome::Retry(err),
            }
        }
        JobKind::SendReminder { invoice_id, step } => {
            Outcome::of_sent(domain::followup::emails::send_reminder(ctx, *invoice_id, *step).await)
        }
        JobKind::SendGalleryExpiryNotice {
            invoice_id,
            expires_at,
        } => Outcome::of_sent(
            domain::followup::emails::send_gallery_expiry_notice(ctx, *invoice_id, *expires_at)
                .await,
        ),
        JobKind::DeliverGalleryWebhook { invoice_id, change } => {
            Outcome::of(domain::followup::gallery::deliver_webhook(ctx, *invoice_id, *change).await)
        }
        JobKind::SendCardSetupLink { card_setup_id } => Outcome::of_sent(
            domain::followup::emails::send_card_setup_link(ctx, *card_setup_id).await,
        ),
        JobKind::ExpireStaleCheckouts { invoice_id, .. } => {
            Outcome::of(domain::billing::checkout::expire_stale(ctx, *invoice_id).await)
        }
        JobKind::IssuePlanPart { part_id } => {
            use domain::billing::installments::{self, Issued};
            match installments::issue_part(ctx, *part_id, request_id).await {
                Ok(Issued::NotYet(at)) => Outcome::Postpone(at),
                Ok(outcome) => {
                    tracing::info!(part_id, ?outcome, "plan part");
                    Outcome::Done
                }
                Err(err) => Outcome::Retry(err),
            }
        }
        JobKind::CheckCard { invoice_id } => Outcome::of(
            domain::billing::installments::check_card(ctx, *invoice_id, request_id)
                .await
                .map(|checked| tracing::info!(invoice_id, ?checked, "card check")),
        ),
        JobKind::SendPlanUpdate { plan_id, revision } => Outcome::of_sent(
            domain::followup::plan_emails::send_plan_update(ctx, *plan_id, *revision).await,
        ),
        JobKind::ApplyDefaultPicks { invoice_id } => Outcome::of(
            domain::followup::gallery::picks::apply_default(ctx, *invoice_id, request_id).await,
        ),
        JobKind::AnswerDispute {
            dispute_id,
            approved,
            by_deadline,
        } => Outcome::of(disputes::answer(ctx, *dispute_id, *approved || *by_deadline).await),
        JobKind::Noop { .. } => Outcome::Done,
    }
}

/// A step `run_step` hands to a lane of `crate::batches`, whose transaction
/// also records the job's outbox row `DONE` (`Outcome::Recorded`): its job
/// needs no `start` of its own (the step is idempotent, so a duplicate
/// delivery only finds its work done).
fn runs_in_batches(kind: &JobKind) -> bool {
    matches!(
        kind,
        JobKind::GenerateInvoice { .. } | JobKind::SyncGalleryAccess { .. }
    )
}

/// The apalis handler. The step runs in a task of its own, which apalis
/// cannot cancel: apalis drops this future when the job's timeout fires, when
/// the monitor restarts a worker after a backend error (a Redis restart), or
/// at shutdown. A step dropped halfway through leaves its work in an unknown
/// place: an email handed to the SMTP server but not marked sent (sent twice
/// later), or a database transaction dropped while a statement of it was in
/// flight, which sea-orm cannot roll back and sqlx hands back to the pool
/// still open, holding its row locks for whoever uses that connection next.
/// A detached step always reaches its end: commit or roll back, mark the
/// email, record the outcome in the outbox.
pub async fn handle(job: Job, state: Data<Arc<WorkerState>>) -> Result<(), BoxDynError> {
    let state = Arc::clone(&state);
    match tokio::spawn(run_to_end(job, state)).await {
        Ok(result) => result,
        Err(err) => Err(Box::new(err) as BoxDynError),
    }
}

async fn run_to_end(job: Job, state: Arc<WorkerState>) -> Result<(), BoxDynError> {
    let span = tracing::info_span!(
        "job",
        kind = job.kind.name(),
        outbox_id = job.outbox_id,
        request_id = job.request_id.as_deref().unwrap_or("-"),
    );
    async move {
        let ctx = &state.ctx;
        let started = std::time::Instant::now();
        let kind = job.kind.name();
        // A batched step records its start and end in its own transaction.
        if !runs_in_batches(&job.kind) && !state.bookkeeping.start(job.outbox_id).await? {
            tracing::debug!("duplicate delivery of a finished job; skipped");
            metrics::counter!("jobs_total", "kind" => kind, "outcome" => "duplicate").increment(1);
            let _ = state.finished.send(job.outbox_id);
            return Ok(());
        }
        let heartbeat = Heartbeat::start(ctx, job.outbox_id);
        // A panic in a step is a failed attempt like any other: caught here
        // so that the outbox schedules its retry.
        let result = AssertUnwindSafe(run_step(&state, &job)).catch_unwind().await;
        drop(heartbeat);
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(panic) => {
                let message = domain::kernel::error::panic_message(panic.as_ref());
                Outcome::Retry(DomainError::Internal(anyhow::anyhow!(
                    "step panicked: {message}"
                )))
            }
        };
        let (outcome, bookkeeping) = match outcome {
            Outcome::Done => ("done", state.bookkeeping.done(job.outbox_id).await),
            Outcome::Recorded => ("done", Ok(())),
            Outcome::Postpone(until) => {
                tracing::info!(%until, "step is early; it waits until then");
                (
                    "postponed",
                    outbox::postpone(&ctx.db, job.outbox_id, until).await,
                )
            }
            Outcome::InFlight(until) => {
                // A duplicate delivery while another sender holds the email:
                // come back when its claim runs out. By then the holder has
                // sent it (this run finds it SENT) or has died (this run
                // sends it), instead of waiting for a redelivery on top of
                // the claim.
                tracing::info!(%until, "email held by another sender; the step waits for its claim");
                (
                    "in_flight",
                    outbox::postpone(&ctx.db, job.outbox_id, until + chrono::Duration::milliseconds(100)).await,
                )
            }
            Outcome::Waiting(until) => {
                tracing::info!(%until, "the gateway is still processing; the step looks again then");
                (
                    "waiting",
                    outbox::postpone(&ctx.db, job.outbox_id, until).await,
                )
            }
            Outcome::Retry(err) if err.is_unavailable() => {
                tracing::warn!(error = %err, "a service the step needs is unavailable; retrying soon");
                (
                    "unreachable",
                    outbox::retry_soon(&ctx.db, job.outbox_id, &err.to_string(), ctx.clock.now()).await,
                )
            }
            Outcome::Retry(err) => {
                tracing::error!(error = ?err, "job failed; will retry with back-off");
                let max = ctx.settings.worker.max_attempts;
                (
                    "failed",
                    outbox::retry_later(&ctx.db, job.outbox_id, &err.to_string(), max, ctx.clock.now())
                        .await,
                )
            }
        };
        metrics::counter!("jobs_total", "kind" => kind, "outcome" => outcome).increment(1);
        metrics::histogram!("job_duration_seconds", "kind" => kind)
            .record(started.elapsed().as_secs_f64());
        let _ = state.finished.send(job.outbox_id);
        // Failures are recorded in the outbox, which schedules the retry; a
        // failure to record them is the queue's to retry.
        bookkeeping.map_err(|e| Box::new(e) as BoxDynError)
    }
    .instrument(span)
    .await
}

/// Renews a running job's outbox row until dropped (see `outbox::still_running`).
struct Heartbeat(tokio::task::JoinHandle<()>);

impl Heartbeat {
    fn start(ctx: &AppContext, outbox_id: i64) -> Self {
        let db = ctx.db.clone();
        let clock = ctx.clock.clone();
        let every = Duration::from_secs(
            (ctx.settings.worker.redeliver_after_secs.max(3) / 3).unsigned_abs(),
        );
        Self(tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(err) = outbox::still_running(&db, outbox_id, clock.now()).await {
                    tracing::warn!(error = %err, outbox_id, "job heartbeat failed");
                }
            }
        }))
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}
