//! Auto-pay: an issued invoice charged to the client's card on file, and
//! what follows a decline (the invoice email, retries on soft declines).

use super::{AUTO_PAY_RETRY_DAYS, Card, ChargeResult, charge_invoice, is_hard_decline};
use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::DomainResult;
use crate::kernel::keys::Key;
use crate::workflow::next::{self, Change};
use chrono::{DateTime, Duration, Utc};
use entity::enums::PaymentSource;
use entity::invoice;
use sea_orm::{EntityTrait, TransactionTrait};

/// Why an auto-pay attempt charged nothing when there was no card.
pub const NO_CARD: &str = "no stored payment method";

/// What a charge came to for an auto-pay job: done (`Err`, its outcome as
/// it is), or declined with this code.
pub(crate) fn decline_code(charged: ChargeResult) -> Result<String, AutoPay> {
    match charged {
        ChargeResult::Succeeded(_) => Err(AutoPay::Paid),
        ChargeResult::NothingDue => Err(AutoPay::NothingDue),
        ChargeResult::Processing { look_again_at } => Err(AutoPay::Processing { look_again_at }),
        ChargeResult::Declined(p) => Ok(p.failure_code.unwrap_or_else(|| "declined".into())),
    }
}

/// The days until the attempt after `attempt`, declined with `code`
/// (`None`: there was no card): the schedule's (`AUTO_PAY_RETRY_DAYS`),
/// none after a hard decline (stolen card...), without a card, or after the
/// last attempt.
pub fn retry_in_days(attempt: u32, code: Option<&str>) -> Option<i64> {
    if code.is_none_or(is_hard_decline) {
        return None;
    }
    let index = usize::try_from(attempt).ok()?.checked_sub(1)?;
    AUTO_PAY_RETRY_DAYS.get(index).copied()
}

#[derive(Debug)]
pub enum AutoPay {
    Paid,
    NothingDue,
    /// The gateway is still processing the charge: look again then.
    Processing {
        look_again_at: DateTime<Utc>,
    },
    Declined {
        reason: String,
        retry_in_days: Option<i64>,
    },
}

/// Auto-pay attempt `attempt` (1 when the invoice is issued): charge the
/// client's stored card, as it is now, under `inv_{id}_autopay_{attempt}`.
/// The first decline falls back to the invoice email and gallery access
/// follows the unpaid state; later ones send a decline notice. A soft decline
/// schedules the next attempt; a hard one (stolen card...) stops retrying.
pub async fn auto_pay(
    ctx: &AppContext,
    invoice_id: i64,
    attempt: u32,
    request_id: Option<&str>,
) -> DomainResult<AutoPay> {
    // The invoice and its client in one read-only transaction.
    let read = ctx.db.begin().await?;
    let invoice = invoice::Entity::find_by_id(invoice_id)
        .one(&read)
        .await?
        .ok_or_else(|| anyhow::anyhow!("invoice {invoice_id} missing"))?;
    let client = entity::client::Entity::find_by_id(invoice.client_id)
        .one(&read)
        .await?
        .ok_or_else(|| anyhow::anyhow!("client {} missing", invoice.client_id))?;
    read.commit().await?;
    let code = match &client.pm_token {
        Some(token) => {
            let card = Card {
                token: token.clone(),
                brand: client.pm_brand.clone(),
                last4: client.pm_last4.clone(),
                funding: crate::kernel::surcharge::Funding::parse(client.pm_funding.as_deref()),
            };
            let key = Key::AutoPay {
                invoice_id,
                attempt,
            }
            .to_string();
            let charged = charge_invoice(
                ctx,
                invoice_id,
                PaymentSource::AutoPay,
                &card,
                &key,
                request_id,
            )
            .await?;
            match decline_code(charged) {
                Ok(code) => Some(code),
                Err(done) => return Ok(done),
            }
        }
        None => None,
    };
    let retry_in_days = retry_in_days(attempt, code.as_deref());
    let reason = code.unwrap_or_else(|| NO_CARD.to_string());
    let tx = begin_write(&ctx.db).await?;
    next::after(
        &tx,
        Change::AutoPayDeclined {
            studio_id: invoice.studio_id,
            invoice_id,
            attempt,
            retry_in: retry_in_days.map(Duration::days),
            payer: None,
        },
        request_id,
        ctx.clock.now(),
    )
    .await?;
    crate::workflow::next::commit(ctx, tx).await?;
    Ok(AutoPay::Declined {
        reason,
        retry_in_days,
    })
}
