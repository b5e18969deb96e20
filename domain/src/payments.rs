//! Charging an invoice through the gateway, exactly once per idempotency key.
//!
//! 1. A `PENDING` payment row is written under the key before the gateway is
//!    called, so a crash leaves a trace and the retry reuses the same key.
//! 2. The gateway is called with that key; an unknown outcome (timeout) is an
//!    error and the job retries with the same key, never a new one.
//! 3. The outcome is written in one transaction. Only the writer that moves the
//!    payment out of `PENDING` touches the invoice, so a replayed outcome is
//!    never counted twice.

use crate::context::AppContext;
use crate::db::begin_write;
use crate::error::DomainResult;
use crate::gateway::{ChargeOutcome, ChargeRequest, GatewayError};
use crate::jobs::JobKind;
use crate::outbox;
use chrono::Utc;
use entity::enums::{InvoiceStatus, PaymentSource, PaymentStatus};
use entity::{invoice, payment};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

#[derive(Debug, Clone)]
pub struct Card {
    pub token: String,
    pub brand: Option<String>,
    pub last4: Option<String>,
}

#[derive(Debug)]
pub enum ChargeResult {
    Succeeded(payment::Model),
    Declined(payment::Model),
    /// The invoice owes nothing (already paid, void...): nothing was charged.
    NothingDue,
}

pub fn payable(invoice: &invoice::Model) -> bool {
    matches!(
        invoice.status,
        InvoiceStatus::Open | InvoiceStatus::PartiallyPaid
    ) && invoice.amount_due_minor > 0
}

pub async fn charge_invoice(
    ctx: &AppContext,
    invoice_id: i64,
    source: PaymentSource,
    card: &Card,
    idempotency_key: &str,
    request_id: Option<&str>,
) -> DomainResult<ChargeResult> {
    let find_payment =
        || payment::Entity::find().filter(payment::Column::IdempotencyKey.eq(idempotency_key));
    if let Some(existing) = find_payment().one(&ctx.db).await? {
        match existing.status {
            PaymentStatus::Succeeded => return Ok(ChargeResult::Succeeded(existing)),
            PaymentStatus::Failed => return Ok(ChargeResult::Declined(existing)),
            PaymentStatus::Pending => {}
        }
    }
    let invoice = invoice::Entity::find_by_id(invoice_id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("invoice {invoice_id} missing"))?;
    let pending = match find_payment().one(&ctx.db).await? {
        Some(p) => p,
        None => {
            if !payable(&invoice) {
                return Ok(ChargeResult::NothingDue);
            }
            let now = Utc::now();
            payment::Entity::insert(payment::ActiveModel {
                studio_id: Set(invoice.studio_id),
                invoice_id: Set(invoice.id),
                amount_minor: Set(invoice.amount_due_minor),
                currency: Set(invoice.currency.clone()),
                status: Set(PaymentStatus::Pending),
                source: Set(source),
                idempotency_key: Set(idempotency_key.to_string()),
                gateway_reference: Set(None),
                failure_code: Set(None),
                failure_message: Set(None),
                card_brand: Set(card.brand.clone()),
                card_last4: Set(card.last4.clone()),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            })
            .on_conflict(
                OnConflict::column(payment::Column::IdempotencyKey)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&ctx.db)
            .await?;
            find_payment()
                .one(&ctx.db)
                .await?
                .ok_or_else(|| anyhow::anyhow!("payment {idempotency_key} vanished"))?
        }
    };

    let outcome = ctx
        .gateway
        .charge(&ChargeRequest {
            idempotency_key: idempotency_key.to_string(),
            amount_minor: pending.amount_minor,
            currency: pending.currency.clone(),
            payment_method_token: card.token.clone(),
            description: format!("Invoice {}", invoice.number),
        })
        .await;
    let outcome = match outcome {
        Ok(o) => o,
        Err(GatewayError::InvalidPaymentMethod(what)) => ChargeOutcome::Declined {
            code: "invalid_payment_method".into(),
            message: format!("The payment method was not accepted ({what})."),
        },
        Err(other) => return Err(anyhow::Error::new(other).into()),
    };

    let tx = begin_write(&ctx.db).await?;
    let now = Utc::now();
    let still_pending = |q: sea_orm::UpdateMany<payment::Entity>| {
        q.filter(payment::Column::Id.eq(pending.id))
            .filter(payment::Column::Status.eq(PaymentStatus::Pending))
    };
    match &outcome {
        ChargeOutcome::Succeeded { reference } => {
            let moved = still_pending(payment::Entity::update_many())
                .col_expr(
                    payment::Column::Status,
                    Expr::value(PaymentStatus::Succeeded.as_str()),
                )
                .col_expr(
                    payment::Column::GatewayReference,
                    Expr::value(reference.clone()),
                )
                .col_expr(payment::Column::UpdatedAt, Expr::value(now))
                .exec(&tx)
                .await?;
            if moved.rows_affected == 1 {
                apply_payment(&tx, &invoice, pending.amount_minor).await?;
                let studio_id = Some(invoice.studio_id);
                outbox::enqueue(
                    &tx,
                    studio_id,
                    &JobKind::SendReceipt {
                        payment_id: pending.id,
                    },
                    request_id,
                )
                .await?;
                outbox::enqueue(
                    &tx,
                    studio_id,
                    &JobKind::SyncGalleryAccess {
                        invoice_id: invoice.id,
                        state: format!("payment-{}", pending.id),
                    },
                    request_id,
                )
                .await?;
            }
        }
        ChargeOutcome::Declined { code, message } => {
            still_pending(payment::Entity::update_many())
                .col_expr(
                    payment::Column::Status,
                    Expr::value(PaymentStatus::Failed.as_str()),
                )
                .col_expr(payment::Column::FailureCode, Expr::value(code.clone()))
                .col_expr(
                    payment::Column::FailureMessage,
                    Expr::value(message.clone()),
                )
                .col_expr(payment::Column::UpdatedAt, Expr::value(now))
                .exec(&tx)
                .await?;
        }
    }
    tx.commit().await?;
    ctx.outbox_signal.notify_one();
    let stored = find_payment()
        .one(&ctx.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("payment {idempotency_key} vanished"))?;
    tracing::info!(
        invoice_id,
        payment_id = stored.id,
        status = stored.status.as_str(),
        "charge finished"
    );
    Ok(match stored.status {
        PaymentStatus::Succeeded => ChargeResult::Succeeded(stored),
        _ => ChargeResult::Declined(stored),
    })
}

/// Adds a successful payment to the invoice's balance in SQL, so concurrent
/// writers add up instead of overwriting each other.
async fn apply_payment(
    tx: &sea_orm::DatabaseTransaction,
    invoice: &invoice::Model,
    amount: i64,
) -> DomainResult<()> {
    let now = Utc::now();
    invoice::Entity::update_many()
        .col_expr(
            invoice::Column::AmountPaidMinor,
            Expr::col(invoice::Column::AmountPaidMinor).add(amount),
        )
        .col_expr(
            invoice::Column::AmountDueMinor,
            Expr::col(invoice::Column::AmountDueMinor).sub(amount),
        )
        .col_expr(invoice::Column::UpdatedAt, Expr::value(now))
        .filter(invoice::Column::Id.eq(invoice.id))
        .exec(tx)
        .await?;
    let updated = invoice::Entity::find_by_id(invoice.id)
        .one(tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("invoice {} vanished", invoice.id))?;
    let status = if updated.amount_due_minor <= 0 {
        InvoiceStatus::Paid
    } else {
        InvoiceStatus::PartiallyPaid
    };
    let mut update = invoice::Entity::update_many()
        .col_expr(invoice::Column::Status, Expr::value(status.as_str()))
        .filter(invoice::Column::Id.eq(invoice.id));
    if status == InvoiceStatus::Paid {
        update = update.col_expr(invoice::Column::PaidAt, Expr::value(now));
    }
    update.exec(tx).await?;
    Ok(())
}

#[derive(Debug)]
pub enum AutoPay {
    Paid,
    NothingDue,
    FellBackToInvoice { reason: String },
}

/// Auto-pay: charge the client's stored card under a key derived from the
/// invoice and attempt. A decline (or no card) falls back to the invoice
/// email, and gallery access follows the unpaid state.
pub async fn auto_pay(
    ctx: &AppContext,
    invoice_id: i64,
    request_id: Option<&str>,
) -> DomainResult<AutoPay> {
    let invoice = invoice::Entity::find_by_id(invoice_id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("invoice {invoice_id} missing"))?;
    let client = entity::client::Entity::find_by_id(invoice.client_id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("client {} missing", invoice.client_id))?;
    let reason = match &client.pm_token {
        Some(token) => {
            let card = Card {
                token: token.clone(),
                brand: client.pm_brand.clone(),
                last4: client.pm_last4.clone(),
            };
            let key = format!("inv_{invoice_id}_autopay_1");
            match charge_invoice(
                ctx,
                invoice_id,
                PaymentSource::AutoPay,
                &card,
                &key,
                request_id,
            )
            .await?
            {
                ChargeResult::Succeeded(_) => return Ok(AutoPay::Paid),
                ChargeResult::NothingDue => return Ok(AutoPay::NothingDue),
                ChargeResult::Declined(p) => p.failure_code.unwrap_or_else(|| "declined".into()),
            }
        }
        None => "no stored payment method".to_string(),
    };
    let tx = begin_write(&ctx.db).await?;
    let studio_id = Some(invoice.studio_id);
    outbox::enqueue(
        &tx,
        studio_id,
        &JobKind::SendInvoice { invoice_id },
        request_id,
    )
    .await?;
    outbox::enqueue(
        &tx,
        studio_id,
        &JobKind::SyncGalleryAccess {
            invoice_id,
            state: "OPEN".into(),
        },
        request_id,
    )
    .await?;
    tx.commit().await?;
    ctx.outbox_signal.notify_one();
    Ok(AutoPay::FellBackToInvoice { reason })
}
