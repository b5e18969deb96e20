#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "clients")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub studio_id: i64,
    pub name: String,
    pub email: String,
    pub payment_preference: PaymentPreference,
    /// Gateway token of the stored payment method; never a card number.
    pub pm_token: Option<String>,
    pub pm_brand: Option<String>,
    pub pm_last4: Option<String>,
    pub pm_exp_month: Option<i32>,
    pub pm_exp_year: Option<i32>,
    /// IANA zone for the client's sending window; `None` = the studio's.
    pub time_zone: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The client's gateway Customer (`cus_...`), created once.
    pub gateway_customer_id: Option<String>,
    /// The name the client is greeted by, set by the studio; `None` greets
    /// them by the first word of `name`.
    pub display_name: Option<String>,
    /// Where the client lives (ISO 3166-1 alpha-2), if the studio said.
    pub country: Option<String>,
    /// A US state or Canadian province (`kernel::surcharge::parse_region`).
    pub region: Option<String>,
    /// The card on file's funding type: `credit`, `debit`, `prepaid` or
    /// `unknown` (only a credit card is surcharged).
    pub pm_funding: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl Model {
    /// Whether the client's invoices are charged to a card on file: auto-pay
    /// chosen and a card stored.
    pub fn auto_pays(&self) -> bool {
        self.payment_preference == crate::enums::PaymentPreference::AutoPay
            && self.pm_token.is_some()
    }

    /// Whether the card on file expires before `day` (a card works through
    /// the last day of its expiry month).
    pub fn card_expires_before(&self, day: chrono::NaiveDate) -> bool {
        use chrono::Datelike;
        match (self.pm_exp_year, self.pm_exp_month) {
            (Some(year), Some(month)) => {
                (year, month) < (day.year(), i32::try_from(day.month()).unwrap_or(12))
            }
            _ => false,
        }
    }
}

impl ActiveModelBehavior for ActiveModel {}
