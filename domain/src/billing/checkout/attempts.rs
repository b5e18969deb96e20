//! A checkout attempt reserved under the invoice's lock, with every
//! parameter the gateway will see fixed in it (amount, card choice, tip,
//! a credit card's surcharge, expiry), and when a live attempt has gone
//! stale.

use super::LIVE;
use crate::billing::documents::InvoiceDocument;
use crate::billing::{hosted, payments, surcharge};
use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::{DomainResult, UserError};
use crate::kernel::keys::Key;
use crate::kernel::money::Minor;
use crate::kernel::surcharge::Funding;
use chrono::{DateTime, Utc};
use entity::enums::{CheckoutStatus, InvoiceStatus};
use entity::{checkout_session, invoice};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

/// What the client chose on the portal before the hosted page opens.
#[derive(Debug, Clone, Copy)]
pub(super) struct Choice {
    pub(super) save_card: bool,
    pub(super) tip: Minor,
    /// A tip alone, on a paid invoice.
    pub(super) tip_only: bool,
    /// The payer paying their share through their own link (none: the
    /// client, for what the invoice owes).
    pub(super) payer: Option<i64>,
}

impl Choice {
    /// What the session pays toward the invoice: what it owes now, or
    /// nothing (a tip alone).
    pub(super) fn amount_toward(&self, invoice: &invoice::Model) -> Minor {
        match self.tip_only {
            true => Minor::ZERO,
            false => invoice.amount_due_minor,
        }
    }

    /// What the session pays toward the invoice, read under its lock: a
    /// payer's share owed now, or [`amount_toward`](Self::amount_toward).
    async fn amount_in(
        &self,
        tx: &sea_orm::DatabaseTransaction,
        invoice: &invoice::Model,
    ) -> DomainResult<Minor> {
        Ok(match self.payer {
            Some(payer) => crate::billing::payers::owed_by_in(tx, invoice, payer)
                .await?
                .unwrap_or(Minor::ZERO),
            None => self.amount_toward(invoice),
        })
    }

    /// What a credit card adds to `amount` on this session (the client's
    /// own link paying the invoice; a payer's link and a tip alone carry
    /// none), as the portal says it before the hosted page opens.
    pub(super) fn surcharge_at(&self, doc: &InvoiceDocument, amount: Minor) -> Minor {
        match (self.payer, self.tip_only) {
            (None, false) => surcharge::at_portal(doc, amount).total,
            _ => Minor::ZERO,
        }
    }

    /// [`surcharge_at`](Self::surcharge_at), read under the invoice's lock.
    async fn surcharge_in(
        &self,
        tx: &sea_orm::DatabaseTransaction,
        invoice: &invoice::Model,
        amount: Minor,
    ) -> DomainResult<surcharge::Charge> {
        match (self.payer, self.tip_only) {
            (None, false) => {
                surcharge::for_card_payment(tx, invoice, Funding::Credit, amount).await
            }
            _ => Ok(surcharge::Charge::NONE),
        }
    }

    /// Why the invoice cannot take this session now, if it cannot.
    fn refused_by(&self, invoice: &invoice::Model, amount: Minor) -> Option<&'static str> {
        match self.tip_only {
            true if !self.tip.is_positive() => Some("choose a tip"),
            true if invoice.status != InvoiceStatus::Paid => {
                Some("a tip alone is for a paid invoice; pay the invoice with the tip instead")
            }
            false if !payments::payable(invoice) => Some("nothing is due on this invoice"),
            false if !amount.is_positive() => Some("your share of this invoice is paid"),
            _ => None,
        }
    }
}

/// Reserves the attempt (or finds the one another tab reserved) under the
/// invoice's lock, with its parameters fixed: the amount due now, the card
/// choice, the tip, a fresh expiry.
pub(super) async fn reserve_attempt(
    ctx: &AppContext,
    invoice_id: i64,
    choice: Choice,
    fresh_until: DateTime<Utc>,
) -> DomainResult<(invoice::Model, checkout_session::Model)> {
    let now = ctx.clock.now();
    let tx = begin_write(&ctx.db).await?;
    let invoice = invoice::Entity::find_by_id(invoice_id)
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("invoice {invoice_id} missing"))?;
    let amount = choice.amount_in(&tx, &invoice).await?;
    if let Some(why) = choice.refused_by(&invoice, amount) {
        return Err(UserError::state("invoice", why).into());
    }
    let surcharge = choice.surcharge_in(&tx, &invoice, amount).await?;
    let Choice {
        save_card,
        tip,
        payer,
        ..
    } = choice;
    let reusable = checkout_session::Entity::find()
        .filter(checkout_session::Column::InvoiceId.eq(invoice_id))
        .filter(match payer {
            Some(id) => checkout_session::Column::PayerId.eq(id),
            None => checkout_session::Column::PayerId.is_null(),
        })
        .filter(checkout_session::Column::Status.is_in(LIVE))
        .filter(checkout_session::Column::AmountMinor.eq(amount))
        .filter(checkout_session::Column::SaveCard.eq(save_card))
        .filter(checkout_session::Column::TipMinor.eq(tip))
        .filter(checkout_session::Column::SurchargeMinor.eq(surcharge.total))
        .filter(checkout_session::Column::ExpiresAt.gt(fresh_until))
        .order_by_desc(checkout_session::Column::Attempt)
        .one(&tx)
        .await?;
    let row = match reusable {
        Some(row) => row,
        None => {
            use checkout_session::Column as C;
            let attempt = hosted::next_attempt::<checkout_session::Entity>(
                &tx,
                C::Attempt,
                C::InvoiceId,
                invoice_id,
            )
            .await?;
            checkout_session::ActiveModel {
                studio_id: Set(invoice.studio_id),
                invoice_id: Set(invoice_id),
                attempt: Set(attempt),
                // The invoice, the amount, the attempt: a new amount is a new session.
                idempotency_key: Set(Key::Checkout {
                    invoice_id,
                    amount_minor: amount.get(),
                    attempt,
                }
                .to_string()),
                amount_minor: Set(amount),
                currency: Set(invoice.currency),
                save_card: Set(save_card),
                tip_minor: Set(tip),
                surcharge_minor: Set(surcharge.total),
                surcharge_tax_minor: Set(surcharge.tax),
                payer_id: Set(payer),
                expires_at: Set(hosted::expiry(now)),
                gateway_session_id: Set(None),
                url: Set(None),
                status: Set(CheckoutStatus::Creating),
                payment_id: Set(None),
                detail: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&tx)
            .await?
        }
    };
    tx.commit().await?;
    Ok((invoice, row))
}
