#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;

/// One Checkout Session (`mode=setup`) the card-setup page opened.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "card_setup_sessions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub card_setup_id: i64,
    pub studio_id: i64,
    pub client_id: i64,
    /// 1, 2, ... per setup request; part of the idempotency key.
    pub attempt: i32,
    /// `setup_{request}_checkout_{attempt}`: sent once with these parameters;
    /// also the SetupIntent's `metadata[card_setup]`.
    #[sea_orm(unique)]
    pub idempotency_key: String,
    pub expires_at: DateTimeUtc,
    /// `cs_...` once the gateway created it.
    #[sea_orm(unique)]
    pub gateway_session_id: Option<String>,
    pub url: Option<String>,
    /// `CREATING`, `OPEN`, `COMPLETE` (the card is stored) or `EXPIRED`.
    pub status: CheckoutStatus,
    /// The stored payment method (`pm_...`), once complete.
    pub payment_method: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
