//! The confirmation of a refund spread over a session's payments
//! (`refundSession`), once every refund of the request has settled. Each
//! reader hears of the refunds to their own payments: a payer of a shared
//! invoice gets theirs (their card, their credit notes), the client gets
//! theirs; a payer's card is never shown to anybody else. When refunds went
//! only to payers, the client is told the total went back to the payers
//! who paid it.

use super::{CARD_DELAY, back_to};
use crate::billing::documents::InvoiceDocument;
use crate::followup::email_body::{strong, text};
use crate::followup::emails::{greeting, key_for, to_client};
use crate::infra::context::AppContext;
use crate::infra::error::DomainResult;
use crate::kernel::money::Minor;
use crate::workflow::notify::{self, Sent};
use entity::enums::{NotificationKind, PaymentMethod, RefundStatus};
use entity::{credit_note, invoice, invoice_payer, payment, refund};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use std::collections::BTreeMap;

/// What one reader is told: a row per refund, the amounts, whether a card
/// is among them.
#[derive(Default)]
struct Told {
    rows: Vec<(String, String, String)>,
    amounts: Vec<Minor>,
    card: bool,
}

/// Keyed by the request's first refund (and the payer, for a payer), so
/// whichever of its refunds settles last sends each email, once (a failed
/// member asks for it too, see `refunds::settle`).
pub(super) async fn send_spread_confirmation(ctx: &AppContext, group: &str) -> DomainResult<Sent> {
    let made = refund::Entity::find()
        .filter(refund::Column::GroupKey.eq(group))
        .order_by_asc(refund::Column::Id)
        .all(&ctx.db)
        .await?;
    let Some(lead) = made.first() else {
        return Ok(Sent::Already);
    };
    // The refund that settles last sends it (a failed one too): each
    // member's job runs after its own settlement commits.
    if made.iter().any(|r| r.status == RefundStatus::Pending) {
        return Ok(Sent::Already);
    }
    let returned: Vec<_> = made
        .iter()
        .filter(|r| r.status == RefundStatus::Succeeded)
        .collect();
    let notes = credit_note::Entity::find()
        .filter(credit_note::Column::RefundId.is_in(returned.iter().map(|r| r.id)))
        .all(&ctx.db)
        .await?;
    let payments = payment::Entity::find()
        .filter(payment::Column::Id.is_in(returned.iter().map(|r| r.payment_id)))
        .all(&ctx.db)
        .await?;
    let invoices = invoice::Entity::find()
        .filter(invoice::Column::Id.is_in(returned.iter().map(|r| r.invoice_id)))
        .all(&ctx.db)
        .await?;
    let payers = invoice_payer::Entity::find()
        .filter(invoice_payer::Column::Id.is_in(payments.iter().filter_map(|p| p.payer_id)))
        .all(&ctx.db)
        .await?;
    let doc = InvoiceDocument::load_by_id(ctx, lead.invoice_id).await?;
    let mut readers: BTreeMap<Option<i64>, Told> = BTreeMap::new();
    for r in &returned {
        let note = notes.iter().find(|n| n.refund_id == Some(r.id));
        let paid = payments.iter().find(|p| p.id == r.payment_id);
        let billed = invoices.iter().find(|i| i.id == r.invoice_id);
        let (Some(note), Some(paid), Some(billed)) = (note, paid, billed) else {
            return Err(
                anyhow::anyhow!("refund {} is missing its credit note or payment", r.id).into(),
            );
        };
        let reader = paid
            .payer_id
            .filter(|id| payers.iter().any(|p| p.id == *id));
        let told = readers.entry(reader).or_default();
        told.rows.push((
            format!("Invoice {}", billed.display_number()),
            doc.money(r.amount_minor).to_string(),
            format!("{}, credit note {}", back_to(paid), note.number),
        ));
        told.amounts.push(r.amount_minor);
        told.card |= paid.method == PaymentMethod::Card;
    }
    if readers.is_empty() {
        return Ok(Sent::Already);
    }
    let mut outcome = Sent::Already;
    let to_payers_only = !readers.contains_key(&None);
    for (reader, told) in &readers {
        let (reading, step) = match reader.and_then(|id| payers.iter().find(|p| p.id == id)) {
            Some(payer) => (
                doc.for_payer(payer),
                format!("{}:payer:{}", lead.id, payer.id),
            ),
            None => (doc.clone(), lead.id.to_string()),
        };
        match send_one(ctx, &reading, &step, told).await? {
            held @ Sent::InFlight { .. } => return Ok(held),
            Sent::Now => outcome = Sent::Now,
            Sent::Failed if outcome == Sent::Already => outcome = Sent::Failed,
            Sent::Failed | Sent::Already => {}
        }
    }
    if to_payers_only {
        let all: Vec<Minor> = readers.values().flat_map(|t| t.amounts.clone()).collect();
        match tell_client(ctx, &doc, &lead.id.to_string(), &all).await? {
            held @ Sent::InFlight { .. } => return Ok(held),
            Sent::Now => outcome = Sent::Now,
            Sent::Failed if outcome == Sent::Already => outcome = Sent::Failed,
            Sent::Failed | Sent::Already => {}
        }
    }
    Ok(outcome)
}

fn total_of(doc: &InvoiceDocument, amounts: &[Minor]) -> DomainResult<String> {
    let total = crate::kernel::money::checked_sum(amounts.iter().copied())
        .ok_or_else(|| anyhow::anyhow!("refund total overflows"))?;
    Ok(doc.money(total).to_string())
}

/// One reader's email: the total, then each of their refunds with where it
/// went, its invoice and its credit note.
async fn send_one(
    ctx: &AppContext,
    doc: &InvoiceDocument,
    step: &str,
    told: &Told,
) -> DomainResult<Sent> {
    let total = total_of(doc, &told.amounts)?;
    let when = if told.card { CARD_DELAY } else { "" };
    let subject = format!("Refund of {total} for “{}”", doc.session.title);
    let mut body = greeting(doc);
    let count = match told.rows.len() {
        1 => String::new(),
        n => format!(", in {n} refunds"),
    };
    body.para(vec![
        text("We refunded "),
        strong(&total),
        text(format!(" for your booking “{}”{count}:", doc.session.title)),
    ]);
    body.schedule(&told.rows);
    body.para(vec![text(format!(
        "Each refund goes back to the payment it came from.{when}"
    ))]);
    let email = to_client(doc, subject, "Refund confirmation", &body);
    let key = key_for(doc, NotificationKind::RefundConfirmation, step);
    notify::send_once(ctx, &key, &email).await
}

/// The client, whose booking's refunds all went back to its payers: the
/// total, and that each payer was told of their own (no payer's card).
async fn tell_client(
    ctx: &AppContext,
    doc: &InvoiceDocument,
    step: &str,
    amounts: &[Minor],
) -> DomainResult<Sent> {
    let total = total_of(doc, amounts)?;
    let subject = format!("Refund of {total} for “{}”", doc.session.title);
    let mut body = greeting(doc);
    body.para(vec![
        text("We refunded "),
        strong(&total),
        text(format!(
            " for your booking “{}”. It went back to the payers who paid it, each to the \
             payment it came from; each payer was told of their own refund.",
            doc.session.title
        )),
    ]);
    let email = to_client(doc, subject, "Refund confirmation", &body);
    let key = key_for(doc, NotificationKind::RefundConfirmation, step);
    notify::send_once(ctx, &key, &email).await
}
