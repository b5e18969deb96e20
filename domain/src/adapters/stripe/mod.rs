//! The Stripe adapter of the [`PaymentGateway`] port.
//!
//! # Selecting it
//!
//! The process builds exactly one `Arc<dyn PaymentGateway>` at start-up (see
//! `context.rs`). With a Stripe secret key configured it is meant to be
//! `StripeGateway::new(secret_key, base_url)` with `base_url` defaulting to
//! [`DEFAULT_BASE_URL`]; without one, the [`SimulatedGateway`]
//! stays the default. Tests point `base_url` at a local server. The wiring into
//! the settings is deliberately not done here.
//!
//! # What it does
//!
//! - `payment_method`: `GET /v1/payment_methods/{id}`; brand, last4 and expiry
//!   are the only card data this server ever sees.
//! - `create_intent`: `POST /v1/payment_intents` with `confirm=false` (cards
//!   only, our payment's key in `metadata[idempotency_key]`, the Customer the
//!   card is saved on), header `Idempotency-Key: <payment key>_create_<k>`.
//!   The payment method is looked up first: a card saved on a Customer can
//!   only be charged with that `customer` passed along.
//! - `confirm_intent`: `POST /v1/payment_intents/{id}/confirm` with
//!   `off_session=true` (Stripe takes `off_session` only with a
//!   confirmation), header `Idempotency-Key: <payment key>_confirm_<k>`.
//! - `retrieve_intent`: `GET /v1/payment_intents/{id}`; `find_intent`:
//!   `GET /v1/payment_intents/search?query=metadata['idempotency_key']:'…'`.
//!   Stripe stores the first answer under a key, a 500 included, and
//!   replays it, and forgets keys after 24 hours: the domain settles a lost
//!   answer with these reads, never by sending the request again.
//! - `refund`: `POST /v1/refunds` (our refund's key in
//!   `metadata[idempotency_key]`, the request's own key as the header);
//!   `retrieve_refund`: `GET /v1/refunds/{id}`; `find_refund`:
//!   `GET /v1/refunds?payment_intent=…` matched by that metadata.
//! - `create_customer`: `POST /v1/customers` (`metadata[client_id]`) under
//!   `client_{id}_customer`; when Stripe replays a stored 5xx for it
//!   (`Idempotent-Replayed: true`) the key is spent: `find_customer` looks
//!   (`GET /v1/customers?email=…`, then `/v1/customers/search` by
//!   `metadata['client_id']`) and only if there is none is the next key
//!   (`…_2`, up to `…_5`) used.
//! - `create_checkout` puts the attempt's key in `metadata[checkout_key]`;
//!   `find_checkout`/`find_setup_checkout`: `GET /v1/checkout/sessions` with
//!   `customer` and `created[gte]` (Stripe has no metadata filter there),
//!   paged with `starting_after`, matched by `metadata[checkout_key]` /
//!   `metadata[card_setup]`.
//! - `upload_evidence`, `submit_evidence`, `retrieve_dispute`: a dispute's
//!   documents and evidence (`disputes.rs`).
//!
//! # Error mapping
//!
//! | Stripe answer | result |
//! | --- | --- |
//! | `status=succeeded` | `Succeeded { reference: pi_... }` |
//! | `card_error` (HTTP 402), incl. `authentication_required` | `Declined { code: decline_code or code }` |
//! | `status=requires_action` | `Declined { code: "authentication_required" }` (off-session cannot authenticate) |
//! | `status=requires_payment_method` / `canceled` | `Declined` |
//! | `status=processing` | `IntentState::Processing` (looked at again later) |
//! | `status=requires_confirmation` | `IntentState::RequiresConfirmation` (nothing charged) |
//! | 404 / `resource_missing`, or an invalid request about `payment_method` | `InvalidPaymentMethod` |
//! | `idempotency_error` | `IdempotencyMismatch` |
//! | 401 / 403 / other 400 | `Unavailable` with an explicit message (see below) |
//! | 409, 429, 5xx, `api_error`, connect errors, timeouts, unreadable bodies | `Unavailable` |
//!
//! A 401 (bad key) or 403 (restricted key) is not transient, but nothing was
//! charged and the operator can fix the key: mapping it to `Unavailable`
//! keeps the attempt `PENDING`, retried with the same idempotency key with
//! back-off, and it succeeds once the key is fixed, instead of failing the
//! client's payment for a configuration error. `Unsupported` only carries a
//! `&'static str` and would lose Stripe's message and request id. Such errors
//! are logged at `error` level.
//!
//! # Amounts
//!
//! `amount` is passed through as the integer minor units of the domain
//! (Stripe's "smallest currency unit"), the currency lowercased. Stripe's
//! minor units match ISO 4217 for the currencies the domain knows (JPY 0,
//! USD/EUR 2); for three-decimal currencies (KWD, BHD...) Stripe requires the
//! last digit to be 0.
//!
//! # Secrets
//!
//! The secret key is a [`SecretString`], sent only as a sensitive
//! `Authorization: Bearer` header, never logged, and left out of `Debug`. A
//! plain-`http` base URL is refused except for loopback hosts (tests).
//!
//! [`SimulatedGateway`]: crate::adapters::sim_gateway::SimulatedGateway

use crate::kernel::keys::{RequestKey, Step};
use crate::ports::gateway::{
    CaptureRequest, Captured, CardCheck, CardCheckRequest, ChargeOutcome, ChargeRequest,
    CheckoutLookup, CheckoutRequest, CheckoutSession, CustomerRequest, DisputeState, EvidenceFile,
    EvidenceSubmission, GatewayError, IntentState, PaymentGateway, PaymentMethodDetails,
    RefundOutcome, RefundRequest, SetupCheckoutRequest, SetupSession,
};
mod capture;
mod disputes;
mod events;
mod failures;
mod forms;
mod outcomes;
mod transport;
use transport::Response;
mod wire;
use failures::{Failure, classify, refused};

use outcomes::{refund_outcome, state_of};

use async_trait::async_trait;
pub use events::parse_event;
use reqwest::{Method, Url};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::time::Duration;
use wire::{
    CustomerObject, ListObject, PaymentIntentObject, PaymentMethodObject, RefundObject,
    SessionPage, SetupIntentObject, card_from, metadata_of,
};
pub use wire::{checkout_session_from, is_setup_session, setup_session_from};

/// The Stripe API version every request is pinned to (`Stripe-Version`).
pub const STRIPE_API_VERSION: &str = "2024-06-20";

/// Stripe's API root.
pub const DEFAULT_BASE_URL: &str = "https://api.stripe.com";

/// Whole-request timeout (connect, send, response body).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How many keys a Customer's creation may spend on stored failures.
const CUSTOMER_KEYS: u32 = 5;

/// How many pages of Checkout Sessions a lookup reads at most.
const SESSION_LIST_PAGES: usize = 5;

const USER_AGENT: &str = concat!("studio-billing/", env!("CARGO_PKG_VERSION"));

/// A Stripe refund, as created by [`StripeGateway::refund`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeRefund {
    /// `re_...`
    pub id: String,
    /// `pending`, `succeeded`, `failed`, `requires_action` or `canceled`.
    pub status: String,
    pub amount_minor: i64,
    /// Lowercase, as Stripe returns it.
    pub currency: String,
}

/// [`PaymentGateway`] backed by the Stripe REST API.
pub struct StripeGateway {
    http: reqwest::Client,
    secret_key: SecretString,
    base_url: Url,
    timeout: Duration,
}

impl fmt::Debug for StripeGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeGateway")
            .field("base_url", &self.base_url.as_str())
            .field("api_version", &STRIPE_API_VERSION)
            .field("timeout", &self.timeout)
            .field("secret_key", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

impl StripeGateway {
    /// A gateway talking to `base_url` (normally [`DEFAULT_BASE_URL`]) with the
    /// secret (or restricted) key `secret_key`.
    ///
    /// Fails if the key is empty, or the URL is not `https` (plain `http` is
    /// only accepted for loopback hosts, for tests).
    pub fn new(secret_key: SecretString, base_url: String) -> Result<Self, GatewayError> {
        if secret_key.expose_secret().trim().is_empty() {
            return Err(GatewayError::Unsupported("the Stripe secret key is empty"));
        }
        let base_url = Url::parse(base_url.trim())
            .map_err(|_| GatewayError::Unsupported("the Stripe base URL is not a valid URL"))?;
        if base_url.cannot_be_a_base() || base_url.query().is_some() {
            return Err(GatewayError::Unsupported(
                "the Stripe base URL must be a plain http(s) URL",
            ));
        }
        match base_url.scheme() {
            "https" => {}
            "http" if is_loopback(&base_url) => {}
            "http" => {
                return Err(GatewayError::Unsupported(
                    "the Stripe base URL must use https (http only for localhost)",
                ));
            }
            _ => {
                return Err(GatewayError::Unsupported(
                    "the Stripe base URL must be an http(s) URL",
                ));
            }
        }
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| GatewayError::Unavailable(format!("cannot build HTTP client: {e}")))?;
        Ok(Self {
            http,
            secret_key,
            base_url,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Replaces the whole-request timeout ([`DEFAULT_TIMEOUT`] by default).
    /// A request that times out after being sent has an unknown outcome and
    /// is reported as [`GatewayError::Unavailable`].
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Refunds `amount_minor` of a succeeded PaymentIntent (`reference` of
    /// [`ChargeOutcome::Succeeded`]). The same `idempotency_key` on a retry
    /// replays the first refund instead of refunding twice.
    ///
    /// Errors use the same mapping as `charge`; a missing PaymentIntent or a
    /// refused refund (already refunded, amount too large) is `Unavailable`
    /// with Stripe's message until the port defines refund errors.
    pub async fn refund(
        &self,
        payment_intent_id: &str,
        amount_minor: i64,
        refund_key: &str,
        idempotency_key: &str,
    ) -> Result<StripeRefund, GatewayError> {
        if !is_stripe_id(payment_intent_id) {
            return Err(GatewayError::Unsupported("malformed PaymentIntent id"));
        }
        if amount_minor <= 0 {
            return Err(GatewayError::Unsupported(
                "a refund amount must be positive",
            ));
        }
        let form = [
            ("payment_intent", payment_intent_id.to_string()),
            ("amount", amount_minor.to_string()),
            ("metadata[idempotency_key]", refund_key.to_string()),
        ];
        let response = self
            .send(
                Method::POST,
                &["v1", "refunds"],
                Some(&form),
                Some(idempotency_key),
            )
            .await?;
        if !response.status.is_success() {
            return Err(refused(&response, "refund"));
        }
        let refund: RefundObject = response.json()?;
        tracing::info!(
            refund = %refund.id,
            payment_intent = payment_intent_id,
            amount = refund.amount,
            status = refund.status.as_deref().unwrap_or("unknown"),
            "stripe refund created"
        );
        Ok(StripeRefund {
            id: refund.id,
            status: refund.status.unwrap_or_else(|| "unknown".into()),
            amount_minor: refund.amount,
            currency: refund.currency,
        })
    }

    /// `GET /v1/checkout/sessions/{id}` with the PaymentIntent's payment
    /// method expanded (brand, last4, expiry of the card that paid).
    async fn fetch_checkout(&self, id: &str) -> Result<CheckoutSession, GatewayError> {
        if !is_stripe_id(id) {
            return Err(GatewayError::InvalidPaymentMethod(format!(
                "malformed Checkout Session id {id}"
            )));
        }
        let response = self
            .send_query(
                Method::GET,
                &["v1", "checkout", "sessions", id],
                &[("expand[]", "payment_intent.payment_method")],
                None,
                None,
            )
            .await?;
        if !response.status.is_success() {
            return Err(match classify(&response) {
                Failure::Missing { .. } => {
                    GatewayError::InvalidPaymentMethod(format!("no Checkout Session {id}"))
                }
                Failure::Other(message) => GatewayError::Unavailable(message),
                _ => GatewayError::Unavailable(format!(
                    "cannot read Checkout Session {id} (HTTP {})",
                    response.status.as_u16()
                )),
            });
        }
        let value: serde_json::Value = response.json()?;
        checkout_session_from(&value).map_err(GatewayError::Unavailable)
    }

    /// `POST /v1/checkout/sessions` under `key`, as JSON: the one request
    /// behind both kinds of Checkout Session (a payment and a card setup);
    /// a refusal is reported as `what`.
    async fn post_checkout_session(
        &self,
        form: &[(&str, String)],
        key: &str,
        what: &str,
    ) -> Result<serde_json::Value, GatewayError> {
        let response = self
            .send(
                Method::POST,
                &["v1", "checkout", "sessions"],
                Some(form),
                Some(key),
            )
            .await?;
        if !response.status.is_success() {
            return Err(refused(&response, what));
        }
        response.json()
    }

    /// `GET /v1/checkout/sessions` for the lookup's Customer, created since
    /// its time, page by page (Stripe has no metadata filter on this list):
    /// the first session `wanted` accepts.
    async fn list_checkout_sessions(
        &self,
        lookup: &CheckoutLookup,
        wanted: impl Fn(&serde_json::Value) -> bool,
    ) -> Result<Option<serde_json::Value>, GatewayError> {
        let since = lookup.created_from.timestamp().to_string();
        let mut after: Option<String> = None;
        for _ in 0..SESSION_LIST_PAGES {
            let mut query = vec![("created[gte]", since.as_str()), ("limit", "100")];
            if let Some(customer) = &lookup.customer {
                query.push(("customer", customer.as_str()));
            }
            if let Some(after) = &after {
                query.push(("starting_after", after.as_str()));
            }
            let response = self
                .send_query(
                    Method::GET,
                    &["v1", "checkout", "sessions"],
                    &query,
                    None,
                    None,
                )
                .await?;
            if !response.status.is_success() {
                return Err(refused(&response, "Checkout Session list"));
            }
            let page: SessionPage = response.json()?;
            if let Some(found) = page.data.iter().find(|s| wanted(s)) {
                return Ok(Some(found.clone()));
            }
            let last = page
                .data
                .last()
                .and_then(|s| s.get("id"))
                .and_then(|v| v.as_str())
                .map(str::to_string);
            match last {
                Some(last) if page.has_more => after = Some(last),
                _ => return Ok(None),
            }
        }
        Err(GatewayError::Unavailable(format!(
            "more than {SESSION_LIST_PAGES} pages of Checkout Sessions to look through for {}",
            lookup.idempotency_key
        )))
    }

    /// `GET /v1/{collection}/{id}?expand[]={expand}` as JSON; a missing
    /// object is `InvalidPaymentMethod`, anything else unreadable `Unavailable`.
    async fn fetch_expanded(
        &self,
        segments: &[&str],
        expand: &str,
    ) -> Result<serde_json::Value, GatewayError> {
        let what = segments.join("/");
        if !segments.iter().skip(1).all(|s| is_stripe_id(s)) {
            return Err(GatewayError::InvalidPaymentMethod(format!(
                "malformed Stripe path {what}"
            )));
        }
        let response = self
            .send_query(Method::GET, segments, &[("expand[]", expand)], None, None)
            .await?;
        if !response.status.is_success() {
            return Err(match classify(&response) {
                Failure::Missing { .. } => GatewayError::InvalidPaymentMethod(format!("no {what}")),
                Failure::Other(message) => GatewayError::Unavailable(message),
                _ => GatewayError::Unavailable(format!(
                    "cannot read {what} (HTTP {})",
                    response.status.as_u16()
                )),
            });
        }
        response.json()
    }

    async fn fetch_payment_method(&self, token: &str) -> Result<PaymentMethodObject, GatewayError> {
        if !is_stripe_id(token) {
            return Err(GatewayError::InvalidPaymentMethod(token.into()));
        }
        let response = self
            .send(Method::GET, &["v1", "payment_methods", token], None, None)
            .await?;
        if !response.status.is_success() {
            return Err(match classify(&response) {
                Failure::Missing { .. } | Failure::Card { .. } => {
                    GatewayError::InvalidPaymentMethod(token.into())
                }
                Failure::Idempotency => GatewayError::IdempotencyMismatch,
                Failure::Other(message) => GatewayError::Unavailable(message),
            });
        }
        response.json()
    }
}

#[async_trait]
impl PaymentGateway for StripeGateway {
    async fn payment_method(&self, token: &str) -> Result<PaymentMethodDetails, GatewayError> {
        let pm = self.fetch_payment_method(token).await?;
        let card = pm
            .card
            .filter(|_| pm.kind == "card")
            .ok_or_else(|| GatewayError::InvalidPaymentMethod(format!("{token} is not a card")))?;
        Ok(card.details(pm.id))
    }

    async fn refund(&self, request: &RefundRequest) -> Result<RefundOutcome, GatewayError> {
        let refund = StripeGateway::refund(
            self,
            &request.charge_reference,
            request.amount.minor.get(),
            &request.idempotency_key,
            &request.request_key,
        )
        .await?;
        Ok(refund_outcome(refund.id, &refund.status))
    }

    async fn create_customer(&self, request: &CustomerRequest) -> Result<String, GatewayError> {
        let form = [
            ("name", request.name.clone()),
            ("email", request.email.clone()),
            ("metadata[client_id]", request.client_ref.clone()),
        ];
        for n in 1..=CUSTOMER_KEYS {
            let key = if n == 1 {
                request.idempotency_key.clone()
            } else {
                RequestKey::new(&request.idempotency_key, Step::Again, n).to_string()
            };
            let response = self
                .send(Method::POST, &["v1", "customers"], Some(&form), Some(&key))
                .await?;
            if response.replayed && response.status.is_server_error() {
                // Stripe keeps a 500 under its key for 24 hours: this key
                // is spent. What it may have created is looked for; only if
                // there is nothing does the next key create the Customer.
                tracing::warn!(key = %key, "stripe replayed a failed Customer creation; looking for the Customer");
                if let Some(id) = self.find_customer(request).await? {
                    return Ok(id);
                }
                continue;
            }
            if !response.status.is_success() {
                return Err(refused(&response, "Customer"));
            }
            let value: serde_json::Value = response.json()?;
            return value
                .get("id")
                .and_then(|v| v.as_str())
                .filter(|id| is_stripe_id(id))
                .map(str::to_string)
                .ok_or_else(|| {
                    GatewayError::Unavailable("a Stripe Customer without an id".into())
                });
        }
        Err(GatewayError::Unavailable(format!(
            "Stripe failed to create the Customer of client {} under {CUSTOMER_KEYS} keys",
            request.client_ref
        )))
    }

    async fn find_customer(
        &self,
        request: &CustomerRequest,
    ) -> Result<Option<String>, GatewayError> {
        let ours = |c: &CustomerObject| {
            c.metadata.get("client_id") == Some(&request.client_ref) && is_stripe_id(&c.id)
        };
        // The list is read-after-write consistent; the search (for a
        // Customer whose email changed since) may lag by a minute.
        if !request.email.is_empty() {
            let response = self
                .send_query(
                    Method::GET,
                    &["v1", "customers"],
                    &[("email", request.email.as_str()), ("limit", "100")],
                    None,
                    None,
                )
                .await?;
            if !response.status.is_success() {
                return Err(refused(&response, "Customer list"));
            }
            let list: ListObject<CustomerObject> = response.json()?;
            if let Some(found) = list.data.into_iter().find(|c| ours(c)) {
                return Ok(Some(found.id));
            }
        }
        if !is_stripe_id(&request.client_ref) {
            return Ok(None);
        }
        let query = format!("metadata['client_id']:'{}'", request.client_ref);
        let response = self
            .send_query(
                Method::GET,
                &["v1", "customers", "search"],
                &[("query", query.as_str())],
                None,
                None,
            )
            .await?;
        if !response.status.is_success() {
            return Err(refused(&response, "Customer search"));
        }
        let found: ListObject<CustomerObject> = response.json()?;
        Ok(found.data.into_iter().find(|c| ours(c)).map(|c| c.id))
    }

    async fn find_checkout(
        &self,
        lookup: &CheckoutLookup,
    ) -> Result<Option<CheckoutSession>, GatewayError> {
        let found = self
            .list_checkout_sessions(lookup, |session| {
                session.get("mode").and_then(|v| v.as_str()) != Some("setup")
                    && metadata_of(session, "checkout_key") == Some(lookup.idempotency_key.as_str())
            })
            .await?;
        found
            .map(|value| checkout_session_from(&value).map_err(GatewayError::Unavailable))
            .transpose()
    }

    async fn find_setup_checkout(
        &self,
        lookup: &CheckoutLookup,
    ) -> Result<Option<SetupSession>, GatewayError> {
        let found = self
            .list_checkout_sessions(lookup, |session| {
                is_setup_session(session)
                    && metadata_of(session, "card_setup") == Some(lookup.idempotency_key.as_str())
            })
            .await?;
        found
            .map(|value| setup_session_from(&value).map_err(GatewayError::Unavailable))
            .transpose()
    }

    async fn create_checkout(
        &self,
        request: &CheckoutRequest,
    ) -> Result<CheckoutSession, GatewayError> {
        let form = forms::checkout_form(request);
        let value = self
            .post_checkout_session(&form, &request.idempotency_key, "Checkout Session")
            .await?;
        let session = checkout_session_from(&value).map_err(GatewayError::Unavailable)?;
        tracing::info!(session = %session.id, key = %request.idempotency_key, "stripe checkout session created");
        Ok(session)
    }

    async fn retrieve_checkout(&self, id: &str) -> Result<CheckoutSession, GatewayError> {
        self.fetch_checkout(id).await
    }

    async fn create_setup_checkout(
        &self,
        request: &SetupCheckoutRequest,
    ) -> Result<SetupSession, GatewayError> {
        let mut form = vec![
            ("mode", "setup".to_string()),
            ("currency", request.currency.code().to_ascii_lowercase()),
            ("payment_method_types[]", "card".to_string()),
            ("client_reference_id", request.client_ref.clone()),
            ("metadata[client_id]", request.client_ref.clone()),
            ("metadata[card_setup]", request.setup_ref.clone()),
            (
                "setup_intent_data[metadata][client_id]",
                request.client_ref.clone(),
            ),
            (
                "setup_intent_data[metadata][card_setup]",
                request.setup_ref.clone(),
            ),
            ("success_url", request.success_url.clone()),
            ("cancel_url", request.cancel_url.clone()),
            ("expires_at", request.expires_at.timestamp().to_string()),
        ];
        if let Some(customer) = &request.customer {
            form.push(("customer", customer.clone()));
        }
        let value = self
            .post_checkout_session(&form, &request.idempotency_key, "Checkout Session (setup)")
            .await?;
        let session = setup_session_from(&value).map_err(GatewayError::Unavailable)?;
        tracing::info!(session = %session.id, key = %request.idempotency_key, "stripe setup session created");
        Ok(session)
    }

    async fn retrieve_setup_checkout(&self, id: &str) -> Result<SetupSession, GatewayError> {
        let value = self
            .fetch_expanded(
                &["v1", "checkout", "sessions", id],
                "setup_intent.payment_method",
            )
            .await?;
        setup_session_from(&value).map_err(GatewayError::Unavailable)
    }

    async fn setup_intent_card(
        &self,
        id: &str,
    ) -> Result<Option<PaymentMethodDetails>, GatewayError> {
        let value = self
            .fetch_expanded(&["v1", "setup_intents", id], "payment_method")
            .await?;
        Ok(value.get("payment_method").and_then(card_from))
    }

    async fn payment_intent_card(
        &self,
        id: &str,
    ) -> Result<Option<PaymentMethodDetails>, GatewayError> {
        let value = self
            .fetch_expanded(&["v1", "payment_intents", id], "payment_method")
            .await?;
        Ok(value.get("payment_method").and_then(card_from))
    }

    async fn capture_intent(&self, request: &CaptureRequest) -> Result<Captured, GatewayError> {
        self.capture(request).await
    }

    async fn upload_evidence(&self, file: &EvidenceFile) -> Result<String, GatewayError> {
        self.upload(file).await
    }

    async fn submit_evidence(
        &self,
        submission: &EvidenceSubmission,
    ) -> Result<DisputeState, GatewayError> {
        self.submit(submission).await
    }

    async fn retrieve_dispute(&self, id: &str) -> Result<DisputeState, GatewayError> {
        self.fetch_dispute(id).await
    }

    async fn expire_checkout(&self, id: &str) -> Result<CheckoutSession, GatewayError> {
        if !is_stripe_id(id) {
            return Err(GatewayError::InvalidPaymentMethod(format!(
                "malformed Checkout Session id {id}"
            )));
        }
        let response = self
            .send(
                Method::POST,
                &["v1", "checkout", "sessions", id, "expire"],
                Some(&[]),
                None,
            )
            .await?;
        if response.status.is_success() {
            let value: serde_json::Value = response.json()?;
            return checkout_session_from(&value).map_err(GatewayError::Unavailable);
        }
        // Stripe refuses to expire a session that is no longer open (paid
        // meanwhile, or expired): what it is now decides.
        self.fetch_checkout(id).await
    }

    async fn create_intent(&self, request: &ChargeRequest) -> Result<String, GatewayError> {
        let pm = self
            .fetch_payment_method(&request.payment_method_token)
            .await?;
        // `off_session` is a parameter of the confirmation (Stripe accepts
        // it only with `confirm=true`): it goes with `confirm_intent`.
        let mut form = vec![
            ("amount", request.amount.minor.to_string()),
            ("currency", request.amount.currency_lowercase()),
            ("payment_method", request.payment_method_token.clone()),
            ("payment_method_types[]", "card".to_string()),
            ("confirm", "false".to_string()),
            ("metadata[idempotency_key]", request.payment_key.clone()),
        ];
        if !request.description.is_empty() {
            form.push(("description", request.description.clone()));
        }
        if let Some(installment) = &request.installment_ref {
            form.push(("metadata[installment_id]", installment.clone()));
        }
        if let Some(customer) = pm.customer {
            form.push(("customer", customer));
        }
        let response = self
            .send(
                Method::POST,
                &["v1", "payment_intents"],
                Some(&form),
                Some(&request.idempotency_key),
            )
            .await?;
        if !response.status.is_success() {
            return Err(match classify(&response) {
                Failure::Missing { .. } | Failure::Card { .. } => {
                    GatewayError::InvalidPaymentMethod(request.payment_method_token.clone())
                }
                Failure::Idempotency => {
                    tracing::error!(key = %request.idempotency_key, "stripe idempotency key reused with different parameters");
                    GatewayError::IdempotencyMismatch
                }
                Failure::Other(message) => GatewayError::Unavailable(message),
            });
        }
        let intent: PaymentIntentObject = response.json()?;
        if !is_stripe_id(&intent.id) {
            return Err(GatewayError::Unavailable(
                "Stripe returned a malformed PaymentIntent id".into(),
            ));
        }
        tracing::info!(payment_intent = %intent.id, key = %request.idempotency_key, "stripe payment intent created");
        Ok(intent.id)
    }

    /// A SetupIntent for the card, confirmed off-session (`usage`
    /// `off_session`): Stripe has the issuer verify the card without
    /// charging it. `succeeded` is usable; a `card_error` or a status that
    /// wants the client (`requires_action`, `requires_payment_method`) is
    /// refused.
    async fn verify_card(&self, request: &CardCheckRequest) -> Result<CardCheck, GatewayError> {
        let pm = self
            .fetch_payment_method(&request.payment_method_token)
            .await?;
        let mut form = vec![
            ("payment_method", request.payment_method_token.clone()),
            ("payment_method_types[]", "card".to_string()),
            ("usage", "off_session".to_string()),
            ("confirm", "true".to_string()),
            ("metadata[card_check]", request.idempotency_key.clone()),
        ];
        if let Some(installment) = &request.installment_ref {
            form.push(("metadata[installment_id]", installment.clone()));
        }
        if let Some(customer) = pm.customer {
            form.push(("customer", customer));
        }
        let response = self
            .send(
                Method::POST,
                &["v1", "setup_intents"],
                Some(&form),
                Some(&request.idempotency_key),
            )
            .await?;
        if !response.status.is_success() {
            return match classify(&response) {
                Failure::Card { code, message } | Failure::Missing { code, message } => {
                    Ok(CardCheck::Refused { code, message })
                }
                Failure::Idempotency => Err(GatewayError::IdempotencyMismatch),
                Failure::Other(message) => Err(GatewayError::Unavailable(message)),
            };
        }
        let intent: SetupIntentObject = response.json()?;
        Ok(match intent.status.as_str() {
            "succeeded" | "processing" => CardCheck::Usable,
            other => CardCheck::Refused {
                code: other.to_string(),
                message: format!("the card needs the client to act ({other})"),
            },
        })
    }

    async fn confirm_intent(
        &self,
        id: &str,
        idempotency_key: &str,
    ) -> Result<IntentState, GatewayError> {
        if !is_stripe_id(id) {
            return Err(GatewayError::Unavailable(format!(
                "malformed PaymentIntent id {id}"
            )));
        }
        let form = [("off_session", "true".to_string())];
        let response = self
            .send(
                Method::POST,
                &["v1", "payment_intents", id, "confirm"],
                Some(&form),
                Some(idempotency_key),
            )
            .await?;
        if !response.status.is_success() {
            return match classify(&response) {
                Failure::Card { code, message } => {
                    tracing::info!(%code, payment_intent = id, "stripe charge declined");
                    Ok(IntentState::Settled(ChargeOutcome::Declined {
                        code,
                        message,
                    }))
                }
                Failure::Idempotency => Err(GatewayError::IdempotencyMismatch),
                // A confirmation refused for the intent's state (already
                // succeeded, say) tells nothing: the caller retrieves it.
                Failure::Missing { message, .. } | Failure::Other(message) => {
                    Err(GatewayError::Unavailable(message))
                }
            };
        }
        let intent: PaymentIntentObject = response.json()?;
        let state = state_of(intent)?;
        if let IntentState::Settled(ChargeOutcome::Succeeded { reference }) = &state {
            tracing::info!(payment_intent = %reference, key = idempotency_key, "stripe charge succeeded");
        }
        Ok(state)
    }

    async fn retrieve_intent(&self, id: &str) -> Result<IntentState, GatewayError> {
        state_of(self.fetch_payment_intent(id).await?)
    }

    async fn find_intent(&self, payment_key: &str) -> Result<Option<String>, GatewayError> {
        // Our keys are letters, digits and `_`, safe inside the quotes.
        if !is_stripe_id(payment_key) {
            return Err(GatewayError::Unavailable(format!(
                "cannot search for the key {payment_key}"
            )));
        }
        let query = format!("metadata['idempotency_key']:'{payment_key}'");
        let response = self
            .send_query(
                Method::GET,
                &["v1", "payment_intents", "search"],
                &[("query", query.as_str())],
                None,
                None,
            )
            .await?;
        if !response.status.is_success() {
            return Err(refused(&response, "PaymentIntent search"));
        }
        let found: ListObject<PaymentIntentObject> = response.json()?;
        Ok(found
            .data
            .into_iter()
            .map(|i| i.id)
            .find(|id| is_stripe_id(id)))
    }

    async fn retrieve_refund(&self, id: &str) -> Result<RefundOutcome, GatewayError> {
        if !is_stripe_id(id) {
            return Err(GatewayError::Unavailable(format!(
                "malformed refund id {id}"
            )));
        }
        let response = self
            .send(Method::GET, &["v1", "refunds", id], None, None)
            .await?;
        if !response.status.is_success() {
            return Err(refused(&response, "refund"));
        }
        let refund: RefundObject = response.json()?;
        Ok(refund_outcome(
            refund.id,
            refund.status.as_deref().unwrap_or("pending"),
        ))
    }

    async fn find_refund(
        &self,
        charge_reference: &str,
        refund_key: &str,
    ) -> Result<Option<RefundOutcome>, GatewayError> {
        if !is_stripe_id(charge_reference) {
            return Err(GatewayError::Unavailable(format!(
                "malformed PaymentIntent id {charge_reference}"
            )));
        }
        let response = self
            .send_query(
                Method::GET,
                &["v1", "refunds"],
                &[("payment_intent", charge_reference), ("limit", "100")],
                None,
                None,
            )
            .await?;
        if !response.status.is_success() {
            return Err(refused(&response, "refund list"));
        }
        let list: ListObject<RefundObject> = response.json()?;
        Ok(list
            .data
            .into_iter()
            .find(|r| r.metadata.get("idempotency_key").map(String::as_str) == Some(refund_key))
            .map(|r| refund_outcome(r.id, r.status.as_deref().unwrap_or("pending"))))
    }
}

/// Stripe object ids (`pm_...`, `pi_...`, `card_...`): letters, digits and
/// `_` only, so they are safe as a path segment.
fn is_stripe_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn is_loopback(url: &Url) -> bool {
    let host = url
        .host_str()
        .unwrap_or("")
        .trim_start_matches('[')
        .trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}
