//! Editing a plan's future (issue 19): the studio gives the parts not
//! billed yet as they should be from now on, in the grammar of
//! `setPaymentPlan` (an amount, a percentage of what they share, or the
//! rest; a date, days before the session, or today). Billed and paid parts
//! stay as they are; the future parts ask for exactly what the parts they
//! replace asked for, so the plan's total does not move.
//!
//! - **In place.** The plan keeps its id and the client stays enrolled as
//!   before (an auto-pay client's parts are still noticed and charged);
//!   future parts keep their ids and numbers, extra ones are added after
//!   them and surplus ones removed. Each part's billing step moves to its
//!   new moment (`Change::PlanEdited`), so a part moved earlier is billed on
//!   its new day and one moved later not before it.
//! - **One email.** The client gets one "schedule updated" email per edit,
//!   listing every part (`followup::plan_emails`); no reminder fires, since
//!   no invoice changes.
//! - **Refused**, nothing written: a plan with nothing left to schedule
//!   (`INVALID_STATE`), parts that do not add up, a date past or not after
//!   the last billed part's, too many parts, and the other rules of
//!   `kernel::plan`.

use super::{
    PartInput, Plan, calendar, insert_part, issue_moment, plan_of, scheduled_session, specs,
};
use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::{DomainResult, UserError};
use crate::kernel::error::ErrorCode;
use crate::kernel::ids::SessionId;
use crate::kernel::money::Minor;
use crate::kernel::plan::{self, MAX_PARTS, PlannedPart};
use crate::workflow::next::{self, Change};
use chrono::{DateTime, Utc};
use entity::enums::{PlanPartStatus, PlanStatus};
use entity::{client, invoice, payment_plan, payment_plan_part, studio};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, ModelTrait,
    QueryFilter,
};

/// The parts of `current` an edit replaces: those still `SCHEDULED` after
/// the last part billed (a part given back by a voided installment before
/// it stays for the final invoice), and the number of the last billed one.
fn future(current: &Plan) -> (i32, Vec<&payment_plan_part::Model>) {
    let last_billed = current
        .parts
        .iter()
        .filter(|p| matches!(p.status, PlanPartStatus::Issued | PlanPartStatus::Paid))
        .map(|p| p.seq)
        .max()
        .unwrap_or(0);
    let future = current
        .parts
        .iter()
        .filter(|p| p.seq > last_billed && p.status == PlanPartStatus::Scheduled)
        .collect();
    (last_billed, future)
}

/// What an edit may not do beyond `kernel::plan`'s rules: more parts than a
/// plan may have, or a first part not after the last billed one.
fn check_against_billed(
    current: &Plan,
    last_billed: i32,
    planned: &[PlannedPart],
) -> Result<(), UserError> {
    let kept = usize::try_from(last_billed).unwrap_or(0);
    if kept + planned.len() > MAX_PARTS {
        return Err(UserError::with_code(
            "parts",
            ErrorCode::TooManyParts,
            format!("a plan has at most {MAX_PARTS} parts; {kept} are billed already"),
        ));
    }
    let billed = current.parts.iter().find(|p| p.seq == last_billed);
    if let (Some(billed), Some(first)) = (billed, planned.first())
        && first.due_date <= billed.due_date
    {
        return Err(UserError::with_code(
            "parts.0.dueDate",
            ErrorCode::DatesOutOfOrder,
            format!(
                "must fall due after part {} ({}), which is billed already",
                billed.seq, billed.due_date
            ),
        ));
    }
    Ok(())
}

/// Rewrites the session's future parts as `parts` says (see the module).
pub async fn edit_plan(
    ctx: &AppContext,
    studio: &studio::Model,
    session: SessionId,
    parts: &[PartInput],
    request_id: Option<&str>,
) -> DomainResult<Plan> {
    let now = ctx.clock.now();
    let currency = studio.currency;
    let specs = specs(parts, currency)?;
    let tx = begin_write(&ctx.db).await?;
    let booked = scheduled_session(&tx, studio.id, session).await?;
    let current = plan_of(&tx, studio.id, session)
        .await?
        .filter(|p| p.plan.status == PlanStatus::Active)
        .ok_or_else(|| UserError::not_found("sessionId", "payment plan"))?;
    let (last_billed, future) = future(&current);
    if future.is_empty() {
        return Err(UserError::state(
            "sessionId",
            "every part of the plan is billed already; nothing is left to schedule",
        )
        .into());
    }
    let total: Minor = future.iter().map(|p| p.amount_minor).sum();
    let planned = plan::plan(
        total,
        currency,
        &specs,
        &calendar(&tx, studio, &booked, now).await?,
    )?;
    check_against_billed(&current, last_billed, &planned)?;
    let surplus = future.get(planned.len()..).unwrap_or_default();
    refuse_removing_billed_once(&tx, surplus).await?;
    let client = client::Entity::find_by_id(booked.client_id)
        .one(&tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("client of session {} missing", booked.id))?;
    let mut moved = Vec::with_capacity(planned.len());
    for (i, part) in planned.iter().enumerate() {
        let row = match future.get(i) {
            Some(existing) => rewrite(&tx, existing, part, now).await?,
            None => {
                let seq = last_billed + part.seq;
                insert_part(&tx, &current.plan, &PlannedPart { seq, ..*part }, now).await?
            }
        };
        moved.push((
            row.id,
            issue_moment(studio, &client, &current.plan, row.due_date),
        ));
    }
    for part in surplus {
        (*part).clone().delete(&tx).await?;
    }
    let revision = current.plan.revision + 1;
    let mut active: payment_plan::ActiveModel = current.plan.clone().into();
    active.revision = Set(revision);
    active.updated_at = Set(now);
    let plan = active.update(&tx).await?;
    let change = Change::PlanEdited {
        studio_id: studio.id,
        plan_id: plan.id,
        revision,
        parts: moved,
    };
    next::after(&tx, change, request_id, now).await?;
    let edited = super::with_parts(&tx, plan).await?;
    next::commit(ctx, tx).await?;
    tracing::info!(
        studio_id = studio.id,
        session_id = booked.id,
        plan_id = edited.plan.id,
        revision,
        parts = planned.len(),
        "payment plan edited"
    );
    Ok(edited)
}

/// A part that an installment billed once (since voided) is not removed:
/// its invoice names it.
async fn refuse_removing_billed_once(
    tx: &impl ConnectionTrait,
    surplus: &[&payment_plan_part::Model],
) -> DomainResult<()> {
    if surplus.is_empty() {
        return Ok(());
    }
    let billed_once = invoice::Entity::find()
        .filter(invoice::Column::PlanPartId.is_in(surplus.iter().map(|p| p.id)))
        .all(tx)
        .await?;
    let first = surplus
        .iter()
        .filter(|part| billed_once.iter().any(|i| i.plan_part_id == Some(part.id)))
        .map(|part| part.seq)
        .min();
    match first {
        Some(seq) => Err(UserError::state(
            "parts",
            format!(
                "part {seq} was billed once (its invoice is void) and cannot be removed; \
                 give at least {seq} parts"
            ),
        )
        .into()),
        None => Ok(()),
    }
}

async fn rewrite(
    tx: &impl ConnectionTrait,
    existing: &payment_plan_part::Model,
    part: &PlannedPart,
    now: DateTime<Utc>,
) -> DomainResult<payment_plan_part::Model> {
    let mut active: payment_plan_part::ActiveModel = existing.clone().into();
    active.amount_minor = Set(part.amount);
    active.due_date = Set(part.due_date);
    active.updated_at = Set(now);
    Ok(active.update(tx).await?)
}
