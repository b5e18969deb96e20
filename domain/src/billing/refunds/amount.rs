//! How much of a payment a refund request may return: what it asks (all
//! that is left when it names no amount), within what neither settled nor
//! pending refunds took yet.

use crate::infra::error::{DomainResult, UserError};
use crate::kernel::money::Minor;
use entity::enums::RefundStatus;
use entity::{payment, refund};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};

/// The invoice money a refund of `payment` returns (`requested`, or all
/// that is left), refused when it is not positive or more than is left. A
/// tip paid alone ("Add a tip") carries no money: asked without an amount,
/// its refund returns 0 of money and the tip whole (`on_top`).
pub(super) async fn to_refund(
    tx: &DatabaseTransaction,
    payment: &payment::Model,
    requested: Option<Minor>,
) -> DomainResult<Minor> {
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
    // A tip paid alone ("Add a tip") is refunded whole, with no money.
    let tip_alone = payment.amount_minor.is_zero() && requested.is_none();
    let tip_left = tip_alone && super::on_top::left_on(tx, payment).await?.tip.is_positive();
    if !tip_left && (!amount.is_positive() || amount > refundable) {
        return Err(UserError::invalid(
            "amount",
            if !refundable.is_positive() {
                "this payment has nothing left to refund".to_string()
            } else {
                format!(
                    "the amount must be positive and at most the {} left to refund",
                    refundable.of(payment.currency)
                )
            },
        )
        .into());
    }
    Ok(amount)
}
