#[allow(unused_imports)]
use crate::enums::*;
use crate::money::{Currency, Minor};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "credit_notes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub studio_id: i64,
    /// The invoice this credit note credits: one for a void (cancelling
    /// what was still owed), one per refund by agreement.
    pub invoice_id: i64,
    pub number: String,
    pub amount_minor: Minor,
    pub currency: Currency,
    pub reason: String,
    pub created_at: DateTimeUtc,
    /// The refund this credit note accompanies; `None` for a void's note.
    #[sea_orm(unique)]
    pub refund_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
