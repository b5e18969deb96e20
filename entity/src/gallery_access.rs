#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "gallery_access")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub studio_id: i64,
    #[sea_orm(unique)]
    pub session_id: i64,
    pub client_id: i64,
    pub invoice_id: i64,
    pub level: GalleryLevel,
    pub expires_at: Option<DateTimeUtc>,
    pub username: String,
    /// argon2id PHC string; the password itself only ever exists in the email.
    pub password_hash: Option<String>,
    /// The gallery link is `/gallery/<HMAC(secret, link_salt)>`; set when the
    /// first link is made (galleries older than the links get one lazily).
    pub link_salt: Option<String>,
    /// SHA-256 of the link's token; the token itself is never stored.
    #[sea_orm(unique)]
    pub link_token_hash: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
