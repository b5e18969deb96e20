#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub studio_id: i64,
    pub invoice_id: i64,
    pub kind: NotificationKind,
    /// Distinguishes repeated notifications of one kind (reminder step, level...).
    pub step: String,
    pub recipient: String,
    pub subject: String,
    pub status: NotificationStatus,
    /// RFC 5322 Message-ID, stable across retries so receivers can de-duplicate.
    pub message_id: String,
    /// While `SENDING`: the lease of the worker that is sending it.
    pub claimed_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    /// Why the email failed for good (`FAILED`).
    pub error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
