//! GraphQL input objects, converted into domain inputs.

use super::types::PaymentPreference;
use async_graphql::{ID, InputObject};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

#[derive(InputObject)]
pub struct CreateClientInput {
    pub name: String,
    pub email: String,
    #[graphql(default_with = "PaymentPreference::Invoice")]
    pub payment_preference: PaymentPreference,
}

#[derive(InputObject)]
pub struct UpdateClientInput {
    pub id: ID,
    pub name: Option<String>,
    pub email: Option<String>,
    pub payment_preference: Option<PaymentPreference>,
}

#[derive(InputObject)]
pub struct AttachPaymentMethodInput {
    pub client_id: ID,
    /// A gateway token, e.g. the test token `pm_card_visa`.
    pub token: String,
}

#[derive(InputObject)]
pub struct CreatePackageInput {
    pub name: String,
    #[graphql(default)]
    pub description: String,
    /// In the studio's currency, e.g. `"3200.00"`.
    pub price: Decimal,
    #[graphql(default = true)]
    pub taxable: bool,
}

#[derive(InputObject)]
pub struct UpdatePackageInput {
    pub id: ID,
    pub name: Option<String>,
    pub description: Option<String>,
    pub price: Option<Decimal>,
    pub taxable: Option<bool>,
    pub active: Option<bool>,
}

#[derive(InputObject)]
pub struct CreateAddOnServiceInput {
    pub name: String,
    pub unit_price: Decimal,
    #[graphql(default = true)]
    pub taxable: bool,
}

#[derive(InputObject)]
pub struct UpdateAddOnServiceInput {
    pub id: ID,
    pub name: Option<String>,
    pub unit_price: Option<Decimal>,
    pub taxable: Option<bool>,
    pub active: Option<bool>,
}

#[derive(InputObject)]
pub struct CreateTaxRateInput {
    pub name: String,
    /// Percentage, e.g. `"8.875"`.
    pub percent: Decimal,
    /// Default rates apply to every session that names no rates of its own.
    #[graphql(default = true)]
    pub is_default: bool,
}

#[derive(InputObject)]
pub struct UpdateTaxRateInput {
    pub id: ID,
    pub name: Option<String>,
    pub percent: Option<Decimal>,
    pub is_default: Option<bool>,
    pub active: Option<bool>,
}

#[derive(InputObject)]
pub struct SessionItemInput {
    /// Take name, price and taxability from this add-on service.
    pub add_on_service_id: Option<ID>,
    pub description: Option<String>,
    #[graphql(default = 1)]
    pub quantity: i32,
    /// Required without an add-on service; overrides its price otherwise.
    pub unit_price: Option<Decimal>,
    pub taxable: Option<bool>,
}

#[derive(InputObject)]
pub struct ScheduleSessionInput {
    pub client_id: ID,
    pub package_id: Option<ID>,
    pub title: String,
    pub scheduled_at: DateTime<Utc>,
    #[graphql(default)]
    pub items: Vec<SessionItemInput>,
    /// Retainer or deposit the client already paid, credited on the invoice.
    pub retainer_paid: Option<Decimal>,
    /// Tax rates for this session; omitted means the studio's default rates.
    pub tax_rate_ids: Option<Vec<ID>>,
}

#[derive(InputObject)]
pub struct SessionFilter {
    pub status: Option<super::types::SessionStatus>,
    pub client_id: Option<ID>,
    /// Scheduled at or after.
    pub from: Option<DateTime<Utc>>,
    /// Scheduled before.
    pub to: Option<DateTime<Utc>>,
}

#[derive(InputObject)]
pub struct InvoiceFilter {
    pub status: Option<super::types::InvoiceStatus>,
    pub client_id: Option<ID>,
    /// Issued at or after.
    pub from: Option<DateTime<Utc>>,
    /// Issued before.
    pub to: Option<DateTime<Utc>>,
}

#[derive(InputObject)]
pub struct PaymentFilter {
    pub invoice_id: Option<ID>,
    pub status: Option<super::types::PaymentStatus>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}
