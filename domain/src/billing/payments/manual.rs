//! Money received outside the gateway (cash, check, bank transfer),
//! recorded by the studio: exactly once per key, never above what is due,
//! never beside a card payment in flight.

use super::{find_by_key, payable};
use crate::billing::lifecycle::{self, Actor, Audit};
use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::{DomainResult, UserError};
use crate::kernel::ids::{InvoiceId, StudioId};
use crate::kernel::keys::Key;
use crate::kernel::money::Minor;
use crate::workflow::next::{self, Change};
use entity::enums::{InvoiceEventKind, InvoiceStatus, PaymentMethod, PaymentSource, PaymentStatus};
use entity::payment;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

/// A payment received outside the gateway (cash, check, bank transfer).
#[derive(Debug, Clone)]
pub struct ManualPayment {
    pub invoice_id: i64,
    pub amount_minor: Minor,
    pub method: PaymentMethod,
    pub reference: Option<String>,
    pub note: Option<String>,
    /// The caller's idempotency key; a replay returns the first payment.
    pub idempotency_key: String,
}

/// Records a manual payment against an open invoice: partial payments are
/// allowed, overpayment is refused, and a replayed key returns the payment
/// it first created (a different request under the same key is an error).
pub async fn record_manual_payment(
    ctx: &AppContext,
    studio_id: i64,
    input: &ManualPayment,
    actor: &Actor,
    request_id: Option<&str>,
) -> DomainResult<payment::Model> {
    crate::kernel::validate::idempotency_key("idempotencyKey", &input.idempotency_key)?;
    for (field, value) in [("reference", &input.reference), ("note", &input.note)] {
        if let Some(value) = value {
            crate::kernel::validate::plain_text(value.trim(), field == "note")
                .map_err(|m| UserError::invalid(field, m))?;
        }
    }
    let key = Key::Manual {
        studio_id,
        client_key: input.idempotency_key.clone(),
    }
    .to_string();
    let tx = begin_write(&ctx.db).await?;
    let invoice = lifecycle::lock_invoice(
        &tx,
        StudioId::new(studio_id),
        InvoiceId::new(input.invoice_id),
    )
    .await?;
    if let Some(existing) = find_by_key(&key).one(&tx).await? {
        let same = existing.invoice_id == input.invoice_id
            && existing.amount_minor == input.amount_minor
            && existing.method == input.method;
        return if same {
            Ok(existing)
        } else {
            Err(UserError::key_reused("idempotencyKey").into())
        };
    }
    if input.method == PaymentMethod::Card {
        return Err(UserError::invalid(
            "method",
            "card payments go through the gateway (auto-pay or the portal), not by hand",
        )
        .into());
    }
    // A manual payment also settles an invoice marked uncollectible (money
    // received after all); automatic collection stops there.
    let collectible = payable(&invoice)
        || (invoice.status == InvoiceStatus::Uncollectible
            && invoice.amount_due_minor.is_positive());
    if !collectible {
        return Err(UserError::state(
            "invoiceId",
            format!(
                "invoice {} is {} and owes nothing",
                invoice.display_number(),
                invoice.status.as_str()
            ),
        )
        .into());
    }
    if !input.amount_minor.is_positive() {
        return Err(UserError::invalid("amount", "the amount must be positive").into());
    }
    if input.amount_minor > invoice.amount_due_minor {
        return Err(UserError::invalid(
            "amount",
            format!(
                "the amount is more than the {} still due",
                invoice.amount_due_minor.of(invoice.currency)
            ),
        )
        .into());
    }
    let in_flight = payment::Entity::find()
        .filter(payment::Column::InvoiceId.eq(invoice.id))
        .filter(payment::Column::Status.eq(PaymentStatus::Pending))
        .one(&tx)
        .await?;
    if in_flight.is_some() {
        return Err(UserError::state(
            "invoiceId",
            "a card payment for this invoice is being processed; record the manual payment once it has settled",
        )
        .into());
    }
    let now = ctx.clock.now();
    let recorded = payment::ActiveModel {
        studio_id: Set(studio_id),
        invoice_id: Set(invoice.id),
        amount_minor: Set(input.amount_minor),
        currency: Set(invoice.currency),
        status: Set(PaymentStatus::Succeeded),
        source: Set(PaymentSource::Manual),
        method: Set(input.method),
        idempotency_key: Set(key),
        reference: Set(input.reference.clone()),
        note: Set(input.note.clone()),
        amount_refunded_minor: Set(Minor::ZERO),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    lifecycle::apply_money(
        &tx,
        invoice.id,
        lifecycle::Movement::payment(input.amount_minor),
        Audit {
            event: InvoiceEventKind::ManualPaymentRecorded,
            from: None,
            to: None,
            amount_minor: Some(input.amount_minor),
            actor,
            detail: Some(format!(
                "payment {} by {}{}",
                recorded.id,
                input.method.as_str(),
                input
                    .reference
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            )),
        },
        ctx.clock.now(),
    )
    .await?;
    next::after(
        &tx,
        Change::Paid {
            studio_id,
            invoice_id: invoice.id,
            payment_id: recorded.id,
        },
        request_id,
        ctx.clock.now(),
    )
    .await?;
    crate::workflow::next::commit(ctx, tx).await?;
    crate::billing::events::publish_payment_event(ctx, recorded.id).await?;
    Ok(recorded)
}
