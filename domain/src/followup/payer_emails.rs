//! The emails of an invoice shared between payers (`billing::payers`):
//! each payer gets their own invoice email, receipts and reminders, with
//! their own link and their share; the contracting client gets one summary
//! when everything is paid.

use crate::billing::documents::InvoiceDocument;
use crate::followup::email_body::{Body, strong, text, whole};
use crate::infra::context::AppContext;
use crate::infra::error::DomainResult;
use crate::workflow::notify::{self, Sent};
use entity::enums::{InvoiceStatus, NotificationKind};
use entity::payment;

/// Sends `send` to the invoice's client, or, on a shared invoice, to each
/// payer who still owes their share (step `{step}:payer:{id}`, one email
/// each): a payer whose share is charged to their card is left out of the
/// invoice's sendings (not of `reminders`) unless the charge was declined
/// (the sending for them alone). A payer whose email is held by another
/// sender makes the whole job wait; the others' are sent once either way.
pub(super) async fn each_reader<'a, F, Fut>(
    ctx: &'a AppContext,
    doc: &'a InvoiceDocument,
    step: &'a str,
    reminders: bool,
    send: F,
) -> DomainResult<Sent>
where
    F: Fn(&'a AppContext, InvoiceDocument, String) -> Fut,
    Fut: std::future::Future<Output = DomainResult<Sent>> + 'a,
{
    if doc.payers.is_empty() {
        return send(ctx, doc.clone(), step.to_string()).await;
    }
    let alone = crate::billing::payers::charge::declined_payer(step);
    let mut outcome = Sent::Already;
    for (payer, owed) in doc.payer_owed() {
        let left_out = match alone {
            Some(id) => id != payer.id,
            None => payer.charged && !reminders,
        };
        if !owed.is_positive() || left_out {
            continue;
        }
        let step = format!("{step}:payer:{}", payer.id);
        match send(ctx, doc.for_payer(payer), step).await? {
            held @ Sent::InFlight { .. } => return Ok(held),
            Sent::Now => outcome = Sent::Now,
            Sent::Failed if outcome == Sent::Already => outcome = Sent::Failed,
            Sent::Failed | Sent::Already => {}
        }
    }
    Ok(outcome)
}

/// A payment's receipt goes to the payer whose link paid it.
pub(super) fn for_payer_of(doc: InvoiceDocument, payment: &payment::Model) -> InvoiceDocument {
    match payment
        .payer_id
        .and_then(|id| doc.payers.iter().find(|p| p.id == id))
    {
        Some(payer) => doc.for_payer(payer),
        None => doc,
    }
}

/// After a payer's receipt: once the shared invoice is paid in full, the
/// contracting client gets one summary (sent once, whichever payment
/// paid it off). The receipt's outcome is passed on.
pub(super) async fn paid_summary_after(
    ctx: &AppContext,
    doc: &InvoiceDocument,
    receipt: Sent,
) -> DomainResult<Sent> {
    if doc.payer.is_none() || doc.invoice.status != InvoiceStatus::Paid {
        return Ok(receipt);
    }
    let key = super::emails::key_for(
        doc,
        NotificationKind::Receipt,
        crate::workflow::jobs::PAID_IN_FULL,
    );
    if notify::already_sent(ctx, &key).await? {
        return Ok(receipt);
    }
    let client = InvoiceDocument {
        payer: None,
        ..doc.clone()
    };
    let number = client.invoice.display_number();
    let mut body = Body::greeting(&client.greeting_name());
    body.para(vec![
        text("Invoice "),
        whole(number),
        text(" for “"),
        text(client.session.title.clone()),
        text("” is paid in full: "),
        strong(client.money(client.invoice.amount_paid_minor)),
        text(" received."),
    ]);
    for (payer, _) in client.payer_owed() {
        let paid = crate::billing::payers::paid_by(payer.id, &client.payments);
        body.para(vec![text(format!(
            "{}: {} of a share of {}.",
            payer.name,
            client.money(paid),
            client.money(payer.share_minor)
        ))]);
    }
    body.lines(&client);
    body.para(vec![text("Thank you!")]);
    let subject = format!("Invoice {number} is paid in full");
    let email = super::emails::to_client(&client, subject, "Paid in full", &body);
    match notify::send_once(ctx, &key, &email).await? {
        held @ Sent::InFlight { .. } => Ok(held),
        _ => Ok(receipt),
    }
}
