//! The built-in simulated gateway, with its fault injection.
//!
//! The simulated gateway stands in for a live card network, which cannot run
//! here. It behaves like one where it matters: it knows Stripe's test tokens,
//! and it remembers every idempotency key it has seen (in its own table, so
//! across restarts and processes): the same key never charges twice.

use crate::infra::settings::SimulatedFaults;
use crate::kernel::clock::Clock;
use crate::ports::gateway::*;
use async_trait::async_trait;
use entity::{simulated_charge, simulated_intent};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};

use super::sim_cards::{declined, refund_outcome, test_card};

mod faults;

/// The simulated gateway's own store failed: like a gateway's outage.
pub(crate) fn db_err(e: sea_orm::DbErr) -> GatewayError {
    GatewayError::Unavailable(e.to_string())
}
pub(crate) use super::sim_cards::{simulated_card, simulated_card_details};
pub use super::sim_cards::{test_card_numbers, tokenize_test_card};

pub struct SimulatedGateway {
    db: DatabaseConnection,
    webhooks: bool,
    /// Where its hosted checkout page lives (`{public_url}/sim-checkout/{id}`).
    public_url: String,
    faults: SimulatedFaults,
    /// How many times this process has been called with each key (for
    /// `faulty_calls_per_key`).
    calls: std::sync::Mutex<std::collections::HashMap<String, u32>>,
    /// The time its records are stamped with (the context's clock).
    clock: Clock,
}

impl SimulatedGateway {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            webhooks: false,
            public_url: "http://127.0.0.1:8000".into(),
            faults: SimulatedFaults::default(),
            calls: std::sync::Mutex::default(),
            clock: Clock::system(),
        }
    }

    /// The deployment's public URL, for the hosted page's address.
    #[must_use]
    /// Stamps its records with `clock` (the context's), not the system time.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn with_public_url(mut self, url: String) -> Self {
        self.public_url = url;
        self
    }

    /// Injects the configured faults (`gateway.simulated_faults`).
    #[must_use]
    pub fn with_faults(mut self, faults: SimulatedFaults) -> Self {
        self.faults = faults;
        self
    }

    /// Also deliver a signed Stripe-shaped webhook for every charge and
    /// refund (see `sim_webhooks`).
    #[must_use]
    pub fn with_webhooks(mut self, on: bool) -> Self {
        self.webhooks = on;
        self
    }

    /// Stores a record under its idempotency key unless the key is known
    /// (`true`: this call stored it); the first record of a key also writes
    /// its webhook's delivery job, in the same transaction.
    async fn record_once(&self, row: simulated_charge::ActiveModel) -> Result<bool, GatewayError> {
        let key = match &row.idempotency_key {
            sea_orm::ActiveValue::Set(key) | sea_orm::ActiveValue::Unchanged(key) => key.clone(),
            sea_orm::ActiveValue::NotSet => String::new(),
        };
        let disputed = super::sim_disputes::disputed(&row, self.webhooks);
        let tx = crate::infra::db::begin_write(&self.db)
            .await
            .map_err(db_err)?;
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
            crate::workflow::next::after(
                &tx,
                crate::workflow::next::Change::SimulatedEvent { key, at: None },
                None,
                self.clock.now(),
            )
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        }
        if inserted == 1 {
            super::sim_disputes::open(&tx, disputed, self.clock.now()).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(inserted == 1)
    }
}

#[async_trait]
impl PaymentGateway for SimulatedGateway {
    async fn payment_method(&self, token: &str) -> Result<PaymentMethodDetails, GatewayError> {
        simulated_card_details(token)
            .ok_or_else(|| GatewayError::InvalidPaymentMethod(token.into()))
    }

    async fn create_intent(&self, request: &ChargeRequest) -> Result<String, GatewayError> {
        self.faulty(&request.idempotency_key, self.create_intent_now(request))
            .await
    }

    /// A zero-amount check (`sim_cards::check`).
    async fn verify_card(&self, request: &CardCheckRequest) -> Result<CardCheck, GatewayError> {
        let token = request.payment_method_token.clone();
        let check = async move { Ok(super::sim_cards::check(&token)) };
        self.faulty(&request.idempotency_key, check).await
    }

    async fn confirm_intent(
        &self,
        id: &str,
        idempotency_key: &str,
    ) -> Result<IntentState, GatewayError> {
        self.faulty(idempotency_key, self.confirm_intent_now(id))
            .await
    }

    async fn retrieve_intent(&self, id: &str) -> Result<IntentState, GatewayError> {
        // Reads can fail too; the key of a read is the object it reads.
        self.faulty(&format!("retrieve_{id}"), self.intent_state(id))
            .await
    }

    async fn find_intent(&self, payment_key: &str) -> Result<Option<String>, GatewayError> {
        use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
        Ok(simulated_intent::Entity::find()
            .filter(simulated_intent::Column::PaymentKey.eq(payment_key))
            .order_by_asc(simulated_intent::Column::CreatedAt)
            .one(&self.db)
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?
            .map(|i| i.id))
    }

    async fn refund(&self, request: &RefundRequest) -> Result<RefundOutcome, GatewayError> {
        self.faulty(&request.request_key, self.refund_now(request))
            .await
    }

    async fn upload_evidence(&self, file: &EvidenceFile) -> Result<String, GatewayError> {
        let upload = async { super::sim_disputes::upload(file) };
        self.faulty(&file.idempotency_key, upload).await
    }

    async fn submit_evidence(
        &self,
        submission: &EvidenceSubmission,
    ) -> Result<DisputeState, GatewayError> {
        let now = self.clock.now();
        let submit = super::sim_disputes::submit(&self.db, submission, now);
        self.faulty(&submission.idempotency_key, submit).await
    }

    async fn retrieve_dispute(&self, id: &str) -> Result<DisputeState, GatewayError> {
        let read = super::sim_disputes::retrieve(&self.db, id);
        self.faulty(&format!("retrieve_{id}"), read).await
    }

    async fn retrieve_refund(&self, id: &str) -> Result<RefundOutcome, GatewayError> {
        use sea_orm::{ColumnTrait, QueryFilter};
        let found = simulated_charge::Entity::find()
            .filter(simulated_charge::Column::Reference.eq(id))
            .filter(simulated_charge::Column::RefundOf.is_not_null())
            .one(&self.db)
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?
            .ok_or_else(|| GatewayError::Unavailable(format!("no refund {id}")))?;
        Ok(refund_outcome(found))
    }

    async fn find_refund(
        &self,
        charge_reference: &str,
        refund_key: &str,
    ) -> Result<Option<RefundOutcome>, GatewayError> {
        Ok(simulated_charge::Entity::find_by_id(refund_key.to_string())
            .one(&self.db)
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?
            .filter(|r| r.refund_of.as_deref() == Some(charge_reference))
            .map(refund_outcome))
    }

    async fn create_customer(&self, request: &CustomerRequest) -> Result<String, GatewayError> {
        // Derived from the client, so asking again returns the same one.
        Ok(format!("cus_sim_{}", request.client_ref))
    }

    async fn find_customer(
        &self,
        request: &CustomerRequest,
    ) -> Result<Option<String>, GatewayError> {
        // Every client has its (derived) Customer here: creating one never
        // fails, so there is nothing else to find.
        Ok(Some(format!("cus_sim_{}", request.client_ref)))
    }

    async fn find_checkout(
        &self,
        lookup: &CheckoutLookup,
    ) -> Result<Option<CheckoutSession>, GatewayError> {
        crate::adapters::sim_checkout::find_by_key(
            &self.db,
            &self.public_url,
            self.webhooks,
            lookup,
            self.clock.now(),
        )
        .await
    }

    async fn find_setup_checkout(
        &self,
        lookup: &CheckoutLookup,
    ) -> Result<Option<SetupSession>, GatewayError> {
        crate::adapters::sim_checkout::find_setup_by_key(
            &self.db,
            &self.public_url,
            self.webhooks,
            lookup,
            self.clock.now(),
        )
        .await
    }

    async fn create_checkout(
        &self,
        request: &CheckoutRequest,
    ) -> Result<CheckoutSession, GatewayError> {
        crate::adapters::sim_checkout::create(
            &self.db,
            &self.public_url,
            self.webhooks,
            request,
            self.clock.now(),
        )
        .await
    }

    async fn retrieve_checkout(&self, id: &str) -> Result<CheckoutSession, GatewayError> {
        crate::adapters::sim_checkout::retrieve(
            &self.db,
            &self.public_url,
            self.webhooks,
            id,
            self.clock.now(),
        )
        .await
    }

    async fn capture_intent(&self, request: &CaptureRequest) -> Result<Captured, GatewayError> {
        let capture = crate::adapters::sim_checkout::capture(&self.db, request, self.clock.now());
        self.faulty(&request.idempotency_key, capture).await
    }

    async fn expire_checkout(&self, id: &str) -> Result<CheckoutSession, GatewayError> {
        crate::adapters::sim_checkout::expire(
            &self.db,
            &self.public_url,
            self.webhooks,
            id,
            self.clock.now(),
        )
        .await
    }

    async fn create_setup_checkout(
        &self,
        request: &SetupCheckoutRequest,
    ) -> Result<SetupSession, GatewayError> {
        crate::adapters::sim_checkout::create_setup(
            &self.db,
            &self.public_url,
            request,
            self.clock.now(),
        )
        .await
    }

    async fn retrieve_setup_checkout(&self, id: &str) -> Result<SetupSession, GatewayError> {
        crate::adapters::sim_checkout::retrieve_setup(
            &self.db,
            &self.public_url,
            self.webhooks,
            id,
            self.clock.now(),
        )
        .await
    }

    async fn setup_intent_card(
        &self,
        id: &str,
    ) -> Result<Option<PaymentMethodDetails>, GatewayError> {
        crate::adapters::sim_checkout::card_of_intent(&self.db, id).await
    }

    async fn payment_intent_card(
        &self,
        id: &str,
    ) -> Result<Option<PaymentMethodDetails>, GatewayError> {
        crate::adapters::sim_checkout::card_of_intent(&self.db, id).await
    }
}

impl SimulatedGateway {
    /// Creates the intent under its key (the same key finds the same one).
    async fn create_intent_now(&self, request: &ChargeRequest) -> Result<String, GatewayError> {
        let card = test_card(&request.payment_method_token).ok_or_else(|| {
            GatewayError::InvalidPaymentMethod(request.payment_method_token.clone())
        })?;
        // One statement whether the key is new or known: a known key's
        // conflict "updates" its row to itself, so its row is returned.
        let stored = simulated_intent::Entity::insert(simulated_intent::ActiveModel {
            id: Set(format!("sim_pi_{}", uuid::Uuid::now_v7().simple())),
            create_key: Set(request.idempotency_key.clone()),
            payment_key: Set(request.payment_key.clone()),
            token: Set(card.token.to_string()),
            amount_minor: Set(request.amount.minor.get()),
            currency: Set(request.amount.currency.code().to_string()),
            created_at: Set(self.clock.now()),
        })
        .on_conflict(
            OnConflict::column(simulated_intent::Column::CreateKey)
                .update_column(simulated_intent::Column::CreateKey)
                .to_owned(),
        )
        .exec_with_returning(&self.db)
        .await
        .map_err(db_err)?;
        if stored.amount_minor != request.amount.minor.get()
            || stored.currency != request.amount.currency.code()
            || stored.token != card.token
            || stored.payment_key != request.payment_key
        {
            return Err(GatewayError::IdempotencyMismatch);
        }
        Ok(stored.id)
    }

    /// Charges the intent's card once: the charge is recorded under our
    /// payment's key with the intent's id as its reference, so a second
    /// confirmation (any key) finds it and charges nothing.
    async fn confirm_intent_now(&self, id: &str) -> Result<IntentState, GatewayError> {
        let intent = simulated_intent::Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await
            .map_err(db_err)?
            .ok_or_else(|| GatewayError::Unavailable(format!("no PaymentIntent {id}")))?;
        let card = test_card(&intent.token)
            .ok_or_else(|| GatewayError::InvalidPaymentMethod(intent.token.clone()))?;
        let recorded = self
            .record_once(simulated_charge::ActiveModel {
                idempotency_key: Set(intent.payment_key.clone()),
                reference: Set(intent.id.clone()),
                token: Set(card.token.to_string()),
                amount_minor: Set(intent.amount_minor),
                currency: Set(intent.currency.clone()),
                succeeded: Set(card.decline.is_none()),
                decline_code: Set(card.decline.map(|d| d.0.to_string())),
                created_at: Set(self.clock.now()),
                refund_of: Set(None),
            })
            .await?;
        // A charge recorded just now is this intent's, as written; a key
        // already known may be another intent's charge of the same payment.
        let state = match (recorded, card.decline) {
            (true, None) => IntentState::Settled(ChargeOutcome::Succeeded {
                reference: intent.id.clone(),
            }),
            (true, Some((code, _))) => declined(code.to_string()),
            (false, _) => self.intent_state(id).await?,
        };
        match &state {
            IntentState::Settled(ChargeOutcome::Succeeded { reference }) => {
                tracing::info!(%reference, amount = intent.amount_minor, "simulated charge succeeded");
            }
            IntentState::Settled(ChargeOutcome::Declined { code, .. }) => {
                tracing::info!(%code, "simulated charge declined");
            }
            _ => {}
        }
        Ok(state)
    }

    /// What an intent is now: its charge's outcome, or unconfirmed.
    async fn intent_state(&self, id: &str) -> Result<IntentState, GatewayError> {
        use sea_orm::{ColumnTrait, QueryFilter};
        if simulated_intent::Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await
            .map_err(db_err)?
            .is_none()
        {
            return Err(GatewayError::Unavailable(format!("no PaymentIntent {id}")));
        }
        let charge = simulated_charge::Entity::find()
            .filter(simulated_charge::Column::Reference.eq(id))
            .filter(simulated_charge::Column::RefundOf.is_null())
            .one(&self.db)
            .await
            .map_err(db_err)?;
        let Some(stored) = charge else {
            return Ok(IntentState::RequiresConfirmation);
        };
        if stored.succeeded {
            return Ok(IntentState::Settled(ChargeOutcome::Succeeded {
                reference: stored.reference,
            }));
        }
        Ok(declined(
            stored
                .decline_code
                .unwrap_or_else(|| "generic_decline".into()),
        ))
    }

    async fn refund_now(&self, request: &RefundRequest) -> Result<RefundOutcome, GatewayError> {
        use sea_orm::{ColumnTrait, QueryFilter};
        if let Some(seen) = simulated_charge::Entity::find_by_id(request.idempotency_key.clone())
            .one(&self.db)
            .await
            .map_err(db_err)?
        {
            if seen.refund_of.as_deref() != Some(request.charge_reference.as_str())
                || seen.amount_minor != request.amount.minor.get()
            {
                return Err(GatewayError::IdempotencyMismatch);
            }
            return Ok(refund_outcome(seen));
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
        let refunded = crate::kernel::money::checked_sum(
            simulated_charge::Entity::find()
                .filter(simulated_charge::Column::RefundOf.eq(request.charge_reference.clone()))
                .filter(simulated_charge::Column::Succeeded.eq(true))
                .all(&self.db)
                .await
                .map_err(db_err)?
                .iter()
                .map(|r| crate::kernel::money::Minor::new(r.amount_minor)),
        );
        let fits = request.amount.minor.is_positive()
            && refunded
                .and_then(|r| r.checked_add(request.amount.minor))
                .is_some_and(|after| after.get() <= charge.amount_minor);
        self.record_once(simulated_charge::ActiveModel {
            idempotency_key: Set(request.idempotency_key.clone()),
            reference: Set(format!("sim_re_{}", uuid::Uuid::now_v7().simple())),
            token: Set(charge.token),
            amount_minor: Set(request.amount.minor.get()),
            currency: Set(request.amount.currency.code().to_string()),
            succeeded: Set(fits),
            decline_code: Set((!fits).then(|| "amount exceeds what is left to refund".to_string())),
            created_at: Set(self.clock.now()),
            refund_of: Set(Some(request.charge_reference.clone())),
        })
        .await?;
        // Whoever inserted first decides; replay what is stored.
        Box::pin(self.refund_now(request)).await
    }
}
