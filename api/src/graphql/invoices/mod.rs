//! Invoices: reading them and their life after the session was completed
//! (finalize, void, reissue, uncollectible, credit repaid, resend).

mod invoice;
mod parts;

pub use invoice::Invoice;
pub use parts::{CreditNote, InvoiceStatus, credit_notes_of};

use super::common::{Caller, domain_error, parse_invoice_id, payload_type};
use super::paging::{connection, id_filter, page};
use super::sessions::{AdjustmentInput, FeeInput};
use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Object, Result};
use chrono::{DateTime, Utc};
use domain::billing::{closing, credits, invoicing};
use domain::read::queries;
use domain::studio::sessions::AdjustmentChanges;

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
pub struct InvoiceFilter {
    pub status: Option<InvoiceStatus>,
    pub client_id: Option<ID>,
    /// Issued at or after.
    pub from: Option<DateTime<Utc>>,
    /// Issued before.
    pub to: Option<DateTime<Utc>>,
}

payload_type!(InvoicePayload, invoice, Invoice);

#[derive(Default)]
pub struct InvoicesQuery;

#[Object]
impl InvoicesQuery {
    async fn invoice(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Invoice>> {
        let caller = Caller::of(ctx)?;
        let Ok(id) = id.parse::<i64>() else {
            return Ok(None);
        };
        Ok(queries::invoice(caller.db(), caller.studio.id, id)
            .await
            .map_err(domain_error)?
            .map(Invoice::from))
    }

    /// Invoices, oldest first, with Relay cursor pagination (at most 100 per page).
    #[graphql(complexity = "super::limits::page_cost(first, last, child_complexity)")]
    async fn invoices(
        &self,
        ctx: &Context<'_>,
        filter: Option<InvoiceFilter>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Connection<i64, Invoice>> {
        let caller = Caller::of(ctx)?;
        let filter = filter
            .map(|f| queries::InvoiceFilter {
                status: f.status.map(Into::into),
                client_id: id_filter(&f.client_id),
                issued_from: f.from,
                issued_to: f.to,
            })
            .unwrap_or_default();
        let page = page(after, before, first, last)?;
        let rows = queries::invoices(caller.db(), caller.studio.id, &filter, page)
            .await
            .map_err(domain_error)?;
        Ok(connection(rows, |m| m.id, Invoice::from))
    }
}

#[derive(Default)]
pub struct InvoicesMutation;

#[Object]
impl InvoicesMutation {
    /// Voids an invoice with no payments left on it (refund them first) and
    /// issues its credit note. Voiding a void invoice returns it unchanged.
    async fn void_invoice(
        &self,
        ctx: &Context<'_>,
        input: VoidInvoiceInput,
    ) -> Result<InvoicePayload> {
        let caller = Caller::of(ctx)?;
        let result = async {
            let invoice_id = parse_invoice_id(&input.invoice_id)?;
            closing::void_invoice(
                caller.app,
                caller.studio_id(),
                invoice_id,
                &input.reason,
                &caller.actor,
                caller.request_id(),
            )
            .await
        }
        .await;
        InvoicePayload::from_result(result.map(Invoice::from))
    }

    /// Finalizes a `DRAFT` (studios with `reviewDrafts`): assigns the next
    /// number, moves it to `OPEN` and sends it on (auto-pay charge, or the
    /// invoice email and gallery access). Finalizing an invoice that is
    /// already finalized returns it unchanged; a `VOID` one is refused.
    async fn finalize_invoice(
        &self,
        ctx: &Context<'_>,
        input: FinalizeInvoiceInput,
    ) -> Result<InvoicePayload> {
        let caller = Caller::of(ctx)?;
        let result = async {
            let invoice_id = parse_invoice_id(&input.invoice_id)?;
            invoicing::finalize_invoice(
                caller.app,
                caller.studio_id(),
                invoice_id,
                &caller.actor,
                caller.request_id(),
            )
            .await
        }
        .await;
        InvoicePayload::from_result(result.map(Invoice::from))
    }

    /// Replaces a `VOID` invoice with a new one: the session (with the
    /// corrected `discount` / `fees`, if given) priced as it is now, the next
    /// number, then the usual charge or invoice email. The
    /// invoices link through `reissuedFrom` / `reissuedBy`. Replaying
    /// `idempotencyKey` returns the same new invoice.
    async fn reissue_invoice(
        &self,
        ctx: &Context<'_>,
        input: ReissueInvoiceInput,
    ) -> Result<InvoicePayload> {
        let caller = Caller::of(ctx)?;
        let result = async {
            let invoice_id = parse_invoice_id(&input.invoice_id)?;
            let changes = AdjustmentChanges {
                discount: input.discount.map(AdjustmentInput::into_spec),
                fees: input
                    .fees
                    .map(|fees| fees.into_iter().map(FeeInput::into_spec).collect()),
            };
            invoicing::reissue_invoice(
                caller.app,
                caller.studio_id(),
                invoice_id,
                &input.idempotency_key,
                &changes,
                &caller.actor,
                caller.request_id(),
            )
            .await
        }
        .await;
        InvoicePayload::from_result(result.map(Invoice::from))
    }

    /// Marks an `OPEN` or `PARTIALLY_PAID` invoice uncollectible: automatic
    /// collection stops and gallery access is locked; a manual payment later
    /// still settles it. Marking it again returns it unchanged.
    async fn mark_invoice_uncollectible(
        &self,
        ctx: &Context<'_>,
        input: MarkInvoiceUncollectibleInput,
    ) -> Result<InvoicePayload> {
        let caller = Caller::of(ctx)?;
        let result = async {
            let invoice_id = parse_invoice_id(&input.invoice_id)?;
            invoicing::mark_uncollectible(
                caller.app,
                caller.studio_id(),
                invoice_id,
                &input.reason,
                &caller.actor,
                caller.request_id(),
            )
            .await
        }
        .await;
        InvoicePayload::from_result(result.map(Invoice::from))
    }

    /// Records that the studio paid back the credit an invoice owes its
    /// client (a retainer above the total under `REFUND_DUE`): when, and
    /// the studio's reference; audited as `CREDIT_REPAID`. Idempotent for
    /// the same reference; `ALREADY_REPAID` for another one, `NOTHING_OWED`
    /// when the invoice owes no credit, `NOT_FOUND` for another studio's.
    async fn mark_credit_repaid(
        &self,
        ctx: &Context<'_>,
        input: MarkCreditRepaidInput,
    ) -> Result<InvoicePayload> {
        let caller = Caller::of(ctx)?;
        let result = async {
            let invoice_id = parse_invoice_id(&input.invoice_id)?;
            credits::mark_repaid(
                caller.app,
                caller.studio_id(),
                invoice_id,
                &input.reference,
                &caller.actor,
            )
            .await
        }
        .await;
        InvoicePayload::from_result(result.map(Invoice::from))
    }

    /// Emails the invoice again, with its PDF and portal link.
    async fn resend_invoice(
        &self,
        ctx: &Context<'_>,
        input: ResendInvoiceInput,
    ) -> Result<InvoicePayload> {
        let caller = Caller::of(ctx)?;
        let result = async {
            let invoice_id = parse_invoice_id(&input.invoice_id)?;
            invoicing::resend_invoice(
                caller.app,
                caller.studio_id(),
                invoice_id,
                &input.idempotency_key,
                &caller.actor,
                caller.request_id(),
            )
            .await
        }
        .await;
        InvoicePayload::from_result(result.map(Invoice::from))
    }
}
