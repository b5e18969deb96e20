#[allow(unused_imports)]
use crate::enums::*;
use crate::money::{Currency, Minor};
use sea_orm::entity::prelude::*;

/// One hosted Checkout Session the portal opened for an invoice.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "checkout_sessions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub studio_id: i64,
    pub invoice_id: i64,
    /// 1, 2, ... per invoice; part of the idempotency key.
    pub attempt: i32,
    /// `inv_{invoice}_checkout_{amount}_{attempt}`: sent once with these parameters.
    #[sea_orm(unique)]
    pub idempotency_key: String,
    pub amount_minor: Minor,
    pub currency: Currency,
    /// The client asked to keep the card for automatic payments.
    pub save_card: bool,
    pub expires_at: DateTimeUtc,
    /// `cs_...` once the gateway created it.
    #[sea_orm(unique)]
    pub gateway_session_id: Option<String>,
    pub url: Option<String>,
    pub status: CheckoutStatus,
    /// The payment this session settled, once settled.
    pub payment_id: Option<i64>,
    /// Why it is `MISMATCH` or `FAILED`.
    pub detail: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The tip chosen on the portal, charged on top of `amount_minor` as
    /// its own line ("Gratuity").
    pub tip_minor: Minor,
    /// The payer whose own link paid (`invoice_payers`); none: the client.
    pub payer_id: Option<i64>,
    /// What a credit card pays on top of `amount_minor` (the studio's card
    /// surcharge, fixed when the attempt is reserved). Positive: the
    /// session only authorizes, and the capture takes it only from a credit
    /// card (`checkout/held.rs`).
    pub surcharge_minor: Minor,
    /// Of `surcharge_minor`, the tax on it (a studio that taxes its
    /// surcharge).
    pub surcharge_tax_minor: Minor,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
