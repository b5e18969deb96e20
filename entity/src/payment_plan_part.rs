#[allow(unused_imports)]
use crate::enums::*;
use crate::money::{Currency, Minor};
use sea_orm::entity::prelude::*;

/// One dated part of a payment plan: a payment request of its own.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_plan_parts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub plan_id: i64,
    pub studio_id: i64,
    /// 1 for the first part (the retainer when it is due at booking).
    pub seq: i32,
    pub amount_minor: Minor,
    pub currency: Currency,
    pub due_date: Date,
    pub status: PlanPartStatus,
    pub amount_paid_minor: Minor,
    pub paid_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
