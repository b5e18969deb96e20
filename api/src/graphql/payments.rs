//! Payments and refunds: reading payment attempts, recording money received
//! outside the gateway, refunding.

use super::amount::Amount;
use super::common::{AppData, Caller, domain_error, id, parse_id, payload_type};
use super::invoices::{CreditNote, Invoice, credit_notes_of};
use super::money::Money;
use super::paging::{connection, id_filter, page};
use async_graphql::connection::Connection;
use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use domain::DomainResult;
use domain::billing::payments::ManualPayment;
use domain::billing::refunds::RefundInput;
use domain::billing::refunds::spread::SessionRefundInput;
use domain::kernel::money::{Currency, Minor};
use domain::read::queries;
use entity::{payment, refund};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::PaymentStatus")]
pub enum PaymentStatus {
    Pending,
    Succeeded,
    Failed,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::PaymentSource")]
pub enum PaymentSource {
    AutoPay,
    Portal,
    Manual,
    Webhook,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::PaymentMethod")]
pub enum PaymentMethodKind {
    Card,
    Cash,
    Check,
    BankTransfer,
    Other,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::RefundStatus")]
pub enum RefundStatus {
    Pending,
    Succeeded,
    Failed,
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Payment {
    pub id: ID,
    /// What the invoice received.
    pub amount: Money,
    /// The card surcharge charged on top of `amount` (zero when none: a
    /// debit or prepaid card, money paid by hand, no studio surcharge, or
    /// where the client is it is banned). The card was charged `amount +
    /// surcharge`.
    pub surcharge: Money,
    /// Of `surcharge`, the tax on it (a studio that taxes its surcharge).
    pub surcharge_tax: Money,
    /// The tip the client added on the portal, charged on top of `amount`
    /// as its own line (zero when none): never part of the invoice, its tax
    /// or its fees.
    pub tip: Money,
    /// The card's funding type (`credit`, `debit`, `prepaid`, `unknown`),
    /// for a card payment.
    pub card_funding: Option<String>,
    pub status: PaymentStatus,
    pub source: PaymentSource,
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    /// Gateway decline code, e.g. `insufficient_funds`.
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub gateway_reference: Option<String>,
    pub method: PaymentMethodKind,
    /// Check number or transfer reference of a manual payment.
    pub reference: Option<String>,
    pub note: Option<String>,
    pub amount_refunded: Money,
    pub disputed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    studio_id: i64,
    #[graphql(skip)]
    invoice_id: i64,
}

impl From<payment::Model> for Payment {
    fn from(p: payment::Model) -> Self {
        Self {
            id: id(p.id),
            amount: Money::of(p.amount_minor, p.currency),
            surcharge: Money::of(p.surcharge_minor, p.currency),
            surcharge_tax: Money::of(p.surcharge_tax_minor, p.currency),
            tip: Money::of(p.tip_minor, p.currency),
            card_funding: p.card_funding,
            status: p.status.into(),
            source: p.source.into(),
            card_brand: p.card_brand,
            card_last4: p.card_last4,
            failure_code: p.failure_code,
            failure_message: p.failure_message,
            gateway_reference: p.gateway_reference,
            method: p.method.into(),
            reference: p.reference,
            note: p.note,
            amount_refunded: Money::of(p.amount_refunded_minor, p.currency),
            disputed_at: p.disputed_at,
            created_at: p.created_at,
            studio_id: p.studio_id,
            invoice_id: p.invoice_id,
        }
    }
}

#[ComplexObject]
impl Payment {
    async fn invoice(&self, ctx: &Context<'_>) -> Result<Option<Invoice>> {
        let app = ctx.data::<AppData>()?;
        Ok(
            queries::invoice(&app.ctx.db, self.studio_id, self.invoice_id)
                .await
                .map_err(domain_error)?
                .map(Invoice::from),
        )
    }
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Refund {
    pub id: ID,
    pub payment_id: ID,
    /// What goes back of the invoice's money (its credit note's amount).
    pub amount: Money,
    /// The share of the payment's card surcharge returned with it; the
    /// card gets `amount + surcharge + tip` back.
    pub surcharge: Money,
    /// The share of the payment's tip returned with it (pro rata; all of
    /// it with a full refund).
    pub tip: Money,
    pub status: RefundStatus,
    pub reason: Option<String>,
    pub failure_message: Option<String>,
    pub gateway_reference: Option<String>,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    refund_id: i64,
    #[graphql(skip)]
    invoice_id: i64,
}

impl From<refund::Model> for Refund {
    fn from(r: refund::Model) -> Self {
        Self {
            id: id(r.id),
            payment_id: id(r.payment_id),
            amount: Money::of(r.amount_minor, r.currency),
            surcharge: Money::of(r.surcharge_minor, r.currency),
            tip: Money::of(r.tip_minor, r.currency),
            status: r.status.into(),
            reason: r.reason,
            failure_message: r.failure_message,
            gateway_reference: r.gateway_reference,
            created_at: r.created_at,
            refund_id: r.id,
            invoice_id: r.invoice_id,
        }
    }
}

#[ComplexObject]
impl Refund {
    /// The credit note for the refunded amount; `null` for a chargeback
    /// (a lost dispute), which makes the money owed again instead.
    async fn credit_note(&self, ctx: &Context<'_>) -> Result<Option<CreditNote>> {
        Ok(credit_notes_of(ctx, self.invoice_id)
            .await?
            .into_iter()
            .find(|n| n.refund_id == Some(self.refund_id))
            .map(CreditNote::from))
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ManualPaymentMethod {
    Cash,
    Check,
    BankTransfer,
    Other,
}

impl From<ManualPaymentMethod> for entity::enums::PaymentMethod {
    fn from(method: ManualPaymentMethod) -> Self {
        match method {
            ManualPaymentMethod::Cash => Self::Cash,
            ManualPaymentMethod::Check => Self::Check,
            ManualPaymentMethod::BankTransfer => Self::BankTransfer,
            ManualPaymentMethod::Other => Self::Other,
        }
    }
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

/// A refund of what was paid for a session, spread over its payments.
#[derive(InputObject)]
pub struct RefundSessionInput {
    pub session_id: ID,
    /// Omitted: everything paid for the session and not yet refunded.
    pub amount: Option<Amount>,
    pub reason: Option<String>,
    /// Replaying the same key returns the refunds it first made.
    pub idempotency_key: String,
}

#[derive(InputObject)]
pub struct PaymentFilter {
    pub invoice_id: Option<ID>,
    pub status: Option<PaymentStatus>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

payload_type!(PaymentPayload, payment, Payment);
payload_type!(RefundPayload, refund, Refund);
payload_type!(SessionRefundPayload, refunds, Vec<Refund>);

/// An input amount in a record's stored currency, in minor units.
fn amount_in(
    currency: Currency,
    field: &str,
    amount: rust_decimal::Decimal,
) -> DomainResult<Minor> {
    currency
        .parse_amount(amount)
        .map_err(|e| domain::UserError::invalid(field, e.to_string()).into())
}

#[derive(Default)]
pub struct PaymentsQuery;

#[Object]
impl PaymentsQuery {
    /// Payment attempts (succeeded and failed), oldest first.
    #[graphql(complexity = "super::limits::page_cost(first, last, child_complexity)")]
    async fn payments(
        &self,
        ctx: &Context<'_>,
        filter: Option<PaymentFilter>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Connection<i64, Payment>> {
        let caller = Caller::of(ctx)?;
        let filter = filter
            .map(|f| queries::PaymentFilter {
                invoice_id: id_filter(&f.invoice_id),
                status: f.status.map(Into::into),
                created_from: f.from,
                created_to: f.to,
            })
            .unwrap_or_default();
        let page = page(after, before, first, last)?;
        let rows = queries::payments(caller.db(), caller.studio.id, &filter, page)
            .await
            .map_err(domain_error)?;
        Ok(connection(rows, |m| m.id, Payment::from))
    }
}

#[derive(Default)]
pub struct PaymentsMutation;

#[Object]
impl PaymentsMutation {
    /// Records money received outside the gateway (cash, check, bank
    /// transfer). Partial payments are fine; more than the amount due is
    /// refused. Replaying `idempotencyKey` returns the first payment.
    async fn record_manual_payment(
        &self,
        ctx: &Context<'_>,
        input: RecordManualPaymentInput,
    ) -> Result<PaymentPayload> {
        let caller = Caller::of(ctx)?;
        let result = async {
            let invoice_id = parse_id(&input.invoice_id, "invoiceId", "invoice")?;
            let invoice = queries::invoice(caller.db(), caller.studio.id, invoice_id)
                .await?
                .ok_or_else(|| domain::UserError::not_found("invoiceId", "invoice"))?;
            let manual = ManualPayment {
                invoice_id,
                amount_minor: amount_in(invoice.currency, "amount", input.amount.into())?,
                method: input.method.into(),
                reference: input.reference,
                note: input.note,
                idempotency_key: input.idempotency_key,
            };
            domain::billing::payments::record_manual_payment(
                caller.app,
                caller.studio.id,
                &manual,
                &caller.actor,
                caller.request_id(),
            )
            .await
        }
        .await;
        PaymentPayload::from_result(result.map(Payment::from))
    }

    /// Refunds a successful payment, fully (no `amount`) or in part, through
    /// the gateway for card payments. Replaying `idempotencyKey` returns the
    /// first refund; the gateway receives the same key.
    async fn refund_payment(
        &self,
        ctx: &Context<'_>,
        input: RefundPaymentInput,
    ) -> Result<RefundPayload> {
        let caller = Caller::of(ctx)?;
        let result = async {
            let payment_id = parse_id(&input.payment_id, "paymentId", "payment")?;
            let payment = queries::payment(caller.db(), caller.studio.id, payment_id)
                .await?
                .ok_or_else(|| domain::UserError::not_found("paymentId", "payment"))?;
            let amount_minor = input
                .amount
                .map(|a| amount_in(payment.currency, "amount", a.into()))
                .transpose()?;
            let refund = RefundInput {
                payment_id,
                amount_minor,
                reason: input.reason,
                idempotency_key: input.idempotency_key,
            };
            domain::billing::refunds::refund_payment(
                caller.app,
                caller.studio.id,
                &refund,
                &caller.actor,
                caller.request_id(),
            )
            .await
        }
        .await;
        RefundPayload::from_result(result.map(Refund::from))
    }

    /// Refunds an amount of what was paid for a session (a booking paid in
    /// parts: retainer, installments, balance), newest payment first: one
    /// refund per payment, never more than its unrefunded amount, each with
    /// its credit note, and one email to the client listing them. More
    /// than was paid and not refunded yet is refused (`INVALID_INPUT` on
    /// `amount`). Replaying `idempotencyKey` returns the first refunds.
    async fn refund_session(
        &self,
        ctx: &Context<'_>,
        input: RefundSessionInput,
    ) -> Result<SessionRefundPayload> {
        let caller = Caller::of(ctx)?;
        let result = async {
            let refund = SessionRefundInput {
                session_id: parse_id(&input.session_id, "sessionId", "session")?,
                amount_minor: input
                    .amount
                    .map(|a| amount_in(caller.studio.currency, "amount", a.into()))
                    .transpose()?,
                reason: input.reason,
                idempotency_key: input.idempotency_key,
            };
            domain::billing::refunds::spread::refund_session(
                caller.app,
                caller.studio.id,
                &refund,
                &caller.actor,
                caller.request_id(),
            )
            .await
        }
        .await;
        SessionRefundPayload::from_result(result.map(|r| r.into_iter().map(Refund::from).collect()))
    }
}
