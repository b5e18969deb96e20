#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;

/// One line of a gallery's log: a login, a page view or a full-resolution
/// download, with the address and user agent it came from.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "gallery_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub studio_id: i64,
    pub session_id: i64,
    pub kind: GalleryEventKind,
    pub photo_id: Option<i64>,
    pub address: Option<String>,
    pub user_agent: Option<String>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
