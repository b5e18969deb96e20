//! A card payment's disputes (chargebacks), one row each (`disputes`):
//! opened and closed by the gateway's events, answered with evidence by
//! `followup::disputes`. A studio that reviews evidence
//! (`studios.review_dispute_evidence`) sends it with one click
//! ([`approve`]); otherwise it goes as soon as it is gathered.

use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::DomainResult;
use crate::kernel::error::UserError;
use crate::kernel::ids::StudioId;
use crate::ports::gateway_events::GatewayDispute;
use crate::workflow::next::{self, Change};
use chrono::{DateTime, Utc};
use entity::{dispute, payment};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

/// Records what a dispute event says of `paid`'s dispute: the payment is
/// disputed while it is open (`payments.disputed_at`), the dispute's row
/// follows its status. Returns the row of a dispute just opened, which is
/// to be answered.
pub async fn record(
    tx: &DatabaseTransaction,
    paid: &payment::Model,
    event: &GatewayDispute,
    opened: bool,
    now: DateTime<Utc>,
) -> DomainResult<Option<i64>> {
    payment::Entity::update_many()
        .col_expr(
            payment::Column::DisputedAt,
            Expr::value(opened.then_some(now)),
        )
        .col_expr(payment::Column::UpdatedAt, Expr::value(now))
        .filter(payment::Column::Id.eq(paid.id))
        .exec(tx)
        .await?;
    let inserted = dispute::Entity::insert(dispute::ActiveModel {
        studio_id: Set(paid.studio_id),
        invoice_id: Set(paid.invoice_id),
        payment_id: Set(paid.id),
        gateway_id: Set(event.id.clone()),
        amount_minor: Set(event.amount_minor),
        currency: Set(paid.currency),
        reason: Set(event.reason.clone()),
        status: Set(event.status.clone()),
        evidence_due_by: Set(event.due_by),
        opened_at: Set(now),
        closed_at: Set((!opened).then_some(now)),
        submission_attempts: Set(0),
        updated_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::column(dispute::Column::GatewayId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(tx)
    .await?;
    if inserted == 0 {
        let mut update = dispute::Entity::update_many()
            .col_expr(dispute::Column::Status, Expr::value(event.status.clone()))
            .col_expr(dispute::Column::UpdatedAt, Expr::value(now));
        if !opened {
            update = update.col_expr(dispute::Column::ClosedAt, Expr::value(now));
        }
        update
            .filter(dispute::Column::GatewayId.eq(&event.id))
            .exec(tx)
            .await?;
        return Ok(None);
    }
    if !opened {
        return Ok(None);
    }
    Ok(dispute::Entity::find()
        .filter(dispute::Column::GatewayId.eq(&event.id))
        .one(tx)
        .await?
        .map(|d| d.id))
}

/// The studio's disputes, newest first.
pub async fn of_studio(
    ctx: &AppContext,
    studio_id: StudioId,
    limit: u64,
) -> DomainResult<Vec<dispute::Model>> {
    Ok(dispute::Entity::find()
        .filter(dispute::Column::StudioId.eq(studio_id.get()))
        .order_by_desc(dispute::Column::OpenedAt)
        .order_by_desc(dispute::Column::Id)
        .limit(limit)
        .all(&ctx.db)
        .await?)
}

/// One of the studio's disputes (`None` for another studio's).
pub async fn find(
    ctx: &AppContext,
    studio_id: StudioId,
    dispute_id: i64,
) -> DomainResult<Option<dispute::Model>> {
    Ok(dispute::Entity::find_by_id(dispute_id)
        .filter(dispute::Column::StudioId.eq(studio_id.get()))
        .one(&ctx.db)
        .await?)
}

/// How long before its deadline evidence that waits for the studio's
/// review goes by itself: a dispute left unanswered is lost.
pub const SENT_BY_ITSELF_BEFORE: chrono::Duration = chrono::Duration::hours(48);

/// When evidence waiting for review goes by itself: two days before the
/// deadline, or now when that is past.
pub fn sent_by_itself_at(due_by: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    Ord::max(due_by - SENT_BY_ITSELF_BEFORE, now)
}

/// Where a dispute's evidence stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceStage {
    /// Not gathered yet (the job is on its way).
    Gathering,
    /// Gathered; waits for the studio's click (or goes by itself
    /// [`SENT_BY_ITSELF_BEFORE`] its deadline).
    AwaitingReview,
    /// Gathered (and approved, or the studio does not review): being sent.
    Sending,
    /// Sent to the gateway.
    Submitted,
    /// The dispute closed before any evidence went.
    NotSent,
}

impl EvidenceStage {
    pub fn of(dispute: &dispute::Model, studio_reviews: bool) -> Self {
        if dispute.evidence_submitted_at.is_some() {
            Self::Submitted
        } else if dispute.closed_at.is_some() {
            Self::NotSent
        } else if dispute.evidence_gathered_at.is_none() {
            Self::Gathering
        } else if studio_reviews && dispute.approved_at.is_none() {
            Self::AwaitingReview
        } else {
            Self::Sending
        }
    }
}

/// The studio says to send a gathered evidence: the dispute's answer job
/// runs again, approved. Refused when the dispute is closed, its evidence
/// was sent or is not gathered yet, or its deadline passed. Saying it
/// twice sends it once.
pub async fn approve(
    ctx: &AppContext,
    studio_id: StudioId,
    dispute_id: i64,
) -> DomainResult<dispute::Model> {
    let now = ctx.clock.now();
    let tx = begin_write(&ctx.db).await?;
    let found = dispute::Entity::find_by_id(dispute_id)
        .filter(dispute::Column::StudioId.eq(studio_id.get()))
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or_else(|| UserError::not_found("disputeId", "dispute"))?;
    let refuse = |why: &str| -> DomainResult<dispute::Model> {
        Err(UserError::state("disputeId", format!("dispute {}: {why}", found.gateway_id)).into())
    };
    if found.evidence_submitted_at.is_some() || found.approved_at.is_some() {
        return Ok(found);
    }
    if found.closed_at.is_some() {
        return refuse("the dispute is closed");
    }
    if found.evidence_gathered_at.is_none() {
        return refuse("the evidence is still being gathered; try again in a moment");
    }
    if found.evidence_due_by.is_some_and(|due| due <= now) {
        return refuse("the deadline for evidence has passed");
    }
    dispute::Entity::update_many()
        .col_expr(dispute::Column::ApprovedAt, Expr::value(now))
        .col_expr(dispute::Column::UpdatedAt, Expr::value(now))
        .filter(dispute::Column::Id.eq(found.id))
        .exec(&tx)
        .await?;
    let change = Change::DisputeEvidenceApproved {
        studio_id: found.studio_id,
        dispute_id: found.id,
    };
    next::after(&tx, change, None, now).await?;
    next::commit(ctx, tx).await?;
    Ok(dispute::Model {
        approved_at: Some(now),
        updated_at: now,
        ..found
    })
}

/// How a studio answers disputes: whether it reviews evidence before it
/// goes, and its refund policy (sent with the evidence). `None` leaves a
/// setting as it is; an empty policy clears it.
pub async fn set_policy(
    ctx: &AppContext,
    studio: &entity::studio::Model,
    review_evidence: Option<bool>,
    refund_policy: Option<String>,
) -> DomainResult<entity::studio::Model> {
    use sea_orm::ActiveModelTrait;
    let mut active: entity::studio::ActiveModel = studio.clone().into();
    if let Some(review) = review_evidence {
        active.review_dispute_evidence = Set(review);
    }
    if let Some(policy) = refund_policy {
        let policy = policy.trim();
        if policy.chars().count() > MAX_REFUND_POLICY {
            return Err(UserError::invalid(
                "refundPolicy",
                format!("at most {MAX_REFUND_POLICY} characters"),
            )
            .into());
        }
        crate::kernel::validate::plain_text(policy, true)
            .map_err(|m| UserError::invalid("refundPolicy", m))?;
        active.refund_policy = Set((!policy.is_empty()).then(|| policy.to_string()));
    }
    Ok(active.update(&ctx.db).await?)
}

/// The longest refund policy a studio may keep, in characters.
pub const MAX_REFUND_POLICY: usize = 5000;
