//! PaymentIntents read and captured: a held intent (a surcharged Checkout
//! Session's, `capture_method=manual`) is captured for what the card's
//! funding type allows, `amount_to_capture`, the rest released.
//!
//! Stripe captures an intent at most once and refuses a second capture
//! (`payment_intent_unexpected_state`), so a capture is never repeated by
//! replaying its key: any answer but a capture is settled by retrieving the
//! intent (succeeded: what it received; canceled: lost; still held: try
//! again later, under a new key).

use super::failures::{Failure, classify};
use super::wire::PaymentIntentObject;
use super::{StripeGateway, is_stripe_id};
use crate::ports::gateway::{CaptureRequest, Captured, GatewayError};
use reqwest::Method;

impl StripeGateway {
    pub(super) async fn capture(&self, request: &CaptureRequest) -> Result<Captured, GatewayError> {
        let id = request.intent.as_str();
        if !is_stripe_id(id) {
            return Err(GatewayError::Unavailable(format!(
                "malformed PaymentIntent id {id}"
            )));
        }
        let form = [("amount_to_capture", request.amount.minor.to_string())];
        let answer = self
            .send(
                Method::POST,
                &["v1", "payment_intents", id, "capture"],
                Some(&form),
                Some(&request.idempotency_key),
            )
            .await;
        match answer {
            Ok(response) if response.status.is_success() => {
                let intent: PaymentIntentObject = response.json()?;
                tracing::info!(
                    payment_intent = id,
                    amount = intent.amount_received,
                    "stripe capture succeeded"
                );
                Ok(Captured::Taken {
                    amount: intent.amount_received,
                })
            }
            Ok(response) => {
                let why = match classify(&response) {
                    Failure::Card { message, .. }
                    | Failure::Missing { message, .. }
                    | Failure::Other(message) => message,
                    Failure::Idempotency => "idempotency key reused".to_string(),
                };
                tracing::warn!(payment_intent = id, %why, "stripe capture refused; looking at the intent");
                self.captured_so_far(id).await
            }
            Err(err) => {
                tracing::warn!(payment_intent = id, error = %err, "stripe capture unanswered; looking at the intent");
                self.captured_so_far(id).await
            }
        }
    }

    /// What a held intent came to, by looking at it.
    async fn captured_so_far(&self, id: &str) -> Result<Captured, GatewayError> {
        let intent = self.fetch_payment_intent(id).await?;
        match intent.status.as_str() {
            "succeeded" => Ok(Captured::Taken {
                amount: intent.amount_received,
            }),
            "canceled" => Ok(Captured::Lost {
                reason: "the authorization was canceled or lapsed before its capture".into(),
            }),
            other => Err(GatewayError::Unavailable(format!(
                "PaymentIntent {id} is {other}, not captured yet"
            ))),
        }
    }

    pub(super) async fn fetch_payment_intent(
        &self,
        id: &str,
    ) -> Result<PaymentIntentObject, GatewayError> {
        if !is_stripe_id(id) {
            return Err(GatewayError::Unavailable(
                "Stripe returned a malformed PaymentIntent id".into(),
            ));
        }
        let response = self
            .send(Method::GET, &["v1", "payment_intents", id], None, None)
            .await?;
        if !response.status.is_success() {
            return Err(GatewayError::Unavailable(match classify(&response) {
                Failure::Other(message) => message,
                _ => format!(
                    "cannot read PaymentIntent {id} (HTTP {})",
                    response.status.as_u16()
                ),
            }));
        }
        response.json()
    }
}
