#[allow(unused_imports)]
use crate::enums::*;
use crate::money::{Currency, Minor};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refunds")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub studio_id: i64,
    pub invoice_id: i64,
    pub payment_id: i64,
    pub amount_minor: Minor,
    pub currency: Currency,
    pub status: RefundStatus,
    /// Sent to the gateway; one key, at most one refund.
    #[sea_orm(unique)]
    pub idempotency_key: String,
    pub gateway_reference: Option<String>,
    pub reason: Option<String>,
    pub failure_message: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The attempt number in the key sent to the gateway.
    pub key_attempt: i32,
    /// When that key was first sent (gateways forget keys).
    pub key_sent_at: Option<DateTimeUtc>,
    /// The key of the studio's request when it was spread over several
    /// payments (`refundSession`): the same on each refund of the request.
    pub group_key: Option<String>,
    /// The share of the payment's card surcharge returned with
    /// `amount_minor` (the gateway returns the sum of both).
    pub surcharge_minor: Minor,
    /// The share of the payment's tip returned with it.
    pub tip_minor: Minor,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
