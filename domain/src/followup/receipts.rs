//! A payment's receipt: to the client, or to the payer whose own link paid
//! (then, once a shared invoice is paid in full, the client's summary),
//! with the receipt PDF, sent once per payment.

use super::email_body::{Tone, strong, text, whole};
use super::emails::{greeting, key_for, to_client};
use crate::billing::documents::InvoiceDocument;
use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::DomainResult;
use crate::workflow::notify::{self, Email, Sent};
use entity::enums::{NotificationKind, PaymentStatus};
use entity::payment;
use sea_orm::EntityTrait;

/// The receipt of `payment_id`, once it succeeded. The payment, its
/// invoice and the email's claim are read and written in one commit; the
/// email is built and sent after it.
pub async fn send_receipt(ctx: &AppContext, payment_id: i64) -> DomainResult<Sent> {
    let tx = begin_write(&ctx.db).await?;
    let payment = payment::Entity::find_by_id(payment_id)
        .one(&tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("payment {payment_id} missing"))?;
    if payment.status != PaymentStatus::Succeeded {
        tx.commit().await?;
        return Ok(Sent::Already);
    }
    let doc = InvoiceDocument::load_by_id_in(&tx, payment.invoice_id).await?;
    let doc = super::payer_emails::for_payer_of(doc, &payment);
    let key = key_for(&doc, NotificationKind::Receipt, &payment.id.to_string());
    let subject = subject(&doc, &payment);
    let taken = notify::claim_in(ctx, &tx, &key, doc.addressee().1, &subject).await?;
    let withdrawal = super::gallery::picks::withdrawal_note(&tx, &doc.studio, &doc.invoice).await?;
    tx.commit().await?;
    let sent = match taken.hold(ctx, &key).mine() {
        Ok(held) => {
            let email = receipt_email(ctx, &doc, &payment, subject, withdrawal.as_deref())?;
            notify::deliver(ctx, &key, held, &email).await?
        }
        Err(sent) => sent,
    };
    super::payer_emails::paid_summary_after(ctx, &doc, sent).await
}

fn subject(doc: &InvoiceDocument, payment: &payment::Model) -> String {
    let amount = doc.money(doc.receipt_figure(payment));
    format!(
        "Receipt for invoice {}: {amount} paid",
        doc.invoice.display_number()
    )
}

fn receipt_email(
    ctx: &AppContext,
    doc: &InvoiceDocument,
    payment: &payment::Model,
    subject: String,
    withdrawal: Option<&str>,
) -> DomainResult<Email> {
    let amount = doc.money(doc.receipt_figure(payment));
    let card = crate::billing::labels::payment_way(payment);
    let mut body = greeting(doc);
    body.para(vec![
        text("We received your payment of "),
        strong(&amount),
        text(" for invoice "),
        whole(doc.invoice.display_number()),
        text(format!(", {card}.")),
    ]);
    body.on_top(doc, payment, &ctx.portal_url(&doc.invoice.portal_salt));
    // Only what the client gave us (a check number, a transfer reference)
    // is shown: gateway ids (`sim_ch_...`, `pi_...`) mean nothing to them.
    if let Some(reference) = &payment.reference {
        body.styled(Tone::Small, vec![text(format!("Reference: {reference}"))]);
    }
    let balance = doc.money(doc.due_now());
    let left = match doc.payer {
        Some(_) => "Your share remaining: ",
        None => "Balance remaining: ",
    };
    body.para(vec![text(left), strong(balance)]);
    if let Some(standing) = &doc.standing {
        body.para(vec![strong(standing)]);
    }
    body.lines(doc);
    if let Some(note) = withdrawal {
        body.para(vec![text(note)]);
    }
    body.para(vec![text("Your receipt is attached as a PDF. Thank you!")]);
    let mut email = to_client(doc, subject, "Payment received", &body);
    email.attachments.push(notify::Attachment {
        filename: format!("Receipt-{}.pdf", doc.invoice.display_number()),
        content_type: "application/pdf",
        bytes: doc.receipt_pdf(payment)?,
    });
    Ok(email)
}
