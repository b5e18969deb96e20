#[allow(unused_imports)]
use crate::enums::*;
use crate::money::{Currency, Minor};
use sea_orm::entity::prelude::*;

/// A credit carried to a client's next invoice: the excess of a retainer
/// (and of credits carried before) over an invoice's total. Consumed whole,
/// once, by the next invoice priced for the client.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "client_credits")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub studio_id: i64,
    pub client_id: i64,
    pub currency: Currency,
    pub amount_minor: Minor,
    /// The invoice whose excess this is (one credit per invoice).
    #[sea_orm(unique)]
    pub source_invoice_id: i64,
    /// The invoice that used it; written only while `None`.
    pub applied_invoice_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub applied_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
