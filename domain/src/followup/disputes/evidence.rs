//! What a dispute is answered with, gathered from what the system holds:
//! who the client is, what they bought and when it was delivered, the
//! gallery's log after the payment (logins and full-resolution
//! downloads, with address and browser), every email the client was sent
//! about the session, the studio's refund policy, and the invoice and
//! receipt as documents. Gathered once, when the dispute opens (the
//! gallery's log is pruned later), and stored on the dispute as
//! [`Evidence`]: what the studio reviews is what is sent.

use crate::billing::documents::InvoiceDocument;
use crate::billing::labels::payment_label;
use crate::infra::context::AppContext;
use crate::infra::error::DomainResult;
use chrono::{DateTime, Utc};
use entity::enums::{GalleryEventKind, NotificationStatus};
use entity::{dispute, gallery_event, gallery_photo, invoice, notification};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// At most this many lines of the gallery's log are sent (Stripe limits a
/// dispute's text to 150,000 characters).
const MAX_LOG_LINES: u64 = 300;

/// A dispute's evidence as gathered (and, once sent, with the ids of the
/// documents that went with it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub customer_name: String,
    pub customer_email_address: String,
    pub product_description: String,
    /// `YYYY-MM-DD`: the day of the session.
    pub service_date: String,
    /// The gallery's logins and downloads after the payment, one per line.
    pub access_activity_log: String,
    /// How many of those were logins and downloads.
    pub logins: usize,
    pub downloads: usize,
    /// The emails the client was sent about the session, one per line.
    pub emails: Vec<String>,
    /// The studio's refund policy, if it has one.
    pub refund_policy: Option<String>,
    /// What the evidence shows, in a paragraph.
    pub summary: String,
    /// Each document sent: Stripe's field → the gateway's file id.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
}

impl Evidence {
    /// Stripe's text fields, in the order they are sent.
    pub fn text_fields(&self) -> Vec<(String, String)> {
        let mut fields = vec![
            ("customer_name", self.customer_name.clone()),
            (
                "customer_email_address",
                self.customer_email_address.clone(),
            ),
            ("product_description", self.product_description.clone()),
            ("service_date", self.service_date.clone()),
            ("uncategorized_text", self.summary.clone()),
        ];
        if !self.access_activity_log.is_empty() {
            fields.push(("access_activity_log", self.access_activity_log.clone()));
        }
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }
}

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Gathers the evidence of `dispute` as the database holds it now.
pub async fn gather(ctx: &AppContext, dispute: &dispute::Model) -> DomainResult<Evidence> {
    let doc = InvoiceDocument::load_by_id(ctx, dispute.invoice_id).await?;
    let paid = doc
        .payments
        .iter()
        .find(|p| p.id == dispute.payment_id)
        .ok_or_else(|| anyhow::anyhow!("payment {} of the dispute missing", dispute.payment_id))?;
    let session = &doc.session;
    let log = access_log(ctx, session.studio_id, session.id, paid.created_at).await?;
    let emails = emails_of(ctx, session.studio_id, session.id).await?;
    let number = doc.invoice.display_number().to_string();
    let service_date = session.scheduled_at.format("%Y-%m-%d").to_string();
    let package = session
        .package_name
        .as_deref()
        .map(|p| format!(" ({p})"))
        .unwrap_or_default();
    let product_description = format!(
        "Photography session \"{}\"{package} on {service_date} by {}, with the photographs delivered in a private online gallery. Invoice {number}, total {}.",
        session.title,
        doc.studio.name,
        doc.money(doc.invoice.total_minor),
    );
    let mut summary = format!(
        "{} booked the photography session \"{}\", held on {service_date}. Invoice {number} was issued on {} and paid {} on {} with {}.",
        doc.client.name,
        session.title,
        doc.invoice.issued_at.format("%Y-%m-%d"),
        doc.money(paid.amount_minor),
        paid.created_at.format("%Y-%m-%d"),
        payment_label(paid),
    );
    let used: Vec<String> = [
        (log.logins, "logged in to the gallery {} time(s)"),
        (log.downloads, "downloaded {} photo(s) at full resolution"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| what.replace("{}", &n.to_string()))
    .collect();
    if !used.is_empty() {
        summary.push_str(&format!(
            " After paying, the client {} (access_activity_log).",
            used.join(" and ")
        ));
    }
    if !emails.is_empty() {
        summary.push_str(&format!(
            " The studio sent the client {} email(s) about the session, listed in customer_communication; the invoice and the receipt are attached.",
            emails.len()
        ));
    }
    Ok(Evidence {
        customer_name: doc.client.name.clone(),
        customer_email_address: doc.client.email.clone(),
        product_description,
        service_date,
        access_activity_log: log.lines.join("\n"),
        logins: log.logins,
        downloads: log.downloads,
        emails,
        refund_policy: doc
            .studio
            .refund_policy
            .clone()
            .filter(|p| !p.trim().is_empty()),
        summary,
        files: BTreeMap::new(),
    })
}

struct AccessLog {
    lines: Vec<String>,
    logins: usize,
    downloads: usize,
}

/// The session gallery's logins and downloads since `since` (the
/// payment), oldest first.
async fn access_log(
    ctx: &AppContext,
    studio_id: i64,
    session_id: i64,
    since: DateTime<Utc>,
) -> DomainResult<AccessLog> {
    let events = gallery_event::Entity::find()
        .filter(gallery_event::Column::StudioId.eq(studio_id))
        .filter(gallery_event::Column::SessionId.eq(session_id))
        .filter(gallery_event::Column::At.gte(since))
        .filter(
            gallery_event::Column::Kind
                .is_in([GalleryEventKind::Login, GalleryEventKind::Download]),
        )
        .order_by_asc(gallery_event::Column::At)
        .order_by_asc(gallery_event::Column::Id)
        .limit(MAX_LOG_LINES)
        .all(&ctx.db)
        .await?;
    let photos: HashMap<i64, gallery_photo::Model> = gallery_photo::Entity::find()
        .filter(gallery_photo::Column::StudioId.eq(studio_id))
        .filter(gallery_photo::Column::SessionId.eq(session_id))
        .all(&ctx.db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let mut log = AccessLog {
        lines: Vec::with_capacity(events.len()),
        logins: 0,
        downloads: 0,
    };
    for event in events {
        let what = match event.kind {
            GalleryEventKind::Download => {
                log.downloads += 1;
                let photo = event.photo_id.and_then(|id| photos.get(&id));
                let name = photo
                    .and_then(|p| p.title.clone())
                    .or_else(|| photo.map(|p| format!("photo {}", p.position)))
                    .unwrap_or_else(|| "a photo".into());
                format!("downloaded {name} at full resolution")
            }
            _ => {
                log.logins += 1;
                "logged in to the gallery".to_string()
            }
        };
        log.lines.push(format!(
            "{} {what} from {} ({})",
            stamp(event.at),
            event.address.as_deref().unwrap_or("unknown address"),
            event.user_agent.as_deref().unwrap_or("unknown browser"),
        ));
    }
    Ok(log)
}

/// Every email sent about the session's invoices, oldest first.
async fn emails_of(ctx: &AppContext, studio_id: i64, session_id: i64) -> DomainResult<Vec<String>> {
    let invoices: Vec<i64> = invoice::Entity::find()
        .select_only()
        .column(invoice::Column::Id)
        .filter(invoice::Column::StudioId.eq(studio_id))
        .filter(invoice::Column::SessionId.eq(session_id))
        .into_tuple()
        .all(&ctx.db)
        .await?;
    let sent = notification::Entity::find()
        .filter(notification::Column::StudioId.eq(studio_id))
        .filter(notification::Column::InvoiceId.is_in(invoices))
        .filter(notification::Column::Status.eq(NotificationStatus::Sent))
        .order_by_asc(notification::Column::SentAt)
        .order_by_asc(notification::Column::Id)
        .all(&ctx.db)
        .await?;
    Ok(sent
        .into_iter()
        .map(|n| {
            format!(
                "{} to {}: \"{}\"",
                n.sent_at.map_or_else(|| "-".into(), stamp),
                n.recipient,
                n.subject
            )
        })
        .collect())
}

/// The documents sent with the evidence: Stripe's field, a file name, the PDF.
pub fn documents(
    doc: &InvoiceDocument,
    dispute: &dispute::Model,
    evidence: &Evidence,
) -> DomainResult<Vec<(&'static str, String, Vec<u8>)>> {
    let number = doc.invoice.display_number().to_string();
    let mut files = vec![(
        "service_documentation",
        format!("Invoice-{number}.pdf"),
        doc.pdf(None)?,
    )];
    if let Some(paid) = doc.payments.iter().find(|p| p.id == dispute.payment_id) {
        files.push((
            "receipt",
            format!("Receipt-{number}.pdf"),
            doc.receipt_pdf(paid)?,
        ));
    }
    let studio = doc.studio.name.as_str();
    let letter = |title: &str, heading: &'static str, paras: Vec<String>| {
        crate::billing::pdf::render_letter(studio, title, &[(heading, paras)])
            .map_err(|e| anyhow::anyhow!("rendering {title}: {e}"))
    };
    if !evidence.emails.is_empty() {
        let title = format!("Emails sent to {}", evidence.customer_name);
        let emails = letter(
            &title,
            "Sent (time, address, subject)",
            evidence.emails.clone(),
        )?;
        files.push(("customer_communication", "Emails.pdf".into(), emails));
    }
    if let Some(policy) = &evidence.refund_policy {
        let paras = policy.lines().map(str::to_string).collect();
        let policy = letter("Refund policy", "Refund policy", paras)?;
        files.push(("refund_policy", "Refund-policy.pdf".into(), policy));
    }
    Ok(files)
}
