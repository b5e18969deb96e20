#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;

/// A PaymentIntent of the simulated gateway: created first, confirmed
/// later. Its state is its charge (`simulated_gateway_charges` row whose
/// `reference` is this id): none yet = `requires_confirmation`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "simulated_payment_intents")]
pub struct Model {
    /// `sim_pi_...`
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The creation's idempotency key: the same key returns the same intent.
    #[sea_orm(unique)]
    pub create_key: String,
    /// Our payment's key (`metadata[idempotency_key]`), for finding it.
    pub payment_key: String,
    pub token: String,
    pub amount_minor: i64,
    pub currency: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
