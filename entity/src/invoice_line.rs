#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invoice_lines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub invoice_id: i64,
    pub position: i32,
    pub kind: LineKind,
    pub description: String,
    pub quantity: i32,
    pub unit_price_minor: i64,
    pub amount_minor: i64,
    pub taxable: bool,
    pub tax_minor: i64,
    /// This line's own discount plus its share of the invoice discount.
    pub discount_minor: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
