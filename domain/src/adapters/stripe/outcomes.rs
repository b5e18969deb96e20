//! What Stripe's statuses mean for our payments and refunds.

use super::wire::PaymentIntentObject;
use crate::ports::gateway::{ChargeOutcome, GatewayError, IntentState, RefundOutcome};

/// A refund's outcome from its Stripe status.
pub(super) fn refund_outcome(id: String, status: &str) -> RefundOutcome {
    match status {
        "succeeded" => RefundOutcome::Succeeded { reference: id },
        "failed" | "canceled" => RefundOutcome::Failed {
            reason: format!("Stripe refund {id} is {status}"),
        },
        _ => RefundOutcome::Pending { reference: id },
    }
}

/// What a PaymentIntent's status means for the payment.
pub(super) fn state_of(intent: PaymentIntentObject) -> Result<IntentState, GatewayError> {
    match intent.status.as_str() {
        "requires_confirmation" => Ok(IntentState::RequiresConfirmation),
        "processing" => Ok(IntentState::Processing),
        _ => outcome_of(intent).map(IntentState::Settled),
    }
}

/// The charge outcome a PaymentIntent's status stands for.
fn outcome_of(intent: PaymentIntentObject) -> Result<ChargeOutcome, GatewayError> {
    match intent.status.as_str() {
        "succeeded" => Ok(ChargeOutcome::Succeeded {
            reference: intent.id,
        }),
        "requires_action" => Ok(ChargeOutcome::Declined {
            code: "authentication_required".into(),
            message: "The card requires authentication, which an off-session payment cannot do."
                .into(),
        }),
        "requires_payment_method" | "canceled" => {
            let error = intent.last_payment_error.unwrap_or_default();
            let fallback = if intent.status == "canceled" {
                "canceled"
            } else {
                "card_declined"
            };
            Ok(ChargeOutcome::Declined {
                code: error
                    .decline_code
                    .or(error.code)
                    .unwrap_or_else(|| fallback.into()),
                message: error
                    .message
                    .unwrap_or_else(|| "Your card was declined.".into()),
            })
        }
        "processing" => Err(GatewayError::Unavailable(format!(
            "PaymentIntent {} is still processing",
            intent.id
        ))),
        other => Err(GatewayError::Unavailable(format!(
            "PaymentIntent {} is in unexpected status `{other}`",
            intent.id
        ))),
    }
}
