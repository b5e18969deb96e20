//! The simulated gateway's test cards (Stripe's test numbers and tokens,
//! each with the decline it stands for) and what a card check says of them.

use crate::kernel::surcharge::Funding;
use crate::ports::gateway::{
    CardCheck, ChargeOutcome, GatewayError, IntentState, PaymentMethodDetails,
};

pub(super) struct TestCard {
    pub(super) token: &'static str,
    number: &'static str,
    pub(super) brand: &'static str,
    pub(super) decline: Option<(&'static str, &'static str)>,
    funding: Funding,
}

/// Stripe's test card whose charge succeeds and is then disputed as
/// fraudulent (`charge.dispute.created`).
pub const DISPUTED_CARD: &str = "pm_card_createDispute";

pub(super) const TEST_CARDS: &[TestCard] = &[
    TestCard {
        token: "pm_card_visa",
        number: "4242424242424242",
        brand: "visa",
        decline: None,
        funding: Funding::Credit,
    },
    TestCard {
        token: "pm_card_mastercard",
        number: "5555555555554444",
        brand: "mastercard",
        decline: None,
        funding: Funding::Credit,
    },
    TestCard {
        token: "pm_card_visa_debit",
        number: "4000056655665556",
        brand: "visa",
        decline: None,
        funding: Funding::Debit,
    },
    TestCard {
        token: "pm_card_mastercard_prepaid",
        number: "5105105105105100",
        brand: "mastercard",
        decline: None,
        funding: Funding::Prepaid,
    },
    TestCard {
        token: DISPUTED_CARD,
        number: "4000000000000259",
        brand: "visa",
        decline: None,
        funding: Funding::Credit,
    },
    TestCard {
        token: "pm_card_chargeDeclined",
        number: "4000000000000002",
        brand: "visa",
        decline: Some(("generic_decline", "Your card was declined.")),
        funding: Funding::Credit,
    },
    TestCard {
        token: "pm_card_chargeDeclinedInsufficientFunds",
        number: "4000000000009995",
        brand: "visa",
        decline: Some(("insufficient_funds", "Your card has insufficient funds.")),
        funding: Funding::Credit,
    },
    TestCard {
        token: "pm_card_chargeDeclinedStolenCard",
        number: "4000000000009979",
        brand: "visa",
        decline: Some(("stolen_card", "Your card was declined.")),
        funding: Funding::Credit,
    },
    TestCard {
        token: "pm_card_chargeDeclinedLostCard",
        number: "4000000000009987",
        brand: "visa",
        decline: Some(("lost_card", "Your card was declined.")),
        funding: Funding::Credit,
    },
    TestCard {
        token: "pm_card_chargeDeclinedExpiredCard",
        number: "4000000000000069",
        brand: "visa",
        decline: Some(("expired_card", "Your card has expired.")),
        funding: Funding::Credit,
    },
    TestCard {
        token: "pm_card_chargeDeclinedProcessingError",
        number: "4000000000000119",
        brand: "visa",
        decline: Some((
            "processing_error",
            "An error occurred while processing your card. Try again in a little bit.",
        )),
        funding: Funding::Credit,
    },
];

pub(super) fn test_card(token: &str) -> Option<&'static TestCard> {
    let token = if token == "tok_visa" {
        "pm_card_visa"
    } else {
        token
    };
    TEST_CARDS.iter().find(|c| c.token == token)
}

/// Brand and decline (code, message) of a simulated test card token.
pub(crate) fn simulated_card(
    token: &str,
) -> Option<(&'static str, Option<(&'static str, &'static str)>)> {
    test_card(token).map(|c| (c.brand, c.decline))
}

/// What may be displayed of a simulated test card.
pub(crate) fn simulated_card_details(token: &str) -> Option<PaymentMethodDetails> {
    let card = test_card(token)?;
    Some(PaymentMethodDetails {
        token: card.token.to_string(),
        brand: card.brand.to_string(),
        last4: card
            .number
            .get(card.number.len().saturating_sub(4)..)?
            .to_string(),
        exp_month: 12,
        exp_year: 2034,
        funding: card.funding,
    })
}

/// The card numbers the simulated hosted checkout page accepts, for its help text.
pub fn test_card_numbers() -> Vec<(&'static str, &'static str)> {
    TEST_CARDS
        .iter()
        .map(|c| {
            let outcome = match (c.decline, c.funding) {
                (None, _) if c.token == DISPUTED_CARD => "success, then disputed",
                (Some(d), _) => d.0,
                (None, Funding::Debit) => "success (debit card)",
                (None, Funding::Prepaid) => "success (prepaid card)",
                (None, _) => "success",
            };
            (c.number, outcome)
        })
        .collect()
}

/// The test card a number typed on the simulated hosted page stands for.
/// Only the simulated gateway's own page takes card numbers; with Stripe
/// they are typed on Stripe's page and never reach this server.
pub fn tokenize_test_card(number: &str) -> Result<String, GatewayError> {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    TEST_CARDS
        .iter()
        .find(|c| c.number == digits)
        .map(|c| c.token.to_string())
        .ok_or_else(|| GatewayError::InvalidPaymentMethod("card number".into()))
}

/// A zero-amount check of a card on file: the test cards the issuer
/// refuses (declined, lost, stolen, expired) are refused, an unknown token
/// is missing; one without funds passes, as a check does not look at funds.
pub(crate) fn check(token: &str) -> CardCheck {
    let Some((_, decline)) = simulated_card(token) else {
        return CardCheck::Refused {
            code: "resource_missing".into(),
            message: "The card on file no longer exists.".into(),
        };
    };
    match decline {
        Some((code, message))
            if matches!(
                code,
                "generic_decline" | "lost_card" | "stolen_card" | "expired_card"
            ) =>
        {
            CardCheck::Refused {
                code: code.into(),
                message: message.into(),
            }
        }
        _ => CardCheck::Usable,
    }
}

/// A simulated refund record's outcome.
pub(super) fn refund_outcome(
    record: entity::simulated_charge::Model,
) -> crate::ports::gateway::RefundOutcome {
    if record.succeeded {
        crate::ports::gateway::RefundOutcome::Succeeded {
            reference: record.reference,
        }
    } else {
        crate::ports::gateway::RefundOutcome::Failed {
            reason: record.decline_code.unwrap_or_default(),
        }
    }
}

/// A declined charge's state: its code and the message of the first test
/// card declining with it.
pub(super) fn declined(code: String) -> IntentState {
    let message = TEST_CARDS
        .iter()
        .filter_map(|c| c.decline)
        .find(|d| d.0 == code)
        .map(|d| d.1)
        .unwrap_or("Your card was declined.")
        .to_string();
    IntentState::Settled(ChargeOutcome::Declined { code, message })
}
