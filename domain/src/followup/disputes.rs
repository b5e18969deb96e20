//! A dispute answered with evidence (the `AnswerDispute` job): gathered
//! once (`evidence.rs`), then sent to the gateway once, before the
//! deadline, unless the studio reviews evidence and has not said to send
//! it yet (`billing::disputes::approve`).
//!
//! Sent once: each sending is an attempt counted on the dispute before
//! anything goes out (`submission_attempts`), and every attempt looks at
//! the dispute first: one that took evidence already is recorded as
//! answered, never sent again; one the gateway does not know, or that
//! takes no evidence any more, is left alone. Documents are uploaded under
//! keys of the attempt (`dispute_{dp}_{field}_{n}`), the evidence under
//! `dispute_{dp}_evidence_{n}`.

use crate::billing::disputes;
use crate::billing::documents::InvoiceDocument;
use crate::infra::context::AppContext;
use crate::infra::error::DomainResult;
use crate::kernel::keys::{Key, RequestKey, Step};
use crate::ports::gateway::{EvidenceFile, EvidenceSubmission, GatewayError};
use crate::workflow::next::{self, Change};
use entity::{dispute, studio};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

pub mod evidence;
pub use evidence::Evidence;

/// What answering a dispute came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answered {
    /// The evidence went to the gateway (now or before).
    Submitted,
    /// Gathered; it waits for the studio's click.
    AwaitingReview,
    /// Nothing to send: the dispute is closed, or its deadline passed.
    Nothing(String),
}

/// Gathers the evidence of dispute `dispute_id` if it is not yet, and sends
/// it when the studio does not review evidence or `approved` it.
pub async fn answer(ctx: &AppContext, dispute_id: i64, approved: bool) -> DomainResult<()> {
    let answered = answer_now(ctx, dispute_id, approved).await?;
    tracing::info!(dispute_id, ?answered, "dispute answered");
    Ok(())
}

async fn answer_now(ctx: &AppContext, dispute_id: i64, approved: bool) -> DomainResult<Answered> {
    let Some(mut found) = dispute::Entity::find_by_id(dispute_id).one(&ctx.db).await? else {
        return Ok(Answered::Nothing(format!("no dispute {dispute_id}")));
    };
    if found.evidence_submitted_at.is_some() {
        return Ok(Answered::Submitted);
    }
    if found.closed_at.is_some() {
        return Ok(Answered::Nothing(format!(
            "dispute {} is closed",
            found.gateway_id
        )));
    }
    let studio = studio::Entity::find_by_id(found.studio_id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("studio {} missing", found.studio_id))?;
    if found.evidence.is_none() {
        found = store_gathered(ctx, found, studio.review_dispute_evidence).await?;
    }
    if studio.review_dispute_evidence && !approved && found.approved_at.is_none() {
        return Ok(Answered::AwaitingReview);
    }
    let now = ctx.clock.now();
    if found.evidence_due_by.is_some_and(|due| due <= now) {
        tracing::warn!(dispute = %found.gateway_id, "the deadline for evidence passed before it was sent");
        return Ok(Answered::Nothing(format!(
            "the deadline for evidence on dispute {} has passed",
            found.gateway_id
        )));
    }
    // Look first: a sending whose answer was lost may have gone through.
    let state = match ctx.gateway.retrieve_dispute(&found.gateway_id).await {
        Err(GatewayError::UnknownDispute(id)) => {
            tracing::warn!(dispute = %id, "the gateway knows no such dispute; nothing sent");
            return Ok(Answered::Nothing(format!(
                "the gateway knows no dispute {id}"
            )));
        }
        other => other?,
    };
    if state.submitted {
        let evidence: Evidence = stored(&found)?;
        mark_submitted(ctx, &found, &evidence, &state.status).await?;
        return Ok(Answered::Submitted);
    }
    if !matches!(
        state.status.as_str(),
        "needs_response" | "warning_needs_response"
    ) {
        return Ok(Answered::Nothing(format!(
            "dispute {} is {}: it takes no evidence",
            found.gateway_id, state.status
        )));
    }
    submit(ctx, found).await
}

fn stored(found: &dispute::Model) -> DomainResult<Evidence> {
    let raw = found.evidence.as_deref().unwrap_or("null");
    Ok(serde_json::from_str(raw)
        .map_err(|e| anyhow::anyhow!("dispute {}'s evidence unreadable: {e}", found.id))?)
}

/// Gathers the evidence and stores it, unless another run stored it first.
/// Evidence that waits for the studio's review (`reviewed`) goes by itself
/// shortly before the deadline ([`disputes::sent_by_itself_at`]).
async fn store_gathered(
    ctx: &AppContext,
    found: dispute::Model,
    reviewed: bool,
) -> DomainResult<dispute::Model> {
    let evidence = evidence::gather(ctx, &found).await?;
    let json = serde_json::to_string(&evidence).map_err(anyhow::Error::from)?;
    let now = ctx.clock.now();
    let tx = crate::infra::db::begin_write(&ctx.db).await?;
    let stored = dispute::Entity::update_many()
        .col_expr(dispute::Column::Evidence, Expr::value(json))
        .col_expr(dispute::Column::EvidenceGatheredAt, Expr::value(now))
        .col_expr(dispute::Column::UpdatedAt, Expr::value(now))
        .filter(dispute::Column::Id.eq(found.id))
        .filter(dispute::Column::Evidence.is_null())
        .exec(&tx)
        .await?
        .rows_affected;
    let deadline = found.evidence_due_by.filter(|_| reviewed && stored == 1);
    if let Some(due_by) = deadline {
        let change = Change::DisputeAwaitingReview {
            studio_id: found.studio_id,
            dispute_id: found.id,
            send_at: disputes::sent_by_itself_at(due_by, now),
        };
        next::after(&tx, change, None, now).await?;
    }
    next::commit(ctx, tx).await?;
    tracing::info!(dispute = %found.gateway_id, logins = evidence.logins, downloads = evidence.downloads, "dispute evidence gathered");
    Ok(dispute::Entity::find_by_id(found.id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("dispute {} vanished", found.id))?)
}

/// One attempt: counted first, then the documents, then the evidence.
async fn submit(ctx: &AppContext, found: dispute::Model) -> DomainResult<Answered> {
    let mut evidence = stored(&found)?;
    let attempt = found.submission_attempts + 1;
    dispute::Entity::update_many()
        .col_expr(dispute::Column::SubmissionAttempts, Expr::value(attempt))
        .filter(dispute::Column::Id.eq(found.id))
        .exec(&ctx.db)
        .await?;
    let doc = InvoiceDocument::load_by_id(ctx, found.invoice_id).await?;
    let dp = found.gateway_id.as_str();
    let row = Key::Chargeback {
        dispute_id: dp.to_string(),
    }
    .to_string();
    let mut fields = evidence.text_fields();
    for (field, filename, bytes) in evidence::documents(&doc, &found, &evidence)? {
        let file = EvidenceFile {
            idempotency_key: RequestKey::new(&row, Step::Upload(field), attempt).to_string(),
            filename,
            bytes,
        };
        let id = ctx.gateway.upload_evidence(&file).await?;
        fields.push((field.to_string(), id.clone()));
        evidence.files.insert(field.to_string(), id);
    }
    // What goes out is kept before it goes: a sending whose answer is lost
    // is recorded with the documents it carried.
    let json = serde_json::to_string(&evidence).map_err(anyhow::Error::from)?;
    dispute::Entity::update_many()
        .col_expr(dispute::Column::Evidence, Expr::value(json))
        .filter(dispute::Column::Id.eq(found.id))
        .exec(&ctx.db)
        .await?;
    let submission = EvidenceSubmission {
        dispute: dp.to_string(),
        idempotency_key: RequestKey::new(&row, Step::Evidence, attempt).to_string(),
        fields,
    };
    let state = ctx.gateway.submit_evidence(&submission).await?;
    mark_submitted(ctx, &found, &evidence, &state.status).await?;
    tracing::info!(dispute = dp, status = %state.status, "dispute evidence submitted");
    Ok(Answered::Submitted)
}

async fn mark_submitted(
    ctx: &AppContext,
    found: &dispute::Model,
    evidence: &Evidence,
    status: &str,
) -> DomainResult<()> {
    let json = serde_json::to_string(evidence).map_err(anyhow::Error::from)?;
    let now = ctx.clock.now();
    let tx = crate::infra::db::begin_write(&ctx.db).await?;
    dispute::Entity::update_many()
        .col_expr(dispute::Column::Evidence, Expr::value(json))
        .col_expr(dispute::Column::EvidenceSubmittedAt, Expr::value(now))
        .col_expr(dispute::Column::UpdatedAt, Expr::value(now))
        .filter(dispute::Column::Id.eq(found.id))
        .filter(dispute::Column::EvidenceSubmittedAt.is_null())
        .exec(&tx)
        .await?;
    // A closing event that came first keeps its final status.
    dispute::Entity::update_many()
        .col_expr(dispute::Column::Status, Expr::value(status.to_string()))
        .filter(dispute::Column::Id.eq(found.id))
        .filter(dispute::Column::ClosedAt.is_null())
        .exec(&tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
