use sea_orm::entity::prelude::*;

/// A logged-in dashboard session.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "staff_sessions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub staff_user_id: i64,
    /// The studio every request of this session is scoped to.
    pub studio_id: i64,
    /// SHA-256 of the cookie's 256-bit random token; the token itself is never stored.
    #[sea_orm(unique)]
    pub token_hash: String,
    /// Random per-session value the forms' CSRF tokens are derived from.
    pub csrf_secret: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
