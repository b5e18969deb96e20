#[allow(unused_imports)]
use crate::enums::*;
use crate::money::Minor;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "packages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub studio_id: i64,
    pub name: String,
    pub description: String,
    pub price_minor: Minor,
    pub taxable: bool,
    pub active: bool,
    pub created_at: DateTimeUtc,
    /// The package's default payment plan, JSON (`kernel::plan::TemplatePart`);
    /// `None` when it has none.
    pub plan_template: Option<String>,
    /// Included images and the extras' prices, JSON
    /// (`domain::kernel::extras::ImagePricing`); `None`: no picks are sold.
    pub image_pricing: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
