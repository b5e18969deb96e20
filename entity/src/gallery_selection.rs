#[allow(unused_imports)]
use crate::enums::*;
use crate::money::Minor;
use sea_orm::entity::prelude::*;

/// A session's current gallery picks (one row per session): the photos, in
/// gallery order, and what their extras came to when submitted.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "gallery_selections")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub studio_id: i64,
    #[sea_orm(unique)]
    pub session_id: i64,
    /// JSON list of `gallery_photos.id`, in gallery order.
    pub photo_ids: String,
    pub picked: i32,
    pub extras: i32,
    pub extras_minor: Minor,
    pub submitted_by: PickedBy,
    pub submitted_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
