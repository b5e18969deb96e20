//! The `Invoice` object.

use super::parts::{
    AuditEvent, CreditNote, InvoiceKind, InvoiceLine, InvoiceStatus, TaxShare, credit_notes_of,
};
use crate::graphql::clients::Client;
use crate::graphql::common::{AppData, domain_error, id, load_error, loaders};
use crate::graphql::money::Money;
use crate::graphql::payments::{Payment, Refund};
use crate::graphql::reminders::ReminderStep;
use crate::graphql::sessions::Session;
use crate::graphql::studio::RetainerExcess;
use async_graphql::{ComplexObject, Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use domain::billing::credits;
use domain::kernel::ids::{InvoiceId, StudioId};
use domain::read::queries;
use entity::invoice;

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Invoice {
    pub id: ID,
    /// Gap-free per studio, e.g. `INV-2026-0001`; `null` while the invoice
    /// is a `DRAFT` (numbers are assigned at finalization).
    pub number: Option<String>,
    pub status: InvoiceStatus,
    pub currency: String,
    /// Sum of the lines, net of tax.
    pub subtotal: Money,
    pub tax: Money,
    /// Credits applied against the total: the retainer or deposit already
    /// paid, then any `carriedCredit` from earlier invoices.
    pub retainer_credit: Money,
    /// The part of `retainerCredit` carried from the client's earlier
    /// invoices (shown as its own row under the retainer).
    pub carried_credit: Money,
    /// The credit (retainer plus carried credits) above the invoice's gross
    /// total, which this invoice could not use; zero when none.
    pub excess_credit: Money,
    /// What `excessCredit` became (the studio's setting when the invoice was
    /// priced); `null` when there is no excess.
    pub excess_credit_disposition: Option<RetainerExcess>,
    /// Owed back to the client (`excessCredit` under `REFUND_DUE`) and not
    /// yet repaid (`markCreditRepaid`); zero otherwise.
    pub credit_due_to_client: Money,
    /// What the studio paid back of the credit owed to the client
    /// (`markCreditRepaid`); zero until then.
    pub credit_repaid: Money,
    /// When the credit owed to the client was marked repaid; `null` while
    /// it is still owed (or nothing is).
    pub credit_repaid_at: Option<DateTime<Utc>>,
    /// The studio's reference for that repayment.
    pub credit_repaid_reference: Option<String>,
    /// `subtotal + tax - retainerCredit`.
    pub total: Money,
    pub amount_paid: Money,
    pub amount_due: Money,
    /// When it was finalized (for a `DRAFT`: when it was drafted).
    pub issued_at: DateTime<Utc>,
    /// In the studio's time zone (for a `DRAFT`: as if issued when drafted;
    /// finalizing sets it again from the finalization date).
    pub due_date: NaiveDate,
    pub paid_at: Option<DateTime<Utc>>,
    /// Discounts included in the subtotal (line discounts and the invoice discount).
    pub discount: Money,
    /// Fees included in the subtotal (they are also lines of kind `FEE`).
    pub fees: Money,
    pub amount_refunded: Money,
    /// Tax per rate, as priced; sums to `tax`.
    pub tax_breakdown: Vec<TaxShare>,
    pub finalized_at: Option<DateTime<Utc>>,
    pub voided_at: Option<DateTime<Utc>>,
    pub void_reason: Option<String>,
    #[graphql(flatten)]
    pub documents: InvoiceDocuments,
    /// What the refunds' credit notes took off the invoice:
    /// `amountDue == total - amountCredited - amountPaid + amountRefunded`.
    pub amount_credited: Money,
    #[graphql(skip)]
    model: invoice::Model,
}

impl From<invoice::Model> for Invoice {
    fn from(m: invoice::Model) -> Self {
        let money = |minor| Money::of(minor, m.currency);
        let repaid = credits::repaid_to_client(&m)
            .map(|(amount, _, _)| amount)
            .unwrap_or_default();
        let tax_breakdown = domain::kernel::adjustments::parse_tax_breakdown(&m.tax_breakdown)
            .into_iter()
            .map(|t| TaxShare {
                name: t.name,
                percent: t.percent,
                amount: money(t.amount_minor),
            })
            .collect();
        Self {
            id: id(m.id),
            number: m.number.clone(),
            status: m.status.into(),
            currency: m.currency.code().to_string(),
            subtotal: money(m.subtotal_minor),
            tax: money(m.tax_minor),
            retainer_credit: money(m.credit_minor),
            carried_credit: money(m.carried_credit_minor),
            excess_credit: money(m.excess_credit_minor),
            excess_credit_disposition: m.excess_disposition.map(Into::into),
            credit_due_to_client: money(credits::due_to_client(&m)),
            credit_repaid: money(repaid),
            credit_repaid_at: m.credit_repaid_at,
            credit_repaid_reference: m.credit_repaid_reference.clone(),
            total: money(m.total_minor),
            amount_paid: money(m.amount_paid_minor),
            amount_due: money(m.amount_due_minor),
            issued_at: m.issued_at,
            due_date: m.due_date,
            paid_at: m.paid_at,
            discount: money(m.discount_minor),
            fees: money(m.fee_minor),
            amount_refunded: money(m.amount_refunded_minor),
            tax_breakdown,
            finalized_at: m.finalized_at,
            voided_at: m.voided_at,
            void_reason: m.void_reason.clone(),
            documents: InvoiceDocuments {
                invoice_id: m.id,
                portal_salt: m.portal_salt.clone(),
            },
            amount_credited: money(m.amount_credited_minor),
            model: m,
        }
    }
}

// The invoice's PDF, refunds and credit notes.
pub struct InvoiceDocuments {
    invoice_id: i64,
    portal_salt: String,
}

#[Object]
impl InvoiceDocuments {
    /// The invoice as a PDF, through its portal link (share it only with the client).
    async fn pdf_url(&self, ctx: &Context<'_>) -> Result<String> {
        let portal = ctx.data::<AppData>()?.ctx.portal_url(&self.portal_salt);
        Ok(format!("{portal}/invoice.pdf"))
    }
    async fn refunds(&self, ctx: &Context<'_>) -> Result<Vec<Refund>> {
        let refunds = loaders(ctx)?
            .refunds_by_invoice
            .load_one(self.invoice_id)
            .await
            .map_err(load_error)?;
        Ok(refunds
            .unwrap_or_default()
            .into_iter()
            .map(Refund::from)
            .collect())
    }
    /// The credit note that cancelled this invoice, if it was voided.
    async fn credit_note(&self, ctx: &Context<'_>) -> Result<Option<CreditNote>> {
        Ok(credit_notes_of(ctx, self.invoice_id)
            .await?
            .into_iter()
            .find(|n| n.refund_id.is_none())
            .map(CreditNote::from))
    }
    /// Every credit note, oldest first: one per refund (`CN-<number>-2`,
    /// `-3`...) and the void's (`CN-<number>`).
    async fn credit_notes(&self, ctx: &Context<'_>) -> Result<Vec<CreditNote>> {
        Ok(credit_notes_of(ctx, self.invoice_id)
            .await?
            .into_iter()
            .map(CreditNote::from)
            .collect())
    }
}

#[ComplexObject]
impl Invoice {
    /// `FINAL` (the session's invoice) or `INSTALLMENT` (one part of its
    /// payment plan).
    async fn kind(&self) -> InvoiceKind {
        self.model.kind.into()
    }
    /// The part of `retainerCredit` that the session's payment-plan
    /// installments cover (each is its own row on the documents).
    async fn plan_credit(&self) -> Money {
        Money::of(self.model.plan_credit_minor, self.model.currency)
    }
    /// The follow-up plan while the invoice is unpaid: each reminder with
    /// when it is due and when it was sent.
    async fn reminders(&self, ctx: &Context<'_>) -> Result<Vec<ReminderStep>> {
        let app = ctx.data::<AppData>()?;
        Ok(
            domain::followup::reminders::schedule_of(&app.ctx.db, &self.model)
                .await
                .map_err(domain_error)?
                .into_iter()
                .map(ReminderStep::from)
                .collect(),
        )
    }
    /// Every change, oldest first; append-only.
    async fn audit_trail(&self, ctx: &Context<'_>) -> Result<Vec<AuditEvent>> {
        let events = loaders(ctx)?
            .events_by_invoice
            .load_one(self.model.id)
            .await
            .map_err(load_error)?;
        Ok(events
            .unwrap_or_default()
            .into_iter()
            .map(AuditEvent::from)
            .collect())
    }
    /// The payers sharing the invoice (`setInvoicePayers`), first first;
    /// empty when the client pays it alone.
    async fn payers(&self, ctx: &Context<'_>) -> Result<Vec<crate::graphql::payers::InvoicePayer>> {
        crate::graphql::payers::payers_of(ctx, &self.model).await
    }
    /// The client's payment-portal link (share it only with the client).
    async fn portal_url(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(ctx
            .data::<AppData>()?
            .ctx
            .portal_url(&self.model.portal_salt))
    }
    async fn lines(&self, ctx: &Context<'_>) -> Result<Vec<InvoiceLine>> {
        let cur = self.model.currency;
        let lines = loaders(ctx)?
            .lines_by_invoice
            .load_one(self.model.id)
            .await
            .map_err(load_error)?;
        Ok(lines
            .unwrap_or_default()
            .iter()
            .map(|l| InvoiceLine::new(l, cur))
            .collect())
    }
    async fn payments(&self, ctx: &Context<'_>) -> Result<Vec<Payment>> {
        let payments = loaders(ctx)?
            .payments_by_invoice
            .load_one(self.model.id)
            .await
            .map_err(load_error)?;
        Ok(payments
            .unwrap_or_default()
            .into_iter()
            .map(Payment::from)
            .collect())
    }
    async fn client(&self, ctx: &Context<'_>) -> Result<Option<Client>> {
        let loaders = loaders(ctx)?;
        Ok(loaders
            .clients
            .load_one(self.model.client_id)
            .await
            .map_err(load_error)?
            .as_ref()
            .map(Client::from))
    }
    async fn session(&self, ctx: &Context<'_>) -> Result<Option<Session>> {
        let loaders = loaders(ctx)?;
        Ok(loaders
            .sessions
            .load_one(self.model.session_id)
            .await
            .map_err(load_error)?
            .map(Session::from))
    }
    /// The void invoice this one replaces (`reissueInvoice`).
    async fn reissued_from(&self, ctx: &Context<'_>) -> Result<Option<Invoice>> {
        let Some(id) = self.model.reissued_from_id else {
            return Ok(None);
        };
        let app = ctx.data::<AppData>()?;
        Ok(queries::invoice(&app.ctx.db, self.model.studio_id, id)
            .await
            .map_err(domain_error)?
            .map(Invoice::from))
    }
    /// The invoice that replaced this void one, if it was reissued.
    async fn reissued_by(&self, ctx: &Context<'_>) -> Result<Option<Invoice>> {
        let app = ctx.data::<AppData>()?;
        Ok(queries::invoice_reissuing(
            &app.ctx.db,
            StudioId::new(self.model.studio_id),
            InvoiceId::new(self.model.id),
        )
        .await
        .map_err(domain_error)?
        .map(Invoice::from))
    }
}
