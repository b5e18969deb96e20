#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;

/// A photo of a session's gallery, hosted by the studio: `url` is the
/// full-resolution file (offered for download at `FULL` only), `preview_url`
/// a watermarked or low-resolution version shown at `PREVIEW`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "gallery_photos")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub studio_id: i64,
    pub session_id: i64,
    pub url: String,
    pub preview_url: Option<String>,
    pub title: Option<String>,
    pub position: i32,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
