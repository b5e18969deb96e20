//! A hosted checkout paid as asked: its one payment (the tip and a credit
//! card's surcharge on top of the invoice's money), the attempt complete,
//! the money settled, the card kept when the client asked, an overpayment
//! from a stale amount noted; or paid otherwise than asked, recorded and
//! not settled.

use super::Settled;
use crate::billing::lifecycle;
use crate::billing::lifecycle::Actor;
use crate::billing::payments;
use crate::billing::surcharge::Charge;
use crate::infra::error::DomainResult;
use crate::kernel::keys::Key;
use crate::kernel::money::Minor;
use crate::ports::gateway::{ChargeOutcome, CheckoutSession};
use chrono::{DateTime, Utc};
use entity::enums::{CheckoutStatus, PaymentSource, PaymentStatus};
use entity::{checkout_session, client, invoice, payment};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
};

/// Paid as asked: one payment per session (keyed by the session), the
/// attempt complete, the money settled through `payments::settle_in`, the
/// card kept when the client asked.
pub(super) async fn settle_paid(
    tx: &DatabaseTransaction,
    row: &checkout_session::Model,
    session: &CheckoutSession,
    surcharge: Charge,
    actor: &Actor,
    now: DateTime<Utc>,
) -> DomainResult<Settled> {
    let key = Key::CheckoutPayment {
        session_id: session.id.clone(),
    }
    .to_string();
    let card = session.card.as_ref();
    payment::Entity::insert(payment::ActiveModel {
        studio_id: Set(row.studio_id),
        invoice_id: Set(row.invoice_id),
        amount_minor: Set(row.amount_minor),
        tip_minor: Set(row.tip_minor),
        surcharge_minor: Set(surcharge.total),
        surcharge_tax_minor: Set(surcharge.tax),
        card_funding: Set(card.map(|c| c.funding.as_str().to_string())),
        payer_id: Set(row.payer_id),
        currency: Set(row.currency),
        status: Set(PaymentStatus::Pending),
        source: Set(PaymentSource::Portal),
        idempotency_key: Set(key.clone()),
        payment_method_token: Set(card.map(|c| c.token.clone())),
        gateway_reference: Set(None),
        failure_code: Set(None),
        failure_message: Set(None),
        card_brand: Set(card.map(|c| c.brand.clone())),
        card_last4: Set(card.map(|c| c.last4.clone())),
        amount_refunded_minor: Set(Minor::ZERO),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::column(payment::Column::IdempotencyKey)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(tx)
    .await?;
    let pending = payment::Entity::find()
        .filter(payment::Column::IdempotencyKey.eq(key.clone()))
        .one(tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("payment {key} vanished"))?;
    let reference = session
        .payment_intent
        .clone()
        .unwrap_or_else(|| session.id.clone());
    // Complete before the money moves: the paid session is no stale
    // one, so `retire_stale_in` (run with the payment) writes no
    // `ExpireStaleCheckouts` job for it.
    checkout_session::Entity::update_many()
        .col_expr(
            checkout_session::Column::Status,
            Expr::value(CheckoutStatus::Complete.as_str()),
        )
        .col_expr(checkout_session::Column::PaymentId, Expr::value(pending.id))
        .col_expr(checkout_session::Column::UpdatedAt, Expr::value(now))
        .filter(checkout_session::Column::Id.eq(row.id))
        .exec(tx)
        .await?;
    let outcome = ChargeOutcome::Succeeded { reference };
    let moved = payments::settle_in(tx, &pending, &outcome, actor, None, now).await?;
    match (row.save_card, card, row.payer_id) {
        (true, Some(card), Some(payer)) => {
            crate::billing::payers::booking::keep_card(tx, payer, card).await?;
        }
        (true, Some(card), None) => keep_card(tx, row.invoice_id, card, now).await?,
        _ => {}
    }
    if !moved {
        return Ok(Settled::Noted(format!(
            "payment {} already settled",
            pending.id
        )));
    }
    note_overpayment(tx, row, session).await?;
    Ok(Settled::Paid {
        invoice_id: row.invoice_id,
        payment_id: pending.id,
    })
}

/// Paid, but another amount or currency than asked: recorded on the
/// attempt and in the trail, not settled (the studio checks it with the
/// payment provider).
pub(super) async fn settle_mismatch(
    tx: &DatabaseTransaction,
    row: &checkout_session::Model,
    session: &CheckoutSession,
    paid: i64,
    asked: Minor,
    actor: &Actor,
    now: DateTime<Utc>,
) -> DomainResult<Settled> {
    let detail = format!(
        "checkout attempt {} was paid {} {} but {} {} was asked; not settled, check it with the payment provider",
        row.attempt,
        paid,
        session.currency.to_ascii_uppercase(),
        asked,
        row.currency
    );
    tracing::error!(invoice_id = row.invoice_id, session = %session.id, %detail, "checkout amount mismatch");
    checkout_session::Entity::update_many()
        .col_expr(
            checkout_session::Column::Status,
            Expr::value(CheckoutStatus::Mismatch.as_str()),
        )
        .col_expr(
            checkout_session::Column::Detail,
            Expr::value(detail.clone()),
        )
        .col_expr(checkout_session::Column::UpdatedAt, Expr::value(now))
        .filter(checkout_session::Column::Id.eq(row.id))
        .exec(tx)
        .await?;
    lifecycle::record_payment_failed(
        tx,
        row.invoice_id,
        Minor::new(paid),
        actor,
        detail.clone(),
        now,
    )
    .await?;
    Ok(Settled::Mismatch(detail))
}

/// A session paid for an amount that went stale before it could be
/// expired (the amount due fell meanwhile): the money is recorded like any
/// payment, and what exceeds the debt is written on the attempt and logged
/// so the studio refunds it.
async fn note_overpayment(
    tx: &DatabaseTransaction,
    row: &checkout_session::Model,
    session: &CheckoutSession,
) -> DomainResult<()> {
    let invoice = invoice_of(tx, row.invoice_id).await?;
    if !invoice.amount_due_minor.is_negative() {
        return Ok(());
    }
    let over = -invoice.amount_due_minor;
    let detail = format!(
        "checkout attempt {} was paid for {} {} after the amount due changed; the invoice is overpaid by {} {}: refund the difference",
        row.attempt, row.amount_minor, row.currency, over, invoice.currency
    );
    tracing::error!(invoice_id = row.invoice_id, session = %session.id, %detail, "stale checkout session paid");
    checkout_session::Entity::update_many()
        .col_expr(checkout_session::Column::Detail, Expr::value(detail))
        .filter(checkout_session::Column::Id.eq(row.id))
        .exec(tx)
        .await?;
    Ok(())
}

async fn invoice_of(tx: &DatabaseTransaction, id: i64) -> DomainResult<invoice::Model> {
    Ok(invoice::Entity::find_by_id(id)
        .one(tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("invoice {id} vanished"))?)
}

/// The card that paid becomes the client's card for automatic payments
/// (the client ticked "use this card for future automatic payments").
async fn keep_card(
    tx: &impl ConnectionTrait,
    invoice_id: i64,
    card: &crate::ports::gateway::PaymentMethodDetails,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let Some(inv) = invoice::Entity::find_by_id(invoice_id).one(tx).await? else {
        return Ok(());
    };
    crate::billing::hosted::keep_card_on(client::Entity::update_many(), card)
        .col_expr(client::Column::UpdatedAt, Expr::value(now))
        .filter(client::Column::Id.eq(inv.client_id))
        .exec(tx)
        .await?;
    Ok(())
}
