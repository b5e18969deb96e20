//! Completion nets the plan: the session's final invoice folds the parts
//! not yet billed and credits every installment that was, one row each. A
//! studio that keeps them (`plan_parts_at_completion = KEEP`) leaves them
//! scheduled on their days, the plan active, and the final invoice credits
//! each of them too ("Installment 3 of 3, due July 1, 2027 (scheduled)");
//! the plan completes once its last part is billed (`complete_when_billed`).

use crate::infra::error::DomainResult;
use crate::kernel::money::Minor;
use chrono::{DateTime, Utc};
use entity::enums::{
    InvoiceKind, InvoiceStatus, PlanPartStatus, PlanPartsAtCompletion, PlanStatus,
};
use entity::{invoice, invoice_line, payment_plan, payment_plan_part, session, studio};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder,
};
use serde::{Deserialize, Serialize};

/// One credit row of a final invoice: an installment it nets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanCredit {
    pub label: String,
    pub amount_minor: Minor,
}

/// The rows a final invoice prints for the `plan` minor units its
/// installments cover (`plan_credits` as stored): one per installment, or
/// one row for them all when the invoice could use only part of them.
pub fn credit_rows(plan: Minor, plan_credits: &str) -> impl Iterator<Item = (String, Minor)> {
    let listed: Vec<PlanCredit> = serde_json::from_str(plan_credits).unwrap_or_default();
    let rows = match crate::kernel::money::checked_sum(listed.iter().map(|r| r.amount_minor)) {
        _ if !plan.is_positive() => Vec::new(),
        Some(sum) if sum == plan => listed
            .into_iter()
            .map(|r| (r.label, r.amount_minor))
            .collect(),
        _ => vec![("Payment plan installments".to_string(), plan)],
    };
    rows.into_iter()
}

/// What the session's installments cover on its final invoice, and the
/// rows that say so. Run when the final invoice is drafted: folds the parts
/// not yet billed into it and completes the plan (once; a reissue finds
/// them folded already).
pub async fn net_into_final(
    tx: &DatabaseTransaction,
    studio: &studio::Model,
    session: &session::Model,
    now: DateTime<Utc>,
) -> DomainResult<(Minor, Vec<PlanCredit>)> {
    let plan = payment_plan::Entity::find()
        .filter(payment_plan::Column::SessionId.eq(session.id))
        .filter(payment_plan::Column::Status.eq(PlanStatus::Active))
        .one(tx)
        .await?;
    let keeps = studio.plan_parts_at_completion == PlanPartsAtCompletion::Keep;
    let kept = match (&plan, keeps) {
        (Some(plan), true) => kept_rows(tx, plan).await?,
        _ => Vec::new(),
    };
    if let Some(plan) = plan.filter(|_| !keeps) {
        // Fold before reading the installments: an `IssuePlanPart` holding
        // a part's lock commits its invoice first, and this update then
        // finds that part `ISSUED`.
        payment_plan_part::Entity::update_many()
            .col_expr(
                payment_plan_part::Column::Status,
                Expr::value(PlanPartStatus::Folded.as_str()),
            )
            .col_expr(payment_plan_part::Column::UpdatedAt, Expr::value(now))
            .filter(payment_plan_part::Column::PlanId.eq(plan.id))
            .filter(payment_plan_part::Column::Status.eq(PlanPartStatus::Scheduled))
            .exec(tx)
            .await?;
        let mut active: payment_plan::ActiveModel = plan.into();
        active.status = Set(PlanStatus::Completed);
        active.updated_at = Set(now);
        active.update(tx).await?;
    }
    let installments = invoice::Entity::find()
        .filter(invoice::Column::SessionId.eq(session.id))
        .filter(invoice::Column::Kind.eq(InvoiceKind::Installment))
        .filter(invoice::Column::Status.ne(InvoiceStatus::Void))
        .order_by_asc(invoice::Column::Id)
        .all(tx)
        .await?;
    let mut rows = Vec::with_capacity(installments.len());
    for billed in installments {
        let amount = match billed.status {
            InvoiceStatus::Uncollectible => billed.amount_paid_minor - billed.amount_refunded_minor,
            _ => billed.total_minor - billed.amount_credited_minor,
        };
        if !amount.is_positive() {
            continue;
        }
        let line = invoice_line::Entity::find()
            .filter(invoice_line::Column::InvoiceId.eq(billed.id))
            .one(tx)
            .await?;
        let what = match billed.plan_through_seq {
            Some(through) => rest_label(tx, &billed, through).await?,
            None => line.and_then(|l| l.description.split(" · ").next().map(str::to_string)),
        }
        .unwrap_or_else(|| "Installment".to_string());
        let state = match billed.status {
            InvoiceStatus::Paid => "paid",
            _ => "billed",
        };
        rows.push(PlanCredit {
            label: format!("{what}, {} ({state})", billed.display_number()),
            amount_minor: amount,
        });
    }
    rows.extend(kept);
    let total = crate::kernel::money::checked_sum(rows.iter().map(|r| r.amount_minor))
        .ok_or_else(|| anyhow::anyhow!("installments of session {} overflow", session.id))?;
    Ok((total, rows))
}

/// "Installments 2–3 of 3", for an installment billing the rest of a plan.
async fn rest_label(
    tx: &DatabaseTransaction,
    billed: &invoice::Model,
    through: i32,
) -> DomainResult<Option<String>> {
    let Some(first) = billed.plan_part_id else {
        return Ok(None);
    };
    let Some(first) = payment_plan_part::Entity::find_by_id(first).one(tx).await? else {
        return Ok(None);
    };
    let of = payment_plan_part::Entity::find()
        .filter(payment_plan_part::Column::PlanId.eq(first.plan_id))
        .count(tx)
        .await?;
    Ok(Some(super::span_label(first.seq, Some(through), of)))
}

/// The credit rows of a kept plan's parts still scheduled: each is billed
/// on its own day, so the final invoice does not bill it again.
async fn kept_rows(
    tx: &DatabaseTransaction,
    plan: &payment_plan::Model,
) -> DomainResult<Vec<PlanCredit>> {
    let parts = payment_plan_part::Entity::find()
        .filter(payment_plan_part::Column::PlanId.eq(plan.id))
        .order_by_asc(payment_plan_part::Column::Seq)
        .all(tx)
        .await?;
    let of = u64::try_from(parts.len()).unwrap_or(0);
    Ok(parts
        .iter()
        .filter(|p| p.status == PlanPartStatus::Scheduled)
        .map(|p| PlanCredit {
            label: format!(
                "{}, due {} (scheduled)",
                super::draft::label(p.seq, of),
                p.due_date.format("%B %-d, %Y")
            ),
            amount_minor: p.amount_minor - p.amount_paid_minor,
        })
        .filter(|row| row.amount_minor.is_positive())
        .collect())
}

/// A kept plan of a completed session is `COMPLETED` once none of its
/// parts is left to bill.
pub(super) async fn complete_when_billed(
    tx: &DatabaseTransaction,
    plan: &payment_plan::Model,
    booked: &session::Model,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    if booked.status != entity::enums::SessionStatus::Completed {
        return Ok(());
    }
    let left = payment_plan_part::Entity::find()
        .filter(payment_plan_part::Column::PlanId.eq(plan.id))
        .filter(payment_plan_part::Column::Status.eq(PlanPartStatus::Scheduled))
        .count(tx)
        .await?;
    if left == 0 {
        payment_plan::Entity::update_many()
            .col_expr(
                payment_plan::Column::Status,
                Expr::value(PlanStatus::Completed.as_str()),
            )
            .col_expr(payment_plan::Column::UpdatedAt, Expr::value(now))
            .filter(payment_plan::Column::Id.eq(plan.id))
            .filter(payment_plan::Column::Status.eq(PlanStatus::Active))
            .exec(tx)
            .await?;
    }
    Ok(())
}
