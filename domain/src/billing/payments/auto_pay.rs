//! Auto-pay: an issued invoice charged to the client's card on file, and
//! what follows a decline (the invoice email, retries on soft declines).

use super::{
    AUTO_PAY_RETRY_DAYS, Card, ChargeResult, Start, charge_and_settle, is_hard_decline,
    start_attempt,
};
use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::DomainResult;
use crate::kernel::keys::Key;
use crate::workflow::next::{self, Change};
use chrono::{DateTime, Duration, Utc};
use entity::enums::PaymentSource;

use std::borrow::Cow;

/// Why an auto-pay attempt charged nothing when there was no card.
pub const NO_CARD: &str = "no stored payment method";

/// What a charge came to for an auto-pay job: done (`Err`, its outcome as
/// it is), or declined with this code.
pub(crate) fn decline_code(charged: ChargeResult) -> Result<String, AutoPay> {
    declined(charged).map(|(_, code)| code)
}

/// A declined charge's studio and code, or what a charge that is done came
/// to (`Err`).
fn declined(charged: ChargeResult) -> Result<(i64, String), AutoPay> {
    match charged {
        ChargeResult::Succeeded(_) => Err(AutoPay::Paid),
        ChargeResult::NothingDue => Err(AutoPay::NothingDue),
        ChargeResult::Processing { look_again_at } => Err(AutoPay::Processing { look_again_at }),
        ChargeResult::Declined(p) => Ok((
            p.studio_id,
            p.failure_code.unwrap_or_else(|| "declined".into()),
        )),
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

/// The card an attempt charges.
#[derive(Clone, Copy)]
pub(super) enum CardOf<'a> {
    Given(&'a Card),
    /// The invoice's client's card on file as it is now, read in the
    /// attempt's own transaction.
    Client,
}

impl<'a> CardOf<'a> {
    /// The card, `None` when the client has none on file. `client` is the
    /// invoice's client as read in the attempt's own transaction.
    pub(super) fn resolve(self, client: &entity::client::Model) -> Option<Cow<'a, Card>> {
        if let CardOf::Given(card) = self {
            return Some(Cow::Borrowed(card));
        }
        let token = client.pm_token.clone()?;
        Some(Cow::Owned(Card {
            token,
            brand: client.pm_brand.clone(),
            last4: client.pm_last4.clone(),
            funding: crate::kernel::surcharge::Funding::parse(client.pm_funding.as_deref()),
        }))
    }
}

/// What charging the client's card on file came to.
pub enum OnFile {
    Charged(Box<ChargeResult>),
    /// The client has no card on file: nothing was charged.
    NoCard {
        studio_id: i64,
    },
}

/// Charges the invoice's client's card on file, as it is now, under
/// `idempotency_key` (auto-pay): the card is read in the attempt's own
/// transaction. An attempt already made under the key is resumed or
/// replayed with the card it was made with.
pub async fn charge_card_on_file(
    ctx: &AppContext,
    invoice_id: i64,
    idempotency_key: &str,
    request_id: Option<&str>,
) -> DomainResult<OnFile> {
    let (source, key) = (PaymentSource::AutoPay, idempotency_key);
    match start_attempt(
        ctx,
        invoice_id,
        source,
        CardOf::Client,
        key,
        None,
        request_id,
    )
    .await?
    {
        Start::Replay(result) => Ok(OnFile::Charged(Box::new(result))),
        Start::NoCard { studio_id } => Ok(OnFile::NoCard { studio_id }),
        Start::Attempt(pending, origin) => Ok(OnFile::Charged(Box::new(
            charge_and_settle(ctx, pending, origin, request_id).await?,
        ))),
    }
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
    let key = Key::AutoPay {
        invoice_id,
        attempt,
    }
    .to_string();
    let (studio_id, code) = match charge_card_on_file(ctx, invoice_id, &key, request_id).await? {
        OnFile::NoCard { studio_id } => (studio_id, None),
        OnFile::Charged(charged) => match declined(*charged) {
            Ok((studio_id, code)) => (studio_id, Some(code)),
            Err(done) => return Ok(done),
        },
    };
    let retry_in_days = retry_in_days(attempt, code.as_deref());
    let reason = code.unwrap_or_else(|| NO_CARD.to_string());
    let tx = begin_write(&ctx.db).await?;
    next::after(
        &tx,
        Change::AutoPayDeclined {
            studio_id,
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
