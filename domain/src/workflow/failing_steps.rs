//! Steps of the workflow that keep failing, for the studio to see and to
//! retry: outbox rows of the studio that failed at least once and are not
//! done (waiting for their next attempt, running again, or given up after
//! `worker.max_attempts`). The retry itself stays the outbox's: `retry`
//! only makes the row due now, and the relay hands it to a worker.

use crate::infra::context::AppContext;
use crate::infra::error::{DomainResult, UserError};
use crate::workflow::jobs::JobKind;
use chrono::{DateTime, Utc};
use entity::enums::OutboxStatus;
use entity::{invoice, outbox, payment, refund, session};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// At most this many steps are listed (newest first).
const LIST_LIMIT: u64 = 100;
/// What of a step's last error a studio sees: its first line, this long.
const ERROR_CHARS: usize = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    /// Waiting for its next attempt (`next_retry_at`).
    Retrying,
    /// Handed to a worker again.
    Running,
    /// Out of attempts; runs again only when retried.
    GaveUp,
}

#[derive(Debug, Clone)]
pub struct FailingStep {
    /// The outbox row.
    pub id: i64,
    /// The job kind (`generate_invoice`, `send_invoice`, `charge`...).
    pub kind: &'static str,
    pub session_id: Option<i64>,
    /// The session's title, to show with the step.
    pub session_title: Option<String>,
    pub invoice_id: Option<i64>,
    pub attempts: i32,
    pub last_error: String,
    pub state: StepState,
    pub next_retry_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

fn summary(error: Option<&str>) -> String {
    error
        .and_then(|e| e.lines().next())
        .map(|line| line.chars().take(ERROR_CHARS).collect())
        .unwrap_or_else(|| "failed".into())
}

/// The invoice a job is about, whichever id it carries.
async fn invoice_of<C: ConnectionTrait>(
    conn: &C,
    studio_id: i64,
    kind: &JobKind,
) -> DomainResult<Option<i64>> {
    Ok(match kind {
        JobKind::GenerateInvoice { .. }
        | JobKind::DeliverSimulatedWebhook { .. }
        | JobKind::SendCardSetupLink { .. }
        | JobKind::Noop { .. } => None,
        JobKind::Charge { invoice_id, .. }
        | JobKind::SendInvoice { invoice_id, .. }
        | JobKind::SyncGalleryAccess { invoice_id, .. }
        | JobKind::SendGalleryCredentials { invoice_id }
        | JobKind::SendGalleryUpgrade { invoice_id, .. }
        | JobKind::SendDeclineNotice { invoice_id, .. }
        | JobKind::ReminderStep { invoice_id, .. }
        | JobKind::SendReminder { invoice_id, .. }
        | JobKind::SendGalleryExpiryNotice { invoice_id, .. }
        | JobKind::DeliverGalleryWebhook { invoice_id, .. }
        | JobKind::ExpireStaleCheckouts { invoice_id, .. } => Some(*invoice_id),
        JobKind::SendReceipt { payment_id } | JobKind::ResolvePayment { payment_id } => {
            payment::Entity::find_by_id(*payment_id)
                .filter(payment::Column::StudioId.eq(studio_id))
                .one(conn)
                .await?
                .map(|p| p.invoice_id)
        }
        JobKind::SendRefundConfirmation { refund_id } | JobKind::ResolveRefund { refund_id } => {
            refund::Entity::find_by_id(*refund_id)
                .filter(refund::Column::StudioId.eq(studio_id))
                .one(conn)
                .await?
                .map(|r| r.invoice_id)
        }
    })
}

async fn describe<C: ConnectionTrait>(
    conn: &C,
    studio_id: i64,
    row: outbox::Model,
) -> DomainResult<FailingStep> {
    let kind = serde_json::from_str::<JobKind>(&row.payload).ok();
    let (name, session_id, invoice_id) = match &kind {
        Some(JobKind::GenerateInvoice { session_id }) => {
            ("generate_invoice", Some(*session_id), None)
        }
        Some(kind) => {
            let invoice_id = invoice_of(conn, studio_id, kind).await?;
            let session_id = match invoice_id {
                Some(id) => invoice::Entity::find_by_id(id)
                    .filter(invoice::Column::StudioId.eq(studio_id))
                    .one(conn)
                    .await?
                    .map(|i| i.session_id),
                None => None,
            };
            (kind.name(), session_id, invoice_id)
        }
        None => ("unknown", None, None),
    };
    let session_title = match session_id {
        Some(id) => session::Entity::find_by_id(id)
            .filter(session::Column::StudioId.eq(studio_id))
            .one(conn)
            .await?
            .map(|s| s.title),
        None => None,
    };
    let state = match row.status {
        OutboxStatus::Failed => StepState::GaveUp,
        OutboxStatus::Enqueued => StepState::Running,
        _ => StepState::Retrying,
    };
    Ok(FailingStep {
        id: row.id,
        kind: name,
        session_id,
        session_title,
        invoice_id,
        attempts: row.attempts,
        last_error: summary(row.last_error.as_deref()),
        next_retry_at: (state == StepState::Retrying)
            .then_some(row.claimed_until)
            .flatten(),
        state,
        created_at: row.created_at,
    })
}

fn failing() -> sea_orm::Condition {
    // A failure counts (attempts) or, for a service that is unreachable and
    // retried every few seconds without counting, it left its error.
    sea_orm::Condition::all()
        .add(
            sea_orm::Condition::any()
                .add(outbox::Column::Attempts.gt(0))
                .add(outbox::Column::LastError.is_not_null()),
        )
        .add(outbox::Column::Status.is_in([
            OutboxStatus::Pending,
            OutboxStatus::Enqueued,
            OutboxStatus::Failed,
        ]))
}

/// The studio's steps that failed and are not done, newest first.
pub async fn list<C: ConnectionTrait>(conn: &C, studio_id: i64) -> DomainResult<Vec<FailingStep>> {
    let rows = outbox::Entity::find()
        .filter(outbox::Column::StudioId.eq(studio_id))
        .filter(failing())
        .order_by_desc(outbox::Column::Id)
        .limit(LIST_LIMIT)
        .all(conn)
        .await?;
    let mut steps = Vec::with_capacity(rows.len());
    for row in rows {
        steps.push(describe(conn, studio_id, row).await?);
    }
    Ok(steps)
}

/// The failing steps of one of the studio's sessions.
pub async fn of_session<C: ConnectionTrait>(
    conn: &C,
    studio_id: i64,
    session_id: i64,
) -> DomainResult<Vec<FailingStep>> {
    Ok(list(conn, studio_id)
        .await?
        .into_iter()
        .filter(|s| s.session_id == Some(session_id))
        .collect())
}

/// Makes one of the studio's failing steps due now (a given-up one gets one
/// more attempt; its count goes on). A step running right now, or done, is
/// `INVALID_STATE`; another studio's step is `NOT_FOUND`, like a missing one.
pub async fn retry(ctx: &AppContext, studio_id: i64, id: i64) -> DomainResult<FailingStep> {
    let updated = outbox::Entity::update_many()
        .col_expr(
            outbox::Column::Status,
            Expr::value(OutboxStatus::Pending.as_str()),
        )
        .col_expr(
            outbox::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(outbox::Column::Id.eq(id))
        .filter(outbox::Column::StudioId.eq(studio_id))
        .filter(
            sea_orm::Condition::any()
                .add(outbox::Column::Attempts.gt(0))
                .add(outbox::Column::LastError.is_not_null()),
        )
        .filter(outbox::Column::Status.is_in([OutboxStatus::Pending, OutboxStatus::Failed]))
        .exec(&ctx.db)
        .await?;
    let row = outbox::Entity::find_by_id(id)
        .filter(outbox::Column::StudioId.eq(studio_id))
        .one(&ctx.db)
        .await?
        .ok_or_else(|| UserError::not_found("id", "step"))?;
    if updated.rows_affected == 0 {
        return Err(match row.status {
            OutboxStatus::Done => UserError::state("id", "this step is done"),
            OutboxStatus::Enqueued => UserError::state("id", "this step is running right now"),
            _ => UserError::state("id", "this step has not failed"),
        }
        .into());
    }
    ctx.outbox_signal.notify_one();
    tracing::info!(
        studio_id,
        outbox_id = id,
        "failing step retried by the studio"
    );
    describe(&ctx.db, studio_id, row).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_studio_sees_the_first_line_of_an_error_only() {
        assert_eq!(summary(Some("smtp: refused\nat line 3")), "smtp: refused");
        assert_eq!(summary(None), "failed");
        assert_eq!(summary(Some(&"x".repeat(1000))).len(), ERROR_CHARS);
    }
}
