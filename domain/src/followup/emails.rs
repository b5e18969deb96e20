//! The emails of the workflow: invoice, receipt, refund, gallery
//! credentials, upgrades and expiry, declines, reminders, card setup. Each
//! body is written once (`email_body::Body`) and sent as HTML plus plain
//! text, at most once per key.

use crate::billing::documents::InvoiceDocument;
use crate::followup::email_body::{Body, Tone, strong, text, whole};
use crate::followup::gallery;
use crate::infra::context::AppContext;
use crate::infra::error::DomainResult;
use crate::kernel::keys::Key;
use crate::workflow::notify::{self, Email, EmailKey, Sent};
use entity::enums::{GalleryLevel, NotificationKind, PaymentStatus};
use sea_orm::EntityTrait;

mod gallery_access;
pub use gallery_access::{send_gallery_credentials, send_gallery_upgrade};

pub(super) fn key_for(doc: &InvoiceDocument, kind: NotificationKind, step: &str) -> EmailKey {
    EmailKey {
        studio_id: doc.studio.id,
        invoice_id: doc.invoice.id,
        kind,
        step: step.to_string(),
    }
}

/// An email from the studio to a client: `body` under `title`, signed with
/// the studio's name and contact details in both parts.
pub(crate) fn from_studio(
    studio: &entity::studio::Model,
    client: &entity::client::Model,
    subject: String,
    title: &str,
    body: &Body,
) -> Email {
    to_person(studio, (&client.name, &client.email), subject, title, body)
}

/// An email from the studio to `to` (name, address).
fn to_person(
    studio: &entity::studio::Model,
    (to_name, to_email): (&str, &str),
    subject: String,
    title: &str,
    body: &Body,
) -> Email {
    let (text, html) = body.render(studio, title);
    Email {
        studio_name: studio.name.clone(),
        to_name: to_name.to_string(),
        to_email: to_email.to_string(),
        reply_to: studio.email.clone(),
        subject,
        text,
        html,
        attachments: Vec::new(),
    }
}

/// An email from the studio to the invoice's client, or to the payer the
/// document is for.
pub(super) fn to_client(doc: &InvoiceDocument, subject: String, title: &str, body: &Body) -> Email {
    to_person(&doc.studio, doc.addressee(), subject, title, body)
}

/// "Hi Noah," opens every email to the invoice's client (or payer): one
/// rule for every email
/// ([`greeting_name`](crate::billing::documents::greeting_name)).
pub(super) fn greeting(doc: &InvoiceDocument) -> Body {
    Body::greeting(&doc.greeting_name())
}

/// The invoice email with its PDF. `resend` is the studio's key for a resend
/// (each key sends once); `None` is the first sending.
pub async fn send_invoice(
    ctx: &AppContext,
    invoice_id: i64,
    resend: Option<&str>,
) -> DomainResult<Sent> {
    let doc = InvoiceDocument::load_by_id(ctx, invoice_id).await?;
    let step = match resend {
        Some(key) => format!("resend:{key}"),
        None => "1".to_string(),
    };
    super::payer_emails::each_reader(ctx, &doc, &step, false, invoice_email).await
}

/// One invoice email, to the document's reader, under `step`.
async fn invoice_email(ctx: &AppContext, doc: InvoiceDocument, step: String) -> DomainResult<Sent> {
    let key = key_for(&doc, NotificationKind::Invoice, &step);
    if notify::already_sent(ctx, &key).await? {
        return Ok(Sent::Already);
    }
    let portal = doc.portal_link(ctx);
    let due = doc.due_now();
    let paid = due.is_zero();
    let number = doc.invoice.display_number();
    let subject = format!("Invoice {number} from {}", doc.studio.name);
    // Each reader's own card and declines only.
    let client = doc.payer.is_none();
    let decline = doc.own_last_decline().filter(|_| !paid);
    let decline_text = decline.map(|p| {
        let retry = match crate::billing::payments::next_auto_pay_retry(p) {
            Some(at) => format!(
                " We will try your card again on {}, or you can pay now below.",
                at.format("%B %-d")
            ),
            None if p.source == entity::enums::PaymentSource::AutoPay => {
                " We will not try this card again: please pay below.".to_string()
            }
            None => String::new(),
        };
        format!(
            "We tried to charge your card{} but it was declined: {}{retry}",
            crate::billing::documents::payment_card(p)
                .map(|card| format!(" {card}"))
                .unwrap_or_default(),
            p.failure_message.as_deref().unwrap_or("declined")
        )
    });
    let mut body = greeting(&doc);
    body.para(vec![text(doc.opening()), whole(number), text(".")]);
    if let Some(share) = doc.share_sentence() {
        body.para(vec![text(share)]);
    }
    if let Some(declined) = decline_text {
        body.styled(Tone::Alert, vec![text(declined)]);
    }
    if let Some(notice) = crate::billing::installments::auto_charge_notice(&doc).filter(|_| client)
    {
        body.para(vec![text(notice)]);
    }
    body.lines(&doc);
    if paid {
        body.para(vec![text("Nothing is due: this invoice is settled.")]);
        body.action("View it online", &portal, "View the invoice");
    } else {
        body.para(vec![text("Due by "), strong(doc.due_date()), text(".")]);
        let pay = format!("Pay {}", doc.money(due));
        body.action("View and pay online", &portal, &pay);
    }
    body.spelled_out(&portal);
    let mut email = to_client(&doc, subject, &format!("Invoice {number}"), &body);
    email.attachments.push(notify::Attachment {
        filename: format!("{}.pdf", doc.invoice.display_number()),
        content_type: "application/pdf",
        bytes: doc.pdf(Some(portal.clone()))?,
    });
    notify::send_once(ctx, &key, &email).await
}

/// After a declined auto-pay retry: what happened, when the next attempt
/// runs (if any), and the portal link to pay now with another card.
pub async fn send_decline_notice(
    ctx: &AppContext,
    invoice_id: i64,
    attempt: u32,
) -> DomainResult<Sent> {
    let doc = InvoiceDocument::load_by_id(ctx, invoice_id).await?;
    let key = Key::AutoPay {
        invoice_id,
        attempt,
    }
    .to_string();
    let Some(declined) = doc.payments.iter().find(|p| p.idempotency_key == key) else {
        return Ok(Sent::Already);
    };
    if doc.invoice.amount_due_minor.is_zero() || declined.status != PaymentStatus::Failed {
        return Ok(Sent::Already);
    }
    let portal = ctx.portal_url(&doc.invoice.portal_salt);
    let card = crate::billing::documents::payment_card(declined)
        .map(|card| format!(" {card}"))
        .unwrap_or_default();
    let reason = declined
        .failure_message
        .clone()
        .unwrap_or_else(|| "declined".into());
    let next = match crate::billing::payments::next_auto_pay_retry(declined) {
        Some(at) => format!("We will try again on {}.", at.format("%B %-d, %Y")),
        None => "We will not try this card again.".to_string(),
    };
    let amount = doc.money(doc.invoice.amount_due_minor);
    let subject = format!(
        "Payment declined for invoice {}",
        doc.invoice.display_number()
    );
    let mut body = greeting(&doc);
    body.para(vec![
        text(format!(
            "We tried again to charge your card{card} for invoice "
        )),
        whole(doc.invoice.display_number()),
        text(" ("),
        strong(&amount),
        text(format!("), but it was declined: {reason}")),
    ]);
    body.para(vec![text(format!(
        "{next} You can pay now with another card and keep it for your automatic payments."
    ))]);
    body.action("Pay now", &portal, &format!("Pay {amount}"));
    let email = to_client(&doc, subject, "Your payment was declined", &body);
    notify::send_once(
        ctx,
        &key_for(&doc, NotificationKind::DeclineNotice, &attempt.to_string()),
        &email,
    )
    .await
}

/// A reminder of an unpaid invoice (step `step` of its follow-up plan), or
/// the final notice. Nothing is sent if the invoice was settled meanwhile.
pub async fn send_reminder(ctx: &AppContext, invoice_id: i64, step: u32) -> DomainResult<Sent> {
    let doc = InvoiceDocument::load_by_id(ctx, invoice_id).await?;
    if !crate::billing::payments::payable(&doc.invoice) {
        return Ok(Sent::Already);
    }
    let each = |ctx, doc, key: String| reminder_email(ctx, doc, step, key);
    super::payer_emails::each_reader(ctx, &doc, &step.to_string(), true, each).await
}

/// One reminder, to the document's reader (a payer: only while they owe).
async fn reminder_email(
    ctx: &AppContext,
    doc: InvoiceDocument,
    step: u32,
    key_step: String,
) -> DomainResult<Sent> {
    use crate::followup::reminders::StepKind;
    let key = key_for(&doc, NotificationKind::Reminder, &key_step);
    if notify::already_sent(ctx, &key).await? {
        return Ok(Sent::Already);
    }
    let planned = crate::followup::reminders::plan_for(&ctx.db, &doc.invoice).await?;
    let Some(planned_step) = planned.steps.iter().find(|s| s.index == step) else {
        return Ok(Sent::Already);
    };
    let final_notice = planned_step.kind == StepKind::FinalNotice;
    let number = doc.invoice.display_number();
    let when = match planned_step.days_from_due {
        d if d < -1 => format!("is due in {} days", -d),
        -1 => "is due tomorrow".to_string(),
        0 => "is due today".to_string(),
        1 => "is 1 day overdue".to_string(),
        d => format!("is {d} days overdue"),
    };
    let subject = if final_notice {
        format!("Final notice: invoice {number} {when}")
    } else {
        format!("Reminder: invoice {number} {when}")
    };
    let amount = doc.money(doc.due_now());
    let portal = doc.portal_link(ctx);
    let late_fee = doc
        .lines
        .iter()
        .find(|l| l.kind == entity::enums::LineKind::LateFee)
        .map(|l| {
            format!(
                "A late fee of {} has been added to the invoice.",
                doc.money(l.amount_minor)
            )
        });
    let closing = if final_notice {
        "This is our final notice. Please pay now or contact us if something is wrong."
    } else {
        "If you have already paid, thank you, and please ignore this message."
    };
    let mut body = greeting(&doc);
    body.para(vec![
        text("Invoice "),
        whole(number),
        text(format!(
            " for “{}” {when} (due date {}). Amount due: ",
            doc.session.title,
            doc.due_date()
        )),
        strong(&amount),
        text("."),
    ]);
    if let Some(fee) = late_fee {
        body.styled(Tone::Notice, vec![text(fee)]);
    }
    body.lines(&doc);
    body.action("Pay online", &portal, &format!("Pay {amount}"));
    body.para(vec![text(closing)]);
    body.spelled_out(&portal);
    let title = if final_notice {
        "Final notice"
    } else {
        "Payment reminder"
    };
    let mut email = to_client(&doc, subject, title, &body);
    email.attachments.push(notify::Attachment {
        filename: format!("{number}.pdf"),
        content_type: "application/pdf",
        bytes: doc.pdf(Some(portal.clone()))?,
    });
    notify::send_once(ctx, &key, &email).await
}

/// Before gallery access ends: the date, and what the client can still do.
/// Sent once per expiry; skipped if access changed since (a payment extended
/// it, a refund lowered it).
pub async fn send_gallery_expiry_notice(
    ctx: &AppContext,
    invoice_id: i64,
    expires_at: i64,
) -> DomainResult<Sent> {
    let doc = InvoiceDocument::load_by_id(ctx, invoice_id).await?;
    let Some(access) = gallery::access_for_invoice(ctx, &doc.invoice).await? else {
        return Ok(Sent::Already);
    };
    let Some(expiry) = access
        .expires_at
        .filter(|e| e.timestamp() == expires_at && access.level != GalleryLevel::Locked)
    else {
        return Ok(Sent::Already);
    };
    let key = key_for(
        &doc,
        NotificationKind::GalleryExpiring,
        &expires_at.to_string(),
    );
    let date = expiry
        .with_timezone(&crate::billing::invoicing::studio_tz(&doc.studio))
        .format("%B %-d, %Y")
        .to_string();
    let url = gallery::link(ctx, &access).await?;
    let subject = format!("Your gallery \"{}\" closes on {date}", doc.session.title);
    let mut body = greeting(&doc);
    body.para(vec![
        text(format!(
            "Your access to the gallery of “{}” ends on ",
            doc.session.title
        )),
        strong(&date),
        text("."),
    ]);
    if access.level == GalleryLevel::Full {
        body.para(vec![text(
            "Please download the photos you want to keep before then.",
        )]);
    } else {
        let number = doc.invoice.display_number();
        body.para(vec![
            text("Pay invoice "),
            whole(number),
            text(" to unlock full-resolution downloads."),
        ]);
        let portal = ctx.portal_url(&doc.invoice.portal_salt);
        body.action("Pay online", &portal, &format!("Pay invoice {number}"));
    }
    body.action("Gallery", &url, "Open your gallery");
    let email = to_client(&doc, subject, "Your gallery closes soon", &body);
    notify::send_once(ctx, &key, &email).await
}

/// The link to put a card on file (`requestCardSetup`): one email per
/// request (kind `CARD_SETUP`, keyed by the request; a card-setup email is
/// about no invoice, so its `invoice_id` is 0).
pub async fn send_card_setup_link(ctx: &AppContext, card_setup_id: i64) -> DomainResult<Sent> {
    let Some(setup) = entity::card_setup::Entity::find_by_id(card_setup_id)
        .one(&ctx.db)
        .await?
    else {
        return Ok(Sent::Already);
    };
    let page = crate::billing::card_setup::load(ctx, setup).await?;
    let link = crate::billing::card_setup::link_of(ctx, &page.setup);
    let studio = &page.studio.name;
    let until = page.setup.expires_at.format("%B %-d, %Y");
    let subject = format!("Save a card for automatic payments to {studio}");
    let mut body = Body::greeting(&crate::billing::documents::greeting_name(&page.client));
    body.para(vec![text(format!(
        "{studio} asks you to put a card on file, so that your next invoices are paid automatically when they are issued. You enter the card on our payment provider's secure page; {studio} never sees its number. Nothing is charged now."
    ))]);
    body.action("Save your card", &link, "Save my card");
    body.styled(
        Tone::Small,
        vec![text(format!(
            "This link works until {until}. If you did not expect this, you can ignore this email."
        ))],
    );
    let title = "Save a card for automatic payments";
    let email = from_studio(&page.studio, &page.client, subject, title, &body);
    notify::send_once(
        ctx,
        &EmailKey {
            studio_id: page.studio.id,
            invoice_id: 0,
            kind: NotificationKind::CardSetup,
            step: card_setup_id.to_string(),
        },
        &email,
    )
    .await
}
