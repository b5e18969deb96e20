//! The payment gateway's events, applied: what `POST /webhooks/stripe`
//! delivers once `app::webhooks` has verified it and the gateway adapter has
//! read it into a typed `GatewayEvent` (`ports::gateway_events`).
//!
//! 1. **Verify**: the `Stripe-Signature` HMAC over `timestamp.body`, within
//!    the tolerance (`infra::signature`, by `app::webhooks`). Nothing is read
//!    before this.
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
//! | `checkout.session.completed` / `async_payment_succeeded` / `async_payment_failed` / `expired` | `checkout::settle_in`: one payment per session, receipt, gallery; a held (surcharged) session is captured first (`checkout/held.rs`); a mismatched amount is recorded, not settled; the card is retrieved (`payment_intent_card`) when the event does not carry it |
//! | `checkout.session.completed` / `expired` with `mode=setup`, `setup_intent.succeeded` | `card_setup::complete_in`: the SetupIntent's card becomes the client's card, once |
//! | `charge.dispute.created` | payment marked disputed, gallery locked, audit line |
//! | `charge.dispute.closed` | won: dispute cleared, access restored; lost: the amount is recorded as refunded (chargeback) |
//!
//! Anything else is stored as `IGNORED` with the reason.
//!
//! A card the event does not carry (the SetupIntent or PaymentIntent with
//! `expand[]=payment_method`) and a held capture are asked of the gateway
//! before the transaction opens. A success reported for a `FAILED` payment
//! attempt is money received and is counted.

use crate::billing::lifecycle::{self, Actor, Audit};
use crate::billing::{card_setup, checkout, payments, refunds};
use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::{DomainError, DomainResult};
use crate::infra::signature::SignatureError;
use crate::ports::events::EventKind;
use crate::ports::gateway::{
    ChargeOutcome, CheckoutState, GatewayError, PaymentMethodDetails, SetupSession,
};
use crate::ports::gateway_events::{
    Delivery, GatewayDispute, GatewayEvent, GatewayRefund, RefundState,
};
use chrono::{DateTime, Utc};
use entity::enums::{InvoiceEventKind, PaymentMethod, PaymentStatus, RefundStatus, WebhookStatus};
use entity::{invoice, payment, refund, webhook_event};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
};

/// The provider whose events these are (`webhook_events.provider`).
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

/// Stores one verified delivery once (`raw` is its body, kept as received)
/// and applies it, in one transaction; publishes its live events after the
/// commit.
pub async fn apply_delivery(
    ctx: &AppContext,
    raw: &str,
    mut delivery: Delivery,
) -> Result<Receipt, WebhookError> {
    // Captured and asked before the transaction (no network call in it).
    checkout::capture_in_event(ctx, &mut delivery.event).await?;
    let card = card_for(ctx, &delivery.event).await?;
    let tx = begin_write(&ctx.db).await.map_err(DomainError::from)?;
    let now = ctx.clock.now();
    if !store_once(&tx, raw, &delivery, now).await? {
        tracing::info!(event_id = %delivery.id, kind = %delivery.kind, "webhook redelivered; already stored");
        return Ok(Receipt::Duplicate);
    }
    let mut effects = Effects::default();
    let outcome = if is_stale(&tx, &delivery).await? {
        Outcome::Ignored(format!(
            "stale: a newer event about {} was already applied",
            delivery.object_id.as_deref().unwrap_or("-")
        ))
    } else {
        apply(&tx, delivery.event, card.as_ref(), &mut effects, now).await?
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
        .filter(webhook_event::Column::EventId.eq(delivery.id.clone()))
        .exec(&tx)
        .await?;
    crate::workflow::next::commit(ctx, tx).await?;
    effects.publish(ctx).await?;
    tracing::info!(event_id = %delivery.id, kind = %delivery.kind, status = status.as_str(), %detail, "webhook handled");
    Ok(match outcome {
        Outcome::Processed(d) => Receipt::Processed(d),
        Outcome::Ignored(d) => Receipt::Ignored(d),
    })
}

/// Inserts the event's row (unique per provider and event id), or `false`.
async fn store_once(
    tx: &DatabaseTransaction,
    raw: &str,
    delivery: &Delivery,
    now: DateTime<Utc>,
) -> Result<bool, WebhookError> {
    let inserted = webhook_event::Entity::insert(webhook_event::ActiveModel {
        provider: Set(PROVIDER.into()),
        event_id: Set(delivery.id.clone()),
        event_type: Set(delivery.kind.clone()),
        payload: Set(raw.to_string()),
        status: Set(WebhookStatus::Ignored),
        detail: Set(None),
        object_id: Set(delivery.object_id.clone()),
        event_created_at: Set(Some(delivery.created)),
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
    .exec_without_returning(tx)
    .await?;
    Ok(inserted > 0)
}

/// Whether a newer event about the same gateway object was applied already.
async fn is_stale(tx: &DatabaseTransaction, delivery: &Delivery) -> Result<bool, WebhookError> {
    let Some(object) = &delivery.object_id else {
        return Ok(false);
    };
    Ok(webhook_event::Entity::find()
        .filter(webhook_event::Column::Provider.eq(PROVIDER))
        .filter(webhook_event::Column::ObjectId.eq(object.clone()))
        .filter(webhook_event::Column::Status.eq(WebhookStatus::Processed))
        .filter(webhook_event::Column::EventCreatedAt.gt(delivery.created))
        .count(tx)
        .await?
        > 0)
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
                        crate::billing::events::publish_payment_event(ctx, id).await?;
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

/// The card an event's effect needs and does not carry, asked of the
/// gateway: Stripe's events never expand the PaymentIntent or SetupIntent.
///
/// - a completed setup page: the SetupIntent's payment method, while that
///   setup has no card stored yet;
/// - a paid checkout page not settled yet: the PaymentIntent's payment
///   method, for the receipt and, when the client asked to keep it, for
///   auto-pay. Unreadable then, the event fails and the gateway redelivers
///   it; when the card is only for the receipt, the payment settles without
///   it;
/// - a succeeded SetupIntent: its payment method (an id), while the setup
///   has no card stored yet.
async fn card_for(
    ctx: &AppContext,
    event: &GatewayEvent,
) -> Result<Option<PaymentMethodDetails>, WebhookError> {
    use card_setup::SetupRef;
    let unavailable = |e: GatewayError| WebhookError::Internal(e.into());
    match event {
        GatewayEvent::SetupCheckout(session) => {
            if session.card.is_some()
                || session.state != CheckoutState::Complete
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
        GatewayEvent::Checkout {
            session,
            failed: false,
        } => {
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
        GatewayEvent::SetupSucceeded {
            setup_key: Some(key),
            payment_method: Some(pm),
            ..
        } => {
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

/// A setup's card stored (or not) as the webhook reports it.
async fn apply_setup(
    tx: &DatabaseTransaction,
    by: card_setup::SetupRef<'_>,
    card: Option<&PaymentMethodDetails>,
    now: DateTime<Utc>,
) -> Result<Outcome, WebhookError> {
    use card_setup::Stored;
    let Some(card) = card else {
        return Ok(Outcome::Ignored(format!(
            "{by:?}: no card to store (already stored, or not a card)"
        )));
    };
    Ok(match card_setup::complete_in(tx, by, card, now).await? {
        Stored::Unknown => Outcome::Ignored(format!("no card setup for {by:?} here")),
        Stored::Now { client_id } => Outcome::Processed(format!(
            "card {} •••• {} stored for client {client_id}",
            card.brand, card.last4
        )),
        Stored::Already => Outcome::Processed(format!("{by:?}: card already stored")),
    })
}

/// Applies one event through the same writers as the synchronous paths.
async fn apply(
    tx: &DatabaseTransaction,
    event: GatewayEvent,
    card: Option<&PaymentMethodDetails>,
    effects: &mut Effects,
    now: DateTime<Utc>,
) -> Result<Outcome, WebhookError> {
    let actor = Actor::webhook(PROVIDER);
    match event {
        GatewayEvent::Charge {
            intent_id,
            payment_key,
            outcome,
        } => {
            apply_charge(
                tx,
                &intent_id,
                payment_key.as_deref(),
                outcome,
                &actor,
                effects,
                now,
            )
            .await
        }
        GatewayEvent::Refund(object) => apply_refund(tx, &object, &actor, effects, now).await,
        GatewayEvent::ChargeRefunded(list) => {
            let mut details = Vec::new();
            for object in &list {
                match apply_refund(tx, object, &actor, effects, now).await? {
                    Outcome::Processed(d) | Outcome::Ignored(d) => details.push(d),
                }
            }
            Ok(Outcome::Processed(details.join("; ")))
        }
        GatewayEvent::SetupCheckout(session) => apply_setup_checkout(tx, &session, card, now).await,
        GatewayEvent::SetupSucceeded {
            intent_id,
            setup_key,
            ..
        } => {
            let Some(key) = setup_key else {
                return Ok(Outcome::Ignored(format!(
                    "SetupIntent {intent_id} is not from a card setup here"
                )));
            };
            apply_setup(tx, card_setup::SetupRef::Attempt(&key), card, now).await
        }
        GatewayEvent::Checkout {
            mut session,
            failed,
        } => {
            if session.card.is_none() {
                session.card = card.cloned();
            }
            Ok(
                match checkout::settle_in(tx, &session, &actor, failed, now).await? {
                    checkout::Settled::Unknown => {
                        Outcome::Ignored(format!("no checkout session {} here", session.id))
                    }
                    checkout::Settled::Paid {
                        invoice_id,
                        payment_id,
                    } => {
                        effects.add(EventKind::PaymentSucceeded, invoice_id, Some(payment_id));
                        Outcome::Processed(format!(
                            "checkout session {} paid: payment {payment_id}",
                            session.id
                        ))
                    }
                    checkout::Settled::Failed { .. } => Outcome::Processed(format!(
                        "checkout session {}: the delayed payment failed",
                        session.id
                    )),
                    checkout::Settled::Noted(d) | checkout::Settled::Mismatch(d) => {
                        Outcome::Processed(d)
                    }
                },
            )
        }
        GatewayEvent::Dispute { dispute, open } => {
            apply_dispute(tx, open, &dispute, &actor, effects, now).await
        }
        GatewayEvent::Ignored(why) => Ok(Outcome::Ignored(why)),
    }
}

/// A PaymentIntent's outcome, settled on the payment it belongs to.
async fn apply_charge(
    tx: &DatabaseTransaction,
    intent_id: &str,
    payment_key: Option<&str>,
    outcome: ChargeOutcome,
    actor: &Actor,
    effects: &mut Effects,
    now: DateTime<Utc>,
) -> Result<Outcome, WebhookError> {
    let Some(found) = find_payment(tx, payment_key, intent_id).await? else {
        return Ok(Outcome::Ignored(format!("no payment for {intent_id}")));
    };
    let moved = payments::settle_in(tx, &found, &outcome, actor, None, now).await?;
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

/// A card-setup page completed (its card stored) or expired.
async fn apply_setup_checkout(
    tx: &DatabaseTransaction,
    session: &SetupSession,
    card: Option<&PaymentMethodDetails>,
    now: DateTime<Utc>,
) -> Result<Outcome, WebhookError> {
    match session.state {
        CheckoutState::Complete => {
            apply_setup(
                tx,
                card_setup::SetupRef::Session(&session.id),
                session.card.as_ref().or(card),
                now,
            )
            .await
        }
        CheckoutState::Expired => {
            card_setup::expired_in(tx, &session.id, now).await?;
            Ok(Outcome::Processed(format!(
                "setup session {} expired",
                session.id
            )))
        }
        CheckoutState::Open => Ok(Outcome::Ignored(format!(
            "setup session {} is open",
            session.id
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
    object: &GatewayRefund,
    actor: &Actor,
    effects: &mut Effects,
    now: DateTime<Utc>,
) -> Result<Outcome, WebhookError> {
    let mut existing = None;
    if let Some(key) = &object.refund_key {
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
            if let RefundState::Failed { status, .. } = &object.state {
                return Ok(Outcome::Ignored(format!(
                    "refund {} made outside this system {status}; nothing to record",
                    object.id
                )));
            }
            if !object.currency.eq_ignore_ascii_case(paid.currency.code()) {
                return Ok(Outcome::Ignored(format!(
                    "refund {} is in {}, the payment in {}",
                    object.id, object.currency, paid.currency
                )));
            }
            refunds::record_outside(
                tx,
                &paid,
                object.amount_minor,
                format!("gateway_{}", object.id),
                Some(object.id.clone()),
                "refunded in the payment processor's dashboard",
                now,
            )
            .await?
        }
    };
    let settlement = match &object.state {
        RefundState::Succeeded => refunds::Settlement::Succeeded(Some(object.id.clone())),
        RefundState::Failed { status, reason } => refunds::Settlement::Failed(
            reason
                .clone()
                .unwrap_or_else(|| format!("the refund was {status}")),
        ),
        RefundState::InProgress(status) => {
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

async fn apply_dispute(
    tx: &DatabaseTransaction,
    opened: bool,
    dispute: &GatewayDispute,
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
    let answer = crate::billing::disputes::record(tx, &paid, dispute, opened, now).await?;
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
            amount_minor: Some(dispute.amount_minor),
            actor,
            detail: Some(detail.clone()),
        },
        now,
    )
    .await?;
    if !opened && dispute.status == "lost" {
        let lost = refunds::Chargeback {
            dispute_id: &dispute.id,
            gross: dispute.amount_minor,
        };
        refunds::record_chargeback(tx, &paid, lost, actor, now).await?;
    }
    crate::workflow::next::after(
        tx,
        crate::workflow::next::Change::Disputed {
            studio_id: paid.studio_id,
            invoice_id: paid.invoice_id,
            dispute_id: dispute.id.clone(),
            open: opened,
            answer,
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
