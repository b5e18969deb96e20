//! The event publishers: an in-process `broadcast` (embedded mode) or a Redis
//! channel (production), and the forwarder that fans the Redis channel into
//! each api process's own `broadcast`.

use crate::ports::events::{BillingEvent, EventPublisher};
use async_trait::async_trait;
use futures::StreamExt;
use std::time::Duration;
use tokio::sync::broadcast;

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
