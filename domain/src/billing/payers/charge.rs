//! A booking's auto-pay payer charged for their share (the `Charge` job
//! with a payer): their saved card, their share owed now, once per attempt.
//! A decline touches only them: the first one emails them the invoice with
//! the decline, when the card is tried again and their own link; a soft
//! decline is retried on the client's schedule (`AUTO_PAY_RETRY_DAYS`), a
//! hard one (stolen card...) is not; nobody else is emailed or charged.
//! A retry finds nothing to charge once they paid through their link.

use super::booking::card_of;
use crate::billing::payments::{self, AutoPay};
use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::DomainResult;
use crate::kernel::keys::Key;
use crate::workflow::next::{self, Change};
use entity::invoice_payer;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

/// Charges `payer_id`'s share of `invoice_id` to their saved card
/// (attempt `attempt`, 1 when the invoice is issued).
pub async fn share(
    ctx: &AppContext,
    invoice_id: i64,
    payer_id: i64,
    attempt: u32,
    request_id: Option<&str>,
) -> DomainResult<AutoPay> {
    let key = Key::PayerAutoPay {
        invoice_id,
        payer_id,
        attempt,
    };
    let Some(payer) = invoice_payer::Entity::find_by_id(payer_id)
        .filter(invoice_payer::Column::InvoiceId.eq(invoice_id))
        .filter(invoice_payer::Column::RemovedAt.is_null())
        .one(&ctx.db)
        .await?
    else {
        return Ok(AutoPay::NothingDue);
    };
    let code = match card_of(&ctx.db, &payer).await? {
        Some(card) => {
            let charged =
                payments::charge_share(ctx, invoice_id, payer_id, &card, &key, request_id).await?;
            match payments::decline_code(charged) {
                Ok(code) => Some(code),
                Err(done) => return Ok(done),
            }
        }
        None => None,
    };
    let retry_in_days = payments::retry_in_days(attempt, code.as_deref());
    let reason = code.unwrap_or_else(|| payments::NO_CARD.to_string());
    let (now, tx) = (ctx.clock.now(), begin_write(&ctx.db).await?);
    if attempt <= 1 {
        let key = declined_key(payer_id);
        let resent = Change::InvoiceResent {
            studio_id: payer.studio_id,
            invoice_id,
            key,
        };
        next::after(&tx, resent, request_id, now).await?;
    }
    let declined = Change::AutoPayDeclined {
        studio_id: payer.studio_id,
        invoice_id,
        attempt,
        retry_in: retry_in_days.map(chrono::Duration::days),
        payer: Some(payer_id),
    };
    next::after(&tx, declined, request_id, now).await?;
    next::commit(ctx, tx).await?;
    Ok(AutoPay::Declined {
        reason,
        retry_in_days,
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
