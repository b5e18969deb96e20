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
    /// When the client asked for the digital supply to start within the
    /// withdrawal period (a studio in the EU/EEA or the UK), and from where.
    pub consent_at: Option<DateTimeUtc>,
    pub consent_address: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
