#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub studio_id: Option<i64>,
    /// JSON of `domain::workflow::jobs::JobKind`.
    pub payload: String,
    /// One row per logical job: a second insert with the same key is a no-op.
    #[sea_orm(unique)]
    pub dedup_key: String,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub claimed_until: Option<DateTimeUtc>,
    pub enqueued_at: Option<DateTimeUtc>,
    pub done_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub request_id: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
