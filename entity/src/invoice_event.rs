#[allow(unused_imports)]
use crate::enums::*;
use crate::money::Minor;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invoice_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub studio_id: i64,
    pub invoice_id: i64,
    pub event: InvoiceEventKind,
    pub from_status: Option<InvoiceStatus>,
    pub to_status: Option<InvoiceStatus>,
    pub amount_minor: Option<Minor>,
    /// `system`, `api-key:<prefix>`, `portal`, `webhook:<provider>`.
    pub actor: String,
    pub detail: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
