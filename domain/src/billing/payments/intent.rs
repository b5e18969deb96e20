//! Step 2 of a charge: the attempt's PaymentIntent, created once and
//! confirmed once (see the parent module). An attempt written by this run
//! ([`Origin::Fresh`]) was committed with its creation already claimed and
//! its installment known, so it goes straight to the gateway; one resumed
//! from an earlier run looks for what that run may have sent first.

use crate::infra::context::AppContext;
use crate::infra::error::{DomainError, DomainResult};
use crate::kernel::keys::{RequestKey, Step};
use crate::ports::gateway::{ChargeOutcome, ChargeRequest, GatewayError, IntentState};
use chrono::Duration;
use entity::payment;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

/// An unknown outcome: the attempt stays `PENDING` and is looked at again.
/// Where an attempt comes from.
pub(super) enum Origin {
    /// Written by this run, with its creation claimed in the same commit
    /// (`create_sent_at`): nothing can have been sent for it yet.
    Fresh { installment_ref: Option<String> },
    /// Found `PENDING`: an earlier run may have sent its requests.
    Resumed,
}

fn unknown(payment_id: i64, error: GatewayError) -> DomainError {
    let context = format!(
        "payment {payment_id}: outcome unknown; it is settled later by retrieving its PaymentIntent"
    );
    match DomainError::from(error) {
        DomainError::Unavailable { service, message } => {
            DomainError::unavailable(service, format!("{context} ({message})"))
        }
        DomainError::Internal(err) => DomainError::Internal(err.context(context)),
        other => other,
    }
}

/// The decline a refused payment method stands for.
fn invalid_method(what: &str) -> ChargeOutcome {
    ChargeOutcome::Declined {
        code: "invalid_payment_method".into(),
        message: format!("The payment method was not accepted ({what})."),
    }
}

/// Step 2: brings the attempt's PaymentIntent to a known outcome, or
/// `None` while the gateway is still working on it.
///
/// The intent is created first (not confirmed) and its id is committed on
/// the payment before anything can be charged; then it is confirmed. An
/// answer that is lost or an error (a timeout, a 5xx, which Stripe replays
/// for the same key) is never answered by replaying the request: the intent
/// is retrieved and its status decides. A confirmation is only sent again if
/// the intent still requires one, and then under the next attempt's key.
pub(super) async fn drive_intent(
    ctx: &AppContext,
    pending: &payment::Model,
    origin: &Origin,
) -> DomainResult<Option<ChargeOutcome>> {
    let (intent_id, claimed) = match &pending.gateway_intent_id {
        Some(id) => (id.clone(), false),
        None => match obtain_intent(ctx, pending, origin).await? {
            // Stored with the first confirmation's claim, in one statement.
            Ok(id) => match store_intent(ctx, pending, &id).await? {
                Some(stored) => (stored, true),
                None => return Ok(None),
            },
            Err(refused) => return Ok(Some(refused)),
        },
    };
    let mut attempt = pending.confirm_attempt;
    if !claimed && pending.confirm_sent_at.is_some() {
        // A confirmation went out before: look before sending another.
        match ctx.gateway.retrieve_intent(&intent_id).await {
            Ok(IntentState::Settled(outcome)) => return Ok(Some(outcome)),
            Ok(IntentState::Processing) => return Ok(None),
            Ok(IntentState::RequiresConfirmation) => {
                attempt = attempt
                    .checked_add(1)
                    .ok_or_else(|| anyhow::anyhow!("payment {}: too many attempts", pending.id))?;
            }
            Err(e) => return Err(unknown(pending.id, e)),
        }
    }
    // The attempt's number and first sending are committed before it is
    // sent; the guard makes two concurrent retries send one confirmation.
    if !claimed && !claim_confirmation(ctx, pending, attempt).await? {
        return Ok(None);
    }
    let key = RequestKey::new(&pending.idempotency_key, Step::Confirm, attempt).to_string();
    match ctx.gateway.confirm_intent(&intent_id, &key).await {
        Ok(IntentState::Settled(outcome)) => Ok(Some(outcome)),
        Ok(_) => Ok(None),
        Err(GatewayError::InvalidPaymentMethod(what)) => Ok(Some(invalid_method(&what))),
        Err(lost) => {
            tracing::warn!(payment_id = pending.id, error = %lost, "confirmation unanswered; retrieving the PaymentIntent");
            match ctx.gateway.retrieve_intent(&intent_id).await {
                Ok(IntentState::Settled(outcome)) => Ok(Some(outcome)),
                Ok(_) => Err(unknown(pending.id, lost)),
                Err(e) => Err(unknown(pending.id, e)),
            }
        }
    }
}

/// The attempt's PaymentIntent id, created now or found (the caller commits
/// it on the payment before confirming it). `Err` is a payment method the
/// gateway refused (nothing was created).
///
/// A creation whose answer was lost is looked for first (by our payment's
/// key in the intent's metadata). Its key is sent again only while the
/// gateway still keeps it (`gateway.key_reuse_limit_hours`); after that,
/// and only if the intent is not found, the next attempt starts with a new
/// key, so an old key can never create a second intent.
async fn obtain_intent(
    ctx: &AppContext,
    pending: &payment::Model,
    origin: &Origin,
) -> DomainResult<Result<String, ChargeOutcome>> {
    let token = pending
        .payment_method_token
        .clone()
        .ok_or_else(|| anyhow::anyhow!("payment {} has no payment method", pending.id))?;
    let now = ctx.clock.now();
    let limit = Duration::hours(ctx.settings.gateway.key_reuse_limit_hours);
    let mut attempt = pending.create_attempt;
    let mut first_sent = pending.create_sent_at;
    if let (Origin::Resumed, Some(sent)) = (origin, pending.create_sent_at) {
        let found = ctx
            .gateway
            .find_intent(&pending.idempotency_key)
            .await
            .map_err(|e| unknown(pending.id, e))?;
        if let Some(id) = found {
            return Ok(Ok(id));
        }
        if now - sent >= limit {
            attempt = attempt
                .checked_add(1)
                .ok_or_else(|| anyhow::anyhow!("payment {}: too many attempts", pending.id))?;
            first_sent = None;
            tracing::warn!(
                payment_id = pending.id,
                attempt,
                "no PaymentIntent was created under a key the gateway may forget; a new attempt with a new key"
            );
        }
    }
    if first_sent.is_none() {
        let claimed = payment::Entity::update_many()
            .col_expr(payment::Column::CreateAttempt, Expr::value(attempt))
            .col_expr(payment::Column::CreateSentAt, Expr::value(now))
            .filter(payment::Column::Id.eq(pending.id))
            .filter(payment::Column::CreateAttempt.eq(pending.create_attempt))
            .filter(payment::Column::GatewayIntentId.is_null())
            .exec(&ctx.db)
            .await?;
        if claimed.rows_affected != 1 {
            return Err(anyhow::anyhow!(
                "payment {}: another worker is creating its PaymentIntent",
                pending.id
            )
            .into());
        }
    }
    let request = ChargeRequest {
        idempotency_key: RequestKey::new(&pending.idempotency_key, Step::Create, attempt)
            .to_string(),
        payment_key: pending.idempotency_key.clone(),
        // The invoice's money and the surcharge on top: one charge.
        amount: pending
            .amount_minor
            .checked_add(pending.surcharge_minor)
            .ok_or_else(|| anyhow::anyhow!("payment {}: amount overflows", pending.id))?
            .of(pending.currency),
        payment_method_token: token,
        description: format!("Invoice payment {}", pending.invoice_id),
        installment_ref: match origin {
            Origin::Fresh { installment_ref } => installment_ref.clone(),
            Origin::Resumed => {
                crate::billing::installments::part_of(&ctx.db, pending.invoice_id).await?
            }
        },
    };
    match ctx.gateway.create_intent(&request).await {
        Ok(id) => Ok(Ok(id)),
        Err(GatewayError::InvalidPaymentMethod(what)) => Ok(Err(invalid_method(&what))),
        Err(lost) => {
            tracing::warn!(payment_id = pending.id, error = %lost, "creation unanswered; looking for the PaymentIntent");
            match ctx.gateway.find_intent(&pending.idempotency_key).await {
                Ok(Some(id)) => Ok(Ok(id)),
                Ok(None) => Err(unknown(pending.id, lost)),
                Err(e) => Err(unknown(pending.id, e)),
            }
        }
    }
}

/// Claims the confirmation of an intent stored earlier: `false` when
/// another run claimed it first.
async fn claim_confirmation(
    ctx: &AppContext,
    pending: &payment::Model,
    attempt: i32,
) -> DomainResult<bool> {
    let claimed = payment::Entity::update_many()
        .col_expr(payment::Column::ConfirmAttempt, Expr::value(attempt))
        .col_expr(payment::Column::ConfirmSentAt, Expr::value(ctx.clock.now()))
        .filter(payment::Column::Id.eq(pending.id))
        .filter(payment::Column::ConfirmAttempt.eq(pending.confirm_attempt))
        .exec(&ctx.db)
        .await?;
    Ok(claimed.rows_affected == 1)
}

/// Commits the intent's id on the payment together with the claim of its
/// first confirmation (one statement, before anything is confirmed) and
/// returns the id stored: the first one stored stays. `None` when another
/// run claimed the confirmation first (it confirms the stored intent).
async fn store_intent(
    ctx: &AppContext,
    pending: &payment::Model,
    id: &str,
) -> DomainResult<Option<String>> {
    let stored = sea_orm::sea_query::Func::coalesce([
        Expr::col(payment::Column::GatewayIntentId),
        Expr::value(id),
    ]);
    let now = ctx.clock.now();
    let rows = payment::Entity::update_many()
        .col_expr(payment::Column::GatewayIntentId, Expr::FunctionCall(stored))
        .col_expr(
            payment::Column::ConfirmAttempt,
            Expr::value(pending.confirm_attempt),
        )
        .col_expr(payment::Column::ConfirmSentAt, Expr::value(now))
        .col_expr(payment::Column::UpdatedAt, Expr::value(now))
        .filter(payment::Column::Id.eq(pending.id))
        .filter(payment::Column::ConfirmAttempt.eq(pending.confirm_attempt))
        .filter(payment::Column::ConfirmSentAt.is_null())
        .exec_with_returning(&ctx.db)
        .await?;
    match rows.into_iter().next() {
        Some(row) => Ok(Some(row.gateway_intent_id.ok_or_else(|| {
            anyhow::anyhow!("payment {} lost its PaymentIntent", pending.id)
        })?)),
        None => Ok(None),
    }
}
