//! Open checkouts that must not be paid any more: a stale amount (the
//! invoice owes another now, or nothing), or a payer replaced by a new
//! split. Found by every writer that changes what an invoice owes, and
//! expired at the gateway by the `ExpireStaleCheckouts` job, once.

use super::{LIVE, settle};
use crate::billing::lifecycle::Actor;
use crate::billing::payments;
use crate::infra::context::AppContext;
use crate::infra::error::DomainResult;
use crate::ports::gateway::{CheckoutState, GatewayError};
use chrono::{DateTime, Utc};
use entity::enums::CheckoutStatus;
use entity::{checkout_session, invoice};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};

/// Whether a live session asks for an amount the invoice does not owe any
/// more (a tip alone never is: it pays nothing toward the invoice). A
/// payer's share is stale once the invoice owes less than it.
pub(super) fn is_stale(row: &checkout_session::Model, invoice: &invoice::Model) -> bool {
    let owed_differs = match row.payer_id {
        Some(_) => row.amount_minor > invoice.amount_due_minor,
        None => row.amount_minor != invoice.amount_due_minor,
    };
    row.amount_minor.is_positive() && (!payments::payable(invoice) || owed_differs)
}

/// Called by every writer that changes what an invoice owes (inside its
/// transaction): when open Checkout Sessions ask for another amount (or
/// nothing is payable any more), an `ExpireStaleCheckouts` job is written
/// with the change, so they are expired at the gateway after the commit,
/// exactly once and retried until done.
pub(crate) async fn retire_stale_in(
    tx: &DatabaseTransaction,
    invoice: &invoice::Model,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let stale = checkout_session::Entity::find()
        .filter(checkout_session::Column::InvoiceId.eq(invoice.id))
        .filter(checkout_session::Column::Status.is_in(LIVE))
        .all(tx)
        .await?
        .into_iter()
        .filter(|row| is_stale(row, invoice))
        .map(|row| row.attempt)
        .max();
    if let Some(attempt) = stale {
        crate::workflow::next::after(
            tx,
            crate::workflow::next::Change::AmountDueChanged {
                studio_id: invoice.studio_id,
                invoice_id: invoice.id,
                amount_due: invoice.amount_due_minor,
                attempt,
            },
            None,
            now,
        )
        .await?;
    }
    Ok(())
}

/// The `ExpireStaleCheckouts` job: every open session of the invoice for an
/// amount other than what is due now (or when nothing is payable) is
/// expired at the gateway; one that was paid meanwhile settles instead
/// (through [`settle_in`]: the money is recorded, never lost).
pub async fn expire_stale(ctx: &AppContext, invoice_id: i64) -> DomainResult<()> {
    let Some(invoice) = invoice::Entity::find_by_id(invoice_id).one(&ctx.db).await? else {
        return Ok(());
    };
    let live = checkout_session::Entity::find()
        .filter(checkout_session::Column::InvoiceId.eq(invoice_id))
        .filter(checkout_session::Column::Status.is_in(LIVE))
        .all(&ctx.db)
        .await?;
    let replaced = crate::billing::payers::replaced_payer_ids(&ctx.db, invoice_id).await?;
    let gone = |row: &&checkout_session::Model| {
        row.payer_id.is_some_and(|payer| replaced.contains(&payer))
    };
    for row in live
        .iter()
        .filter(|row| is_stale(row, &invoice) || gone(row))
    {
        retire(ctx, row).await?;
    }
    Ok(())
}

/// Expires a session that must not be paid any more (stale amount). If it
/// was paid meanwhile, the answer settles it instead.
pub(super) async fn retire(ctx: &AppContext, row: &checkout_session::Model) -> DomainResult<()> {
    if let Some(id) = &row.gateway_session_id {
        match ctx.gateway.expire_checkout(id).await {
            Ok(session) if session.state != CheckoutState::Expired => {
                settle(ctx, &session, &Actor::portal(), false).await?;
                return Ok(());
            }
            Ok(_) => {}
            // The gateway does not know it (any more): nobody can pay it.
            Err(GatewayError::InvalidPaymentMethod(why)) => {
                tracing::warn!(session = %id, %why, "stale checkout session unknown to the gateway");
            }
            Err(err) => return Err(err.into()),
        }
    }
    checkout_session::Entity::update_many()
        .col_expr(
            checkout_session::Column::Status,
            Expr::value(CheckoutStatus::Expired.as_str()),
        )
        .col_expr(
            checkout_session::Column::UpdatedAt,
            Expr::value(ctx.clock.now()),
        )
        .filter(checkout_session::Column::Id.eq(row.id))
        .filter(checkout_session::Column::Status.is_in(LIVE))
        .exec(&ctx.db)
        .await?;
    tracing::info!(
        invoice_id = row.invoice_id,
        attempt = row.attempt,
        "stale checkout session expired"
    );
    Ok(())
}
