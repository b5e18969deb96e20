#[allow(unused_imports)]
use crate::enums::*;
use crate::money::{Currency, Minor};
use sea_orm::entity::prelude::*;

/// A booking's payment plan: its balance split into dated parts
/// (`payment_plan_part`). At most one `ACTIVE` plan per session.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_plans")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub studio_id: i64,
    pub session_id: i64,
    pub currency: Currency,
    /// What the parts add up to: the session's balance when the plan was set.
    pub total_minor: Minor,
    pub status: PlanStatus,
    /// Counted up by each edit of the plan's future parts (keys its email).
    pub revision: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub cancelled_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
