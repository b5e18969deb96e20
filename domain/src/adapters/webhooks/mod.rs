//! Incoming payment-gateway webhooks (`POST /webhooks/stripe`).
//!
//! 1. **Verify**: the `Stripe-Signature` HMAC over `timestamp.body`, within
//!    the tolerance (see [`signature`]). Nothing is read before this.
//! 2. **Store once**: the event is inserted into `webhook_events` (unique per
//!    provider and event id) in the same transaction as its effects. A
//!    redelivered event finds its row and changes nothing; an event whose
//!    effects fail rolls back entirely and the gateway delivers it again.
//! 3. **Order**: an event older than one already applied to the same gateway
//!    object (`pi_`, `re_`, `dp_`) is stale and skipped. Within that, state
//!    precedence does the rest: a `SUCCEEDED` payment or a settled refund is
//!    never moved again.
//! 4. **Apply** through the same writers as the synchronous paths
//!    (`payments::settle_in`, `refunds::settle`, `lifecycle`), so a webhook and
//!    the API call it confirms can arrive in any order and count once.
//!
//! | event | effect |
//! | --- | --- |
//! | `payment_intent.succeeded` | payment `SUCCEEDED`, invoice paid, receipt, gallery |
//! | `payment_intent.payment_failed` | a `PENDING` payment `FAILED` with the decline code |
//! | `refund.created` / `refund.updated` / `refund.failed`, `charge.refunded` (with its refunds) | settles our `PENDING` refund; a refund made in the gateway's dashboard is recorded as a new refund |
//! | `checkout.session.completed` / `async_payment_succeeded` / `async_payment_failed` / `expired` | `checkout::settle_in`: one payment per session, receipt, gallery; a mismatched amount is recorded, not settled; the card is retrieved (`payment_intent_card`) when the event does not carry it |
//! | `checkout.session.completed` / `expired` with `mode=setup`, `setup_intent.succeeded` | `card_setup::complete_in`: the SetupIntent's card becomes the client's card, once |
//! | `charge.dispute.created` | payment marked disputed, gallery locked, audit line |
//! | `charge.dispute.closed` | won: dispute cleared, access restored; lost: the amount is recorded as refunded (chargeback) |
//!
//! Anything else is stored as `IGNORED` with the reason.
//!
//! A card the event does not carry is asked of the gateway (the SetupIntent
//! or PaymentIntent with `expand[]=payment_method`) before the transaction
//! opens, never inside it. A success reported for a `FAILED` payment attempt
//! is money received and is counted.

use crate::infra::signature;
pub mod simulated;

use crate::billing::lifecycle::{self, Actor, Audit};
use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::{DomainError, DomainResult};
use crate::kernel::keys::Key;
use crate::ports::events::EventKind;
use crate::ports::gateway::ChargeOutcome;
use crate::{billing::payments, billing::refunds};
use chrono::{DateTime, Utc};
use entity::enums::{InvoiceEventKind, PaymentMethod, PaymentStatus, RefundStatus, WebhookStatus};
use entity::{invoice, payment, refund, webhook_event};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::HashMap;

pub use signature::SignatureError;

pub const PROVIDER: &str = "stripe";

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error("no webhook signing secret is configured (gateway.stripe_webhook_secret)")]
    NotConfigured,
    #[error("the payload is not a Stripe event: {0}")]
    Malformed(String),
    #[error(transparent)]
    Internal(#[from] DomainError),
}

impl From<sea_orm::DbErr> for WebhookError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Internal(e.into())
    }
}

/// What became of a verified event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    Processed(String),
    Ignored(String),
    /// This event id was received before; nothing changed.
    Duplicate,
}

/// The signing secret the endpoint verifies with: the configured one, or
/// with the simulated gateway one derived from the application secret (the
/// simulated gateway signs with the same).
pub fn signing_secret(ctx: &AppContext) -> Option<SecretString> {
    if let Some(secret) = &ctx.settings.gateway.stripe_webhook_secret {
        return Some(secret.clone());
    }
    ctx.settings
        .test_mode()
        .then(|| SecretString::from(ctx.secret.derive("simulated-webhook-signing", "whsec_")))
}

#[derive(Debug, Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    created: i64,
    data: EventData,
}

#[derive(Debug, Deserialize)]
struct EventData {
    object: serde_json::Value,
}

#[derive(Debug, Deserialize)]
struct PaymentIntentObject {
    id: String,
    #[serde(default)]
    metadata: HashMap<String, String>,
    last_payment_error: Option<ErrorObject>,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorObject {
    code: Option<String>,
    decline_code: Option<String>,
    message: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct RefundObject {
    id: String,
    amount: i64,
    currency: String,
    payment_intent: Option<String>,
    status: Option<String>,
    #[serde(default)]
    metadata: HashMap<String, String>,
    failure_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ChargeObject {
    payment_intent: Option<String>,
    refunds: Option<RefundList>,
}

#[derive(Debug, Deserialize)]
struct RefundList {
    data: Vec<RefundObject>,
}

#[derive(Debug, Deserialize)]
struct DisputeObject {
    id: String,
    amount: i64,
    payment_intent: Option<String>,
    status: String,
    reason: Option<String>,
}

/// Verifies, stores once and applies one delivery of `POST /webhooks/stripe`.
pub async fn receive(
    ctx: &AppContext,
    signature_header: Option<&str>,
    body: &[u8],
) -> Result<Receipt, WebhookError> {
    let secret = signing_secret(ctx).ok_or(WebhookError::NotConfigured)?;
    signature::verify(
        secret.expose_secret(),
        signature_header,
        body,
        ctx.clock.now().timestamp(),
        ctx.settings.gateway.webhook_tolerance_secs,
    )?;
    let raw = std::str::from_utf8(body)
        .map_err(|_| WebhookError::Malformed("the body is not UTF-8".into()))?;
    let event: Event =
        serde_json::from_str(raw).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let object_id = event
        .data
        .object
        .get("id")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let created = DateTime::from_timestamp(event.created, 0)
        .ok_or_else(|| WebhookError::Malformed("`created` is not a timestamp".into()))?;
    // Asked before the transaction (no network call while holding it).
    let card = card_for(ctx, &event).await?;

    let tx = begin_write(&ctx.db).await.map_err(DomainError::from)?;
    let now = ctx.clock.now();
    let inserted = webhook_event::Entity::insert(webhook_event::ActiveModel {
        provider: Set(PROVIDER.into()),
        event_id: Set(event.id.clone()),
        event_type: Set(event.kind.clone()),
        payload: Set(raw.to_string()),
        status: Set(WebhookStatus::Ignored),
        detail: Set(None),
        object_id: Set(object_id.clone()),
        event_created_at: Set(Some(created)),
        received_at: Set(now),
        processed_at: Set(None),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([
            webhook_event::Column::Provider,
            webhook_event::Column::EventId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(&tx)
    .await?;
    if inserted == 0 {
        tracing::info!(event_id = %event.id, kind = %event.kind, "webhook redelivered; already stored");
        return Ok(Receipt::Duplicate);
    }
    let stale = match &object_id {
        Some(object) => {
            webhook_event::Entity::find()
                .filter(webhook_event::Column::Provider.eq(PROVIDER))
                .filter(webhook_event::Column::ObjectId.eq(object.clone()))
                .filter(webhook_event::Column::Status.eq(WebhookStatus::Processed))
                .filter(webhook_event::Column::EventCreatedAt.gt(created))
                .count(&tx)
                .await?
                > 0
        }
        None => false,
    };
    let mut effects = Effects::default();
    let outcome = if stale {
        Outcome::Ignored(format!(
            "stale: a newer event about {} was already applied",
            object_id.as_deref().unwrap_or("-")
        ))
    } else {
        apply(&tx, &event, card.as_ref(), &mut effects, ctx.clock.now()).await?
    };
    let (status, detail) = match &outcome {
        Outcome::Processed(d) => (WebhookStatus::Processed, d.clone()),
        Outcome::Ignored(d) => (WebhookStatus::Ignored, d.clone()),
    };
    webhook_event::Entity::update_many()
        .col_expr(webhook_event::Column::Status, Expr::value(status.as_str()))
        .col_expr(webhook_event::Column::Detail, Expr::value(detail.clone()))
        .col_expr(
            webhook_event::Column::ProcessedAt,
            Expr::value(ctx.clock.now()),
        )
        .filter(webhook_event::Column::Provider.eq(PROVIDER))
        .filter(webhook_event::Column::EventId.eq(event.id.clone()))
        .exec(&tx)
        .await?;
    crate::workflow::next::commit(ctx, tx).await?;
    effects.publish(ctx).await?;
    tracing::info!(event_id = %event.id, kind = %event.kind, status = status.as_str(), %detail, "webhook handled");
    Ok(match outcome {
        Outcome::Processed(d) => Receipt::Processed(d),
        Outcome::Ignored(d) => Receipt::Ignored(d),
    })
}

enum Outcome {
    Processed(String),
    Ignored(String),
}

/// Live events to publish once the transaction has committed.
#[derive(Default)]
struct Effects {
    events: Vec<(EventKind, i64, Option<i64>)>,
}

impl Effects {
    fn add(&mut self, kind: EventKind, invoice_id: i64, payment_id: Option<i64>) {
        self.events.push((kind, invoice_id, payment_id));
    }

    async fn publish(self, ctx: &AppContext) -> DomainResult<()> {
        for (kind, invoice_id, payment_id) in self.events {
            match kind {
                EventKind::PaymentSucceeded | EventKind::PaymentFailed => {
                    if let Some(id) = payment_id {
                        payments::publish_payment_event(ctx, id).await?;
                    }
                }
                _ => {
                    let invoice = invoice::Entity::find_by_id(invoice_id).one(&ctx.db).await?;
                    let payment = match payment_id {
                        Some(id) => payment::Entity::find_by_id(id).one(&ctx.db).await?,
                        None => None,
                    };
                    if let Some(invoice) = invoice {
                        ctx.events
                            .publish(crate::billing::events::for_invoice(
                                kind,
                                &invoice,
                                payment.as_ref(),
                                ctx.clock.now(),
                            ))
                            .await;
                    }
                }
            }
        }
        Ok(())
    }
}

fn parse<T: serde::de::DeserializeOwned>(event: &Event) -> Result<T, WebhookError> {
    serde_json::from_value(event.data.object.clone())
        .map_err(|e| WebhookError::Malformed(format!("{} object: {e}", event.kind)))
}

/// The card an event's effect needs and does not carry, asked of the
/// gateway: Stripe's events never expand the PaymentIntent or SetupIntent.
///
/// - `checkout.session.completed` (`mode=setup`): the SetupIntent's payment
///   method, while that setup has no card stored yet;
/// - `checkout.session.completed` (`mode=payment`) not settled yet: the
///   PaymentIntent's payment method, for the receipt and, when the client
///   asked to keep it, for auto-pay. Unreadable then, the event fails and
///   the gateway redelivers it; when the card is only for the receipt, the
///   payment settles without it;
/// - `setup_intent.succeeded`: its payment method (an id), while the setup
///   has no card stored yet.
async fn card_for(
    ctx: &AppContext,
    event: &Event,
) -> Result<Option<crate::ports::gateway::PaymentMethodDetails>, WebhookError> {
    use crate::billing::card_setup::{self, SetupRef};
    let object = &event.data.object;
    let unavailable = |e: crate::ports::gateway::GatewayError| WebhookError::Internal(e.into());
    match event.kind.as_str() {
        "checkout.session.completed" | "checkout.session.async_payment_succeeded"
            if crate::adapters::stripe::is_setup_session(object) =>
        {
            let session = crate::adapters::stripe::setup_session_from(object)
                .map_err(WebhookError::Malformed)?;
            if session.card.is_some()
                || session.state != crate::ports::gateway::CheckoutState::Complete
                || !card_setup::wants_card(ctx, SetupRef::Session(&session.id)).await?
            {
                return Ok(None);
            }
            let Some(intent) = &session.setup_intent else {
                return Ok(None);
            };
            ctx.gateway
                .setup_intent_card(intent)
                .await
                .map_err(unavailable)
        }
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
            let session = crate::adapters::stripe::checkout_session_from(object)
                .map_err(WebhookError::Malformed)?;
            let Some(intent) = session.payment_intent.as_deref().filter(|_| session.paid()) else {
                return Ok(None);
            };
            if session.card.is_some() {
                return Ok(None);
            }
            let Some(row) = entity::checkout_session::Entity::find()
                .filter(entity::checkout_session::Column::GatewaySessionId.eq(session.id.clone()))
                .one(&ctx.db)
                .await?
                .filter(|r| {
                    !matches!(
                        r.status,
                        entity::enums::CheckoutStatus::Complete
                            | entity::enums::CheckoutStatus::Mismatch
                    )
                })
            else {
                return Ok(None);
            };
            match ctx.gateway.payment_intent_card(intent).await {
                Ok(card) => Ok(card),
                Err(err) if row.save_card => Err(unavailable(err)),
                Err(err) => {
                    tracing::warn!(error = %err, session = %session.id, "card of a checkout payment not readable; settled without it");
                    Ok(None)
                }
            }
        }
        "setup_intent.succeeded" => {
            let intent: SetupIntentObject = parse(event)?;
            let Some(key) = intent.metadata.get("card_setup") else {
                return Ok(None);
            };
            let Some(pm) = intent.payment_method.as_ref().and_then(|v| v.as_str()) else {
                return Ok(None);
            };
            if !card_setup::wants_card(ctx, SetupRef::Attempt(key)).await? {
                return Ok(None);
            }
            ctx.gateway
                .payment_method(pm)
                .await
                .map(Some)
                .map_err(unavailable)
        }
        _ => Ok(None),
    }
}

#[derive(Debug, Deserialize)]
struct SetupIntentObject {
    id: String,
    payment_method: Option<serde_json::Value>,
    #[serde(default)]
    metadata: HashMap<String, String>,
}

/// A setup's card stored (or not) as the webhook reports it.
async fn apply_setup(
    tx: &DatabaseTransaction,
    by: crate::billing::card_setup::SetupRef<'_>,
    card: Option<&crate::ports::gateway::PaymentMethodDetails>,
    now: DateTime<Utc>,
) -> Result<Outcome, WebhookError> {
    use crate::billing::card_setup::Stored;
    let Some(card) = card else {
        return Ok(Outcome::Ignored(format!(
            "{by:?}: no card to store (already stored, or not a card)"
        )));
    };
    Ok(
        match crate::billing::card_setup::complete_in(tx, by, card, now).await? {
            Stored::Unknown => Outcome::Ignored(format!("no card setup for {by:?} here")),
            Stored::Now { client_id } => Outcome::Processed(format!(
                "card {} •••• {} stored for client {client_id}",
                card.brand, card.last4
            )),
            Stored::Already => Outcome::Processed(format!("{by:?}: card already stored")),
        },
    )
}

async fn apply(
    tx: &DatabaseTransaction,
    event: &Event,
    card: Option<&crate::ports::gateway::PaymentMethodDetails>,
    effects: &mut Effects,
    now: DateTime<Utc>,
) -> Result<Outcome, WebhookError> {
    let actor = Actor::webhook(PROVIDER);
    match event.kind.as_str() {
        "payment_intent.succeeded" | "payment_intent.payment_failed" => {
            let intent: PaymentIntentObject = parse(event)?;
            let Some(found) = find_payment(
                tx,
                intent.metadata.get("idempotency_key").map(String::as_str),
                &intent.id,
            )
            .await?
            else {
                return Ok(Outcome::Ignored(format!("no payment for {}", intent.id)));
            };
            let outcome = if event.kind == "payment_intent.succeeded" {
                ChargeOutcome::Succeeded {
                    reference: intent.id.clone(),
                }
            } else {
                let error = intent.last_payment_error.unwrap_or_default();
                ChargeOutcome::Declined {
                    code: error
                        .decline_code
                        .or(error.code)
                        .unwrap_or_else(|| "card_declined".into()),
                    message: error
                        .message
                        .unwrap_or_else(|| "Your card was declined.".into()),
                }
            };
            let moved = payments::settle_in(tx, &found, &outcome, &actor, None, now).await?;
            if !moved {
                return Ok(Outcome::Processed(format!(
                    "payment {} already {}",
                    found.id,
                    found.status.as_str()
                )));
            }
            let kind = match outcome {
                ChargeOutcome::Succeeded { .. } => EventKind::PaymentSucceeded,
                ChargeOutcome::Declined { .. } => EventKind::PaymentFailed,
            };
            effects.add(kind, found.invoice_id, Some(found.id));
            Ok(Outcome::Processed(format!(
                "payment {} settled from the webhook",
                found.id
            )))
        }
        "refund.created" | "refund.updated" | "refund.failed" => {
            let object: RefundObject = parse(event)?;
            apply_refund(tx, &object, &actor, effects, now).await
        }
        "charge.refunded" => {
            let charge: ChargeObject = parse(event)?;
            let Some(list) = charge.refunds else {
                return Ok(Outcome::Ignored(
                    "charge.refunded without its refunds list; the refund.* events carry them"
                        .into(),
                ));
            };
            let mut details = Vec::new();
            for mut object in list.data {
                if object.payment_intent.is_none() {
                    object.payment_intent = charge.payment_intent.clone();
                }
                match apply_refund(tx, &object, &actor, effects, now).await? {
                    Outcome::Processed(d) | Outcome::Ignored(d) => details.push(d),
                }
            }
            Ok(Outcome::Processed(details.join("; ")))
        }
        "checkout.session.completed"
        | "checkout.session.async_payment_succeeded"
        | "checkout.session.async_payment_failed"
        | "checkout.session.expired"
            if crate::adapters::stripe::is_setup_session(&event.data.object) =>
        {
            let session = crate::adapters::stripe::setup_session_from(&event.data.object)
                .map_err(WebhookError::Malformed)?;
            match session.state {
                crate::ports::gateway::CheckoutState::Complete => {
                    apply_setup(
                        tx,
                        crate::billing::card_setup::SetupRef::Session(&session.id),
                        session.card.as_ref().or(card),
                        now,
                    )
                    .await
                }
                crate::ports::gateway::CheckoutState::Expired => {
                    crate::billing::card_setup::expired_in(tx, &session.id, now).await?;
                    Ok(Outcome::Processed(format!(
                        "setup session {} expired",
                        session.id
                    )))
                }
                crate::ports::gateway::CheckoutState::Open => Ok(Outcome::Ignored(format!(
                    "setup session {} is open",
                    session.id
                ))),
            }
        }
        "setup_intent.succeeded" => {
            let intent: SetupIntentObject = parse(event)?;
            let Some(key) = intent.metadata.get("card_setup") else {
                return Ok(Outcome::Ignored(format!(
                    "SetupIntent {} is not from a card setup here",
                    intent.id
                )));
            };
            apply_setup(
                tx,
                crate::billing::card_setup::SetupRef::Attempt(key),
                card,
                now,
            )
            .await
        }
        "checkout.session.completed"
        | "checkout.session.async_payment_succeeded"
        | "checkout.session.async_payment_failed"
        | "checkout.session.expired" => {
            let mut session = crate::adapters::stripe::checkout_session_from(&event.data.object)
                .map_err(WebhookError::Malformed)?;
            if session.card.is_none() {
                session.card = card.cloned();
            }
            let failed = event.kind == "checkout.session.async_payment_failed";
            Ok(
                match crate::billing::checkout::settle_in(tx, &session, &actor, failed, now).await?
                {
                    crate::billing::checkout::Settled::Unknown => {
                        Outcome::Ignored(format!("no checkout session {} here", session.id))
                    }
                    crate::billing::checkout::Settled::Paid {
                        invoice_id,
                        payment_id,
                    } => {
                        effects.add(EventKind::PaymentSucceeded, invoice_id, Some(payment_id));
                        Outcome::Processed(format!(
                            "checkout session {} paid: payment {payment_id}",
                            session.id
                        ))
                    }
                    crate::billing::checkout::Settled::Failed { .. } => {
                        Outcome::Processed(format!(
                            "checkout session {}: the delayed payment failed",
                            session.id
                        ))
                    }
                    crate::billing::checkout::Settled::Noted(d)
                    | crate::billing::checkout::Settled::Mismatch(d) => Outcome::Processed(d),
                },
            )
        }
        "charge.dispute.created" | "charge.dispute.closed" => {
            let dispute: DisputeObject = parse(event)?;
            apply_dispute(tx, &event.kind, &dispute, &actor, effects, now).await
        }
        other => Ok(Outcome::Ignored(format!(
            "event type {other} is not handled"
        ))),
    }
}

async fn find_payment(
    tx: &DatabaseTransaction,
    key: Option<&str>,
    reference: &str,
) -> DomainResult<Option<payment::Model>> {
    if let Some(key) = key
        && let Some(found) = payment::Entity::find()
            .filter(payment::Column::IdempotencyKey.eq(key))
            .one(tx)
            .await?
    {
        return Ok(Some(found));
    }
    Ok(payment::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(payment::Column::GatewayReference.eq(reference))
                .add(payment::Column::GatewayIntentId.eq(reference)),
        )
        .one(tx)
        .await?)
}

async fn apply_refund(
    tx: &DatabaseTransaction,
    object: &RefundObject,
    actor: &Actor,
    effects: &mut Effects,
    now: DateTime<Utc>,
) -> Result<Outcome, WebhookError> {
    let status = object.status.as_deref().unwrap_or("pending");
    let mut existing = None;
    if let Some(key) = object.metadata.get("idempotency_key") {
        existing = refund::Entity::find()
            .filter(refund::Column::IdempotencyKey.eq(key.clone()))
            .one(tx)
            .await?;
    }
    if existing.is_none() {
        existing = refund::Entity::find()
            .filter(refund::Column::GatewayReference.eq(object.id.clone()))
            .one(tx)
            .await?;
    }
    let pending = match existing {
        Some(found) if found.status != RefundStatus::Pending => {
            return Ok(Outcome::Processed(format!(
                "refund {} already {}",
                found.id,
                found.status.as_str()
            )));
        }
        Some(found) => found,
        None => {
            // A refund made outside this system (the gateway's dashboard):
            // it is real money going back, so it is recorded.
            let Some(paid) = find_payment(tx, None, object.payment_intent.as_deref().unwrap_or(""))
                .await?
                .filter(|p| p.status == PaymentStatus::Succeeded)
            else {
                return Ok(Outcome::Ignored(format!(
                    "no successful payment for refund {}",
                    object.id
                )));
            };
            if matches!(status, "failed" | "canceled") {
                return Ok(Outcome::Ignored(format!(
                    "refund {} made outside this system {status}; nothing to record",
                    object.id
                )));
            }
            if !object.currency.eq_ignore_ascii_case(&paid.currency) {
                return Ok(Outcome::Ignored(format!(
                    "refund {} is in {}, the payment in {}",
                    object.id, object.currency, paid.currency
                )));
            }
            insert_pending_refund(
                tx,
                &paid,
                object.amount,
                format!("gateway_{}", object.id),
                Some(object.id.clone()),
                "refunded in the payment processor's dashboard",
                now,
            )
            .await?
        }
    };
    let settlement = match status {
        "succeeded" => refunds::Settlement::Succeeded(Some(object.id.clone())),
        "failed" | "canceled" => refunds::Settlement::Failed(
            object
                .failure_reason
                .clone()
                .unwrap_or_else(|| format!("the refund was {status}")),
        ),
        _ => {
            refund::Entity::update_many()
                .col_expr(
                    refund::Column::GatewayReference,
                    Expr::value(object.id.clone()),
                )
                .filter(refund::Column::Id.eq(pending.id))
                .exec(tx)
                .await?;
            return Ok(Outcome::Processed(format!(
                "refund {} is {status} at the gateway",
                pending.id
            )));
        }
    };
    let moved = refunds::settle(tx, &pending, &settlement, actor, None, now).await?;
    if moved {
        effects.add(
            EventKind::PaymentRefunded,
            pending.invoice_id,
            Some(pending.payment_id),
        );
    }
    Ok(Outcome::Processed(format!(
        "refund {} {}",
        pending.id,
        match settlement {
            refunds::Settlement::Succeeded(_) => "succeeded",
            refunds::Settlement::Chargeback(_) => "charged back",
            refunds::Settlement::Failed(_) => "failed",
        }
    )))
}

async fn insert_pending_refund(
    tx: &DatabaseTransaction,
    paid: &payment::Model,
    amount_minor: i64,
    key: String,
    reference: Option<String>,
    reason: &str,
    now: DateTime<Utc>,
) -> DomainResult<refund::Model> {
    Ok(refund::ActiveModel {
        studio_id: Set(paid.studio_id),
        invoice_id: Set(paid.invoice_id),
        payment_id: Set(paid.id),
        amount_minor: Set(amount_minor),
        currency: Set(paid.currency.clone()),
        status: Set(RefundStatus::Pending),
        idempotency_key: Set(key),
        gateway_reference: Set(reference),
        reason: Set(Some(reason.to_string())),
        failure_message: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(tx)
    .await?)
}

async fn apply_dispute(
    tx: &DatabaseTransaction,
    kind: &str,
    dispute: &DisputeObject,
    actor: &Actor,
    effects: &mut Effects,
    now: DateTime<Utc>,
) -> Result<Outcome, WebhookError> {
    let Some(paid) = find_payment(tx, None, dispute.payment_intent.as_deref().unwrap_or(""))
        .await?
        .filter(|p| p.status == PaymentStatus::Succeeded && p.method == PaymentMethod::Card)
    else {
        return Ok(Outcome::Ignored(format!(
            "no card payment for dispute {}",
            dispute.id
        )));
    };
    let invoice = invoice::Entity::find_by_id(paid.invoice_id)
        .one(tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("invoice {} missing", paid.invoice_id))
        .map_err(DomainError::from)?;
    let opened = kind == "charge.dispute.created";
    payment::Entity::update_many()
        .col_expr(
            payment::Column::DisputedAt,
            Expr::value(if opened { Some(now) } else { None }),
        )
        .col_expr(payment::Column::UpdatedAt, Expr::value(now))
        .filter(payment::Column::Id.eq(paid.id))
        .exec(tx)
        .await?;
    let detail = if opened {
        format!(
            "dispute {} on payment {} ({})",
            dispute.id,
            paid.id,
            dispute.reason.as_deref().unwrap_or("no reason given")
        )
    } else {
        format!(
            "dispute {} on payment {} closed: {}",
            dispute.id, paid.id, dispute.status
        )
    };
    lifecycle::record(
        tx,
        &invoice,
        Audit {
            event: if opened {
                InvoiceEventKind::DisputeOpened
            } else {
                InvoiceEventKind::DisputeClosed
            },
            from: Some(invoice.status),
            to: Some(invoice.status),
            amount_minor: Some(dispute.amount),
            actor,
            detail: Some(detail.clone()),
        },
        now,
    )
    .await?;
    if !opened && dispute.status == "lost" {
        // The card network took the money back: a refund in all but name.
        let key = Key::Chargeback {
            dispute_id: dispute.id.clone(),
        }
        .to_string();
        let already = refund::Entity::find()
            .filter(refund::Column::IdempotencyKey.eq(key.clone()))
            .one(tx)
            .await?;
        let left = paid.amount_minor - paid.amount_refunded_minor;
        if already.is_none() && left > 0 {
            let chargeback = insert_pending_refund(
                tx,
                &paid,
                dispute.amount.min(left),
                key,
                Some(dispute.id.clone()),
                "chargeback: dispute lost",
                now,
            )
            .await?;
            refunds::settle(
                tx,
                &chargeback,
                &refunds::Settlement::Chargeback(dispute.id.clone()),
                actor,
                None,
                now,
            )
            .await?;
        }
    }
    crate::workflow::next::after(
        tx,
        crate::workflow::next::Change::Disputed {
            studio_id: paid.studio_id,
            invoice_id: paid.invoice_id,
            dispute_id: dispute.id.clone(),
            open: opened,
        },
        None,
        now,
    )
    .await?;
    effects.add(
        if opened {
            EventKind::PaymentDisputed
        } else {
            EventKind::DisputeClosed
        },
        paid.invoice_id,
        Some(paid.id),
    );
    Ok(Outcome::Processed(detail))
}
