#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub provider: String,
    /// Unique per provider: a redelivered event is recognised and skipped.
    pub event_id: String,
    pub event_type: String,
    pub payload: String,
    pub status: WebhookStatus,
    pub detail: Option<String>,
    /// The gateway object the event is about (`pi_...`, `re_...`, `dp_...`).
    pub object_id: Option<String>,
    /// When the gateway created the event: ordering among one object's events.
    pub event_created_at: Option<DateTimeUtc>,
    pub received_at: DateTimeUtc,
    pub processed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
