//! Everything a service needs: one per process, built from `Settings` by
//! the composition root (`app::compose`, which picks the adapters).

use crate::infra::secrets::AppSecret;
use crate::infra::settings::Settings;
use crate::ports::events::{BillingEvent, EventPublisher};
use crate::ports::gateway::PaymentGateway;
use crate::ports::mailer::Mailer;
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use tokio::sync::{Notify, broadcast};

#[derive(Clone)]
pub struct AppContext {
    pub db: DatabaseConnection,
    pub settings: Arc<Settings>,
    pub gateway: Arc<dyn PaymentGateway>,
    pub mailer: Arc<dyn Mailer>,
    pub secret: AppSecret,
    /// Woken after a commit that wrote outbox rows, so an in-process relay
    /// moves them at once instead of at its next poll.
    pub outbox_signal: Arc<Notify>,
    /// Where billing events go (in-process broadcast or Redis).
    pub events: Arc<dyn EventPublisher>,
    /// This process's live event stream, read by GraphQL subscriptions.
    pub live: broadcast::Sender<BillingEvent>,
    /// What "now" is, for everything: the one reader of the system time.
    pub clock: crate::kernel::clock::Clock,
    /// Emails marked `SENT` in rounds (`workflow::notify`).
    pub sent_marks: crate::infra::rounds::Rounds,
}

impl AppContext {
    pub fn portal_url(&self, portal_salt: &str) -> String {
        format!(
            "{}/pay/{}",
            self.settings.public_url(),
            self.secret.portal_token(portal_salt)
        )
    }
}
