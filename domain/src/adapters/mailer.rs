//! The mailer adapters: `.eml` files (embedded mode) and SMTP through lettre
//! (production).

use crate::ports::mailer::{MailError, Mailer};
use async_trait::async_trait;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes each email into a directory as a file a person can find by name:
/// `<date>_<time>_<kind>_<invoice number>_<recipient>_<unique>.eml`, e.g.
/// `2026-12-04_163005_invoice_INV-0007_noah@example.com_3f9a1c2e4b7d.eml` (sorted
/// by name, they are in the order sent). The file appears whole or not at
/// all: it is written under a temporary name, flushed to disk, then renamed.
pub struct FileMailer {
    dir: PathBuf,
}

impl FileMailer {
    pub fn new(dir: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }
}

/// The file name of `message` (without the directory): its date (the `Date`
/// header, UTC), its kind (from the `Message-ID`, `<invoice.42.1@host>`), the
/// invoice number its subject names, its recipient and a random suffix so
/// that two emails never share a file.
pub fn eml_file_name(message: &Message, unique: &str) -> String {
    let headers = message.headers();
    let sent_at = headers
        .get_raw("Date")
        .and_then(|d| chrono::DateTime::parse_from_rfc2822(d.trim()).ok())
        .map(|d| d.with_timezone(&chrono::Utc))
        .unwrap_or_else(chrono::Utc::now);
    // Two parts: `file_safe` keeps no `_` inside a part.
    let date = sent_at.format("%Y-%m-%d").to_string();
    let time = sent_at.format("%H%M%S").to_string();
    let kind = headers
        .get_raw("Message-ID")
        .and_then(|id| id.trim().trim_start_matches('<').split(['.', '@']).next())
        .filter(|k| !k.is_empty())
        .unwrap_or("email");
    let number = headers.get_raw("Subject").and_then(invoice_number_in);
    let to = message
        .envelope()
        .to()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("+");
    let parts = [
        Some(date),
        Some(time),
        Some(kind.to_string()),
        number,
        Some(to),
    ];
    let mut name = parts
        .into_iter()
        .flatten()
        .map(|p| file_safe(&p))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    name.push('_');
    name.push_str(&file_safe(unique));
    name.push_str(".eml");
    name
}

/// The invoice number a subject names: the word after "invoice"
/// (`Invoice INV-0007 from ...`, `Receipt for invoice INV-0007: ...`).
fn invoice_number_in(subject: &str) -> Option<String> {
    let words: Vec<&str> = subject.split_whitespace().collect();
    words
        .windows(2)
        .find(|w| w[0].eq_ignore_ascii_case("invoice"))
        .map(|w| w[1].trim_end_matches([':', ',', '.', ')']).to_string())
        .filter(|n| !n.is_empty())
}

/// Letters, digits and `@ . - +` kept; anything else (spaces, slashes,
/// `#`) becomes `-`; at most 60 characters per part.
fn file_safe(part: &str) -> String {
    part.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "@.-+".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(60)
        .collect::<String>()
        .trim_matches(['-', '.'])
        .to_string()
}

/// Writes `bytes` to `dir/name` whole: a temporary file (not `.eml`, so no
/// reader takes it for an email), synced, then renamed into place.
fn write_whole(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let path = dir.join(name);
    let temp = dir.join(format!(".{name}.tmp"));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, &path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written.map(|()| path)
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
        let unique = uuid::Uuid::new_v4().simple().to_string();
        let name = eml_file_name(&message, unique.get(..12).unwrap_or(&unique));
        let bytes = message.formatted();
        let dir = self.dir.clone();
        let path = tokio::task::spawn_blocking(move || write_whole(&dir, &name, &bytes))
            .await
            .map_err(|e| MailError::File(e.to_string()))?
            .map_err(|e| MailError::File(e.to_string()))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, subject: &str, to: &str) -> Message {
        Message::builder()
            .from("Golden Hour <billing@example.com>".parse().unwrap())
            .to(to.parse().unwrap())
            .subject(subject)
            .message_id(Some(id.to_string()))
            .date(
                chrono::DateTime::parse_from_rfc3339("2026-12-04T16:30:05Z")
                    .unwrap()
                    .into(),
            )
            .body("Hi Noah,".to_string())
            .unwrap()
    }

    /// "Noah's invoice" is found by name: date, kind, invoice number and
    /// recipient, each file whole and unique.
    #[tokio::test]
    async fn eml_files_are_named_for_a_person() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = FileMailer::new(dir.path().to_path_buf()).unwrap();
        let sent = [
            (
                "<invoice.7.1@example.com>",
                "Invoice GH-2026-0007 from Golden Hour",
                "Noah Chen <noah@example.com>",
            ),
            (
                "<receipt.7.12@example.com>",
                "Receipt for invoice GH-2026-0007: USD 10.00 paid",
                "noah@example.com",
            ),
            (
                "<gallery-credentials.7.1@example.com>",
                "Your photos from \"Wedding / Beach\" are ready",
                "noah@example.com",
            ),
        ];
        for (id, subject, to) in sent {
            mailer.send(message(id, subject, to)).await.unwrap();
        }
        // The same email twice is two files.
        let (id, subject, to) = sent[0];
        mailer.send(message(id, subject, to)).await.unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 4, "{names:?}");
        let starts = [
            "2026-12-04_163005_gallery-credentials_noah@example.com_",
            "2026-12-04_163005_invoice_GH-2026-0007_noah@example.com_",
            "2026-12-04_163005_invoice_GH-2026-0007_noah@example.com_",
            "2026-12-04_163005_receipt_GH-2026-0007_noah@example.com_",
        ];
        for (name, start) in names.iter().zip(starts) {
            assert!(
                name.starts_with(start) && name.ends_with(".eml"),
                "{name} should start with {start}"
            );
        }
        assert_ne!(names[1], names[2], "each email has its own file");
        let written = std::fs::read_to_string(dir.path().join(&names[1])).unwrap();
        assert!(
            written.contains("Subject: Invoice GH-2026-0007"),
            "{written}"
        );
    }
}
