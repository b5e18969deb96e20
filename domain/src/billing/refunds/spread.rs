//! A refund of a session, spread over its payments (issue 19, item 8).
//!
//! A booking on a payment plan is paid by several payments on several
//! invoices (the retainer, each installment, the balance). When the studio
//! refunds an amount of the session, the newest payment is refunded first,
//! then the one before it, never more than a payment's unrefunded amount:
//! one refund per payment (one per PaymentIntent at the gateway), each with
//! its own credit note on its own invoice, all under the request's key
//! (`refunds.group_key`), and one email to the client listing them
//! ([`crate::followup::emails::send_refund_confirmation`]). A request above
//! what was paid and not yet refunded is refused with nothing written.
//!
//! Every invoice of the session is locked first (in id order, so two
//! requests wait for each other instead of deadlocking), so two requests can
//! never refund more than was paid. A replayed key returns the refunds it
//! first created and asks the gateway again for those still `PENDING`.

use super::{Opening, insert, reload, settle_with_gateway, start, validate_request};
use crate::billing::lifecycle::Actor;
use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::{DomainResult, UserError};
use crate::kernel::ids::PaymentId;
use crate::kernel::keys::Key;
use crate::kernel::money::{Minor, checked_sum};
use entity::enums::{PaymentStatus, RefundStatus};
use entity::{invoice, payment, refund, session};
use sea_orm::{
    ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

#[derive(Debug, Clone)]
pub struct SessionRefundInput {
    pub session_id: i64,
    /// `None` refunds everything paid for the session and not yet refunded.
    pub amount_minor: Option<Minor>,
    pub reason: Option<String>,
    pub idempotency_key: String,
}

/// Refunds `amount_minor` of what was paid for a session, newest payment
/// first. Returns the refunds, oldest payment's last, in their current state.
pub async fn refund_session(
    ctx: &AppContext,
    studio_id: i64,
    input: &SessionRefundInput,
    actor: &Actor,
    request_id: Option<&str>,
) -> DomainResult<Vec<refund::Model>> {
    validate_request(&input.idempotency_key, input.reason.as_deref())?;
    let group = Key::Refund {
        studio_id,
        client_key: input.idempotency_key.clone(),
    }
    .to_string();
    let tx = begin_write(&ctx.db).await?;
    let booked = session::Entity::find_by_id(input.session_id)
        .filter(session::Column::StudioId.eq(studio_id))
        .one(&tx)
        .await?
        .ok_or_else(|| UserError::not_found("sessionId", "session"))?;
    let invoices: Vec<i64> = invoice::Entity::find()
        .filter(invoice::Column::SessionId.eq(booked.id))
        .order_by_asc(invoice::Column::Id)
        .lock_exclusive()
        .all(&tx)
        .await?
        .into_iter()
        .map(|i| i.id)
        .collect();
    if let Some(replayed) = replay(&tx, &group, &invoices, input.amount_minor).await? {
        drop(tx);
        return resume(ctx, replayed, request_id).await;
    }
    let refundable = refundable(&tx, &invoices).await?;
    let total = checked_sum(refundable.iter().map(|(_, left)| *left))
        .ok_or_else(|| anyhow::anyhow!("refundable amount of session {} overflows", booked.id))?;
    let amount = input.amount_minor.unwrap_or(total);
    if !amount.is_positive() || amount > total {
        let message = match refundable.first() {
            None => "nothing paid for this session is left to refund".to_string(),
            Some((paid, _)) => format!(
                "the amount must be positive and at most the {} paid for this session and not refunded yet",
                total.of(paid.currency)
            ),
        };
        return Err(UserError::invalid("amount", message).into());
    }
    let mut left = amount;
    let mut opened = Vec::new();
    for (paid, unrefunded) in &refundable {
        let take = left.min(*unrefunded);
        if !take.is_positive() {
            continue;
        }
        let key = Key::SpreadRefund {
            studio_id,
            payment_id: paid.id,
            client_key: input.idempotency_key.clone(),
        };
        let opening = Opening {
            payment: paid,
            amount: take,
            tip: None,
            key: key.to_string(),
            group: Some(group.clone()),
            reason: input.reason.clone(),
        };
        opened.push((insert(ctx, &tx, opening).await?, paid.method));
        left -= take;
    }
    // Every refund of the request is written before any settles, so the
    // last to settle knows it is the last (the request's one email).
    let mut started = Vec::with_capacity(opened.len());
    for (created, method) in opened {
        let settled = start(ctx, &tx, (&created, method), actor, request_id).await?;
        started.push((created, settled));
    }
    crate::workflow::next::commit(ctx, tx).await?;
    tracing::info!(
        studio_id,
        session_id = booked.id,
        amount = amount.get(),
        refunds = started.len(),
        "session refund spread over its payments"
    );
    for (created, settled) in &started {
        if *settled {
            let paid = PaymentId::new(created.payment_id);
            crate::billing::events::publish_refund(ctx, paid).await?;
        }
    }
    let made = started.into_iter().map(|(r, _)| r).collect();
    resume(ctx, made, request_id).await
}

/// The refunds a replayed key made, if it made any. A key reused for
/// another session or another amount (or for a refund of one payment) is
/// refused.
async fn replay(
    tx: &DatabaseTransaction,
    group: &str,
    invoices: &[i64],
    amount: Option<Minor>,
) -> DomainResult<Option<Vec<refund::Model>>> {
    let made = refund::Entity::find()
        .filter(refund::Column::GroupKey.eq(group))
        .order_by_asc(refund::Column::Id)
        .all(tx)
        .await?;
    if made.is_empty() {
        let single = refund::Entity::find()
            .filter(refund::Column::IdempotencyKey.eq(group))
            .count(tx)
            .await?;
        return match single {
            0 => Ok(None),
            _ => Err(UserError::key_reused("idempotencyKey").into()),
        };
    }
    let same_session = made.iter().all(|r| invoices.contains(&r.invoice_id));
    let same_amount =
        amount.is_none_or(|a| checked_sum(made.iter().map(|r| r.amount_minor)) == Some(a));
    if !same_session || !same_amount {
        return Err(UserError::key_reused("idempotencyKey").into());
    }
    Ok(Some(made))
}

/// The session's successful payments, newest first, each with what is left
/// to refund of it (neither refunded nor being refunded).
async fn refundable(
    tx: &DatabaseTransaction,
    invoices: &[i64],
) -> DomainResult<Vec<(payment::Model, Minor)>> {
    let payments = payment::Entity::find()
        .filter(payment::Column::InvoiceId.is_in(invoices.iter().copied()))
        .filter(payment::Column::Status.eq(PaymentStatus::Succeeded))
        .order_by_desc(payment::Column::CreatedAt)
        .order_by_desc(payment::Column::Id)
        .all(tx)
        .await?;
    let pending = refund::Entity::find()
        .filter(refund::Column::PaymentId.is_in(payments.iter().map(|p| p.id)))
        .filter(refund::Column::Status.eq(RefundStatus::Pending))
        .all(tx)
        .await?;
    let mut refundable = Vec::with_capacity(payments.len());
    for paid in payments {
        let in_flight = pending.iter().filter(|r| r.payment_id == paid.id);
        let left = checked_sum(in_flight.map(|r| r.amount_minor))
            .and_then(|p| {
                paid.amount_minor
                    .checked_sub(paid.amount_refunded_minor)?
                    .checked_sub(p)
            })
            .ok_or_else(|| anyhow::anyhow!("refundable amount of payment {} overflows", paid.id))?;
        if left.is_positive() {
            refundable.push((paid, left));
        }
    }
    Ok(refundable)
}

/// Asks the gateway for each refund still `PENDING` without an answer; a
/// refusal settles that refund as failed (its status says so) and leaves
/// the others alone, an unanswered one is looked for again by its
/// `ResolveRefund` job. Returns the refunds as they stand.
async fn resume(
    ctx: &AppContext,
    refunds: Vec<refund::Model>,
    request_id: Option<&str>,
) -> DomainResult<Vec<refund::Model>> {
    let mut stands = Vec::with_capacity(refunds.len());
    for made in refunds {
        let id = made.id;
        let unanswered = made.status == RefundStatus::Pending && made.gateway_reference.is_none();
        if unanswered && let Err(e) = settle_with_gateway(ctx, made, request_id).await {
            tracing::warn!(refund_id = id, error = %e, "a refund of a spread request did not settle");
        }
        stands.push(reload(ctx, id).await?);
    }
    Ok(stands)
}

/// Serializes the settlements of a spread request's refunds (its first
/// refund's row is locked), so that exactly one of them sees the request
/// settled ([`request_settled`]) and asks for the request's one email.
/// Nothing for a refund of one payment.
pub(super) async fn lock_request(
    tx: &DatabaseTransaction,
    refund_row: &refund::Model,
) -> DomainResult<()> {
    if let Some(group) = &refund_row.group_key {
        refund::Entity::find()
            .filter(refund::Column::GroupKey.eq(group.as_str()))
            .order_by_asc(refund::Column::Id)
            .limit(1)
            .lock_exclusive()
            .one(tx)
            .await?;
    }
    Ok(())
}

/// Whether no refund of `refund_row`'s request is `PENDING` any more (true
/// for a refund of one payment).
pub(super) async fn request_settled(
    tx: &DatabaseTransaction,
    refund_row: &refund::Model,
) -> DomainResult<bool> {
    let Some(group) = &refund_row.group_key else {
        return Ok(true);
    };
    let pending = refund::Entity::find()
        .filter(refund::Column::GroupKey.eq(group.as_str()))
        .filter(refund::Column::Status.eq(RefundStatus::Pending))
        .count(tx)
        .await?;
    Ok(pending == 0)
}
