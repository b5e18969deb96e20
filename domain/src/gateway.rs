//! The payment-gateway port and the built-in simulated gateway.
//!
//! The simulated gateway stands in for a live card network, which cannot run
//! here. It behaves like one where it matters: it knows Stripe's test tokens,
//! and it remembers every idempotency key it has seen (in its own table, so
//! across restarts and processes): the same key never charges twice.

use async_trait::async_trait;
use chrono::Utc;
use entity::simulated_charge;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentMethodDetails {
    pub token: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: i32,
    pub exp_year: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRequest {
    /// Derived from the invoice and attempt; the gateway charges a key once.
    pub idempotency_key: String,
    pub amount_minor: i64,
    pub currency: String,
    pub payment_method_token: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Succeeded { reference: String },
    Declined { code: String, message: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    /// Derived from the refund; the gateway refunds a key once.
    pub idempotency_key: String,
    /// The gateway's reference of the charge the money goes back from.
    pub charge_reference: String,
    pub amount_minor: i64,
    pub currency: String,
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
}

#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Validates a tokenized payment method and returns what may be displayed.
    async fn payment_method(&self, token: &str) -> Result<PaymentMethodDetails, GatewayError>;

    /// Charges a payment method. Calling again with the same idempotency key
    /// returns the first outcome and never charges again.
    async fn charge(&self, request: &ChargeRequest) -> Result<ChargeOutcome, GatewayError>;

    /// Turns a test card number typed into the portal form into a token.
    /// Only the simulated gateway does this; a live gateway tokenizes in the
    /// browser so card numbers never reach this server.
    fn tokenize_test_card(&self, number: &str) -> Result<String, GatewayError>;

    /// Returns money from a charge. Calling again with the same idempotency
    /// key returns the first outcome and never refunds again.
    async fn refund(&self, request: &RefundRequest) -> Result<RefundOutcome, GatewayError>;
}

struct TestCard {
    token: &'static str,
    number: &'static str,
    brand: &'static str,
    decline: Option<(&'static str, &'static str)>,
}

const TEST_CARDS: &[TestCard] = &[
    TestCard {
        token: "pm_card_visa",
        number: "4242424242424242",
        brand: "visa",
        decline: None,
    },
    TestCard {
        token: "pm_card_mastercard",
        number: "5555555555554444",
        brand: "mastercard",
        decline: None,
    },
    TestCard {
        token: "pm_card_chargeDeclined",
        number: "4000000000000002",
        brand: "visa",
        decline: Some(("generic_decline", "Your card was declined.")),
    },
    TestCard {
        token: "pm_card_chargeDeclinedInsufficientFunds",
        number: "4000000000009995",
        brand: "visa",
        decline: Some(("insufficient_funds", "Your card has insufficient funds.")),
    },
    TestCard {
        token: "pm_card_chargeDeclinedStolenCard",
        number: "4000000000009979",
        brand: "visa",
        decline: Some(("stolen_card", "Your card was declined.")),
    },
    TestCard {
        token: "pm_card_chargeDeclinedLostCard",
        number: "4000000000009987",
        brand: "visa",
        decline: Some(("lost_card", "Your card was declined.")),
    },
    TestCard {
        token: "pm_card_chargeDeclinedExpiredCard",
        number: "4000000000000069",
        brand: "visa",
        decline: Some(("expired_card", "Your card has expired.")),
    },
    TestCard {
        token: "pm_card_chargeDeclinedProcessingError",
        number: "4000000000000119",
        brand: "visa",
        decline: Some((
            "processing_error",
            "An error occurred while processing your card. Try again in a little bit.",
        )),
    },
];

fn test_card(token: &str) -> Option<&'static TestCard> {
    let token = if token == "tok_visa" {
        "pm_card_visa"
    } else {
        token
    };
    TEST_CARDS.iter().find(|c| c.token == token)
}

/// The card numbers the portal accepts in simulated mode, for help texts.
pub fn test_card_numbers() -> Vec<(&'static str, &'static str)> {
    TEST_CARDS
        .iter()
        .map(|c| (c.number, c.decline.map(|d| d.0).unwrap_or("success")))
        .collect()
}

pub struct SimulatedGateway {
    db: DatabaseConnection,
    webhooks: bool,
}

impl SimulatedGateway {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            webhooks: false,
        }
    }

    /// Also deliver a signed Stripe-shaped webhook for every charge and
    /// refund (see `webhooks::simulated`).
    #[must_use]
    pub fn with_webhooks(mut self, on: bool) -> Self {
        self.webhooks = on;
        self
    }

    /// Stores a record under its idempotency key unless the key is known;
    /// the first record of a key also writes its webhook's delivery job, in
    /// the same transaction.
    async fn record_once(&self, row: simulated_charge::ActiveModel) -> Result<(), GatewayError> {
        let db_err = |e: sea_orm::DbErr| GatewayError::Unavailable(e.to_string());
        let key = match &row.idempotency_key {
            sea_orm::ActiveValue::Set(key) | sea_orm::ActiveValue::Unchanged(key) => key.clone(),
            sea_orm::ActiveValue::NotSet => String::new(),
        };
        let tx = crate::db::begin_write(&self.db).await.map_err(db_err)?;
        let inserted = simulated_charge::Entity::insert(row)
            .on_conflict(
                OnConflict::column(simulated_charge::Column::IdempotencyKey)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&tx)
            .await
            .map_err(db_err)?;
        if inserted == 1 && self.webhooks {
            crate::outbox::enqueue(
                &tx,
                None,
                &crate::jobs::JobKind::DeliverSimulatedWebhook { key },
                None,
            )
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }
}

#[async_trait]
impl PaymentGateway for SimulatedGateway {
    async fn payment_method(&self, token: &str) -> Result<PaymentMethodDetails, GatewayError> {
        let card =
            test_card(token).ok_or_else(|| GatewayError::InvalidPaymentMethod(token.into()))?;
        Ok(PaymentMethodDetails {
            token: card.token.to_string(),
            brand: card.brand.to_string(),
            last4: card.number[card.number.len() - 4..].to_string(),
            exp_month: 12,
            exp_year: 2034,
        })
    }

    async fn charge(&self, request: &ChargeRequest) -> Result<ChargeOutcome, GatewayError> {
        let card = test_card(&request.payment_method_token).ok_or_else(|| {
            GatewayError::InvalidPaymentMethod(request.payment_method_token.clone())
        })?;
        let db_err = |e: sea_orm::DbErr| GatewayError::Unavailable(e.to_string());
        // Record the attempt under its key first; a second call with the same
        // key finds the first record and replays its outcome.
        self.record_once(simulated_charge::ActiveModel {
            idempotency_key: Set(request.idempotency_key.clone()),
            reference: Set(format!("sim_ch_{}", uuid::Uuid::now_v7().simple())),
            token: Set(card.token.to_string()),
            amount_minor: Set(request.amount_minor),
            currency: Set(request.currency.clone()),
            succeeded: Set(card.decline.is_none()),
            decline_code: Set(card.decline.map(|d| d.0.to_string())),
            created_at: Set(Utc::now()),
            refund_of: Set(None),
        })
        .await?;
        let stored = simulated_charge::Entity::find_by_id(request.idempotency_key.clone())
            .one(&self.db)
            .await
            .map_err(db_err)?
            .ok_or_else(|| GatewayError::Unavailable("charge record vanished".into()))?;
        if stored.amount_minor != request.amount_minor
            || stored.currency != request.currency
            || stored.token != card.token
        {
            return Err(GatewayError::IdempotencyMismatch);
        }
        if stored.succeeded {
            tracing::info!(reference = %stored.reference, amount = stored.amount_minor, "simulated charge succeeded");
            Ok(ChargeOutcome::Succeeded {
                reference: stored.reference,
            })
        } else {
            let code = stored
                .decline_code
                .unwrap_or_else(|| "generic_decline".into());
            let message = TEST_CARDS
                .iter()
                .filter_map(|c| c.decline)
                .find(|d| d.0 == code)
                .map(|d| d.1)
                .unwrap_or("Your card was declined.")
                .to_string();
            tracing::info!(%code, "simulated charge declined");
            Ok(ChargeOutcome::Declined { code, message })
        }
    }

    async fn refund(&self, request: &RefundRequest) -> Result<RefundOutcome, GatewayError> {
        use sea_orm::{ColumnTrait, QueryFilter};
        let db_err = |e: sea_orm::DbErr| GatewayError::Unavailable(e.to_string());
        if let Some(seen) = simulated_charge::Entity::find_by_id(request.idempotency_key.clone())
            .one(&self.db)
            .await
            .map_err(db_err)?
        {
            if seen.refund_of.as_deref() != Some(request.charge_reference.as_str())
                || seen.amount_minor != request.amount_minor
            {
                return Err(GatewayError::IdempotencyMismatch);
            }
            return Ok(if seen.succeeded {
                RefundOutcome::Succeeded {
                    reference: seen.reference,
                }
            } else {
                RefundOutcome::Failed {
                    reason: seen.decline_code.unwrap_or_default(),
                }
            });
        }
        let Some(charge) = simulated_charge::Entity::find()
            .filter(simulated_charge::Column::Reference.eq(request.charge_reference.clone()))
            .filter(simulated_charge::Column::Succeeded.eq(true))
            .filter(simulated_charge::Column::RefundOf.is_null())
            .one(&self.db)
            .await
            .map_err(db_err)?
        else {
            return Ok(RefundOutcome::Failed {
                reason: format!("no successful charge {}", request.charge_reference),
            });
        };
        let refunded = crate::money::checked_sum(
            simulated_charge::Entity::find()
                .filter(simulated_charge::Column::RefundOf.eq(request.charge_reference.clone()))
                .filter(simulated_charge::Column::Succeeded.eq(true))
                .all(&self.db)
                .await
                .map_err(db_err)?
                .iter()
                .map(|r| r.amount_minor),
        );
        let fits = request.amount_minor > 0
            && refunded
                .and_then(|r| r.checked_add(request.amount_minor))
                .is_some_and(|after| after <= charge.amount_minor);
        self.record_once(simulated_charge::ActiveModel {
            idempotency_key: Set(request.idempotency_key.clone()),
            reference: Set(format!("sim_re_{}", uuid::Uuid::now_v7().simple())),
            token: Set(charge.token),
            amount_minor: Set(request.amount_minor),
            currency: Set(request.currency.clone()),
            succeeded: Set(fits),
            decline_code: Set((!fits).then(|| "amount exceeds what is left to refund".to_string())),
            created_at: Set(Utc::now()),
            refund_of: Set(Some(request.charge_reference.clone())),
        })
        .await?;
        // Whoever inserted first decides; replay what is stored.
        Box::pin(self.refund(request)).await
    }

    fn tokenize_test_card(&self, number: &str) -> Result<String, GatewayError> {
        let digits: String = number.chars().filter(char::is_ascii_digit).collect();
        TEST_CARDS
            .iter()
            .find(|c| c.number == digits)
            .map(|c| c.token.to_string())
            .ok_or_else(|| GatewayError::InvalidPaymentMethod("card number".into()))
    }
}
