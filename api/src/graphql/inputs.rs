//! GraphQL input objects, converted into domain inputs.

use super::amount::Amount;
use super::percent::Percent;
use super::types::PaymentPreference;
use async_graphql::{Enum, ID, InputObject};
use chrono::{DateTime, Utc};

#[derive(InputObject)]
pub struct CreateClientInput {
    pub name: String,
    pub email: String,
    #[graphql(default_with = "PaymentPreference::Invoice")]
    pub payment_preference: PaymentPreference,
    /// IANA zone for the reminder window (default: the studio's).
    pub time_zone: Option<String>,
    /// The name the client is greeted by in emails and pages ("Hi Sam,");
    /// default: the first word of `name`.
    pub display_name: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateClientInput {
    pub id: ID,
    pub name: Option<String>,
    pub email: Option<String>,
    pub payment_preference: Option<PaymentPreference>,
    /// IANA zone for the reminder window; empty string: the studio's.
    pub time_zone: Option<String>,
    /// The name the client is greeted by; empty string: the first word of
    /// `name`.
    pub display_name: Option<String>,
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
    pub price: Amount,
    #[graphql(default = true)]
    pub taxable: bool,
}

#[derive(InputObject)]
pub struct UpdatePackageInput {
    pub id: ID,
    pub name: Option<String>,
    pub description: Option<String>,
    pub price: Option<Amount>,
    pub taxable: Option<bool>,
    pub active: Option<bool>,
}

#[derive(InputObject)]
pub struct CreateAddOnServiceInput {
    pub name: String,
    pub unit_price: Amount,
    #[graphql(default = true)]
    pub taxable: bool,
}

#[derive(InputObject)]
pub struct UpdateAddOnServiceInput {
    pub id: ID,
    pub name: Option<String>,
    pub unit_price: Option<Amount>,
    pub taxable: Option<bool>,
    pub active: Option<bool>,
}

#[derive(InputObject)]
pub struct CreateTaxRateInput {
    pub name: String,
    /// Percentage, e.g. `"8.875"`.
    pub percent: Percent,
    /// Default rates apply to every session that names no rates of its own.
    #[graphql(default = true)]
    pub is_default: bool,
    /// Compound: applies to the amount plus the other rates' tax.
    #[graphql(default = false)]
    pub compound: bool,
}

#[derive(InputObject)]
pub struct UpdateTaxRateInput {
    pub id: ID,
    pub name: Option<String>,
    pub percent: Option<Percent>,
    pub is_default: Option<bool>,
    pub active: Option<bool>,
    pub compound: Option<bool>,
}

#[derive(InputObject)]
pub struct SessionItemInput {
    /// Take name, price and taxability from this add-on service.
    pub add_on_service_id: Option<ID>,
    pub description: Option<String>,
    #[graphql(default = 1)]
    pub quantity: i32,
    /// Required without an add-on service; overrides its price otherwise.
    pub unit_price: Option<Amount>,
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
    pub retainer_paid: Option<Amount>,
    /// Tax rates for this session; omitted means the studio's default rates.
    pub tax_rate_ids: Option<Vec<ID>>,
    /// Invoice-wide discount, spread over the lines before tax.
    pub discount: Option<AdjustmentInput>,
    /// Travel, rush or other fees, added as their own invoice lines.
    #[graphql(default)]
    pub fees: Vec<FeeInput>,
}

/// Exactly one of `percent` (e.g. `"10"`) or `amount` (studio currency).
#[derive(InputObject)]
pub struct AdjustmentInput {
    pub percent: Option<Percent>,
    pub amount: Option<Amount>,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum FeeKind {
    Travel,
    Rush,
    CardSurcharge,
    Other,
}

#[derive(InputObject)]
pub struct FeeInput {
    pub name: String,
    #[graphql(default_with = "FeeKind::Other")]
    pub kind: FeeKind,
    /// A fixed amount or a percentage of the discounted lines.
    pub charge: AdjustmentInput,
    #[graphql(default = false)]
    pub taxable: bool,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ManualPaymentMethod {
    Cash,
    Check,
    BankTransfer,
    Other,
}

#[derive(InputObject)]
pub struct RecordManualPaymentInput {
    pub invoice_id: ID,
    /// In the invoice's currency; at most the amount due (partial payments are fine).
    pub amount: Amount,
    pub method: ManualPaymentMethod,
    /// Check number, transfer reference...
    pub reference: Option<String>,
    pub note: Option<String>,
    /// Replaying the same key returns the first payment instead of recording another.
    pub idempotency_key: String,
}

#[derive(InputObject)]
pub struct RefundPaymentInput {
    pub payment_id: ID,
    /// Omitted: everything not yet refunded.
    pub amount: Option<Amount>,
    pub reason: Option<String>,
    /// Sent to the gateway; replaying the same key returns the first refund.
    pub idempotency_key: String,
}

#[derive(InputObject)]
pub struct VoidInvoiceInput {
    pub invoice_id: ID,
    /// Printed on the credit note.
    pub reason: String,
}

#[derive(InputObject)]
pub struct ResendInvoiceInput {
    pub invoice_id: ID,
    /// Each key sends one email; a replay sends nothing more.
    pub idempotency_key: String,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::Rounding")]
pub enum Rounding {
    PerLine,
    PerInvoice,
}

/// What becomes of the part of a retainer an invoice does not use.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::RetainerExcess")]
pub enum RetainerExcess {
    /// A credit owed back to the client: shown on the invoice
    /// (`creditDueToClient`) and listed on the dashboard (the default).
    RefundDue,
    /// Carried to the client's next invoice, where it is applied once.
    CarryForward,
}

/// Omitted fields keep their value. Changes shape invoices finalized from now on.
#[derive(InputObject)]
pub struct UpdateStudioSettingsInput {
    pub name: Option<String>,
    /// ISO 4217; only while the studio has no packages or invoices.
    pub currency: Option<String>,
    /// IANA, e.g. `America/Toronto`.
    pub time_zone: Option<String>,
    pub payment_terms_days: Option<i32>,
    pub invoice_prefix: Option<String>,
    /// e.g. `{PREFIX}-{YYYY}-{SEQ:4}` or `INV-{YYYY}-{seq:04}`.
    pub invoice_number_format: Option<String>,
    pub rounding: Option<Rounding>,
    pub prices_include_tax: Option<bool>,
    /// Empty string clears it.
    pub tax_id: Option<String>,
    /// Postal address, one line per line.
    pub address: Option<String>,
    pub email: Option<String>,
    /// How long a portal link works after the invoice is settled.
    pub portal_link_days: Option<i32>,
    /// When true, new invoices stop at `DRAFT` (no number, nothing sent)
    /// until `finalizeInvoice`.
    pub review_drafts: Option<bool>,
    /// Shown to clients as a `tel:` link; empty string clears it.
    pub phone: Option<String>,
    /// An `https` URL of the studio's logo, shown on the portal, the gallery
    /// and the emails; empty string clears it.
    pub logo_url: Option<String>,
    /// What becomes of a retainer above an invoice's total.
    pub retainer_excess: Option<RetainerExcess>,
}

#[derive(InputObject)]
pub struct FinalizeInvoiceInput {
    pub invoice_id: ID,
}

#[derive(InputObject)]
pub struct ReissueInvoiceInput {
    /// A `VOID` invoice; the session is priced again as it is now.
    pub invoice_id: ID,
    /// Replaying the same key returns the same new invoice.
    pub idempotency_key: String,
    /// Corrected invoice-wide discount, stored on the session (omit to keep
    /// the session's; `{percent: "0"}` removes it).
    pub discount: Option<AdjustmentInput>,
    /// Corrected fees, replacing the session's (omit to keep them; `[]`
    /// removes them).
    pub fees: Option<Vec<FeeInput>>,
}

#[derive(InputObject)]
pub struct MarkInvoiceUncollectibleInput {
    pub invoice_id: ID,
    /// Kept in the audit trail.
    pub reason: String,
}

#[derive(InputObject)]
pub struct MarkCreditRepaidInput {
    /// An invoice whose retainer excess is owed back (`REFUND_DUE`).
    pub invoice_id: ID,
    /// How it was repaid (a transfer id, a check number); 1 to 200
    /// characters. Replaying the same reference returns the invoice as it is.
    pub reference: String,
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
