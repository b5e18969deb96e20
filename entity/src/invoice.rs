#[allow(unused_imports)]
use crate::enums::*;
use crate::money::{Currency, Minor};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invoices")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub studio_id: i64,
    /// A session has at most one invoice that is not `VOID`.
    pub session_id: i64,
    pub client_id: i64,
    /// The gap-free number, assigned at finalization; `None` for a draft.
    pub number: Option<String>,
    pub status: InvoiceStatus,
    pub currency: Currency,
    pub subtotal_minor: Minor,
    pub tax_minor: Minor,
    pub credit_minor: Minor,
    pub total_minor: Minor,
    pub amount_paid_minor: Minor,
    pub amount_due_minor: Minor,
    pub issued_at: DateTimeUtc,
    pub due_date: Date,
    pub paid_at: Option<DateTimeUtc>,
    /// Random salt for the portal token (HMAC of the app secret over id + salt).
    pub portal_salt: String,
    /// SHA-256 of the portal token, for lookup.
    #[sea_orm(unique)]
    pub portal_token_hash: String,
    /// Request id of the request that caused this invoice, for tracing.
    pub request_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub amount_refunded_minor: Minor,
    pub discount_minor: Minor,
    pub fee_minor: Minor,
    pub finalized_at: Option<DateTimeUtc>,
    pub voided_at: Option<DateTimeUtc>,
    pub settled_at: Option<DateTimeUtc>,
    pub void_reason: Option<String>,
    /// JSON `[{"name", "percent", "amount_minor"}]`: tax per rate, as priced.
    pub tax_breakdown: String,
    /// The void invoice this one replaces (reissue after void).
    pub reissued_from_id: Option<i64>,
    /// Idempotency key of the reissue that created this invoice.
    pub reissue_key: Option<String>,
    /// Post-payment credit notes (refunds by agreement): they lower what is
    /// owed, so `amount_due == total - credited - paid + refunded`.
    pub amount_credited_minor: Minor,
    /// The lines' prices include tax (the studio's setting when priced).
    pub prices_include_tax: bool,
    /// The part of the credit (retainer plus carried credits) above the
    /// invoice's gross total, which this invoice could not use.
    pub excess_credit_minor: Minor,
    /// What that excess became (the studio's setting when priced); `None`
    /// when there is no excess.
    pub excess_disposition: Option<RetainerExcess>,
    /// The part of `credit_minor` carried from earlier invoices' excess.
    pub carried_credit_minor: Minor,
    /// When the studio paid back the excess owed to the client
    /// (`REFUND_DUE`); `None` while it is still owed.
    pub credit_repaid_at: Option<DateTimeUtc>,
    /// The studio's reference for that repayment.
    pub credit_repaid_reference: Option<String>,
    /// `FINAL` (the session's invoice) or `INSTALLMENT` (one part of its
    /// payment plan, `plan_part_id`).
    pub kind: InvoiceKind,
    pub plan_part_id: Option<i64>,
    /// An installment billing the rest of its plan at once: the last part
    /// (`seq`) it bills from `plan_part_id`'s on; `None`: that part alone.
    pub plan_through_seq: Option<i32>,
    /// The part of `credit_minor` that the session's installments cover.
    pub plan_credit_minor: Minor,
    /// JSON `[{"label", "amount_minor"}]`: the rows `plan_credit_minor` is
    /// printed as, one per installment.
    pub plan_credits: String,
    /// The extra images this invoice bills (the final invoice's
    /// "Additional images" line, or a supplementary `EXTRAS` invoice) and
    /// their price before tax.
    pub extra_images: i32,
    pub extra_images_minor: Minor,
}

impl Model {
    /// The number to show: the assigned number, or `DRAFT` before finalization.
    pub fn display_number(&self) -> &str {
        self.number.as_deref().unwrap_or("DRAFT")
    }
}

/// The rows an invoice belongs to, so that one statement reads them with it
/// (`billing::documents::with_parties`).
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::studio::Entity",
        from = "Column::StudioId",
        to = "super::studio::Column::Id"
    )]
    Studio,
    #[sea_orm(
        belongs_to = "super::client::Entity",
        from = "Column::ClientId",
        to = "super::client::Column::Id"
    )]
    Client,
    #[sea_orm(
        belongs_to = "super::session::Entity",
        from = "Column::SessionId",
        to = "super::session::Column::Id"
    )]
    Session,
}

impl Related<super::studio::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Studio.def()
    }
}

impl Related<super::client::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Client.def()
    }
}

impl Related<super::session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Session.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
