//! The mailer port: sends one built email. Its adapters (`adapters::mailer`)
//! write `.eml` files (embedded mode) or speak SMTP (production).

use async_trait::async_trait;
use lettre::Message;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("could not write the email file: {0}")]
    File(String),
    #[error("SMTP delivery failed: {0}")]
    Smtp(String),
    /// No SMTP conversation at all (connection refused or cut, timed out):
    /// the server is down, not the email wrong. Retried soon and without
    /// using up the job's attempts (see `outbox::retry_soon`).
    #[error("mail server unreachable: {0}")]
    Unreachable(String),
    #[error("invalid SMTP URL: {0}")]
    Config(String),
}

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, message: Message) -> Result<(), MailError>;
}
