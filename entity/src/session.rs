#[allow(unused_imports)]
use crate::enums::*;
use crate::money::Minor;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub studio_id: i64,
    pub client_id: i64,
    pub package_id: Option<i64>,
    /// The package as sold when the session was scheduled (later price changes do not re-bill).
    pub package_name: Option<String>,
    pub package_price_minor: Option<Minor>,
    pub package_taxable: Option<bool>,
    pub title: String,
    pub scheduled_at: DateTimeUtc,
    pub status: SessionStatus,
    pub retainer_paid_minor: Minor,
    /// Comma-separated tax rate ids chosen for this session; `None` = studio defaults.
    pub tax_rate_ids: Option<String>,
    pub completed_at: Option<DateTimeUtc>,
    pub cancelled_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Invoice-wide discount as JSON (`domain::kernel::adjustments`), if any.
    pub discount: Option<String>,
    /// Fees as a JSON list (`domain::kernel::adjustments`).
    pub fees: String,
    /// The package's image pricing as sold (`packages.image_pricing`).
    pub image_pricing: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
