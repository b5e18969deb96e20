#[allow(unused_imports)]
use crate::enums::*;
use crate::money::{Currency, Minor};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub studio_id: i64,
    pub invoice_id: i64,
    pub amount_minor: Minor,
    pub currency: Currency,
    pub status: PaymentStatus,
    pub source: PaymentSource,
    /// The key sent to the gateway; one key, at most one charge.
    #[sea_orm(unique)]
    pub idempotency_key: String,
    /// Gateway token charged (never a card number), so an unknown outcome can be resolved with the same key.
    pub payment_method_token: Option<String>,
    pub gateway_reference: Option<String>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub method: PaymentMethod,
    /// Check number, transfer reference...
    pub reference: Option<String>,
    pub amount_refunded_minor: Minor,
    pub disputed_at: Option<DateTimeUtc>,
    pub note: Option<String>,
    /// The gateway PaymentIntent (`pi_...`), stored before it is confirmed:
    /// an unknown outcome is settled by retrieving it.
    pub gateway_intent_id: Option<String>,
    /// The attempt number in the PaymentIntent's creation key.
    pub create_attempt: i32,
    /// When that creation key was first sent (gateways forget keys).
    pub create_sent_at: Option<DateTimeUtc>,
    /// The attempt number in the confirmation key.
    pub confirm_attempt: i32,
    /// When that confirmation key was first sent.
    pub confirm_sent_at: Option<DateTimeUtc>,
    /// The card surcharge charged on top of `amount_minor` (which is what
    /// the invoice received): the gateway took the sum of both.
    pub surcharge_minor: Minor,
    /// Of `surcharge_minor`, the tax on it (a studio that taxes its
    /// surcharge); zero otherwise.
    pub surcharge_tax_minor: Minor,
    /// The charged card's funding type, as the gateway said.
    pub card_funding: Option<String>,
    /// The tip the client added on top of `amount_minor` (outside the
    /// invoice, its tax and its fees).
    pub tip_minor: Minor,
    /// The payer whose own link paid (`invoice_payers`); none: the client.
    pub payer_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
