#[allow(unused_imports)]
use crate::enums::*;
use crate::money::{Currency, Minor};
use sea_orm::entity::prelude::*;

/// A card payment's dispute (chargeback) at the gateway, and the evidence
/// the system answered it with.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "disputes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub studio_id: i64,
    pub invoice_id: i64,
    pub payment_id: i64,
    /// The gateway's id (`dp_...`).
    #[sea_orm(unique)]
    pub gateway_id: String,
    pub amount_minor: Minor,
    pub currency: Currency,
    pub reason: Option<String>,
    /// The gateway's status as last heard: `needs_response`,
    /// `under_review`, `won`, `lost`, `warning_*`...
    pub status: String,
    /// The last moment the gateway accepts evidence.
    pub evidence_due_by: Option<DateTimeUtc>,
    pub opened_at: DateTimeUtc,
    pub closed_at: Option<DateTimeUtc>,
    /// What was gathered (JSON, `followup::disputes::Evidence`).
    pub evidence: Option<String>,
    pub evidence_gathered_at: Option<DateTimeUtc>,
    /// When the studio (reviewing evidence) said to send it.
    pub approved_at: Option<DateTimeUtc>,
    /// Sendings begun; each looks at the dispute first.
    pub submission_attempts: i32,
    pub evidence_submitted_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
