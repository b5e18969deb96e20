//! Several payers on one invoice: `setInvoicePayers` and `Invoice.payers`
//! (`domain::billing::payers` has the rules).

use super::amount::Amount;
use super::common::{AppData, Caller, domain_error, parse_id, parse_invoice_id, payload_type};
use super::invoices::Invoice;
use super::money::Money;
use super::percent::Percent;
use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use domain::billing::payers::{self, PayerInput};
use entity::invoice;

/// One payer of a shared invoice: `percent` of the amount due or an
/// `amount` (every payer the same kind).
#[derive(InputObject)]
pub struct InvoicePayerInput {
    pub name: String,
    /// Their invoice email, receipts and reminders go here, with their own link.
    pub email: String,
    pub percent: Option<Percent>,
    pub amount: Option<Amount>,
}

#[derive(InputObject)]
pub struct SetInvoicePayersInput {
    pub invoice_id: ID,
    /// 2 to 10 payers, the first first: the first payer takes any rounding
    /// remainder, and anything the invoice owes beyond the shares later (a
    /// late fee).
    pub payers: Vec<InvoicePayerInput>,
}

payload_type!(SetInvoicePayersPayload, invoice, Invoice);

#[derive(InputObject)]
pub struct SetSessionPayersInput {
    pub session_id: ID,
    /// 2 to 10 payers with a `percent` each (adding up to 100), the first
    /// first; `[]` stops splitting the session's invoices.
    pub payers: Vec<SessionPayerInput>,
}

/// One payer of a booking: their percentage of every invoice of the
/// session issued from then on.
#[derive(SimpleObject)]
pub struct SessionPayer {
    pub id: ID,
    pub position: i32,
    pub name: String,
    pub email: String,
    pub percent: rust_decimal::Decimal,
    pub auto_pay: bool,
    /// The last 4 digits of the card their shares are charged to, once saved.
    pub card_last4: Option<String>,
}

impl From<entity::session_payer::Model> for SessionPayer {
    fn from(p: entity::session_payer::Model) -> Self {
        Self {
            id: ID::from(p.id.to_string()),
            position: p.position,
            percent: domain::kernel::money::parse_plain_decimal(&p.percent).unwrap_or_default(),
            auto_pay: p.auto_pay,
            card_last4: p.pm_token.and(p.pm_last4),
            name: p.name,
            email: p.email,
        }
    }
}

payload_type!(SetSessionPayersPayload, payers, Vec<SessionPayer>);

/// The booking's payers of a session, first first.
pub async fn session_payers_of(ctx: &Context<'_>, session_id: i64) -> Result<Vec<SessionPayer>> {
    let app = &ctx.data::<AppData>()?.ctx;
    Ok(payers::booking::session_payers(&app.db, session_id)
        .await
        .map_err(domain_error)?
        .into_iter()
        .map(SessionPayer::from)
        .collect())
}

fn inputs_of(list: Vec<InvoicePayerInput>) -> Vec<PayerInput> {
    list.into_iter()
        .map(|p| PayerInput {
            name: p.name,
            email: p.email,
            percent: p.percent.map(Into::into),
            amount: p.amount.map(Into::into),
            auto_pay: false,
        })
        .collect()
}

/// One payer of a booking: a `percent` of every invoice of the session.
#[derive(InputObject)]
pub struct SessionPayerInput {
    pub name: String,
    pub email: String,
    pub percent: Percent,
    /// Offered to keep the card they pay their first share with; their
    /// later shares are then charged to it automatically (a decline emails
    /// them alone, with their link).
    #[graphql(default)]
    pub auto_pay: bool,
}

/// A payer as the studio sees them.
#[derive(SimpleObject)]
pub struct InvoicePayer {
    pub id: ID,
    pub position: i32,
    pub name: String,
    pub email: String,
    /// Their share of the amount due when the split was set.
    pub share: Money,
    /// What they paid toward the invoice (tips aside).
    pub paid: Money,
    /// What they owe now.
    pub owed: Money,
    /// Their own payment-portal link (share it only with them).
    pub portal_url: String,
}

/// The payers of `invoice` as the studio sees them, first first.
pub async fn payers_of(ctx: &Context<'_>, invoice: &invoice::Model) -> Result<Vec<InvoicePayer>> {
    let app = &ctx.data::<AppData>()?.ctx;
    let standing = payers::standing_of(&app.db, invoice)
        .await
        .map_err(domain_error)?;
    Ok(standing
        .into_iter()
        .map(|s| InvoicePayer {
            id: ID::from(s.payer.id.to_string()),
            position: s.payer.position,
            share: Money::of(s.payer.share_minor, s.payer.currency),
            paid: Money::of(s.paid, s.payer.currency),
            owed: Money::of(s.owed, s.payer.currency),
            portal_url: app.portal_url(&s.payer.portal_salt),
            name: s.payer.name,
            email: s.payer.email,
        })
        .collect())
}

#[derive(Default)]
pub struct PayersMutation;

#[Object]
impl PayersMutation {
    /// Splits an invoice between payers (the couple and the parents): each
    /// gets their own email and portal link for their share, their own
    /// receipts and reminders; the invoice keeps its number and its client,
    /// and is `PARTIALLY_PAID` until every share is paid. Any payer, or the
    /// client through the invoice's own link, may pay more and cover the
    /// rest. Replaces an earlier split until a payer has paid. Refused with
    /// nothing written: `SHARES_DO_NOT_ADD_UP`, `INVALID_PERCENT`,
    /// `BELOW_MINIMUM`, `DUPLICATE` (one email for two payers),
    /// `INVALID_INPUT`, `INVALID_STATE` (nothing due, or a payer already
    /// paid), `NOT_FOUND`.
    async fn set_invoice_payers(
        &self,
        ctx: &Context<'_>,
        input: SetInvoicePayersInput,
    ) -> Result<SetInvoicePayersPayload> {
        let caller = Caller::of(ctx)?;
        let list = inputs_of(input.payers);
        let result = async {
            let invoice_id = parse_invoice_id(&input.invoice_id)?;
            payers::set_invoice_payers(
                caller.app,
                caller.studio_id(),
                invoice_id,
                &list,
                &caller.actor,
                caller.request_id(),
            )
            .await
        }
        .await;
        SetInvoicePayersPayload::from_result(result.map(Invoice::from))
    }

    /// A booking's payers: every invoice of the session issued from now on
    /// (each part of its payment plan, the final invoice) is split between
    /// them by these percentages, as `setInvoicePayers` would split it.
    /// Invoices issued before keep theirs. Refused with nothing written like
    /// `setInvoicePayers`; `INVALID_STATE` for a cancelled session.
    async fn set_session_payers(
        &self,
        ctx: &Context<'_>,
        input: SetSessionPayersInput,
    ) -> Result<SetSessionPayersPayload> {
        let caller = Caller::of(ctx)?;
        let list: Vec<PayerInput> = input
            .payers
            .into_iter()
            .map(|p| PayerInput {
                name: p.name,
                email: p.email,
                percent: Some(p.percent.into()),
                amount: None,
                auto_pay: p.auto_pay,
            })
            .collect();
        let result = async {
            let session_id = parse_id(&input.session_id, "sessionId", "session")?;
            payers::booking::set_session_payers(
                caller.app,
                caller.studio_id(),
                domain::kernel::ids::SessionId::new(session_id),
                &list,
            )
            .await
        }
        .await;
        SetSessionPayersPayload::from_result(
            result.map(|list| list.into_iter().map(SessionPayer::from).collect()),
        )
    }
}
