#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;

/// A studio's request that a client put a card on file (`requestCardSetup`):
/// the emailed link's token is `HMAC(secret, salt)`, stored only hashed.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "card_setups")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub studio_id: i64,
    pub client_id: i64,
    pub salt: String,
    #[sea_orm(unique)]
    pub token_hash: String,
    /// The link stops working after this.
    pub expires_at: DateTimeUtc,
    /// When a card was stored through this request (once).
    pub completed_at: Option<DateTimeUtc>,
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
