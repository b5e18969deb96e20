//! The dashboard's disputes: each chargeback with its deadline, where its
//! evidence stands (with what it shows) and its outcome, whatever the
//! period, open ones first.

use crate::billing::disputes::EvidenceStage;
use crate::followup::disputes::Evidence;
use crate::infra::error::DomainResult;
use crate::kernel::money::Money;
use chrono::{DateTime, Utc};
use entity::{client, dispute, invoice, studio};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;

/// One dispute as the dashboard lists it.
#[derive(Debug, Clone)]
pub struct DisputeRow {
    pub id: i64,
    pub gateway_id: String,
    pub invoice_number: String,
    pub client_name: String,
    pub amount: Money,
    pub reason: Option<String>,
    /// The gateway's status (`needs_response`, `under_review`, `won`, `lost`).
    pub status: String,
    pub opened_at: DateTime<Utc>,
    pub due_by: Option<DateTime<Utc>>,
    pub closed: bool,
    pub stage: EvidenceStage,
    pub submitted_at: Option<DateTime<Utc>>,
    /// What the evidence shows: gallery logins and downloads after the
    /// payment, emails sent, documents sent.
    pub logins: usize,
    pub downloads: usize,
    pub emails: usize,
    pub documents: usize,
}

/// The studio's latest disputes, open ones first, at most `limit`.
pub async fn rows(
    db: &DatabaseConnection,
    studio: &studio::Model,
    limit: u64,
) -> DomainResult<Vec<DisputeRow>> {
    let disputes = dispute::Entity::find()
        .filter(dispute::Column::StudioId.eq(studio.id))
        .order_by_desc(dispute::Column::ClosedAt.is_null())
        .order_by_desc(dispute::Column::OpenedAt)
        .order_by_desc(dispute::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    if disputes.is_empty() {
        return Ok(Vec::new());
    }
    let invoices: HashMap<i64, invoice::Model> = invoice::Entity::find()
        .filter(invoice::Column::StudioId.eq(studio.id))
        .filter(invoice::Column::Id.is_in(disputes.iter().map(|d| d.invoice_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|i| (i.id, i))
        .collect();
    let names: HashMap<i64, String> = client::Entity::find()
        .filter(client::Column::StudioId.eq(studio.id))
        .filter(client::Column::Id.is_in(invoices.values().map(|i| i.client_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    Ok(disputes
        .into_iter()
        .map(|d| {
            let invoice = invoices.get(&d.invoice_id);
            let evidence = d
                .evidence
                .as_deref()
                .and_then(|raw| serde_json::from_str::<Evidence>(raw).ok());
            let count = |f: fn(&Evidence) -> usize| evidence.as_ref().map_or(0, f);
            DisputeRow {
                id: d.id,
                stage: EvidenceStage::of(&d, studio.review_dispute_evidence),
                invoice_number: invoice.map_or("—", |i| i.display_number()).to_string(),
                client_name: invoice
                    .and_then(|i| names.get(&i.client_id))
                    .cloned()
                    .unwrap_or_default(),
                amount: Money::new(d.amount_minor, d.currency),
                logins: count(|e| e.logins),
                downloads: count(|e| e.downloads),
                emails: count(|e| e.emails.len()),
                documents: count(|e| e.files.len()),
                gateway_id: d.gateway_id,
                reason: d.reason,
                status: d.status,
                opened_at: d.opened_at,
                due_by: d.evidence_due_by,
                closed: d.closed_at.is_some(),
                submitted_at: d.evidence_submitted_at,
            }
        })
        .collect())
}
