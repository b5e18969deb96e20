//! A session's invoice-wide discount and fees, validated into what it
//! stores, and the rules a card surcharge must follow where the client
//! lives (else where the studio is).

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

/// Validates fees into what a session stores (problems under `fees.<i>`);
/// `lives_in`: where the client lives (else the studio is), for the card
/// surcharge rules ([`surcharge_rules`]).
fn stored_fees(
    problems: &mut Problems,
    currency: crate::kernel::money::Currency,
    input: &[FeeSpec],
    lives_in: Option<&str>,
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
                surcharge_rules(problems, &field, &fee.charge, lives_in);
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

/// A `CARD_SURCHARGE` fee is refused (`SURCHARGE_NOT_ALLOWED`) where
/// surcharging consumer cards is banned (`kernel::country::surcharge_banned`),
/// as a fixed amount (a surcharge is a share of the card payment), and
/// above the card networks' cap. The US states and Canadian provinces with
/// their own bans and caps are not known yet (no client region).
fn surcharge_rules(
    problems: &mut Problems,
    field: &str,
    charge: &AdjustmentSpec,
    lives_in: Option<&str>,
) {
    use crate::kernel::country::{SURCHARGE_CAP_PERCENT, surcharge_banned};
    if surcharge_banned(lives_in) {
        problems.push(UserError::surcharge(
            &format!("{field}.kind"),
            format!(
                "surcharging consumer cards is banned where this client is ({}): leave the fee out",
                lives_in.unwrap_or_default()
            ),
        ));
    } else if charge.amount.is_some() {
        problems.push(UserError::surcharge(
            &format!("{field}.amount"),
            "a card surcharge is a percentage of the card payment, not a fixed amount",
        ));
    } else if charge
        .percent
        .is_some_and(|p| p > Decimal::from(SURCHARGE_CAP_PERCENT))
    {
        problems.push(UserError::surcharge(
            &format!("{field}.percent"),
            format!(
                "a card surcharge is at most {SURCHARGE_CAP_PERCENT} % (the card networks' cap)"
            ),
        ));
    }
}

/// [`stored_fees`] for a session of `client_id`.
pub(super) async fn fees_for(
    db: &impl sea_orm::ConnectionTrait,
    studio: &studio::Model,
    client_id: i64,
    problems: &mut Problems,
    input: &[FeeSpec],
) -> DomainResult<Vec<StoredFee>> {
    let lives_in = where_client_lives(db, studio, client_id).await?;
    Ok(stored_fees(
        problems,
        studio.currency,
        input,
        lives_in.as_deref(),
    ))
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
    let lives_in = match changes.fees.is_some() {
        true => where_client_lives(tx, studio, session.client_id).await?,
        false => None,
    };
    let fees = changes
        .fees
        .as_ref()
        .map(|f| stored_fees(&mut problems, currency, f, lives_in.as_deref()));
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
