//! A session's invoice-wide discount and fees, validated into what it
//! stores (a card surcharge is no longer one of them: `billing::surcharge`).

use crate::infra::error::{DomainResult, UserError};
use crate::kernel::adjustments::{StoredAdjustment, StoredFee};
use crate::kernel::money::Minor;
use crate::kernel::validate::Problems;
use chrono::{DateTime, Utc};
use entity::{session, studio};
use rust_decimal::Decimal;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};

/// A percentage or an amount of the studio's currency: exactly one.
#[derive(Debug, Clone, Default)]
pub struct AdjustmentSpec {
    pub percent: Option<Decimal>,
    pub amount: Option<Decimal>,
}

#[derive(Debug, Clone)]
pub struct FeeSpec {
    pub name: String,
    /// `TRAVEL`, `RUSH`, `CARD_SURCHARGE` or `OTHER`.
    pub kind: String,
    pub charge: AdjustmentSpec,
    pub taxable: bool,
}

pub(super) fn adjustment(
    problems: &mut Problems,
    field: &str,
    currency: crate::kernel::money::Currency,
    spec: &AdjustmentSpec,
) -> StoredAdjustment {
    match (spec.percent, spec.amount) {
        (Some(p), None) => {
            StoredAdjustment::Percent(problems.percent(&format!("{field}.percent"), p))
        }
        (None, Some(a)) => {
            StoredAdjustment::FixedMinor(problems.amount(&format!("{field}.amount"), currency, a))
        }
        _ => {
            problems.push(UserError::invalid(
                field,
                "give either `percent` or `amount`",
            ));
            StoredAdjustment::FixedMinor(Minor::ZERO)
        }
    }
}

/// Validates fees into what a session stores (problems under `fees.<i>`).
/// A `CARD_SURCHARGE` fee is refused (`SURCHARGE_NOT_ALLOWED`): a fee lands
/// on the invoice whatever pays it (a debit card, a check), which no
/// surcharge may; the studio's `cardSurchargePercent` replaces it, added
/// at payment to credit cards only, where the law allows
/// (`kernel::surcharge`). Sessions that carry the old fee keep it.
fn stored_fees(
    problems: &mut Problems,
    currency: crate::kernel::money::Currency,
    input: &[FeeSpec],
) -> Vec<StoredFee> {
    let mut fees = Vec::with_capacity(input.len());
    for (i, fee) in input.iter().enumerate() {
        let field = format!("fees.{i}");
        match crate::kernel::adjustments::fee_kind(&fee.kind) {
            None => problems.push(UserError::invalid(
                &format!("{field}.kind"),
                "unknown fee kind",
            )),
            Some(crate::kernel::pricing::FeeKind::CardSurcharge) => {
                problems.push(UserError::surcharge(
                    &format!("{field}.kind"),
                    "a card surcharge is not a fee (it would fall on debit cards and checks too): \
                     set the studio's cardSurchargePercent, added at payment to credit cards only, where the law allows",
                ));
            }
            Some(_) => {}
        }
        fees.push(StoredFee {
            name: problems.name(&format!("{field}.name"), &fee.name),
            kind: fee.kind.clone(),
            charge: adjustment(problems, &field, currency, &fee.charge),
            taxable: fee.taxable,
        });
    }
    fees
}

/// [`stored_fees`] for a new session.
pub(super) fn fees_for(
    studio: &studio::Model,
    problems: &mut Problems,
    input: &[FeeSpec],
) -> Vec<StoredFee> {
    stored_fees(problems, studio.currency, input)
}

/// Where the client lives when the studio recorded it, else where the
/// studio is (the consumer rules of plans and surcharges follow it).
pub(crate) async fn where_client_lives(
    db: &impl sea_orm::ConnectionTrait,
    studio: &studio::Model,
    client_id: i64,
) -> DomainResult<Option<String>> {
    let client = entity::client::Entity::find_by_id(client_id)
        .one(db)
        .await?;
    Ok(client.and_then(|c| c.country).or(studio.country.clone()))
}

/// Corrections of a session's invoice-wide discount and fees (for a
/// reissue): `None` keeps what the session has.
#[derive(Debug, Clone, Default)]
pub struct AdjustmentChanges {
    pub discount: Option<AdjustmentSpec>,
    pub fees: Option<Vec<FeeSpec>>,
}

/// Validates `changes` and writes them on the session inside the caller's
/// transaction; returns the session as it is afterwards. Nothing is
/// written when a change is invalid.
pub(crate) async fn apply_adjustment_changes(
    tx: &sea_orm::DatabaseTransaction,
    studio: &studio::Model,
    session: session::Model,
    changes: &AdjustmentChanges,
    now: DateTime<Utc>,
) -> DomainResult<session::Model> {
    if changes.discount.is_none() && changes.fees.is_none() {
        return Ok(session);
    }
    let currency = studio.currency;
    let mut problems = Problems::new();
    let discount = changes
        .discount
        .as_ref()
        .map(|d| adjustment(&mut problems, "discount", currency, d));
    let fees = changes
        .fees
        .as_ref()
        .map(|f| stored_fees(&mut problems, currency, f));
    problems.finish()?;
    let mut active: session::ActiveModel = session.into();
    if let Some(discount) = discount {
        active.discount = Set(Some(
            serde_json::to_string(&discount).map_err(|e| anyhow::anyhow!("discount: {e}"))?,
        ));
    }
    if let Some(fees) = fees {
        active.fees = Set(serde_json::to_string(&fees).map_err(|e| anyhow::anyhow!("fees: {e}"))?);
    }
    active.updated_at = Set(now);
    Ok(active.update(tx).await?)
}
