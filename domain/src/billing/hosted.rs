//! What the two hosted pages (the portal's payment checkout and the card
//! setup) share: the client's gateway Customer, the numbering of attempts,
//! a session's lifetime, and keeping the card they saved.

use crate::infra::context::AppContext;
use crate::infra::error::{DomainError, DomainResult, UserError};
use crate::kernel::keys::Key;
use crate::ports::gateway::GatewayError;
use chrono::{DateTime, Duration, Utc};
use entity::{client, invoice_payer};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

/// `update` (of the client's row) setting `card` as the card on file:
/// token, brand, last 4, expiry and funding, all this server ever sees.
pub(crate) fn keep_card_on(
    update: sea_orm::UpdateMany<client::Entity>,
    card: &crate::ports::gateway::PaymentMethodDetails,
) -> sea_orm::UpdateMany<client::Entity> {
    update
        .col_expr(client::Column::PmToken, Expr::value(card.token.clone()))
        .col_expr(client::Column::PmBrand, Expr::value(card.brand.clone()))
        .col_expr(client::Column::PmLast4, Expr::value(card.last4.clone()))
        .col_expr(client::Column::PmExpMonth, Expr::value(card.exp_month))
        .col_expr(client::Column::PmExpYear, Expr::value(card.exp_year))
        .col_expr(
            client::Column::PmFunding,
            Expr::value(card.funding.as_str()),
        )
}

/// How long a session stays payable (Stripe allows 30 minutes to 24 hours).
pub const SESSION_TTL_MINUTES: i64 = 60;

/// A session about to expire is not handed out again: the client needs time
/// to type a card.
const REUSE_MARGIN_MINUTES: i64 = 10;

/// A session still open at `fresh_until(now)` may be handed out again.
pub fn fresh_until(now: DateTime<Utc>) -> DateTime<Utc> {
    now + Duration::minutes(REUSE_MARGIN_MINUTES)
}

/// When a session opened now expires, in whole seconds (what the gateway
/// stores and echoes back).
pub fn expiry(now: DateTime<Utc>) -> DateTime<Utc> {
    let at = now + Duration::minutes(SESSION_TTL_MINUTES);
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}

/// The next attempt number (the first is 1) among the hosted-session rows
/// of `E` whose `owner` column is `owner_id` (an invoice's checkout
/// sessions, a card setup's sessions), read under the caller's lock.
pub async fn next_attempt<E: EntityTrait>(
    tx: &impl ConnectionTrait,
    attempt: E::Column,
    owner: E::Column,
    owner_id: i64,
) -> DomainResult<i32> {
    let last: Option<i32> = E::find()
        .select_only()
        .column_as(attempt.max(), "max")
        .filter(owner.eq(owner_id))
        .into_tuple::<Option<i32>>()
        .one(tx)
        .await?
        .flatten();
    last.unwrap_or(0).checked_add(1).ok_or_else(|| {
        let rows = E::default().table_name().to_string();
        anyhow::anyhow!("{rows} of {owner_id} have run out of attempts").into()
    })
}

/// A user-facing "try again" for a gateway that did not answer.
pub fn unavailable(message: &str) -> DomainError {
    UserError::state("gateway", message).into()
}

/// The client's gateway Customer, created once (idempotently, keyed by the
/// client) and remembered, so a card saved in Checkout lands on it and can
/// be charged off-session later. `None` when the gateway has no Customers.
pub async fn ensure_customer(
    ctx: &AppContext,
    client: &client::Model,
) -> DomainResult<Option<String>> {
    if let Some(id) = &client.gateway_customer_id {
        return Ok(Some(id.clone()));
    }
    let request = crate::ports::gateway::CustomerRequest {
        idempotency_key: Key::Customer {
            client_id: client.id,
        }
        .to_string(),
        client_ref: client.id.to_string(),
        name: client.name.clone(),
        email: client.email.clone(),
    };
    let Some(id) = create_customer(ctx, &request).await? else {
        return Ok(None);
    };
    // Two requests at once got the same Customer (same key); either write wins.
    client::Entity::update_many()
        .col_expr(client::Column::GatewayCustomerId, Expr::value(id.clone()))
        .filter(client::Column::Id.eq(client.id))
        .filter(client::Column::GatewayCustomerId.is_null())
        .exec(&ctx.db)
        .await?;
    let stored = client::Entity::find_by_id(client.id)
        .one(&ctx.db)
        .await?
        .and_then(|c| c.gateway_customer_id);
    Ok(Some(stored.unwrap_or(id)))
}

/// The reader's gateway Customer made sure of (the client's, or the
/// payer's on their own link), and `invoice` as read under the attempt's
/// lock, for the hosted checkout's request.
pub(crate) async fn with_customer(
    ctx: &AppContext,
    doc: &crate::billing::documents::InvoiceDocument,
    invoice: entity::invoice::Model,
) -> DomainResult<crate::billing::documents::InvoiceDocument> {
    use crate::billing::documents::InvoiceDocument;
    Ok(match &doc.payer {
        Some(payer) => {
            let payer = ensure_payer_customer(ctx, payer).await?;
            InvoiceDocument::load(ctx, invoice).await?.for_payer(&payer)
        }
        None => {
            ensure_customer(ctx, &doc.client).await?;
            InvoiceDocument::load(ctx, invoice).await?
        }
    })
}

/// A payer's own gateway Customer (`payer_{id}_customer`, `metadata[client_id]`
/// `payer_{id}`): the card a payer types lands on their Customer, never on
/// the client's or another payer's. Returns the payer with it.
pub async fn ensure_payer_customer(
    ctx: &AppContext,
    payer: &invoice_payer::Model,
) -> DomainResult<invoice_payer::Model> {
    use crate::billing::payers::booking;
    if payer.gateway_customer_id.is_some() {
        return Ok(payer.clone());
    }
    let request = crate::ports::gateway::CustomerRequest {
        idempotency_key: Key::PayerCustomer { payer_id: payer.id }.to_string(),
        client_ref: format!("payer_{}", payer.id),
        name: payer.name.clone(),
        email: payer.email.clone(),
    };
    // A booking's payer has one Customer for all their shares (their saved
    // card is on it); the first share's makes it.
    let id = match booking::customer_of(&ctx.db, payer).await? {
        Some(id) => id,
        None => match create_customer(ctx, &request).await? {
            Some(id) => booking::remember_customer(&ctx.db, payer, id).await?,
            None => return Ok(payer.clone()),
        },
    };
    invoice_payer::Entity::update_many()
        .col_expr(
            invoice_payer::Column::GatewayCustomerId,
            Expr::value(id.clone()),
        )
        .filter(invoice_payer::Column::Id.eq(payer.id))
        .filter(invoice_payer::Column::GatewayCustomerId.is_null())
        .exec(&ctx.db)
        .await?;
    Ok(invoice_payer::Entity::find_by_id(payer.id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("payer {} vanished", payer.id))?)
}

/// Creates the Customer `request` asks for. A creation whose answer was
/// lost (a timeout, a 5xx) is settled by looking for the Customer
/// (`metadata[client_id]`), never by sending the key again: nobody gets two
/// Customers. `None` when the gateway has no Customers.
async fn create_customer(
    ctx: &AppContext,
    request: &crate::ports::gateway::CustomerRequest,
) -> DomainResult<Option<String>> {
    let who = &request.client_ref;
    let id = match ctx.gateway.create_customer(request).await {
        Ok(id) => id,
        Err(GatewayError::Unsupported(_)) => return Ok(None),
        Err(GatewayError::Unavailable(why)) => {
            tracing::warn!(%who, %why, "Customer creation's outcome unknown; looking for it");
            match ctx.gateway.find_customer(request).await {
                Ok(Some(id)) => id,
                Ok(None) => {
                    return Err(unavailable(
                        "the payment provider did not answer; please try again",
                    ));
                }
                Err(err) => {
                    tracing::warn!(%who, error = %err, "Customer not found either");
                    return Err(unavailable(
                        "the payment provider did not answer; please try again",
                    ));
                }
            }
        }
        Err(err) => return Err(err.into()),
    };
    Ok(Some(id))
}
