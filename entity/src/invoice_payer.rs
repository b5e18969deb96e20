#[allow(unused_imports)]
use crate::enums::*;
use crate::money::{Currency, Minor};
use sea_orm::entity::prelude::*;

/// One of the payers who share an invoice: their share, their own portal
/// link and their own gateway Customer.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invoice_payers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub studio_id: i64,
    pub invoice_id: i64,
    /// 0 for the first payer, who takes any rounding remainder.
    pub position: i32,
    pub name: String,
    pub email: String,
    pub share_minor: Minor,
    pub currency: Currency,
    /// Wants automatic payments (a booking's auto-pay payer): offered to
    /// keep the card they pay with.
    pub auto_pay: bool,
    pub portal_salt: String,
    #[sea_orm(unique)]
    pub portal_token_hash: String,
    pub gateway_customer_id: Option<String>,
    pub created_at: DateTimeUtc,
    /// Set when the split was replaced before anyone paid: the link stops.
    pub removed_at: Option<DateTimeUtc>,
    /// The booking's payer this one was split from (`session_payers`).
    pub session_payer_id: Option<i64>,
    /// Their share is charged to their saved card (a booking's auto-pay
    /// payer with one): the invoice email goes to them only if it fails.
    pub charged: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
