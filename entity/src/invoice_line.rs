#[allow(unused_imports)]
use crate::enums::*;
use crate::money::Minor;
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
    pub unit_price_minor: Minor,
    pub amount_minor: Minor,
    pub taxable: bool,
    pub tax_minor: Minor,
    /// This line's own discount plus its share of the invoice discount.
    pub discount_minor: Minor,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
