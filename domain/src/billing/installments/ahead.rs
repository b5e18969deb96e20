//! Paying ahead (issue 19, item 4): money always goes to the oldest part.
//!
//! A part is billed at its moment; a client who wants to pay the next part
//! now (the portal's "Pay the next part now") or a studio holding a check for
//! a part not billed yet bills the earliest part still scheduled at once, as
//! its installment invoice, and pays that. Never a later part while an
//! earlier one is billed and unpaid: that one is paid first. The part's own
//! step later finds it billed and bills nothing; an auto-pay client's charge
//! on the part's day charges only what is still due, so nothing when it was
//! paid ahead. Everything that's left can be paid at once the same way
//! (`rest`).

use super::{Issued, Timing, issue};
use crate::infra::context::AppContext;
use crate::infra::error::{DomainResult, UserError};
use crate::kernel::ids::SessionId;
use crate::studio::plans;
use entity::enums::{InvoiceStatus, PlanPartStatus, PlanStatus};
use entity::{invoice, payment_plan, payment_plan_part};
use sea_orm::EntityTrait;

/// What a client (or the studio, for a check) pays ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ahead {
    /// The earliest part still scheduled.
    NextPart,
    /// Everything that's left, as one invoice (`rest`): the earliest
    /// scheduled part and every later one; refused too while a part after
    /// them is billed and unpaid.
    Rest,
}

/// Bills what is paid `ahead` on the session's plan now and returns its
/// installment invoice. Never ahead of an earlier part billed and unpaid
/// (`INVALID_STATE`, named), nothing when every part is billed.
pub async fn bill_ahead(
    ctx: &AppContext,
    studio_id: i64,
    session: SessionId,
    ahead: Ahead,
    request_id: Option<&str>,
) -> DomainResult<invoice::Model> {
    let plan = plans::plan_of(&ctx.db, studio_id, session)
        .await?
        .filter(|p| p.plan.status == PlanStatus::Active)
        .ok_or_else(|| UserError::not_found("sessionId", "session with a payment plan"))?;
    if let Some(refusal) = paid_first(&plan, i32::MAX, "sessionId") {
        return Err(refusal.into());
    }
    let first = match ahead {
        Ahead::NextPart => plan
            .parts
            .iter()
            .find(|p| p.status == PlanPartStatus::Scheduled),
        Ahead::Rest => plan.rest().and_then(|run| run.first().copied()),
    }
    .ok_or_else(|| UserError::state("sessionId", "every part of this plan is billed already"))?;
    let timing = match ahead {
        Ahead::NextPart => Timing::Ahead,
        Ahead::Rest => Timing::Rest,
    };
    billed(ctx, first.id, timing, request_id).await
}

async fn billed(
    ctx: &AppContext,
    part_id: i64,
    timing: Timing,
    request_id: Option<&str>,
) -> DomainResult<invoice::Model> {
    match issue(ctx, part_id, timing, request_id).await? {
        Issued::Issued { invoice_id, .. } => Ok(invoice::Entity::find_by_id(invoice_id)
            .one(&ctx.db)
            .await?
            .ok_or_else(|| anyhow::anyhow!("invoice {invoice_id} vanished"))?),
        Issued::Nothing(why) => Err(UserError::state("sessionId", why).into()),
        Issued::NotYet(_) => {
            Err(anyhow::anyhow!("part {part_id} billed ahead was not billed").into())
        }
    }
}

/// Money goes to the oldest part first: paying an installment invoice is
/// refused while an earlier part of its plan is billed and unpaid (the
/// portal's plan card links to that one).
pub async fn ensure_oldest_first(
    db: &impl sea_orm::ConnectionTrait,
    billed: &invoice::Model,
) -> DomainResult<()> {
    let Some(part_id) = billed.plan_part_id else {
        return Ok(());
    };
    let Some(part) = payment_plan_part::Entity::find_by_id(part_id)
        .one(db)
        .await?
    else {
        return Ok(());
    };
    let Some(plan) = payment_plan::Entity::find_by_id(part.plan_id)
        .one(db)
        .await?
    else {
        return Ok(());
    };
    let plan = plans::with_parts(db, plan).await?;
    match paid_first(&plan, part.seq, "invoiceId") {
        Some(refusal) => Err(refusal.into()),
        None => Ok(()),
    }
}

/// The refusal naming the earliest part before `seq` that is billed and
/// not fully paid, if there is one.
fn paid_first(plan: &plans::Plan, seq: i32, field: &str) -> Option<UserError> {
    plan.parts
        .iter()
        .filter(|p| p.seq < seq && p.status == PlanPartStatus::Issued)
        .find_map(|part| {
            let billed = plan
                .invoice_of(part)
                .filter(|i| i.status != InvoiceStatus::Paid)?;
            Some(UserError::state(
                field,
                format!(
                    "installment {} (invoice {}) is billed and not paid yet: it is paid first",
                    part.seq,
                    billed.display_number()
                ),
            ))
        })
}
