//! Where a session's plan stands, as its documents and its gallery see it:
//! the sentence on an installment's receipts, and what is still owed or
//! disputed across the session's invoices.

use super::span_label;
use crate::infra::error::DomainResult;
use crate::studio::plans;
use entity::enums::{InvoiceKind, InvoiceStatus, PlanPartStatus, PlanStatus};
use entity::{invoice, payment_plan};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};

/// What of a session's money is unsettled, for its gallery: `(disputed,
/// owed)`, an open dispute on a payment of `invoice` or of one of the
/// session's installments, and an installment still open or partly paid
/// (one written off is the studio's decision, and does not hold it back).
pub async fn unsettled(
    conn: &impl ConnectionTrait,
    invoice: &invoice::Model,
) -> DomainResult<(bool, bool)> {
    // Every invoice of the session counts for disputes (its installments,
    // its supplementary invoices for gallery picks); installments alone
    // for what the plan still owes.
    let others = invoice::Entity::find()
        .filter(invoice::Column::SessionId.eq(invoice.session_id))
        .filter(invoice::Column::Kind.ne(InvoiceKind::Final))
        .filter(invoice::Column::Status.ne(InvoiceStatus::Void))
        .all(conn)
        .await?;
    let installments: Vec<_> = others
        .iter()
        .filter(|i| i.kind == InvoiceKind::Installment)
        .collect();
    // A plan kept past completion still has parts to bill.
    let kept = payment_plan::Entity::find()
        .filter(payment_plan::Column::SessionId.eq(invoice.session_id))
        .filter(payment_plan::Column::Status.eq(PlanStatus::Active))
        .one(conn)
        .await?
        .is_some();
    let owed = kept
        || installments
            .iter()
            .any(|i| matches!(i.status, InvoiceStatus::Open | InvoiceStatus::PartiallyPaid));
    let ids = others.iter().map(|i| i.id).chain([invoice.id]);
    let disputed = entity::payment::Entity::find()
        .filter(entity::payment::Column::InvoiceId.is_in(ids))
        .filter(entity::payment::Column::DisputedAt.is_not_null())
        .count(conn)
        .await?;
    Ok((disputed > 0, owed))
}

/// Where the client stands on the plan an installment belongs to, for its
/// receipts (email and PDF): "Installment 2 of 3 — USD 1,380.00 remaining,
/// due May 15, 2027" (the next unpaid part's day), or "… your payment plan
/// is paid in full". `None` for any other invoice.
pub async fn standing(
    conn: &impl ConnectionTrait,
    invoice: &invoice::Model,
) -> DomainResult<Option<String>> {
    let Some(part_id) = invoice.plan_part_id else {
        return Ok(None);
    };
    let session = crate::kernel::ids::SessionId::new(invoice.session_id);
    let Some(plan) = plans::plan_of(conn, invoice.studio_id, session)
        .await?
        .filter(|p| p.parts.iter().any(|part| part.id == part_id))
    else {
        return Ok(None);
    };
    let seq = plan
        .parts
        .iter()
        .find(|p| p.id == part_id)
        .map_or(0, |p| p.seq);
    let head = span_label(
        seq,
        invoice.plan_through_seq,
        u64::try_from(plan.parts.len()).unwrap_or(0),
    );
    let next = plan.parts.iter().find(|p| {
        matches!(p.status, PlanPartStatus::Scheduled | PlanPartStatus::Issued)
            && p.amount_paid_minor < p.amount_minor
    });
    Ok(Some(match next {
        Some(next) => format!(
            "{head} — {} remaining, due {}",
            plan.remaining().of(invoice.currency),
            next.due_date.format("%B %-d, %Y")
        ),
        None => format!("{head} — your payment plan is paid in full"),
    }))
}
