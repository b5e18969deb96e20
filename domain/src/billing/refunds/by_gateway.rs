//! Money the gateway returned by itself, recorded as refunds: a refund made
//! in its dashboard, and a lost dispute (a chargeback). What the card got
//! back is split into the invoice's money and the shares of the card
//! surcharge and the tip (`refunds::on_top::split_returned`).

use super::{Settlement, settle};
use crate::billing::lifecycle::Actor;
use crate::infra::error::DomainResult;
use crate::kernel::keys::Key;
use crate::kernel::money::Minor;
use chrono::{DateTime, Utc};
use entity::{payment, refund};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter,
};

/// A refund the gateway made by itself (`gross`: what the card got back),
/// written `PENDING` under `key`, for its settlement to record.
pub(crate) async fn record_outside(
    tx: &DatabaseTransaction,
    paid: &payment::Model,
    gross: Minor,
    key: String,
    reference: Option<String>,
    reason: &str,
    now: DateTime<Utc>,
) -> DomainResult<refund::Model> {
    let split = super::on_top::split_returned(tx, paid, gross).await?;
    let mut row = super::pending_row(paid, split, key, now);
    row.gateway_reference = Set(reference);
    row.reason = Set(Some(reason.to_string()));
    Ok(row.insert(tx).await?)
}

/// A dispute lost: what the card network took back.
pub(crate) struct Chargeback<'a> {
    pub dispute_id: &'a str,
    /// What the dispute was for (money, surcharge and tip).
    pub gross: Minor,
}

/// Records a lost dispute once (key `chargeback_{dispute}`): a refund in all
/// but name, of at most what the card has not had back yet, that makes the
/// invoice's part of it owed again.
pub(crate) async fn record_chargeback(
    tx: &DatabaseTransaction,
    paid: &payment::Model,
    lost: Chargeback<'_>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let key = Key::Chargeback {
        dispute_id: lost.dispute_id.to_string(),
    }
    .to_string();
    let already = refund::Entity::find()
        .filter(refund::Column::IdempotencyKey.eq(key.clone()))
        .one(tx)
        .await?;
    let left = paid.amount_minor - paid.amount_refunded_minor
        + super::on_top::left_on(tx, paid).await?.total();
    if already.is_some() || !left.is_positive() {
        return Ok(());
    }
    let reference = Some(lost.dispute_id.to_string());
    let gross = lost.gross.min(left);
    let reason = "chargeback: dispute lost";
    let chargeback = record_outside(tx, paid, gross, key, reference, reason, now).await?;
    let settlement = Settlement::Chargeback(lost.dispute_id.to_string());
    settle(tx, &chargeback, &settlement, actor, None, now).await?;
    Ok(())
}
