#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;

/// One payer of a booking: their percentage of every invoice of the
/// session issued from then on (each plan part, the final invoice).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "session_payers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub studio_id: i64,
    pub session_id: i64,
    /// 0 for the first payer, who takes any rounding remainder.
    pub position: i32,
    pub name: String,
    pub email: String,
    /// Of each invoice's amount due, as plain decimal text (`"40"`).
    pub percent: String,
    /// Their share of each later invoice is charged to their saved card.
    pub auto_pay: bool,
    pub gateway_customer_id: Option<String>,
    /// The card saved when they paid a share (token, brand, last 4, funding).
    pub pm_token: Option<String>,
    pub pm_brand: Option<String>,
    pub pm_last4: Option<String>,
    pub pm_funding: Option<String>,
    pub created_at: DateTimeUtc,
    /// Set when the studio replaced or cleared the booking's payers.
    pub removed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
