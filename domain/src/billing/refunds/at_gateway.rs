//! Asking the gateway for a refund, exactly once per key.

use crate::infra::context::AppContext;
use crate::kernel::keys::{RequestKey, Step};
use crate::ports::gateway::{GatewayError, RefundOutcome, RefundRequest};
use chrono::Duration;
use entity::refund;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

/// The refund as the gateway has it: retrieved when its id is known, looked
/// for (listed by our key) when a request went out unanswered, requested
/// otherwise. A request's key is sent again only while the gateway keeps it
/// (`gateway.key_reuse_limit_hours`); after that, and only if no refund was
/// made, the next attempt goes out under a new key
/// (`{refund key}_attempt_{n}`).
///
/// The card gets back the refund's money and its shares of the card
/// surcharge and the tip, in one refund (amounts far below `i64`'s range: a refund is
/// at most what was charged).
pub(super) async fn refund_at_gateway(
    ctx: &AppContext,
    pending: &refund::Model,
    charge_reference: &str,
) -> Result<RefundOutcome, GatewayError> {
    let amount =
        (pending.amount_minor + pending.surcharge_minor + pending.tip_minor).of(pending.currency);
    let db_err = |e: sea_orm::DbErr| GatewayError::Unavailable(e.to_string());
    if let Some(id) = &pending.gateway_reference {
        return ctx.gateway.retrieve_refund(id).await;
    }
    let now = ctx.clock.now();
    let limit = Duration::hours(ctx.settings.gateway.key_reuse_limit_hours);
    let mut attempt = pending.key_attempt;
    let mut first_sent = pending.key_sent_at;
    if let Some(sent) = pending.key_sent_at {
        if let Some(outcome) = ctx
            .gateway
            .find_refund(charge_reference, &pending.idempotency_key)
            .await?
        {
            return Ok(outcome);
        }
        if now - sent >= limit {
            attempt = attempt.checked_add(1).ok_or_else(|| {
                GatewayError::Unavailable(format!("refund {}: too many attempts", pending.id))
            })?;
            first_sent = None;
            tracing::warn!(
                refund_id = pending.id,
                attempt,
                "no refund was made under a key the gateway may forget; a new attempt with a new key"
            );
        }
    }
    if first_sent.is_none() {
        let claimed = refund::Entity::update_many()
            .col_expr(refund::Column::KeyAttempt, Expr::value(attempt))
            .col_expr(refund::Column::KeySentAt, Expr::value(now))
            .filter(refund::Column::Id.eq(pending.id))
            .filter(refund::Column::KeyAttempt.eq(pending.key_attempt))
            .exec(&ctx.db)
            .await
            .map_err(db_err)?;
        if claimed.rows_affected != 1 {
            return Err(GatewayError::Unavailable(format!(
                "refund {}: another request for it is under way",
                pending.id
            )));
        }
    }
    let request = RefundRequest {
        idempotency_key: pending.idempotency_key.clone(),
        request_key: RequestKey::new(&pending.idempotency_key, Step::Attempt, attempt).to_string(),
        charge_reference: charge_reference.to_string(),
        amount,
    };
    match ctx.gateway.refund(&request).await {
        Err(GatewayError::Unavailable(why)) => {
            tracing::warn!(refund_id = pending.id, %why, "refund unanswered; looking for it");
            match ctx
                .gateway
                .find_refund(charge_reference, &pending.idempotency_key)
                .await
            {
                Ok(Some(outcome)) => Ok(outcome),
                _ => Err(GatewayError::Unavailable(why)),
            }
        }
        other => other,
    }
}
