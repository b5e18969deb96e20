#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;

/// The simulated gateway's side of a hosted Checkout Session (what Stripe
/// keeps for a `cs_...`). Statuses are Stripe's lowercase words.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "simulated_checkout_sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub idempotency_key: String,
    pub amount_minor: i64,
    pub currency: String,
    pub product_name: String,
    pub client_reference_id: Option<String>,
    /// `metadata[invoice_id]`.
    pub invoice_ref: Option<String>,
    pub customer: Option<String>,
    pub success_url: String,
    pub cancel_url: String,
    pub setup_future_usage: bool,
    /// `open`, `complete` or `expired`.
    pub status: String,
    /// `unpaid` or `paid`.
    pub payment_status: String,
    pub payment_intent: Option<String>,
    pub card_token: Option<String>,
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// `payment` or `setup` (no amount; `payment_intent` then holds the
    /// SetupIntent `seti_sim_...`).
    pub mode: String,
    /// `setup_intent_data[metadata][card_setup]` of a setup session.
    pub setup_ref: Option<String>,
    /// Of `amount_minor`, the "Gratuity" line.
    pub tip_minor: i64,
    /// Of `amount_minor`, the "Card surcharge" line; positive, the session
    /// authorizes only (`capture_method=manual`) and is captured later.
    pub surcharge_minor: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
