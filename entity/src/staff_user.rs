use sea_orm::entity::prelude::*;

/// A person who logs in to a studio's dashboard.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "staff_users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub studio_id: i64,
    /// Lower-cased; unique across all studios, so an email names one account.
    #[sea_orm(unique)]
    pub email: String,
    /// argon2id PHC string; never the password.
    pub password_hash: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
