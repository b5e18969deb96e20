//! A booking's payers (`setSessionPayers`): the couple and the parents
//! share every invoice of the session issued from then on (each part of its
//! payment plan, the final invoice), by the same percentages.
//!
//! When a draft of the session is issued ([`split_in`], inside
//! `invoicing::finalize_and_route`), it is split like `setInvoicePayers`
//! would split it: exact shares of its amount due, the remainder on the
//! first payer, each payer with their own link and emails. An invoice that
//! has payers of its own keeps them; an amount too small to split (a share
//! under the processor's minimum) stays the client's, with a warning in the
//! log. Invoices issued before stay as they are (`setInvoicePayers` splits
//! one). Clearing the payers (`payers: []`) stops the splitting.

use super::{NewPayer, PayerInput, check_people, insert_payers, payers_of};
use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::{DomainResult, UserError};
use crate::kernel::ids::{SessionId, StudioId};
use crate::kernel::payers::Share;
use entity::enums::SessionStatus;
use entity::{invoice, session, session_payer};
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

/// The booking's payers now, first first.
pub async fn session_payers(
    conn: &impl ConnectionTrait,
    session_id: i64,
) -> DomainResult<Vec<session_payer::Model>> {
    Ok(session_payer::Entity::find()
        .filter(session_payer::Column::SessionId.eq(session_id))
        .filter(session_payer::Column::RemovedAt.is_null())
        .order_by_asc(session_payer::Column::Position)
        .all(conn)
        .await?)
}

fn percents_of(inputs: &[PayerInput]) -> Result<Vec<Decimal>, UserError> {
    inputs
        .iter()
        .enumerate()
        .map(|(i, p)| match (p.percent, p.amount) {
            (Some(percent), None) => Ok(percent),
            _ => Err(UserError::invalid(
                &format!("payers.{i}.percent"),
                "a booking's payers share each invoice by percent: give a percent only",
            )),
        })
        .collect()
}

/// `setSessionPayers`: the booking's payers from now on (an empty list
/// clears them). Refused with nothing written like `setInvoicePayers`
/// (`SHARES_DO_NOT_ADD_UP`, `INVALID_PERCENT`, `DUPLICATE`, ...), and for a
/// cancelled session (`INVALID_STATE`).
pub async fn set_session_payers(
    ctx: &AppContext,
    studio_id: StudioId,
    session_id: SessionId,
    inputs: &[PayerInput],
) -> DomainResult<Vec<session_payer::Model>> {
    let (studio_id, session_id) = (studio_id.get(), session_id.get());
    let people = match inputs.is_empty() {
        true => Vec::new(),
        false => {
            let people = check_people(inputs)?;
            crate::kernel::payers::check_percents(&percents_of(inputs)?)?;
            people
        }
    };
    let now = ctx.clock.now();
    let tx = begin_write(&ctx.db).await?;
    let booked = session::Entity::find_by_id(session_id)
        .filter(session::Column::StudioId.eq(studio_id))
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or_else(|| UserError::not_found("sessionId", "session"))?;
    if booked.status == SessionStatus::Cancelled {
        return Err(UserError::state("sessionId", "the session is cancelled").into());
    }
    let earlier = session_payers(&tx, session_id).await?;
    session_payer::Entity::update_many()
        .col_expr(session_payer::Column::RemovedAt, Expr::value(now))
        .filter(session_payer::Column::SessionId.eq(session_id))
        .filter(session_payer::Column::RemovedAt.is_null())
        .exec(&tx)
        .await?;
    let mut payers = Vec::with_capacity(people.len());
    for (position, ((name, email), input)) in people.into_iter().zip(inputs).enumerate() {
        // The same person keeps their Customer and saved card.
        let before = earlier
            .iter()
            .find(|p| p.email.eq_ignore_ascii_case(&email));
        let kept =
            |f: fn(&session_payer::Model) -> &Option<String>| before.and_then(|p| f(p).clone());
        payers.push(
            session_payer::ActiveModel {
                studio_id: Set(studio_id),
                session_id: Set(session_id),
                position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
                percent: Set(input.percent.unwrap_or_default().normalize().to_string()),
                auto_pay: Set(input.auto_pay),
                gateway_customer_id: Set(kept(|p| &p.gateway_customer_id)),
                pm_token: Set(kept(|p| &p.pm_token)),
                pm_brand: Set(kept(|p| &p.pm_brand)),
                pm_last4: Set(kept(|p| &p.pm_last4)),
                pm_funding: Set(kept(|p| &p.pm_funding)),
                name: Set(name),
                email: Set(email),
                created_at: Set(now),
                removed_at: Set(None),
                ..Default::default()
            }
            .insert(&tx)
            .await?,
        );
    }
    tx.commit().await?;
    Ok(payers)
}

/// How an invoice about to be issued is paid.
#[derive(Debug, Default)]
pub(crate) struct Split {
    /// Shared between payers: they pay it, not the client's card.
    pub shared: bool,
    /// The payers whose share is charged to their saved card now.
    pub charged: Vec<i64>,
}

/// A draft of the session about to be issued is split by the booking's
/// payers, unless it has payers of its own.
pub(crate) async fn split_in(
    ctx: &AppContext,
    tx: &impl ConnectionTrait,
    draft: &invoice::Model,
    now: chrono::DateTime<chrono::Utc>,
) -> DomainResult<Split> {
    let unshared = Split::default();
    if !payers_of(tx, draft.id).await?.is_empty() {
        return Ok(Split {
            shared: true,
            charged: Vec::new(),
        });
    }
    let booking = session_payers(tx, draft.session_id).await?;
    if booking.is_empty() || !draft.amount_due_minor.is_positive() {
        return Ok(unshared);
    }
    let shares: Vec<Share> = booking
        .iter()
        .map(|p| {
            crate::kernel::money::parse_plain_decimal(&p.percent)
                .map(Share::Percent)
                .map_err(|e| anyhow::anyhow!("session payer {}: percent {e}", p.id))
        })
        .collect::<Result<_, _>>()?;
    let amounts = match crate::kernel::payers::split(
        draft.amount_due_minor,
        draft.currency,
        &shares,
    ) {
        Ok(amounts) => amounts,
        Err(why) => {
            tracing::warn!(invoice_id = draft.id, reason = %why.message, "not split between the booking's payers: billed to the client");
            return Ok(unshared);
        }
    };
    let people = booking
        .into_iter()
        .zip(amounts)
        .map(|(p, share)| NewPayer {
            charged: p.auto_pay && p.pm_token.is_some(),
            auto_pay: p.auto_pay,
            name: p.name,
            email: p.email,
            share,
            session_payer_id: Some(p.id),
        })
        .collect();
    let payers = insert_payers(ctx, tx, draft, people, now).await?;
    Ok(Split {
        shared: true,
        charged: payers.iter().filter(|p| p.charged).map(|p| p.id).collect(),
    })
}

/// The card a booking's payer saved while paying a share becomes the card
/// their later shares are charged to (they ticked "use this card").
pub(crate) async fn keep_card(
    tx: &impl ConnectionTrait,
    invoice_payer_id: i64,
    card: &crate::ports::gateway::PaymentMethodDetails,
) -> DomainResult<()> {
    let Some(booking) = entity::invoice_payer::Entity::find_by_id(invoice_payer_id)
        .one(tx)
        .await?
        .and_then(|p| p.session_payer_id)
    else {
        return Ok(());
    };
    session_payer::Entity::update_many()
        .col_expr(
            session_payer::Column::PmToken,
            Expr::value(card.token.clone()),
        )
        .col_expr(
            session_payer::Column::PmBrand,
            Expr::value(card.brand.clone()),
        )
        .col_expr(
            session_payer::Column::PmLast4,
            Expr::value(card.last4.clone()),
        )
        .col_expr(
            session_payer::Column::PmFunding,
            Expr::value(card.funding.as_str()),
        )
        .filter(session_payer::Column::Id.eq(booking))
        .exec(tx)
        .await?;
    Ok(())
}

/// The card on file of the booking's payer behind `invoice_payer`, if any.
pub(crate) async fn card_of(
    conn: &impl ConnectionTrait,
    invoice_payer: &entity::invoice_payer::Model,
) -> DomainResult<Option<crate::billing::payments::Card>> {
    let Some(id) = invoice_payer.session_payer_id else {
        return Ok(None);
    };
    let Some(booking) = session_payer::Entity::find_by_id(id).one(conn).await? else {
        return Ok(None);
    };
    Ok(booking
        .pm_token
        .map(|token| crate::billing::payments::Card {
            token,
            brand: booking.pm_brand,
            last4: booking.pm_last4,
            funding: crate::kernel::surcharge::Funding::parse(booking.pm_funding.as_deref()),
        }))
}

/// The gateway Customer of the booking's payer behind `invoice_payer`.
pub(crate) async fn customer_of(
    conn: &impl ConnectionTrait,
    invoice_payer: &entity::invoice_payer::Model,
) -> DomainResult<Option<String>> {
    let Some(id) = invoice_payer.session_payer_id else {
        return Ok(None);
    };
    Ok(session_payer::Entity::find_by_id(id)
        .one(conn)
        .await?
        .and_then(|p| p.gateway_customer_id))
}

/// Keeps `customer` as the booking payer's (unless one was kept meanwhile:
/// that one is returned).
pub(crate) async fn remember_customer(
    conn: &impl ConnectionTrait,
    invoice_payer: &entity::invoice_payer::Model,
    customer: String,
) -> DomainResult<String> {
    let Some(id) = invoice_payer.session_payer_id else {
        return Ok(customer);
    };
    session_payer::Entity::update_many()
        .col_expr(
            session_payer::Column::GatewayCustomerId,
            Expr::value(customer.clone()),
        )
        .filter(session_payer::Column::Id.eq(id))
        .filter(session_payer::Column::GatewayCustomerId.is_null())
        .exec(conn)
        .await?;
    Ok(customer_of(conn, invoice_payer).await?.unwrap_or(customer))
}
