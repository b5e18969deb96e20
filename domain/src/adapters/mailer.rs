//! The mailer adapters: `.eml` files (embedded mode) and SMTP through lettre
//! (production).

use crate::ports::mailer::{MailError, Mailer};
use async_trait::async_trait;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;

/// Writes each email as `<id>.eml` into a directory.
pub struct FileMailer {
    dir: PathBuf,
    transport: AsyncFileTransport<Tokio1Executor>,
}

impl FileMailer {
    pub fn new(dir: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            transport: AsyncFileTransport::new(&dir),
            dir,
        })
    }
}

#[async_trait]
impl Mailer for FileMailer {
    async fn send(&self, message: Message) -> Result<(), MailError> {
        let to = message
            .envelope()
            .to()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let id = self
            .transport
            .send(message)
            .await
            .map_err(|e| MailError::File(e.to_string()))?;
        let path = self.dir.join(format!("{id}.eml"));
        tracing::info!(%to, path = %path.display(), "email written");
        Ok(())
    }
}

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpMailer {
    /// `smtp://host:port` (plain, for local relays), `smtp://...?tls=required`,
    /// `smtps://user:pass@host` (implicit TLS), as lettre parses them.
    /// `timeout` bounds each SMTP command, so a hung server fails a send
    /// (which is retried) instead of holding it open.
    pub fn from_url(url: &str, timeout: std::time::Duration) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError::Config(e.to_string()))?
            .timeout(Some(timeout))
            .build();
        Ok(Self { transport })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, message: Message) -> Result<(), MailError> {
        self.transport.send(message).await.map(|_| ()).map_err(|e| {
            // No reply code: the conversation never happened or was cut.
            if e.status().is_none() && !e.is_client() && !e.is_tls() && !e.is_response() {
                MailError::Unreachable(e.to_string())
            } else {
                MailError::Smtp(e.to_string())
            }
        })
    }
}
