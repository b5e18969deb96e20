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
    session_payer::Entity::update_many()
        .col_expr(session_payer::Column::RemovedAt, Expr::value(now))
        .filter(session_payer::Column::SessionId.eq(session_id))
        .filter(session_payer::Column::RemovedAt.is_null())
        .exec(&tx)
        .await?;
    let mut payers = Vec::with_capacity(people.len());
    for (position, ((name, email), input)) in people.into_iter().zip(inputs).enumerate() {
        let percent = input.percent.unwrap_or_default().normalize().to_string();
        payers.push(
            session_payer::ActiveModel {
                studio_id: Set(studio_id),
                session_id: Set(session_id),
                position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
                name: Set(name),
                email: Set(email),
                percent: Set(percent),
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

/// A draft of the session about to be issued is split by the booking's
/// payers, unless it has payers of its own. Returns whether the invoice is
/// shared (then its payers, not the client's card, pay it).
pub(crate) async fn split_in(
    ctx: &AppContext,
    tx: &impl ConnectionTrait,
    draft: &invoice::Model,
    now: chrono::DateTime<chrono::Utc>,
) -> DomainResult<bool> {
    if !payers_of(tx, draft.id).await?.is_empty() {
        return Ok(true);
    }
    let booking = session_payers(tx, draft.session_id).await?;
    if booking.is_empty() || !draft.amount_due_minor.is_positive() {
        return Ok(false);
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
            return Ok(false);
        }
    };
    let people = booking
        .into_iter()
        .zip(amounts)
        .map(|(p, share)| NewPayer {
            name: p.name,
            email: p.email,
            share,
            session_payer_id: Some(p.id),
        })
        .collect();
    insert_payers(ctx, tx, draft, people, now).await?;
    Ok(true)
}
