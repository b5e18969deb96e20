#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;

/// A dispute the simulated gateway opened on one of its charges (test card
/// `pm_card_createDispute`), with the evidence it was sent.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "simulated_gateway_disputes")]
pub struct Model {
    /// `dp_sim_...`
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The disputed charge's PaymentIntent.
    #[sea_orm(unique)]
    pub charge_reference: String,
    pub amount_minor: i64,
    pub currency: String,
    /// `needs_response`, then `won` or `lost` once evidence is submitted.
    pub status: String,
    pub submission_count: i32,
    /// The evidence fields submitted (JSON object), as Stripe keeps them.
    pub evidence: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
