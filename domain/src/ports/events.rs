//! Billing events for live updates (GraphQL subscriptions).
//!
//! Events are notifications, not the record: they are published after the
//! transaction that caused them commits, at most once and best effort. The
//! database stays the source of truth that clients re-read.
//!
//! Embedded mode: one process, an in-process `broadcast`. Production: every
//! process publishes to a Redis channel, and every api process forwards that
//! channel into its own `broadcast`, which its subscriptions read.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::sync::broadcast;

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
    pub invoice_number: String,
    /// The invoice's status after the change.
    pub invoice_status: String,
    pub amount_due_minor: i64,
    pub currency: String,
    pub payment_id: Option<i64>,
    pub payment_status: Option<String>,
    pub payment_amount_minor: Option<i64>,
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

/// Embedded mode: straight into this process's broadcast.
pub struct LocalEvents(pub broadcast::Sender<BillingEvent>);

#[async_trait]
impl EventPublisher for LocalEvents {
    async fn publish(&self, event: BillingEvent) {
        // No receiver (nobody subscribed) is not an error.
        let _ = self.0.send(event);
    }
}

/// Production: onto a Redis channel that every api process listens to.
pub struct RedisEvents {
    conn: redis::aio::ConnectionManager,
    channel: String,
}

impl RedisEvents {
    pub async fn connect(url: &str, channel: String) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_response_timeout(Some(Duration::from_secs(5)));
        let conn = client.get_connection_manager_with_config(config).await?;
        Ok(Self { conn, channel })
    }
}

#[async_trait]
impl EventPublisher for RedisEvents {
    async fn publish(&self, event: BillingEvent) {
        let payload = match serde_json::to_string(&event) {
            Ok(p) => p,
            Err(err) => return tracing::warn!(error = %err, "event not serialisable"),
        };
        // The connection manager learns that Redis went away (restarted)
        // only from the command that fails on the dead connection ("broken
        // pipe"); it reconnects then. So a failed publish is tried once more,
        // on the new connection, instead of losing the first event after
        // every reconnect.
        for attempt in 1..=2 {
            match self.publish_once(&payload).await {
                Ok(()) => return,
                Err(err) if attempt == 1 => {
                    tracing::debug!(error = %err, "event not published; retrying once")
                }
                Err(err) => tracing::warn!(error = %err, "event not published"),
            }
        }
    }

    async fn health(&self) -> Result<(), String> {
        let mut conn = self.conn.clone();
        // Same as `publish`: the first command after an outage may meet the
        // dead connection; the second uses the reconnected one.
        let mut last = String::new();
        for _ in 0..2 {
            match redis::cmd("PING").query_async::<String>(&mut conn).await {
                Ok(_) => return Ok(()),
                Err(err) => last = err.to_string(),
            }
        }
        Err(last)
    }
}

impl RedisEvents {
    async fn publish_once(&self, payload: &str) -> redis::RedisResult<()> {
        let mut conn = self.conn.clone();
        redis::cmd("PUBLISH")
            .arg(&self.channel)
            .arg(payload)
            .query_async::<i64>(&mut conn)
            .await
            .map(|_| ())
    }
}

/// Forwards a Redis channel into a local broadcast for as long as the
/// process lives, reconnecting after errors.
pub fn forward_from_redis(
    url: String,
    channel: String,
    local: broadcast::Sender<BillingEvent>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(err) = forward_once(&url, &channel, &local).await {
                tracing::warn!(error = %err, "event subscription lost; reconnecting");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}

async fn forward_once(
    url: &str,
    channel: &str,
    local: &broadcast::Sender<BillingEvent>,
) -> anyhow::Result<()> {
    let client = redis::Client::open(url)?;
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    tracing::info!(channel, "listening for billing events");
    let mut messages = pubsub.on_message();
    while let Some(message) = messages.next().await {
        let payload: String = message.get_payload()?;
        match serde_json::from_str::<BillingEvent>(&payload) {
            Ok(event) => {
                let _ = local.send(event);
            }
            Err(err) => tracing::warn!(error = %err, "ignoring a malformed event"),
        }
    }
    Err(anyhow::anyhow!("event channel closed"))
}

/// The event describing an invoice's current state, optionally about one payment.
pub fn for_invoice(
    kind: EventKind,
    invoice: &entity::invoice::Model,
    payment: Option<&entity::payment::Model>,
) -> BillingEvent {
    BillingEvent {
        kind,
        studio_id: invoice.studio_id,
        invoice_id: invoice.id,
        invoice_number: invoice.display_number().to_string(),
        invoice_status: invoice.status.as_str().to_string(),
        amount_due_minor: invoice.amount_due_minor,
        currency: invoice.currency.clone(),
        payment_id: payment.map(|p| p.id),
        payment_status: payment.map(|p| p.status.as_str().to_string()),
        payment_amount_minor: payment.map(|p| p.amount_minor),
        failure_message: payment.and_then(|p| p.failure_message.clone()),
        at: Utc::now(),
    }
}
