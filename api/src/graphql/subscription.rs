//! Live updates over `graphql-transport-ws` at `/graphql/ws`, authenticated
//! in `connection_init` with `{"Authorization": "Bearer <key>"}`. Every stream
//! is filtered to the connection's studio.

use super::common::{AppData, domain_error, parse_id, studio};
use super::money::Money;
use async_graphql::{Context, Enum, ID, Result, SimpleObject, Subscription as GqlSubscription};
use chrono::{DateTime, Utc};
use domain::ports::events::{BillingEvent, EventKind as DomainKind};
use futures::{Stream, StreamExt};
use tokio_stream::wrappers::BroadcastStream;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "domain::ports::events::EventKind")]
pub enum InvoiceEventKind {
    InvoiceIssued,
    PaymentSucceeded,
    PaymentFailed,
    PaymentRefunded,
    InvoiceVoided,
    PaymentDisputed,
    DisputeClosed,
}

/// Something happened to one of the studio's invoices.
#[derive(SimpleObject)]
pub struct InvoiceEvent {
    pub kind: InvoiceEventKind,
    pub invoice_id: ID,
    pub invoice_number: String,
    /// The invoice's status after the change (`OPEN`, `PAID`...).
    pub invoice_status: String,
    pub amount_due: Money,
    pub payment_id: Option<ID>,
    pub at: DateTime<Utc>,
}

/// A payment on the watched invoice (or on any invoice of the watched
/// session: each part of its payment plan, its final invoice) succeeded,
/// failed or was refunded.
#[derive(SimpleObject)]
pub struct PaymentUpdate {
    pub invoice_id: ID,
    pub session_id: ID,
    /// The plan part the invoice bills, for an installment.
    pub plan_part_id: Option<ID>,
    pub payment_id: ID,
    /// `SUCCEEDED` or `FAILED`.
    pub status: String,
    pub amount: Money,
    pub failure_message: Option<String>,
    pub invoice_status: String,
    pub amount_due: Money,
    pub at: DateTime<Utc>,
}

fn invoice_event(e: BillingEvent) -> Option<InvoiceEvent> {
    Some(InvoiceEvent {
        kind: e.kind.into(),
        invoice_id: ID(e.invoice_id.to_string()),
        invoice_number: e.invoice_number,
        invoice_status: e.invoice_status,
        amount_due: Money::of(e.amount_due_minor, e.currency),
        payment_id: e.payment_id.map(|id| ID(id.to_string())),
        at: e.at,
    })
}

fn payment_update(e: BillingEvent) -> Option<PaymentUpdate> {
    if e.kind == DomainKind::InvoiceIssued {
        return None;
    }
    Some(PaymentUpdate {
        invoice_id: ID(e.invoice_id.to_string()),
        session_id: ID(e.session_id.to_string()),
        plan_part_id: e.plan_part_id.map(|id| ID(id.to_string())),
        payment_id: ID(e.payment_id?.to_string()),
        status: e.payment_status?,
        amount: Money::of(e.payment_amount_minor?, e.currency),
        failure_message: e.failure_message,
        invoice_status: e.invoice_status,
        amount_due: Money::of(e.amount_due_minor, e.currency),
        at: e.at,
    })
}

/// This process's events of one studio (lagging subscribers skip what they missed).
fn studio_events(
    ctx: &Context<'_>,
    studio_id: i64,
) -> Result<impl Stream<Item = BillingEvent> + use<>> {
    let receiver = ctx.data::<AppData>()?.ctx.live.subscribe();
    Ok(BroadcastStream::new(receiver)
        .filter_map(move |e| async move { e.ok().filter(|e| e.studio_id == studio_id) }))
}

pub struct Subscription;

#[GqlSubscription]
impl Subscription {
    /// Every invoice event of the studio: issued, payment succeeded or failed.
    async fn invoice_events(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = InvoiceEvent> + use<>> {
        let studio_id = studio(ctx)?.id;
        Ok(studio_events(ctx, studio_id)?.filter_map(|e| async move { invoice_event(e) }))
    }

    /// Payments on one invoice of the studio (`invoiceId`), or on every
    /// invoice of one session (`sessionId`: each part of its payment plan,
    /// then its final invoice), as they succeed, fail or are refunded.
    /// Exactly one of the two is given.
    async fn payment_updates(
        &self,
        ctx: &Context<'_>,
        invoice_id: Option<ID>,
        session_id: Option<ID>,
    ) -> Result<impl Stream<Item = PaymentUpdate> + use<>> {
        let studio = studio(ctx)?;
        let db = &ctx.data::<AppData>()?.ctx.db;
        let watched = match (invoice_id, session_id) {
            (Some(invoice), None) => {
                let id = parse_id(&invoice, "invoiceId", "invoice").map_err(domain_error)?;
                let found = domain::read::queries::invoice(db, studio.id, id).await;
                found.map_err(domain_error)?.map(|_| Watched::Invoice(id))
            }
            (None, Some(session)) => {
                let id = parse_id(&session, "sessionId", "session").map_err(domain_error)?;
                let found = domain::read::queries::session(db, studio.id, id).await;
                found.map_err(domain_error)?.map(|_| Watched::Session(id))
            }
            _ => {
                let message = "give exactly one of invoiceId and sessionId";
                return Err(domain_error(
                    domain::UserError::invalid("invoiceId", message).into(),
                ));
            }
        };
        let Some(watched) = watched else {
            let missing = domain::UserError::not_found("invoiceId", "invoice or session");
            return Err(domain_error(missing.into()));
        };
        Ok(studio_events(ctx, studio.id)?
            .filter(move |e| futures::future::ready(watched.covers(e)))
            .filter_map(|e| async move { payment_update(e) }))
    }
}

/// What a `paymentUpdates` subscription follows.
#[derive(Clone, Copy)]
enum Watched {
    Invoice(i64),
    Session(i64),
}

impl Watched {
    fn covers(self, e: &BillingEvent) -> bool {
        match self {
            Self::Invoice(id) => e.invoice_id == id,
            Self::Session(id) => e.session_id == id,
        }
    }
}
