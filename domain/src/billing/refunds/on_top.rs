//! What a refund returns of what its payment carried on top of the
//! invoice's money — the card surcharge and the tip (`kernel::on_top` has
//! the arithmetic): pro rata with a partial refund, all that is left with
//! the last one, in proportion when the gateway returned an amount by
//! itself; and the `PENDING` refund row that carries those shares.

use crate::infra::error::DomainResult;
use crate::kernel::money::Minor;
use crate::kernel::on_top::{self, OnTop};
use chrono::{DateTime, Utc};
use entity::enums::RefundStatus;
use entity::{payment, refund};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

/// What `payment` carried on top of its money.
pub fn carried(payment: &payment::Model) -> OnTop {
    OnTop {
        surcharge: payment.surcharge_minor,
        tip: payment.tip_minor,
    }
}

/// What `payment`'s earlier refunds (settled or under way) took of its
/// money, and of what it carried on top.
async fn returned_so_far(
    conn: &impl ConnectionTrait,
    payment: &payment::Model,
) -> DomainResult<(Minor, OnTop)> {
    let earlier = refund::Entity::find()
        .filter(refund::Column::PaymentId.eq(payment.id))
        .filter(refund::Column::Status.is_in([RefundStatus::Pending, RefundStatus::Succeeded]))
        .all(conn)
        .await?;
    let base = earlier.iter().map(|r| r.amount_minor).sum();
    let on_top = OnTop {
        surcharge: earlier.iter().map(|r| r.surcharge_minor).sum(),
        tip: earlier.iter().map(|r| r.tip_minor).sum(),
    };
    Ok((base, on_top))
}

/// What is left of what `payment` carried on top, after its refunds.
pub(crate) async fn left_on(
    conn: &impl ConnectionTrait,
    payment: &payment::Model,
) -> DomainResult<OnTop> {
    if carried(payment).is_zero() {
        return Ok(OnTop::ZERO);
    }
    let (_, returned) = returned_so_far(conn, payment).await?;
    Ok(carried(payment).after(returned))
}

/// What a refund of `amount` of `payment`'s money returns with it.
pub(crate) async fn refund_share(
    conn: &impl ConnectionTrait,
    payment: &payment::Model,
    amount: Minor,
) -> DomainResult<OnTop> {
    if carried(payment).is_zero() {
        return Ok(OnTop::ZERO);
    }
    let (refunded, returned) = returned_so_far(conn, payment).await?;
    Ok(on_top::refund_share(
        payment.amount_minor,
        carried(payment),
        refunded,
        returned,
        amount,
    ))
}

/// An amount the gateway returned on `payment` by itself (a refund in its
/// dashboard, a lost dispute), split into the invoice's money and what was
/// on top.
pub(crate) async fn split_returned(
    conn: &impl ConnectionTrait,
    payment: &payment::Model,
    gross: Minor,
) -> DomainResult<(Minor, OnTop)> {
    if carried(payment).is_zero() {
        return Ok((gross, OnTop::ZERO));
    }
    let (_, returned) = returned_so_far(conn, payment).await?;
    Ok(on_top::split_returned(
        gross,
        payment.amount_minor,
        carried(payment),
        returned,
    ))
}

/// A `PENDING` refund of `payment` under `key`: `amount` of its money and
/// `on_top` (surcharge, tip).
pub(in crate::billing::refunds) fn pending_row(
    payment: &payment::Model,
    (amount, on_top): (Minor, OnTop),
    key: String,
    now: DateTime<Utc>,
) -> refund::ActiveModel {
    refund::ActiveModel {
        studio_id: Set(payment.studio_id),
        invoice_id: Set(payment.invoice_id),
        payment_id: Set(payment.id),
        amount_minor: Set(amount),
        surcharge_minor: Set(on_top.surcharge),
        tip_minor: Set(on_top.tip),
        currency: Set(payment.currency),
        status: Set(RefundStatus::Pending),
        idempotency_key: Set(key),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}
