//! A booking's auto-pay payer charged for their share (the `Charge` job
//! with a payer): their saved card, their share owed now, once. A decline
//! touches only them: they get the invoice email with the decline and pay
//! through their own link; nobody else is emailed or charged.

use super::booking::card_of;
use crate::billing::payments::{self, AutoPay, ChargeResult};
use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::DomainResult;
use crate::workflow::next::{self, Change};
use entity::invoice_payer;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

/// Charges `payer_id`'s share of `invoice_id` to their saved card.
pub async fn share(
    ctx: &AppContext,
    invoice_id: i64,
    payer_id: i64,
    request_id: Option<&str>,
) -> DomainResult<AutoPay> {
    let Some(payer) = invoice_payer::Entity::find_by_id(payer_id)
        .filter(invoice_payer::Column::InvoiceId.eq(invoice_id))
        .filter(invoice_payer::Column::RemovedAt.is_null())
        .one(&ctx.db)
        .await?
    else {
        return Ok(AutoPay::NothingDue);
    };
    let reason = match card_of(&ctx.db, &payer).await? {
        Some(card) => {
            match payments::charge_share(ctx, invoice_id, payer_id, &card, request_id).await? {
                ChargeResult::Succeeded(_) => return Ok(AutoPay::Paid),
                ChargeResult::NothingDue => return Ok(AutoPay::NothingDue),
                ChargeResult::Processing { look_again_at } => {
                    return Ok(AutoPay::Processing { look_again_at });
                }
                ChargeResult::Declined(p) => p.failure_code.unwrap_or_else(|| "declined".into()),
            }
        }
        None => "no stored payment method".to_string(),
    };
    let tx = begin_write(&ctx.db).await?;
    next::after(
        &tx,
        Change::InvoiceResent {
            studio_id: payer.studio_id,
            invoice_id,
            key: declined_key(payer_id),
        },
        request_id,
        ctx.clock.now(),
    )
    .await?;
    next::commit(ctx, tx).await?;
    Ok(AutoPay::Declined {
        reason,
        retry_in_days: None,
    })
}

/// The sending of the invoice to one payer whose card was declined.
pub(crate) fn declined_key(payer_id: i64) -> String {
    format!("declined-payer-{payer_id}")
}

/// The payer a sending of the invoice is for alone, if it is one.
pub(crate) fn declined_payer(step: &str) -> Option<i64> {
    step.strip_prefix("resend:declined-payer-")?.parse().ok()
}
