#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tax_rates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub studio_id: i64,
    pub name: String,
    /// Percentage as a decimal string (`"9.975"`): exact on both databases.
    pub percent: String,
    /// Default rates apply to every session that does not pick its own.
    pub is_default: bool,
    pub active: bool,
    pub created_at: DateTimeUtc,
    /// Applies on top of the other (non-compound) taxes, e.g. Québec QST before 2013.
    pub compound: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
