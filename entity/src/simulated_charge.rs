#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "simulated_gateway_charges")]
pub struct Model {
    /// The simulated gateway remembers every idempotency key it has seen, like a real one.
    #[sea_orm(primary_key, auto_increment = false)]
    pub idempotency_key: String,
    pub reference: String,
    pub token: String,
    pub amount_minor: i64,
    pub currency: String,
    pub succeeded: bool,
    pub decline_code: Option<String>,
    pub created_at: DateTimeUtc,
    /// For a refund: the reference of the charge it returns money from.
    pub refund_of: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
