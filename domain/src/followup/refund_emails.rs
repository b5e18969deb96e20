//! The client's refund confirmation: one email per refund, or one per
//! request when the studio's refund of a session was spread over several
//! payments ([`crate::billing::refunds::spread`]).

use super::email_body::{strong, text, whole};

mod spread;
use super::emails::{greeting, key_for, to_client};
use crate::billing::documents::{InvoiceDocument, payment_label};
use crate::infra::context::AppContext;
use crate::infra::error::DomainResult;
use crate::workflow::notify::{self, Sent};
use entity::enums::{NotificationKind, PaymentMethod, RefundStatus};
use entity::{payment, refund};
use sea_orm::EntityTrait;
use spread::send_spread_confirmation;

/// Where a refund of `payment` goes back to ("to your Visa •••• 4242", "by
/// check").
fn back_to(payment: &payment::Model) -> String {
    match payment.method {
        PaymentMethod::Card => format!("to your {}", payment_label(payment)),
        PaymentMethod::Cash => "in cash".into(),
        PaymentMethod::Check => "by check".into(),
        PaymentMethod::BankTransfer => "by bank transfer".into(),
        PaymentMethod::Other => "by the original payment method".into(),
    }
}

const CARD_DELAY: &str = " Card refunds usually reach your statement within 5 to 10 business days.";

/// The client's confirmation that a refund went back, with the amount, the
/// card (or method) it went to and the credit note that accompanies it (a
/// tip paid alone has none). Sent once per refund (once per request for a
/// spread one); a chargeback has no credit note and sends nothing.
pub async fn send_refund_confirmation(ctx: &AppContext, refund_id: i64) -> DomainResult<Sent> {
    let Some(found) = refund::Entity::find_by_id(refund_id).one(&ctx.db).await? else {
        return Ok(Sent::Already);
    };
    if let Some(group) = &found.group_key {
        return send_spread_confirmation(ctx, group).await;
    }
    if found.status != RefundStatus::Succeeded {
        return Ok(Sent::Already);
    }
    // A tip paid alone goes back with no invoice money, so no credit note.
    let note = crate::billing::refunds::credit_note_of(&ctx.db, found.id).await?;
    let tip_only = found.amount_minor.is_zero() && found.tip_minor.is_positive();
    if note.is_none() && !tip_only {
        return Ok(Sent::Already);
    }
    let payment = payment::Entity::find_by_id(found.payment_id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("payment {} missing", found.payment_id))?;
    let doc = InvoiceDocument::load_by_id(ctx, found.invoice_id).await?;
    let doc = super::payer_emails::for_payer_of(doc, &payment);
    let (amount, what) = match tip_only {
        true => (doc.money(found.tip_minor), "your tip of "),
        false => (doc.money(found.amount_minor), ""),
    };
    let number = doc.invoice.display_number().to_string();
    let back_to = back_to(&payment);
    let when = match payment.method {
        PaymentMethod::Card => CARD_DELAY,
        _ => "",
    };
    let owed = if doc.due_now().is_positive() {
        format!(
            "The balance still due on this invoice is {}.",
            doc.money(doc.due_now())
        )
    } else {
        "Nothing is owed on this invoice.".to_string()
    };
    let subject = format!("Refund of {amount} for invoice {number}");
    let mut body = greeting(&doc);
    body.para(vec![
        text(format!("We refunded {what}")),
        strong(&amount),
        text(format!(" {back_to} for invoice ")),
        whole(&number),
        text(format!(".{when}")),
    ]);
    if let Some(back) = going_back_too(&doc, &found).filter(|_| !tip_only) {
        body.para(vec![text(back)]);
    }
    if let Some(note) = &note {
        body.para(vec![
            text("Credit note: "),
            strong(&note.number),
            text(" ("),
            whole(&amount),
            text(")"),
        ]);
    }
    body.para(vec![text(owed)]);
    let email = to_client(&doc, subject, "Refund confirmation", &body);
    notify::send_once(
        ctx,
        &key_for(
            &doc,
            NotificationKind::RefundConfirmation,
            &found.id.to_string(),
        ),
        &email,
    )
    .await
}

/// What a refund returns besides the invoice's money (the card surcharge,
/// the tip), said once with the card's total; `None` when nothing else.
fn going_back_too(doc: &InvoiceDocument, found: &entity::refund::Model) -> Option<String> {
    let mut parts = Vec::new();
    if found.surcharge_minor.is_positive() {
        parts.push(format!(
            "the card surcharge paid with it ({})",
            doc.money(found.surcharge_minor)
        ));
    }
    if found.tip_minor.is_positive() {
        parts.push(format!("your tip ({})", doc.money(found.tip_minor)));
    }
    if parts.is_empty() {
        return None;
    }
    let card_total = doc.money(found.amount_minor + found.surcharge_minor + found.tip_minor);
    Some(format!(
        "{} goes back too: {card_total} in all.",
        capitalized(&parts.join(" and "))
    ))
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
