#[allow(unused_imports)]
use crate::enums::*;
use crate::money::Minor;
use sea_orm::entity::prelude::*;

/// A studio's follow-up policy for unpaid invoices; a studio without a row
/// uses the default policy (`domain::followup::reminders::Policy::default`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reminder_policies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub studio_id: i64,
    pub enabled: bool,
    /// JSON list of days relative to the due date; the last is the final notice.
    pub offsets_days: String,
    pub window_start_hour: i32,
    pub window_end_hour: i32,
    pub late_fee_fixed_minor: Option<Minor>,
    /// Decimal percentage as text.
    pub late_fee_percent: Option<String>,
    pub late_fee_cap_minor: Option<Minor>,
    pub uncollectible_after_days: Option<i32>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
