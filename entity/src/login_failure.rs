use sea_orm::entity::prelude::*;

/// Failed logins of one scope and subject (a source address, a gallery, a
/// staff account) within one bucket of the counting window.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_failures")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// What is counted: `gallery_address`, `gallery`, `staff_address`, `staff_account`.
    pub scope: String,
    /// The address, the gallery's id, or the SHA-256 of the staff email.
    pub subject: String,
    /// Start of the bucket, unix seconds.
    pub window_start: i64,
    pub failures: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
