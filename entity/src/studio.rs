#[allow(unused_imports)]
use crate::enums::*;
use crate::money::{Currency, Minor};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "studios")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    /// ISO 4217 code, e.g. `USD`.
    pub currency: Currency,
    /// IANA time zone, e.g. `America/Toronto`.
    pub time_zone: String,
    pub payment_terms_days: i32,
    pub invoice_prefix: String,
    /// Whether package/add-on prices already include tax.
    pub prices_include_tax: bool,
    pub gallery_full_days: i32,
    pub gallery_unpaid_level: GalleryLevel,
    pub gallery_unpaid_days: i32,
    pub created_at: DateTimeUtc,
    /// Invoice number pattern, e.g. `{PREFIX}-{YYYY}-{SEQ:4}`.
    pub invoice_number_format: String,
    pub rounding: Rounding,
    pub tax_id: Option<String>,
    /// Postal address, one line per line.
    pub address: String,
    pub email: Option<String>,
    /// How long a portal link keeps working after the invoice is settled.
    pub portal_link_days: i32,
    /// Gallery level while an invoice is partially paid.
    pub gallery_partial_level: GalleryLevel,
    /// Days before gallery access expires that the client is told.
    pub gallery_expiry_notice_days: i32,
    /// Receives signed `gallery.access_changed` webhooks; `None` = none.
    pub gallery_webhook_url: Option<String>,
    /// New invoices stop at `DRAFT` until the studio finalizes them.
    pub review_drafts: bool,
    /// Gallery level once an invoice's payments are refunded in full.
    pub gallery_refunded_level: GalleryLevel,
    pub phone: Option<String>,
    /// An https URL of the studio's logo, shown on documents and emails.
    pub logo_url: Option<String>,
    /// What becomes of a retainer above an invoice's total.
    pub retainer_excess: RetainerExcess,
    /// The local hour (0-23, in the client's zone, else the studio's) at
    /// which a payment-plan part due on a day is charged or emailed.
    pub plan_charge_hour: i32,
    /// Days before a plan part's auto-charge its invoice is sent as the
    /// notice (0: billed and charged on the day).
    pub plan_notice_days: i32,
    /// A booking on a payment plan opens its gallery in full only once every
    /// installment is paid (default), or with its final invoice alone.
    pub gallery_waits_for_plan: bool,
    /// How long the gallery's log (`gallery_events`) is kept, in days.
    pub gallery_log_days: i32,
    /// Days after a gallery opens when a client who picked nothing gets the
    /// default pick (the first included photos); 0: no deadline.
    pub picks_deadline_days: i32,
    /// A dispute's evidence waits for the studio's click on the dashboard
    /// instead of going to the gateway as soon as it is gathered.
    pub review_dispute_evidence: bool,
    /// The studio's refund policy as its clients see it, sent with a
    /// dispute's evidence.
    pub refund_policy: Option<String>,
    /// ISO 3166-1 alpha-2 (`kernel::country`), if the studio said.
    pub country: Option<String>,
    /// An auto-pay part above this amount has its card checked at the
    /// gateway when its notice goes (`None`: never).
    pub plan_card_check_minor: Option<Minor>,
    /// Parts not billed when the session is completed: folded into its
    /// final invoice, or kept on their days.
    pub plan_parts_at_completion: PlanPartsAtCompletion,
    /// The card surcharge in percent of a credit-card payment (a decimal as
    /// text, `kernel::surcharge`); `None`: no surcharge.
    pub card_surcharge_percent: Option<String>,
    /// The surcharge is taxed like a taxable item of the session (its tax
    /// kept apart in `surcharge_tax_minor`); off: outside the tax base.
    pub surcharge_taxable: bool,
    /// A US state or Canadian province (`kernel::surcharge::parse_region`).
    pub region: Option<String>,
    /// Tipping offered on the portal.
    pub tip_enabled: bool,
    /// The preset tip percentages, `"10,15,20"` (empty: none).
    pub tip_presets: String,
    /// A custom tip amount may be typed.
    pub tip_custom: bool,
    /// The largest tip taken on one payment; `None`: the pre-tax amount paid.
    pub tip_max_minor: Option<Minor>,
    /// On every payment, or only on the session's final invoice.
    pub tip_offer: TipOffer,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
