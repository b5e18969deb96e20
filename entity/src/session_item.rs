#[allow(unused_imports)]
use crate::enums::*;
use crate::money::Minor;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "session_items")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub session_id: i64,
    pub add_on_service_id: Option<i64>,
    pub description: String,
    pub quantity: i32,
    pub unit_price_minor: Minor,
    pub taxable: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
