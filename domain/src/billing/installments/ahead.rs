//! Paying ahead (issue 19, item 4): money always goes to the oldest part.
//!
//! A part is billed at its moment; a client who wants to pay the next part
//! now (the portal's "Pay the next part now") or a studio holding a check for
//! a part not billed yet bills the earliest part still scheduled at once, as
//! its installment invoice, and pays that. Never a later part while an
//! earlier one is billed and unpaid: that one is paid first. The part's own
//! step later finds it billed and bills nothing; an auto-pay client's charge
//! on the part's day charges only what is still due, so nothing when it was
//! paid ahead.

use super::{Issued, Timing, issue};
use crate::infra::context::AppContext;
use crate::infra::error::{DomainResult, UserError};
use crate::kernel::ids::SessionId;
use crate::studio::plans;
use entity::enums::{InvoiceStatus, PlanPartStatus, PlanStatus};
use entity::invoice;
use sea_orm::EntityTrait;

/// Bills the session's earliest scheduled part now and returns its
/// installment invoice.
pub async fn bill_next_part(
    ctx: &AppContext,
    studio_id: i64,
    session: SessionId,
    request_id: Option<&str>,
) -> DomainResult<invoice::Model> {
    let plan = plans::plan_of(&ctx.db, studio_id, session)
        .await?
        .filter(|p| p.plan.status == PlanStatus::Active)
        .ok_or_else(|| UserError::not_found("sessionId", "session with a payment plan"))?;
    let unpaid = plan
        .parts
        .iter()
        .find(|p| p.status == PlanPartStatus::Issued);
    let open = unpaid.and_then(|part| {
        plan.invoices
            .iter()
            .find(|i| i.plan_part_id == Some(part.id) && i.status != InvoiceStatus::Paid)
    });
    if let (Some(part), Some(billed)) = (unpaid, open) {
        return Err(UserError::state(
            "sessionId",
            format!(
                "installment {} (invoice {}) is billed and not paid yet: it is paid first",
                part.seq,
                billed.display_number()
            ),
        )
        .into());
    }
    let next = plan
        .parts
        .iter()
        .find(|p| p.status == PlanPartStatus::Scheduled)
        .ok_or_else(|| {
            UserError::state("sessionId", "every part of this plan is billed already")
        })?;
    match issue(ctx, next.id, Timing::Ahead, request_id).await? {
        Issued::Issued { invoice_id, .. } => Ok(invoice::Entity::find_by_id(invoice_id)
            .one(&ctx.db)
            .await?
            .ok_or_else(|| anyhow::anyhow!("invoice {invoice_id} vanished"))?),
        Issued::Nothing(why) => Err(UserError::state("sessionId", why).into()),
        Issued::NotYet(_) => {
            Err(anyhow::anyhow!("part {} billed ahead was not billed", next.id).into())
        }
    }
}
