//! A payment's receipt: to the client, or to the payer whose own link paid
//! (then, once a shared invoice is paid in full, the client's summary),
//! with the receipt PDF, sent once per payment.

use super::email_body::{Tone, strong, text, whole};
use super::emails::{greeting, key_for, to_client};
use crate::billing::documents::InvoiceDocument;
use crate::infra::context::AppContext;
use crate::infra::error::DomainResult;
use crate::workflow::notify::{self, Sent};
use entity::enums::{NotificationKind, PaymentStatus};
use entity::payment;
use sea_orm::{EntityTrait, TransactionTrait};

/// The receipt of `payment_id`, once it succeeded.
pub async fn send_receipt(ctx: &AppContext, payment_id: i64) -> DomainResult<Sent> {
    // The payment and its invoice in one read-only transaction.
    let tx = ctx.db.begin().await?;
    let payment = payment::Entity::find_by_id(payment_id)
        .one(&tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("payment {payment_id} missing"))?;
    let doc = if payment.status == PaymentStatus::Succeeded {
        Some(InvoiceDocument::load_by_id_in(&tx, payment.invoice_id).await?)
    } else {
        None
    };
    tx.commit().await?;
    let Some(doc) = doc else {
        return Ok(Sent::Already);
    };
    let doc = super::payer_emails::for_payer_of(doc, &payment);
    let sent = receipt_email(ctx, &doc, &payment).await?;
    super::payer_emails::paid_summary_after(ctx, &doc, sent).await
}

async fn receipt_email(
    ctx: &AppContext,
    doc: &InvoiceDocument,
    payment: &payment::Model,
) -> DomainResult<Sent> {
    let amount = doc.money(doc.receipt_figure(payment));
    let card = crate::billing::labels::payment_way(payment);
    let subject = format!(
        "Receipt for invoice {}: {amount} paid",
        doc.invoice.display_number()
    );
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
    body.para(vec![text("Your receipt is attached as a PDF. Thank you!")]);
    let mut email = to_client(doc, subject, "Payment received", &body);
    email.attachments.push(notify::Attachment {
        filename: format!("Receipt-{}.pdf", doc.invoice.display_number()),
        content_type: "application/pdf",
        bytes: doc.receipt_pdf(payment)?,
    });
    let key = key_for(doc, NotificationKind::Receipt, &payment.id.to_string());
    notify::send_once(ctx, &key, &email).await
}
