//! The payment-gateway port: the trait every gateway implements and the
//! requests and answers in its signature. The adapters are
//! `adapters::stripe` (Stripe's API) and `adapters::sim_gateway` (the
//! built-in simulated gateway).
//!
//! Unknown outcomes are settled by looking, never by replaying: a lost or
//! 5xx answer is followed by `retrieve_*` / `find_*` (our key is in the
//! object's metadata), not by the same request. A key whose object cannot be
//! retrieved (a creation) is re-sent only while younger than
//! `gateway.key_reuse_limit_hours` (below Stripe's 24 h, measured with
//! `ctx.clock`, its first sending committed before the call); after that, if
//! looking finds nothing, the next attempt takes a new key. Card numbers
//! never cross this port: the database and the logs see gateway tokens,
//! brand, last four digits and expiry only.

use crate::kernel::money::{Currency, Minor, Money};
pub use crate::ports::disputes::{DisputeState, EvidenceFile, EvidenceSubmission};
use async_trait::async_trait;
use chrono::Utc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentMethodDetails {
    pub token: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: i32,
    pub exp_year: i32,
    /// Credit, debit, prepaid or unknown: only a credit card is surcharged.
    pub funding: crate::kernel::surcharge::Funding,
}

/// What a PaymentIntent is created with (not confirmed yet: see
/// [`PaymentGateway::confirm_intent`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRequest {
    /// The creation's key, `{payment key}_create_{attempt}`: sent once per
    /// attempt, never after the gateway may have forgotten it.
    pub idempotency_key: String,
    /// Our payment's key (`inv_{id}_autopay_{n}`), stored on the intent as
    /// `metadata[idempotency_key]` so that webhooks and a search find it.
    pub payment_key: String,
    pub amount: Money,
    pub payment_method_token: String,
    pub description: String,
    /// The plan part an installment invoice bills (`metadata[installment_id]`).
    pub installment_ref: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Succeeded { reference: String },
    Declined { code: String, message: String },
}

/// A PaymentIntent's state as the gateway reports it (confirmed, retrieved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntentState {
    /// Created and not confirmed: nothing was charged (yet).
    RequiresConfirmation,
    /// The money is on its way; look again later.
    Processing,
    /// Final: succeeded (the reference is the intent's id) or declined
    /// (`requires_payment_method`, `canceled`; `requires_action` is the
    /// decline `authentication_required`, which off-session cannot pass).
    Settled(ChargeOutcome),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    /// Our refund's key (`refund_{studio}_{client key}`), stored on the
    /// gateway's refund as `metadata[idempotency_key]`.
    pub idempotency_key: String,
    /// The key sent with this request, `{refund key}_attempt_{n}`: a new
    /// attempt only after looking showed that no refund was made.
    pub request_key: String,
    /// The gateway's reference of the charge the money goes back from.
    pub charge_reference: String,
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    Succeeded {
        reference: String,
    },
    /// Accepted; the final state arrives later (webhook `charge.refunded`).
    Pending {
        reference: String,
    },
    Failed {
        reason: String,
    },
}

/// What the portal asks the gateway for: a hosted Checkout Session
/// (`mode=payment`) for one amount of one invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutRequest {
    /// `inv_{invoice}_checkout_{amount}_{attempt}`: never sent with other parameters.
    pub idempotency_key: String,
    /// The invoice's money: the first line (none when zero: a tip alone).
    pub amount: Money,
    /// The client's tip, a line of its own named "Gratuity" (`None`: no
    /// tip, one line). The session's `amount_total` is all lines together.
    pub tip: Option<Money>,
    /// The studio's card surcharge for a credit card, a line of its own
    /// ([`SURCHARGE_LINE`]). With one, the session only authorizes
    /// (`payment_intent_data[capture_method]=manual`): the system captures
    /// it whole from a credit card and without it from any other
    /// ([`PaymentGateway::capture_intent`]).
    pub surcharge: Option<Money>,
    /// `product_data[name]`: names the invoice number.
    pub product_name: String,
    /// The client's gateway Customer (`cus_...`), when there is one.
    pub customer: Option<String>,
    /// `client_reference_id` and `metadata[invoice_id]` (also on the PaymentIntent).
    pub invoice_ref: String,
    /// Back to the portal; carries the literal `{CHECKOUT_SESSION_ID}`.
    pub success_url: String,
    pub cancel_url: String,
    pub expires_at: chrono::DateTime<Utc>,
    /// `payment_intent_data[setup_future_usage]=off_session`.
    pub save_card: bool,
    /// The plan part an installment invoice bills: `metadata[installment_id]`
    /// on the session and its PaymentIntent.
    pub installment_ref: Option<String>,
}

/// The name of a Checkout Session's tip line.
pub const GRATUITY: &str = "Gratuity";

/// The name of a Checkout Session's surcharge line.
pub const SURCHARGE_LINE: &str =
    "Card surcharge (credit cards only; not taken from a debit or prepaid card)";

/// The capture of a held (manually captured) PaymentIntent: `amount` of
/// what was authorized, the rest released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureRequest {
    /// `pi_...`
    pub intent: String,
    pub amount: Money,
    /// Sent with this try only: the gateway captures an intent at most
    /// once and refuses a second capture, so a try whose answer is lost is
    /// settled by looking at the intent, and the next try takes a new key.
    pub idempotency_key: String,
}

/// What capturing a held PaymentIntent came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Captured {
    /// Captured (now or before): what the intent received.
    Taken { amount: i64 },
    /// Nothing can be captured any more (canceled, the authorization
    /// lapsed): nothing was charged.
    Lost { reason: String },
}

/// The client a gateway Customer stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerRequest {
    /// `client_{id}_customer`: one Customer per client, however often asked.
    pub idempotency_key: String,
    pub client_ref: String,
    pub name: String,
    pub email: String,
}

/// Where to look for the Checkout Session an attempt may have created when
/// its creation's answer was lost (a timeout, a 5xx): Stripe keeps the first
/// answer under a key, a 500 included, so the key is never sent again; the
/// session is found by the attempt's key in its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutLookup {
    /// The attempt's idempotency key (`metadata[checkout_key]` of a payment
    /// session, `metadata[card_setup]` of a setup session).
    pub idempotency_key: String,
    /// The Customer the session was created for, when there is one.
    pub customer: Option<String>,
    /// No earlier than this (the attempt's reservation, minus some slack).
    pub created_from: chrono::DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckoutState {
    Open,
    Complete,
    Expired,
}

/// A Checkout Session as the gateway reports it (created, retrieved, or in
/// a `checkout.session.*` event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutSession {
    /// `cs_...`
    pub id: String,
    pub url: Option<String>,
    pub state: CheckoutState,
    /// `paid`, `unpaid` or `no_payment_required`.
    pub payment_status: String,
    pub amount_total: i64,
    /// Uppercase ISO 4217.
    pub currency: String,
    /// `metadata[invoice_id]`.
    pub invoice_ref: Option<String>,
    /// The PaymentIntent that took the money (`pi_...`), once paid.
    pub payment_intent: Option<String>,
    /// The card that paid, when the gateway tells (brand, last4, expiry).
    pub card: Option<PaymentMethodDetails>,
    /// What the capture of a held session took, once known (the capture's
    /// answer, or an expanded PaymentIntent that was captured); `None` for
    /// a session captured at once, where `amount_total` is what was paid.
    pub amount_captured: Option<i64>,
}

impl CheckoutRequest {
    /// What the client pays on the hosted page: the money and the tip.
    pub fn total_minor(&self) -> Option<Minor> {
        self.amount
            .minor
            .checked_add(self.tip.map_or(Minor::ZERO, |t| t.minor))?
            .checked_add(self.surcharge.map_or(Minor::ZERO, |s| s.minor))
    }
}

impl CheckoutSession {
    pub fn paid(&self) -> bool {
        self.state == CheckoutState::Complete && self.payment_status == "paid"
    }
}

/// What the card-setup page asks the gateway for: a hosted Checkout Session
/// in `mode=setup` for the client's Customer (no amount: it only saves a
/// card for later off-session charges).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupCheckoutRequest {
    /// `setup_{request}_checkout_{attempt}`: never sent with other parameters.
    pub idempotency_key: String,
    /// The studio's currency (`currency`, required by Checkout in setup mode
    /// with dynamic payment methods).
    pub currency: Currency,
    /// The client's gateway Customer (`cus_...`) the card is saved on.
    pub customer: Option<String>,
    /// `client_reference_id` and `metadata[client_id]` (also on the SetupIntent).
    pub client_ref: String,
    /// `metadata[card_setup]` on the session and its SetupIntent: the
    /// attempt's idempotency key, so `setup_intent.succeeded` finds it.
    pub setup_ref: String,
    /// Back to the setup page; carries the literal `{CHECKOUT_SESSION_ID}`.
    pub success_url: String,
    pub cancel_url: String,
    pub expires_at: chrono::DateTime<Utc>,
}

/// A Checkout Session in `mode=setup` as the gateway reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupSession {
    /// `cs_...`
    pub id: String,
    pub url: Option<String>,
    pub state: CheckoutState,
    /// `metadata[card_setup]`.
    pub setup_ref: Option<String>,
    /// The SetupIntent (`seti_...`), once there is one.
    pub setup_intent: Option<String>,
    /// The card saved, when the gateway tells (an expanded SetupIntent).
    pub card: Option<PaymentMethodDetails>,
}

/// A check that a card on file can still be charged, charging nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardCheckRequest {
    /// Sent once per check: `card_check_inv_{invoice}_{card}`.
    pub idempotency_key: String,
    pub payment_method_token: String,
    /// The plan part the check is for (`metadata[installment_id]`).
    pub installment_ref: Option<String>,
}

/// What the card's issuer said to the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardCheck {
    /// The card can be charged off-session (funds are not checked).
    Usable,
    /// The issuer refused the card (declined, lost, stolen, expired), or it
    /// needs the client present: the charge on the due day would fail.
    Refused { code: String, message: String },
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("unknown payment method `{0}`")]
    InvalidPaymentMethod(String),
    #[error("idempotency key reused with different parameters")]
    IdempotencyMismatch,
    /// The outcome is unknown (network, timeout, 5xx): retry with the same key.
    #[error("gateway unavailable: {0}")]
    Unavailable(String),
    #[error("not supported by this gateway: {0}")]
    Unsupported(&'static str),
    /// The gateway knows no such dispute (a forged or foreign event).
    #[error("the gateway knows no dispute `{0}`")]
    UnknownDispute(String),
}

#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Validates a tokenized payment method and returns what may be displayed.
    async fn payment_method(&self, token: &str) -> Result<PaymentMethodDetails, GatewayError>;

    /// Creates a PaymentIntent for the request, not confirmed (nothing is
    /// charged), and returns its id. The same key returns the same intent.
    async fn create_intent(&self, request: &ChargeRequest) -> Result<String, GatewayError>;

    /// Confirms (charges, off-session) an intent under `idempotency_key`.
    /// An intent succeeds at most once, whatever the keys.
    async fn confirm_intent(
        &self,
        id: &str,
        idempotency_key: &str,
    ) -> Result<IntentState, GatewayError>;

    /// Reads an intent as it is now: how an unknown outcome is settled.
    async fn retrieve_intent(&self, id: &str) -> Result<IntentState, GatewayError>;

    /// The intent created for our payment `payment_key`, if any (when its
    /// creation's answer was lost and its key can no longer be replayed).
    async fn find_intent(&self, payment_key: &str) -> Result<Option<String>, GatewayError>;

    /// Creates the client's Customer (`cus_...`) under the request's
    /// idempotency key; the same key returns the same Customer. A key whose
    /// stored answer was a failure is never the end of it: the Customer is
    /// looked for, and only if there is none is it created under the next
    /// key of the request's (`{key}_2`, `{key}_3`, ...).
    async fn create_customer(&self, request: &CustomerRequest) -> Result<String, GatewayError> {
        let _ = request;
        Err(GatewayError::Unsupported("customers"))
    }

    /// The client's Customer, if one was created (`metadata[client_id]`):
    /// how a creation whose answer was lost is settled.
    async fn find_customer(
        &self,
        request: &CustomerRequest,
    ) -> Result<Option<String>, GatewayError> {
        let _ = request;
        Err(GatewayError::Unsupported("customers"))
    }

    /// Creates a hosted Checkout Session (`mode=payment`) under the
    /// request's idempotency key; the same key replays the same session.
    async fn create_checkout(
        &self,
        _request: &CheckoutRequest,
    ) -> Result<CheckoutSession, GatewayError> {
        Err(GatewayError::Unsupported("hosted checkout"))
    }

    /// The `mode=payment` session created under an attempt's key, if any
    /// (its creation's answer was lost).
    async fn find_checkout(
        &self,
        _lookup: &CheckoutLookup,
    ) -> Result<Option<CheckoutSession>, GatewayError> {
        Err(GatewayError::Unsupported("hosted checkout"))
    }

    /// Reads a Checkout Session as it is now (the return page settles by
    /// looking, never by trusting the browser).
    async fn retrieve_checkout(&self, _id: &str) -> Result<CheckoutSession, GatewayError> {
        Err(GatewayError::Unsupported("hosted checkout"))
    }

    /// Expires an open Checkout Session so it can no longer be paid (its
    /// amount went stale). Expiring an expired or complete one returns it.
    async fn expire_checkout(&self, _id: &str) -> Result<CheckoutSession, GatewayError> {
        Err(GatewayError::Unsupported("hosted checkout"))
    }

    /// Returns money from a charge. Calling again with the same idempotency
    /// key returns the first outcome and never refunds again.
    async fn refund(&self, request: &RefundRequest) -> Result<RefundOutcome, GatewayError>;

    /// Creates a hosted Checkout Session in `mode=setup` under the request's
    /// idempotency key; the same key replays the same session.
    async fn create_setup_checkout(
        &self,
        _request: &SetupCheckoutRequest,
    ) -> Result<SetupSession, GatewayError> {
        Err(GatewayError::Unsupported("card setup"))
    }

    /// The `mode=setup` session created under an attempt's key, if any (its
    /// creation's answer was lost).
    async fn find_setup_checkout(
        &self,
        _lookup: &CheckoutLookup,
    ) -> Result<Option<SetupSession>, GatewayError> {
        Err(GatewayError::Unsupported("card setup"))
    }

    /// Reads a `mode=setup` Checkout Session as it is now, with its
    /// SetupIntent's payment method (the card) when it is complete.
    async fn retrieve_setup_checkout(&self, _id: &str) -> Result<SetupSession, GatewayError> {
        Err(GatewayError::Unsupported("card setup"))
    }

    /// The card a SetupIntent saved (`seti_...`, retrieved with its payment
    /// method); `None` while it has none.
    async fn setup_intent_card(
        &self,
        _id: &str,
    ) -> Result<Option<PaymentMethodDetails>, GatewayError> {
        Err(GatewayError::Unsupported("card setup"))
    }

    /// The card that paid a PaymentIntent (`pi_...`, retrieved with its
    /// payment method): what a `checkout.session.completed` event does not
    /// carry when the client asked to keep the card.
    async fn payment_intent_card(
        &self,
        _id: &str,
    ) -> Result<Option<PaymentMethodDetails>, GatewayError> {
        Err(GatewayError::Unsupported("card lookup"))
    }
    /// Captures `amount` of a held PaymentIntent (a surcharged checkout
    /// session's), releasing the rest; an intent captured already answers
    /// what it received.
    async fn capture_intent(&self, _request: &CaptureRequest) -> Result<Captured, GatewayError> {
        Err(GatewayError::Unsupported("capture"))
    }

    /// Checks a card on file without charging it (Stripe: a SetupIntent
    /// confirmed off-session with the card, which its issuer verifies).
    /// The same key gives the same answer.
    async fn verify_card(&self, _request: &CardCheckRequest) -> Result<CardCheck, GatewayError> {
        Err(GatewayError::Unsupported("card check"))
    }

    /// Uploads a document for a dispute's evidence and returns its id
    /// (`file_...`). The same key returns the same file.
    async fn upload_evidence(&self, _file: &EvidenceFile) -> Result<String, GatewayError> {
        Err(GatewayError::Unsupported("dispute evidence"))
    }

    /// Submits a dispute's evidence to the card network. A dispute takes
    /// evidence once: a second submission is refused.
    async fn submit_evidence(
        &self,
        _submission: &EvidenceSubmission,
    ) -> Result<DisputeState, GatewayError> {
        Err(GatewayError::Unsupported("dispute evidence"))
    }

    /// Reads a dispute (`dp_...`) as it is now: how a submission whose
    /// answer was lost is settled.
    async fn retrieve_dispute(&self, _id: &str) -> Result<DisputeState, GatewayError> {
        Err(GatewayError::Unsupported("dispute evidence"))
    }

    /// Reads a refund (`re_...`) as it is now.
    async fn retrieve_refund(&self, id: &str) -> Result<RefundOutcome, GatewayError>;

    /// The refund of `charge_reference` made for our refund `refund_key`, if
    /// any (its creation's answer was lost).
    async fn find_refund(
        &self,
        charge_reference: &str,
        refund_key: &str,
    ) -> Result<Option<RefundOutcome>, GatewayError>;
}
