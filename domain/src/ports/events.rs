//! Billing events for live updates (GraphQL subscriptions).
//!
//! Events are notifications, not the record: they are published after the
//! transaction that caused them commits, at most once and best effort. The
//! database stays the source of truth that clients re-read.
//!
//! The adapters (`adapters::events`): embedded mode, one process, an
//! in-process `broadcast`. Production: every process publishes to a Redis
//! channel, and every api process forwards that channel into its own
//! `broadcast`, which its subscriptions read.

use crate::kernel::money::{Currency, Minor};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventKind {
    InvoiceIssued,
    PaymentSucceeded,
    PaymentFailed,
    PaymentRefunded,
    InvoiceVoided,
    /// A cardholder disputed a payment (chargeback opened).
    PaymentDisputed,
    /// A dispute was closed, won or lost.
    DisputeClosed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingEvent {
    pub kind: EventKind,
    pub studio_id: i64,
    pub invoice_id: i64,
    /// The booking the invoice bills (every part of a plan shares it).
    #[serde(default)]
    pub session_id: i64,
    /// The plan part an installment invoice bills.
    #[serde(default)]
    pub plan_part_id: Option<i64>,
    pub invoice_number: String,
    /// The invoice's status after the change.
    pub invoice_status: String,
    pub amount_due_minor: Minor,
    pub currency: Currency,
    pub payment_id: Option<i64>,
    pub payment_status: Option<String>,
    pub payment_amount_minor: Option<Minor>,
    pub failure_message: Option<String>,
    pub at: DateTime<Utc>,
}

#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Best effort: a failure is logged, never returned to the caller.
    async fn publish(&self, event: BillingEvent);

    /// Whether the transport behind the events answers (readiness); the
    /// in-process broadcast always does.
    async fn health(&self) -> Result<(), String> {
        Ok(())
    }
}
