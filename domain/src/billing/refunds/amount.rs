//! How much of a payment a refund request may return: what it asks (all
//! that is left when it names no amount), within what neither settled nor
//! pending refunds took yet.

use crate::infra::error::{DomainResult, UserError};
use crate::kernel::money::Minor;
use entity::enums::RefundStatus;
use entity::{payment, refund};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};

/// The invoice money a refund of `payment` returns (`requested`, or all
/// that is left), refused when it is not positive or more than is left.
/// A tip paid alone ("Add a tip") carries no money: what is asked (all
/// that is left of the tip when nothing is) comes out of the tip, the
/// second figure.
pub(super) async fn to_refund(
    tx: &DatabaseTransaction,
    payment: &payment::Model,
    requested: Option<Minor>,
) -> DomainResult<(Minor, Option<Minor>)> {
    if payment.amount_minor.is_zero() {
        let left = super::on_top::left_on(tx, payment).await?.tip;
        let tip = requested.unwrap_or(left);
        refuse_unless_within(payment, tip, left, "of the tip ")?;
        return Ok((Minor::ZERO, Some(tip)));
    }
    let pending_refunds = crate::kernel::money::checked_sum(
        refund::Entity::find()
            .filter(refund::Column::PaymentId.eq(payment.id))
            .filter(refund::Column::Status.eq(RefundStatus::Pending))
            .all(tx)
            .await?
            .iter()
            .map(|r| r.amount_minor),
    );
    let refundable = pending_refunds
        .and_then(|pending| {
            payment
                .amount_minor
                .checked_sub(payment.amount_refunded_minor)?
                .checked_sub(pending)
        })
        .ok_or_else(|| anyhow::anyhow!("refundable amount of payment {} overflows", payment.id))?;
    let amount = requested.unwrap_or(refundable);
    refuse_unless_within(payment, amount, refundable, "")?;
    Ok((amount, None))
}

/// Refuses `amount` unless it is positive and at most `left`.
fn refuse_unless_within(
    payment: &payment::Model,
    amount: Minor,
    left: Minor,
    what: &str,
) -> DomainResult<()> {
    if amount.is_positive() && amount <= left {
        return Ok(());
    }
    Err(UserError::invalid(
        "amount",
        if !left.is_positive() {
            "this payment has nothing left to refund".to_string()
        } else {
            format!(
                "the amount must be positive and at most the {} {what}left to refund",
                left.of(payment.currency)
            )
        },
    )
    .into())
}
