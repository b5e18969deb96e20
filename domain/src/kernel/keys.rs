//! Idempotency keys: one printer (`Display`) and one parser (`FromStr`) per
//! key, so that no code builds a key with `format!` or takes one apart with
//! `split_once` (the `architecture` tests refuse both outside this file).
//!
//! A [`Key`] names one debt-settling row (a payment, a refund) or one gateway
//! object (a Customer, a Checkout Session) and is stored on the row; the
//! gateway deduplicates on it, so a key, once printed, must print the same
//! forever: the strings below are the ones rows already hold. A
//! [`RequestKey`] names one request made on behalf of such a row (the
//! PaymentIntent's create and confirm, a refund's attempt): a new attempt is
//! a new request, the same attempt is the same request.

use std::fmt;
use std::str::FromStr;

/// The key of a payment, a refund or a gateway object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// The `attempt`-th off-session charge of an invoice's card on file
    /// (`inv_7_autopay_2`); the attempt is also the retry schedule's index.
    AutoPay { invoice_id: i64, attempt: u32 },
    /// One payer's share of a shared invoice charged to their saved card:
    /// the first attempt `inv_7_payer_3_autopay` (as rows hold it), a
    /// retry after a decline `inv_7_payer_3_autopay_2`.
    PayerAutoPay {
        invoice_id: i64,
        payer_id: i64,
        attempt: u32,
    },
    /// A hosted checkout for an amount of an invoice
    /// (`inv_7_checkout_12500_1`): a new amount is a new session.
    Checkout {
        invoice_id: i64,
        amount_minor: i64,
        attempt: i32,
    },
    /// The payment a completed hosted checkout recorded
    /// (`checkout_cs_test_a1`), keyed by the gateway's session id.
    CheckoutPayment { session_id: String },
    /// The hosted page of a card-setup request (`setup_3_checkout_1`, also
    /// `metadata[card_setup]`).
    CardSetup { setup_id: i64, attempt: i32 },
    /// The gateway Customer of a client (`client_5_customer`).
    Customer { client_id: i64 },
    /// The gateway Customer of one payer of a shared invoice
    /// (`payer_7_customer`).
    PayerCustomer { payer_id: i64 },
    /// A payment the studio recorded by hand, under the key its request
    /// carried (`manual_1_{idempotencyKey}`).
    Manual { studio_id: i64, client_key: String },
    /// A refund the studio asked for, under the key its request carried
    /// (`refund_1_{idempotencyKey}`).
    Refund { studio_id: i64, client_key: String },
    /// The refund of one payment in a request spread over a session's
    /// payments (`spread_1_42_{idempotencyKey}`): one per payment.
    SpreadRefund {
        studio_id: i64,
        payment_id: i64,
        client_key: String,
    },
    /// The refund a lost dispute is (`dispute_dp_1`).
    Chargeback { dispute_id: String },
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AutoPay {
                invoice_id,
                attempt,
            } => write!(f, "inv_{invoice_id}_autopay_{attempt}"),
            Self::PayerAutoPay {
                invoice_id,
                payer_id,
                attempt: 1,
            } => write!(f, "inv_{invoice_id}_payer_{payer_id}_autopay"),
            Self::PayerAutoPay {
                invoice_id,
                payer_id,
                attempt,
            } => write!(f, "inv_{invoice_id}_payer_{payer_id}_autopay_{attempt}"),
            Self::Checkout {
                invoice_id,
                amount_minor,
                attempt,
            } => write!(f, "inv_{invoice_id}_checkout_{amount_minor}_{attempt}"),
            Self::CheckoutPayment { session_id } => write!(f, "checkout_{session_id}"),
            Self::CardSetup { setup_id, attempt } => {
                write!(f, "setup_{setup_id}_checkout_{attempt}")
            }
            Self::Customer { client_id } => write!(f, "client_{client_id}_customer"),
            Self::PayerCustomer { payer_id } => write!(f, "payer_{payer_id}_customer"),
            Self::Manual {
                studio_id,
                client_key,
            } => write!(f, "manual_{studio_id}_{client_key}"),
            Self::Refund {
                studio_id,
                client_key,
            } => write!(f, "refund_{studio_id}_{client_key}"),
            Self::SpreadRefund {
                studio_id,
                payment_id,
                client_key,
            } => write!(f, "spread_{studio_id}_{payment_id}_{client_key}"),
            Self::Chargeback { dispute_id } => write!(f, "dispute_{dispute_id}"),
        }
    }
}

/// A string that is not one of our keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an idempotency key: {0:?}")]
pub struct NotAKey(pub String);

fn number<T: FromStr>(s: &str) -> Option<T> {
    // `parse` accepts a sign; a key's numbers never have one.
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `{studio_id}_{client_key}`.
fn studio_and_key(rest: &str) -> Option<(i64, String)> {
    let (studio, key) = rest.split_once('_')?;
    (!key.is_empty()).then_some(())?;
    Some((number(studio)?, key.to_string()))
}

impl Key {
    fn parse(s: &str) -> Option<Self> {
        if let Some(rest) = s.strip_prefix("inv_") {
            let (invoice, rest) = rest.split_once('_')?;
            let invoice_id = number(invoice)?;
            if let Some(attempt) = rest.strip_prefix("autopay_") {
                return Some(Self::AutoPay {
                    invoice_id,
                    attempt: number(attempt)?,
                });
            }
            if let Some((payer, attempt)) = rest
                .strip_prefix("payer_")
                .and_then(|r| r.split_once("_autopay"))
            {
                let attempt = match attempt.strip_prefix('_') {
                    Some(n) => number(n).filter(|n: &u32| *n >= 2)?,
                    None if attempt.is_empty() => 1,
                    None => return None,
                };
                return Some(Self::PayerAutoPay {
                    invoice_id,
                    payer_id: number(payer)?,
                    attempt,
                });
            }
            let (amount, attempt) = rest.strip_prefix("checkout_")?.split_once('_')?;
            return Some(Self::Checkout {
                invoice_id,
                amount_minor: number(amount)?,
                attempt: number(attempt)?,
            });
        }
        if let Some(rest) = s.strip_prefix("setup_") {
            let (setup, attempt) = rest.split_once("_checkout_")?;
            return Some(Self::CardSetup {
                setup_id: number(setup)?,
                attempt: number(attempt)?,
            });
        }
        if let Some(payer) = s
            .strip_prefix("payer_")
            .and_then(|r| r.strip_suffix("_customer"))
        {
            return Some(Self::PayerCustomer {
                payer_id: number(payer)?,
            });
        }
        if let Some(client) = s
            .strip_prefix("client_")
            .and_then(|r| r.strip_suffix("_customer"))
        {
            return Some(Self::Customer {
                client_id: number(client)?,
            });
        }
        if let Some(rest) = s.strip_prefix("manual_") {
            let (studio_id, client_key) = studio_and_key(rest)?;
            return Some(Self::Manual {
                studio_id,
                client_key,
            });
        }
        if let Some(rest) = s.strip_prefix("refund_") {
            let (studio_id, client_key) = studio_and_key(rest)?;
            return Some(Self::Refund {
                studio_id,
                client_key,
            });
        }
        if let Some(rest) = s.strip_prefix("spread_") {
            let (studio_id, rest) = studio_and_key(rest)?;
            let (payment_id, client_key) = studio_and_key(&rest)?;
            return Some(Self::SpreadRefund {
                studio_id,
                payment_id,
                client_key,
            });
        }
        if let Some(session) = s.strip_prefix("checkout_").filter(|r| !r.is_empty()) {
            return Some(Self::CheckoutPayment {
                session_id: session.to_string(),
            });
        }
        if let Some(dispute) = s.strip_prefix("dispute_").filter(|r| !r.is_empty()) {
            return Some(Self::Chargeback {
                dispute_id: dispute.to_string(),
            });
        }
        None
    }

    /// The auto-pay attempt this key is, if it is one.
    pub fn auto_pay_attempt(&self) -> Option<u32> {
        match self {
            Self::AutoPay { attempt, .. } | Self::PayerAutoPay { attempt, .. } => Some(*attempt),
            _ => None,
        }
    }
}

impl FromStr for Key {
    type Err = NotAKey;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| NotAKey(s.to_string()))
    }
}

/// Which request a [`RequestKey`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// Creating the PaymentIntent of a payment (`{key}_create_{n}`).
    Create,
    /// Confirming it (`{key}_confirm_{n}`).
    Confirm,
    /// One attempt at a refund (`{key}_attempt_{n}`).
    Attempt,
    /// One try at capturing a held checkout session
    /// (`{checkout key}_capture_{n}`, n the try's time in milliseconds):
    /// the gateway captures an intent at most once, so each try has its own.
    Capture,
    /// Creating a Customer again after the first key was spent on a failure
    /// (`{key}_{n}`, n ≥ 2; the first request uses the row's key itself).
    Again,
    /// Sending a dispute's evidence, attempt n (`dispute_{dp}_evidence_{n}`).
    Evidence,
    /// Uploading one of a dispute's documents, one of
    /// [`EVIDENCE_DOCUMENTS`], in attempt n (`dispute_{dp}_receipt_{n}`).
    Upload(&'static str),
}

/// The gateway's evidence fields that take a document.
pub const EVIDENCE_DOCUMENTS: [&str; 4] = [
    "service_documentation",
    "receipt",
    "customer_communication",
    "refund_policy",
];

/// One request to the gateway on behalf of a row whose key is `row`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestKey {
    pub row: String,
    pub step: Step,
    pub attempt: i64,
}

impl RequestKey {
    pub fn new(row: impl Into<String>, step: Step, attempt: impl Into<i64>) -> Self {
        Self {
            row: row.into(),
            step,
            attempt: attempt.into(),
        }
    }
}

impl fmt::Display for RequestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { row, step, attempt } = self;
        match step {
            Step::Create => write!(f, "{row}_create_{attempt}"),
            Step::Confirm => write!(f, "{row}_confirm_{attempt}"),
            Step::Attempt => write!(f, "{row}_attempt_{attempt}"),
            Step::Capture => write!(f, "{row}_capture_{attempt}"),
            Step::Again => write!(f, "{row}_{attempt}"),
            Step::Evidence => write!(f, "{row}_evidence_{attempt}"),
            Step::Upload(field) => write!(f, "{row}_{field}_{attempt}"),
        }
    }
}

impl FromStr for RequestKey {
    type Err = NotAKey;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || NotAKey(s.to_string());
        let (head, attempt) = s.rsplit_once('_').ok_or_else(bad)?;
        let attempt: i64 = number(attempt).ok_or_else(bad)?;
        let steps = [
            ("_create", Step::Create),
            ("_confirm", Step::Confirm),
            ("_attempt", Step::Attempt),
            ("_capture", Step::Capture),
        ];
        let uploads = EVIDENCE_DOCUMENTS.map(|field| (field, Step::Upload(field)));
        let (row, step) = steps
            .iter()
            .chain(&[("_evidence", Step::Evidence)])
            .find_map(|(suffix, step)| head.strip_suffix(suffix).map(|row| (row, *step)))
            .or_else(|| {
                uploads.iter().find_map(|(field, step)| {
                    let row = head.strip_suffix(field)?.strip_suffix('_')?;
                    row.starts_with("dispute_").then_some((row, *step))
                })
            })
            .unwrap_or((head, Step::Again));
        if row.is_empty() {
            return Err(bad());
        }
        Ok(Self::new(row, step, attempt))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys rows already hold: each parses to its variant and prints back
    /// byte for byte.
    #[test]
    fn every_key_round_trips_and_prints_what_rows_already_hold() {
        let keys = [
            (
                "inv_7_autopay_2",
                Key::AutoPay {
                    invoice_id: 7,
                    attempt: 2,
                },
            ),
            (
                "inv_7_checkout_12500_1",
                Key::Checkout {
                    invoice_id: 7,
                    amount_minor: 12500,
                    attempt: 1,
                },
            ),
            (
                "checkout_cs_test_a1B2",
                Key::CheckoutPayment {
                    session_id: "cs_test_a1B2".into(),
                },
            ),
            (
                "setup_3_checkout_1",
                Key::CardSetup {
                    setup_id: 3,
                    attempt: 1,
                },
            ),
            ("client_5_customer", Key::Customer { client_id: 5 }),
            (
                "inv_7_payer_3_autopay",
                Key::PayerAutoPay {
                    invoice_id: 7,
                    payer_id: 3,
                    attempt: 1,
                },
            ),
            (
                "inv_7_payer_3_autopay_2",
                Key::PayerAutoPay {
                    invoice_id: 7,
                    payer_id: 3,
                    attempt: 2,
                },
            ),
            ("payer_7_customer", Key::PayerCustomer { payer_id: 7 }),
            (
                "manual_1_cash-2026_03_01",
                Key::Manual {
                    studio_id: 1,
                    client_key: "cash-2026_03_01".into(),
                },
            ),
            (
                "refund_12_r_1",
                Key::Refund {
                    studio_id: 12,
                    client_key: "r_1".into(),
                },
            ),
            (
                "spread_12_42_r_1",
                Key::SpreadRefund {
                    studio_id: 12,
                    payment_id: 42,
                    client_key: "r_1".into(),
                },
            ),
            (
                "dispute_dp_1Abc",
                Key::Chargeback {
                    dispute_id: "dp_1Abc".into(),
                },
            ),
        ];
        for (text, key) in keys {
            assert_eq!(key.to_string(), text);
            assert_eq!(text.parse::<Key>(), Ok(key), "{text}");
        }
    }

    #[test]
    fn request_keys_round_trip() {
        for (text, row, step, attempt) in [
            (
                "inv_7_autopay_2_create_1",
                "inv_7_autopay_2",
                Step::Create,
                1_i64,
            ),
            (
                "inv_7_autopay_2_confirm_3",
                "inv_7_autopay_2",
                Step::Confirm,
                3,
            ),
            ("refund_1_r_1_attempt_2", "refund_1_r_1", Step::Attempt, 2),
            (
                "inv_7_checkout_12500_1_capture_1790000000123",
                "inv_7_checkout_12500_1",
                Step::Capture,
                1_790_000_000_123,
            ),
            ("client_5_customer_2", "client_5_customer", Step::Again, 2),
            ("dispute_dp_1_evidence_2", "dispute_dp_1", Step::Evidence, 2),
            (
                "dispute_dp_1_receipt_1",
                "dispute_dp_1",
                Step::Upload("receipt"),
                1,
            ),
            (
                "dispute_dp_1_service_documentation_3",
                "dispute_dp_1",
                Step::Upload("service_documentation"),
                3,
            ),
        ] {
            let key = RequestKey::new(row, step, attempt);
            assert_eq!(key.to_string(), text);
            assert_eq!(text.parse::<RequestKey>(), Ok(key), "{text}");
        }
    }

    #[test]
    fn strings_that_are_not_keys_are_refused() {
        for text in [
            "",
            "inv_7",
            "inv_x_autopay_1",
            "inv_7_autopay_+1",
            "inv_7_checkout_100",
            "inv_7_payer_3_autopay_1",
            "inv_7_payer_3_autopayx",
            "setup_3",
            "client_x_customer",
            "manual_1_",
            "manual_x_k",
            "refund_",
            "spread_1_x_k",
            "spread_1_2_",
            "checkout_",
            "dispute_",
            "payment-12",
        ] {
            assert!(text.parse::<Key>().is_err(), "{text:?} parsed");
        }
        assert!("_1".parse::<RequestKey>().is_err());
        assert!("inv_7_confirm_x".parse::<RequestKey>().is_err());
    }

    #[test]
    fn the_auto_pay_attempt_is_read_from_the_key() {
        let key: Key = "inv_9_autopay_3".parse().expect("a key");
        assert_eq!(key.auto_pay_attempt(), Some(3));
        let key: Key = "inv_9_checkout_100_3".parse().expect("a key");
        assert_eq!(key.auto_pay_attempt(), None);
    }
}
