//! What an invoice is made of and keeps: its lines, tax shares, credit
//! notes and audit trail.

use crate::graphql::common::{id, load_error, loaders};
use crate::graphql::money::Money;
use async_graphql::{Context, Enum, ID, Result, SimpleObject};
use chrono::{DateTime, Utc};
use domain::kernel::money::{Currency, Minor};
use entity::{credit_note, invoice_event, invoice_line};
use rust_decimal::Decimal;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::InvoiceStatus")]
pub enum InvoiceStatus {
    Draft,
    Open,
    PartiallyPaid,
    Paid,
    Void,
    Uncollectible,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::LineKind")]
pub enum LineKind {
    Package,
    AddOn,
    Custom,
    Fee,
    LateFee,
    /// One part of a payment plan, on its installment invoice.
    Installment,
}

/// What an invoice bills.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::InvoiceKind")]
pub enum InvoiceKind {
    /// The session, issued when it is completed (the session's `invoice`).
    Final,
    /// One part of the session's payment plan, issued on its day.
    Installment,
    /// Gallery picks beyond the package's included images, billed after
    /// the session's invoice was finalized (a supplementary invoice).
    Extras,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::InvoiceEventKind")]
pub enum AuditEventKind {
    Created,
    Finalized,
    PaymentSucceeded,
    PaymentFailed,
    ManualPaymentRecorded,
    RefundSucceeded,
    RefundFailed,
    DisputeOpened,
    DisputeClosed,
    Voided,
    CreditNoteIssued,
    Resent,
    LateFeeAdded,
    Reissued,
    MarkedUncollectible,
    CreditRepaid,
    /// The card on file was checked before a large plan part's charge and
    /// can be charged.
    CardChecked,
    /// The check of the card on file failed; the client was emailed a
    /// link to save another.
    CardCheckFailed,
    /// The invoice was split between payers (`setInvoicePayers`).
    PayersSet,
    /// A draft was priced again: the client's gallery picks became its
    /// "Additional images" line.
    Repriced,
}

#[derive(SimpleObject)]
pub struct InvoiceLine {
    pub position: i32,
    pub kind: LineKind,
    pub description: String,
    pub quantity: i32,
    pub unit_price: Money,
    pub amount: Money,
    pub taxable: bool,
    pub tax: Money,
}

impl InvoiceLine {
    pub fn new(l: &invoice_line::Model, currency: Currency) -> Self {
        Self {
            position: l.position,
            kind: l.kind.into(),
            description: l.description.clone(),
            quantity: l.quantity,
            unit_price: Money::of(l.unit_price_minor, currency),
            amount: Money::of(l.amount_minor, currency),
            taxable: l.taxable,
            tax: Money::of(l.tax_minor, currency),
        }
    }
}

/// One tax rate's share of an invoice's tax.
#[derive(SimpleObject)]
pub struct TaxShare {
    pub name: String,
    pub percent: Decimal,
    pub amount: Money,
}

#[derive(SimpleObject)]
pub struct CreditNote {
    pub id: ID,
    /// `CN-` followed by the invoice's number (a void's), then `-2`, `-3`...
    /// for the credit notes that come with refunds.
    pub number: String,
    pub amount: Money,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

impl From<credit_note::Model> for CreditNote {
    fn from(n: credit_note::Model) -> Self {
        Self {
            id: id(n.id),
            amount: Money::of(n.amount_minor, n.currency),
            number: n.number,
            reason: n.reason,
            created_at: n.created_at,
        }
    }
}

/// An invoice's credit notes, oldest first (through the request's loader).
pub async fn credit_notes_of(
    ctx: &Context<'_>,
    invoice_id: i64,
) -> Result<Vec<credit_note::Model>> {
    Ok(loaders(ctx)?
        .credit_note_by_invoice
        .load_one(invoice_id)
        .await
        .map_err(load_error)?
        .unwrap_or_default())
}

// One line of an invoice's audit trail.
#[derive(SimpleObject)]
pub struct AuditEvent {
    pub event: AuditEventKind,
    pub from_status: Option<InvoiceStatus>,
    pub to_status: Option<InvoiceStatus>,
    /// Minor units of the invoice's currency moved by this event, if any.
    pub amount_minor: Option<i64>,
    /// `system`, `portal`, `api-key:<prefix>` or `webhook:<provider>`.
    pub actor: String,
    pub detail: Option<String>,
    pub at: DateTime<Utc>,
}

impl From<invoice_event::Model> for AuditEvent {
    fn from(e: invoice_event::Model) -> Self {
        Self {
            event: e.event.into(),
            from_status: e.from_status.map(Into::into),
            to_status: e.to_status.map(Into::into),
            amount_minor: e.amount_minor.map(Minor::get),
            actor: e.actor,
            detail: e.detail,
            at: e.created_at,
        }
    }
}
