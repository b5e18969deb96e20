//! An installment invoice written for its parts: the draft (a line per
//! part, untaxed: the session's taxes are on its final invoice), numbered
//! and routed like every invoice, its parts marked `ISSUED`.

use super::mark;
use crate::billing::invoicing::finalize_and_route;
use crate::billing::lifecycle::{self, Actor, Audit};
use crate::infra::context::AppContext;
use crate::infra::error::DomainResult;
use crate::infra::secrets::{hash_token, random_token};
use crate::kernel::money::Minor;
use chrono::{DateTime, Utc};
use entity::enums::{InvoiceEventKind, InvoiceKind, InvoiceStatus, LineKind, PlanPartStatus};
use entity::{client, invoice, invoice_line, payment_plan_part, session, studio};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter,
};

/// Bills `billed`'s parts as one installment invoice, finalized and routed
/// (`finalize_and_route`), and marks them `ISSUED`.
pub(super) async fn bill(
    ctx: &AppContext,
    tx: &DatabaseTransaction,
    billed: Billed<'_>,
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> DomainResult<invoice::Model> {
    let of = payment_plan_part::Entity::find()
        .filter(payment_plan_part::Column::PlanId.eq(billed.part.plan_id))
        .count(tx)
        .await?;
    let draft = insert_installment(ctx, tx, &billed, of, request_id, now).await?;
    let invoice = finalize_and_route(
        ctx,
        tx,
        billed.studio,
        draft,
        &Actor::system(),
        request_id,
        now,
    )
    .await?;
    for part in std::iter::once(billed.part).chain(billed.later) {
        mark(tx, part, PlanPartStatus::Issued, now).await?;
    }
    Ok(invoice)
}

/// The part an installment bills, with what it belongs to.
pub(super) struct Billed<'a> {
    pub(super) studio: &'a studio::Model,
    pub(super) session: &'a session::Model,
    pub(super) client: &'a client::Model,
    pub(super) part: &'a payment_plan_part::Model,
    /// The later parts billed with it (the rest of the plan at once).
    pub(super) later: &'a [payment_plan_part::Model],
}

/// "Installment 2 of 3".
pub(super) fn label(seq: i32, of: u64) -> String {
    format!("Installment {seq} of {of}")
}

/// "Installment 2 of 3", or "Installments 2–4 of 4" for an invoice billing
/// the rest of the plan through part `through`.
pub(crate) fn span_label(seq: i32, through: Option<i32>, of: u64) -> String {
    match through {
        Some(last) if last > seq => format!("Installments {seq}–{last} of {of}"),
        _ => label(seq, of),
    }
}

/// Writes the installment as a `DRAFT` (one untaxed line: the session's
/// taxes are on its final invoice, which credits this one) with `CREATED`
/// in its trail.
async fn insert_installment(
    ctx: &AppContext,
    tx: &DatabaseTransaction,
    billed: &Billed<'_>,
    of: u64,
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> DomainResult<invoice::Model> {
    let Billed {
        studio,
        session,
        client,
        part,
        later,
    } = *billed;
    let owed = |p: &payment_plan_part::Model| p.amount_minor - p.amount_paid_minor;
    let billed_parts: Vec<_> = std::iter::once(part)
        .chain(later)
        .filter(|p| owed(p).is_positive())
        .collect();
    let amount = crate::kernel::money::checked_sum(billed_parts.iter().map(|p| owed(p)))
        .ok_or_else(|| anyhow::anyhow!("parts of plan {} overflow", part.plan_id))?;
    let through = later.last().map(|p| p.seq);
    let salt = random_token();
    let invoice = invoice::ActiveModel {
        studio_id: Set(studio.id),
        session_id: Set(session.id),
        client_id: Set(client.id),
        number: Set(None),
        status: Set(InvoiceStatus::Draft),
        currency: Set(part.currency),
        subtotal_minor: Set(amount),
        tax_minor: Set(Minor::ZERO),
        credit_minor: Set(Minor::ZERO),
        total_minor: Set(amount),
        amount_paid_minor: Set(Minor::ZERO),
        amount_due_minor: Set(amount),
        issued_at: Set(now),
        due_date: Set(part.due_date),
        paid_at: Set(None),
        settled_at: Set(None),
        finalized_at: Set(None),
        amount_refunded_minor: Set(Minor::ZERO),
        discount_minor: Set(Minor::ZERO),
        fee_minor: Set(Minor::ZERO),
        prices_include_tax: Set(studio.prices_include_tax),
        tax_breakdown: Set("[]".to_string()),
        portal_token_hash: Set(hash_token(&ctx.secret.portal_token(&salt))),
        portal_salt: Set(salt),
        request_id: Set(request_id.map(str::to_string)),
        created_at: Set(now),
        updated_at: Set(now),
        excess_credit_minor: Set(Minor::ZERO),
        excess_disposition: Set(None),
        carried_credit_minor: Set(Minor::ZERO),
        kind: Set(InvoiceKind::Installment),
        plan_part_id: Set(Some(part.id)),
        plan_through_seq: Set(through),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    for (position, billed) in (1..).zip(&billed_parts) {
        invoice_line::ActiveModel {
            invoice_id: Set(invoice.id),
            position: Set(position),
            kind: Set(LineKind::Installment),
            description: Set(format!("{} · {}", label(billed.seq, of), session.title)),
            quantity: Set(1),
            unit_price_minor: Set(owed(billed)),
            amount_minor: Set(owed(billed)),
            taxable: Set(false),
            tax_minor: Set(Minor::ZERO),
            discount_minor: Set(Minor::ZERO),
            ..Default::default()
        }
        .insert(tx)
        .await?;
    }
    lifecycle::record(
        tx,
        &invoice,
        Audit {
            event: InvoiceEventKind::Created,
            from: None,
            to: Some(InvoiceStatus::Draft),
            amount_minor: Some(amount),
            actor: &Actor::system(),
            detail: Some(format!(
                "{} of the payment plan of session {}",
                span_label(part.seq, through, of),
                session.id
            )),
        },
        now,
    )
    .await?;
    Ok(invoice)
}
