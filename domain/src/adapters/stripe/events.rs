//! Stripe's events, read into the port's typed `GatewayEvent` (the simulated
//! gateway sends the same shapes). The one place that knows which event
//! type carries which object.

use super::wire::{
    ChargeObject, DisputeObject, Event, PaymentIntentObject, RefundObject, SetupIntentObject,
};
use super::{checkout_session_from, is_setup_session, setup_session_from};
use crate::kernel::money::Minor;
use crate::ports::gateway::ChargeOutcome;
use crate::ports::gateway_events::{
    Delivery, GatewayDispute, GatewayEvent, GatewayRefund, RefundState,
};
use chrono::DateTime;
use serde::de::DeserializeOwned;

/// Reads one event body; an error says what is malformed.
pub fn parse_event(raw: &str) -> Result<Delivery, String> {
    let event: Event = serde_json::from_str(raw).map_err(|e| e.to_string())?;
    let object_id = event
        .data
        .object
        .get("id")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let created = DateTime::from_timestamp(event.created, 0)
        .ok_or_else(|| "`created` is not a timestamp".to_string())?;
    let typed = typed(&event)?;
    Ok(Delivery {
        id: event.id,
        kind: event.kind,
        created,
        object_id,
        event: typed,
    })
}

fn object<T: DeserializeOwned>(event: &Event) -> Result<T, String> {
    serde_json::from_value(event.data.object.clone())
        .map_err(|e| format!("{} object: {e}", event.kind))
}

fn typed(event: &Event) -> Result<GatewayEvent, String> {
    Ok(match event.kind.as_str() {
        "payment_intent.succeeded" | "payment_intent.payment_failed" => {
            let intent: PaymentIntentObject = object(event)?;
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
            GatewayEvent::Charge {
                payment_key: intent.metadata.get("idempotency_key").cloned(),
                intent_id: intent.id,
                outcome,
            }
        }
        "refund.created" | "refund.updated" | "refund.failed" => {
            GatewayEvent::Refund(refund(object(event)?, None))
        }
        "charge.refunded" => {
            let charge: ChargeObject = object(event)?;
            match charge.refunds {
                Some(list) => GatewayEvent::ChargeRefunded(
                    list.data
                        .into_iter()
                        .map(|r| refund(r, charge.payment_intent.clone()))
                        .collect(),
                ),
                None => GatewayEvent::Ignored(
                    "charge.refunded without its refunds list; the refund.* events carry them"
                        .into(),
                ),
            }
        }
        "checkout.session.completed"
        | "checkout.session.async_payment_succeeded"
        | "checkout.session.async_payment_failed"
        | "checkout.session.expired" => {
            if is_setup_session(&event.data.object) {
                GatewayEvent::SetupCheckout(setup_session_from(&event.data.object)?)
            } else {
                GatewayEvent::Checkout {
                    session: checkout_session_from(&event.data.object)?,
                    failed: event.kind == "checkout.session.async_payment_failed",
                }
            }
        }
        "setup_intent.succeeded" => {
            let intent: SetupIntentObject = object(event)?;
            GatewayEvent::SetupSucceeded {
                setup_key: intent.metadata.get("card_setup").cloned(),
                payment_method: intent
                    .payment_method
                    .as_ref()
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
                intent_id: intent.id,
            }
        }
        "charge.dispute.created" | "charge.dispute.closed" => {
            let dispute: DisputeObject = object(event)?;
            GatewayEvent::Dispute {
                open: event.kind == "charge.dispute.created",
                dispute: GatewayDispute {
                    id: dispute.id,
                    amount_minor: Minor::new(dispute.amount),
                    payment_intent: dispute.payment_intent,
                    status: dispute.status,
                    reason: dispute.reason,
                    due_by: dispute
                        .evidence_details
                        .and_then(|e| e.due_by)
                        .and_then(|t| chrono::DateTime::from_timestamp(t, 0)),
                },
            }
        }
        other => GatewayEvent::Ignored(format!("event type {other} is not handled")),
    })
}

/// A refund object; a refund listed in a charge takes the charge's
/// PaymentIntent when it does not name one.
fn refund(object: RefundObject, charge_intent: Option<String>) -> GatewayRefund {
    let status = object.status.unwrap_or_else(|| "pending".into());
    let state = match status.as_str() {
        "succeeded" => RefundState::Succeeded,
        "failed" | "canceled" => RefundState::Failed {
            reason: object.failure_reason,
            status,
        },
        _ => RefundState::InProgress(status),
    };
    GatewayRefund {
        id: object.id,
        amount_minor: Minor::new(object.amount),
        currency: object.currency,
        payment_intent: object.payment_intent.or(charge_intent),
        state,
        refund_key: object.metadata.get("idempotency_key").cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(kind: &str, object: serde_json::Value) -> String {
        json!({ "id": "evt_1", "type": kind, "created": 1_767_225_600, "data": { "object": object } })
            .to_string()
    }

    #[test]
    fn a_declined_payment_intent_reads_as_a_typed_decline_with_its_key() {
        let raw = event(
            "payment_intent.payment_failed",
            json!({ "id": "pi_1", "metadata": { "idempotency_key": "inv_7_autopay_1" },
                    "last_payment_error": { "code": "card_declined", "decline_code": "insufficient_funds" } }),
        );
        let delivery = parse_event(&raw).expect("an event");
        assert_eq!(delivery.object_id.as_deref(), Some("pi_1"));
        assert_eq!(delivery.created.timestamp(), 1_767_225_600);
        match delivery.event {
            GatewayEvent::Charge {
                intent_id,
                payment_key,
                outcome: ChargeOutcome::Declined { code, message },
            } => {
                assert_eq!(intent_id, "pi_1");
                assert_eq!(payment_key.as_deref(), Some("inv_7_autopay_1"));
                assert_eq!(code, "insufficient_funds");
                assert_eq!(message, "Your card was declined.");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refunds_read_with_their_state_and_the_charges_intent() {
        let raw = event(
            "charge.refunded",
            json!({ "id": "ch_1", "payment_intent": "pi_9", "refunds": { "data": [
                { "id": "re_1", "amount": 500, "currency": "usd" },
                { "id": "re_2", "amount": 700, "currency": "usd", "status": "canceled",
                  "payment_intent": "pi_8", "metadata": { "idempotency_key": "refund_1_r" } },
            ] } }),
        );
        let GatewayEvent::ChargeRefunded(list) = parse_event(&raw).expect("an event").event else {
            panic!("not a charge refund");
        };
        assert_eq!(list[0].state, RefundState::InProgress("pending".into()));
        assert_eq!(list[0].payment_intent.as_deref(), Some("pi_9"));
        assert_eq!(
            list[1].state,
            RefundState::Failed {
                status: "canceled".into(),
                reason: None
            }
        );
        assert_eq!(list[1].payment_intent.as_deref(), Some("pi_8"));
        assert_eq!(list[1].refund_key.as_deref(), Some("refund_1_r"));
        let bare = event("charge.refunded", json!({ "id": "ch_1" }));
        assert!(matches!(
            parse_event(&bare).expect("an event").event,
            GatewayEvent::Ignored(_)
        ));
    }

    #[test]
    fn checkout_events_are_told_apart_by_mode_and_unknown_types_are_ignored() {
        let setup = event(
            "checkout.session.completed",
            json!({ "id": "cs_1", "mode": "setup", "status": "complete" }),
        );
        assert!(matches!(
            parse_event(&setup).expect("an event").event,
            GatewayEvent::SetupCheckout(_)
        ));
        let paid = event(
            "checkout.session.async_payment_failed",
            json!({ "id": "cs_2", "mode": "payment", "status": "complete",
                    "amount_total": 100, "currency": "usd" }),
        );
        assert!(matches!(
            parse_event(&paid).expect("an event").event,
            GatewayEvent::Checkout { failed: true, .. }
        ));
        let other = event("customer.created", json!({ "id": "cus_1" }));
        assert!(matches!(
            parse_event(&other).expect("an event").event,
            GatewayEvent::Ignored(why) if why.contains("customer.created")
        ));
    }

    #[test]
    fn malformed_events_say_what_is_wrong() {
        assert!(parse_event("{}").is_err());
        let no_amount = event("charge.dispute.created", json!({ "id": "dp_1" }));
        let err = parse_event(&no_amount).expect_err("a dispute needs its amount");
        assert!(err.contains("charge.dispute.created object"), "{err}");
    }
}
