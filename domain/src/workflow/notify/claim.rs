//! Taking an email's claim: the notification row written once, then
//! claimed for this sender (see the parent module).

use super::{Claim, EmailKey, Held, KeepClaim, by_key, claim_lease, message_id_host};
use crate::infra::context::AppContext;
use crate::infra::error::DomainResult;
use chrono::Utc;
use entity::enums::NotificationStatus;
use entity::notification;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

/// Writes the notification row (once) and claims it for sending.
pub async fn claim(
    ctx: &AppContext,
    key: &EmailKey,
    recipient: &str,
    subject: &str,
) -> DomainResult<Claim> {
    // One transaction for its statements: one commit instead of three,
    // and the same answer (a concurrent claimer's update waits for this one's
    // row lock, then finds the email held).
    let tx = crate::infra::db::begin_write(&ctx.db).await?;
    let taken = claim_in(ctx, &tx, key, recipient, subject).await?;
    tx.commit().await?;
    Ok(taken.hold(ctx, key))
}

/// A claim taken inside a caller's transaction ([`claim_in`]): it holds
/// once that transaction commits, then [`Taken::hold`] keeps it.
pub enum Taken {
    Mine { id: i64, message_id: String },
    AlreadySent,
    Failed,
    HeldElsewhere { until: chrono::DateTime<Utc> },
}

impl Taken {
    /// After the commit: the claim, renewed from now on while it is ours.
    pub fn hold(self, ctx: &AppContext, key: &EmailKey) -> Claim {
        match self {
            Taken::Mine { id, message_id } => Claim::Mine(Held {
                id,
                message_id,
                renewal: KeepClaim::start(ctx, key),
            }),
            Taken::AlreadySent => Claim::AlreadySent,
            Taken::Failed => Claim::Failed,
            Taken::HeldElsewhere { until } => Claim::HeldElsewhere { until },
        }
    }
}

/// [`claim`] inside the caller's write transaction, so that a step reads
/// what its email needs, claims it and writes what goes with it (a gallery
/// password) in one commit. The claim counts only once that commits.
pub async fn claim_in(
    ctx: &AppContext,
    tx: &sea_orm::DatabaseTransaction,
    key: &EmailKey,
    recipient: &str,
    subject: &str,
) -> DomainResult<Taken> {
    let now = ctx.clock.now();
    let row = notification::ActiveModel {
        studio_id: Set(key.studio_id),
        invoice_id: Set(key.invoice_id),
        kind: Set(key.kind),
        step: Set(key.step.clone()),
        recipient: Set(recipient.to_string()),
        subject: Set(subject.to_string()),
        status: Set(NotificationStatus::Pending),
        message_id: Set(format!(
            "<{}.{}.{}@{}>",
            key.kind.as_str().to_ascii_lowercase().replace('_', "-"),
            key.invoice_id,
            key.step,
            message_id_host(ctx)
        )),
        claimed_until: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
        ..Default::default()
    };
    notification::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                notification::Column::InvoiceId,
                notification::Column::Kind,
                notification::Column::Step,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(tx)
        .await?;
    let claimed = by_key(notification::Entity::update_many(), key)
        .col_expr(
            notification::Column::Status,
            Expr::value(NotificationStatus::Sending.as_str()),
        )
        .col_expr(
            notification::Column::ClaimedUntil,
            Expr::value(now + claim_lease(ctx)),
        )
        .filter(
            sea_orm::Condition::any()
                .add(notification::Column::Status.eq(NotificationStatus::Pending))
                .add(
                    notification::Column::Status
                        .eq(NotificationStatus::Sending)
                        .and(notification::Column::ClaimedUntil.lt(now)),
                ),
        )
        .exec_with_returning(tx)
        .await?
        .pop();
    // Claimed: the row came back with the claim. Otherwise, say why not.
    if let Some(mine) = claimed {
        return Ok(Taken::Mine {
            id: mine.id,
            message_id: mine.message_id,
        });
    }
    let stored = by_key(notification::Entity::find(), key)
        .one(tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("notification row vanished"))?;
    Ok(if stored.status == NotificationStatus::Sent {
        Taken::AlreadySent
    } else if stored.status == NotificationStatus::Failed {
        Taken::Failed
    } else {
        let until = stored
            .claimed_until
            .unwrap_or_else(|| now + claim_lease(ctx));
        Taken::HeldElsewhere { until }
    })
}
