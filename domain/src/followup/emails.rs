//! The emails of the workflow: invoice, receipt, gallery credentials and
//! upgrades. Each is HTML plus plain text, sent at most once per key.

use crate::billing::documents::InvoiceDocument;
use crate::followup::gallery;
use crate::infra::context::AppContext;
use crate::infra::error::DomainResult;
use crate::kernel::ids::{SessionId, StudioId};
use crate::kernel::keys::Key;
use crate::workflow::notify::{self, Claim, Email, EmailKey, Sent};
use entity::enums::{GalleryLevel, NotificationKind, PaymentMethod, PaymentStatus};
use entity::payment;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use sea_orm::{EntityTrait, TransactionTrait};

fn key_for(doc: &InvoiceDocument, kind: NotificationKind, step: &str) -> EmailKey {
    EmailKey {
        studio_id: doc.studio.id,
        invoice_id: doc.invoice.id,
        kind,
        step: step.to_string(),
    }
}

/// An email from the studio to the invoice's client. The text ends with the
/// studio's contact details, as the HTML does (`layout`).
fn to_client(doc: &InvoiceDocument, subject: String, text: String, html: String) -> Email {
    let text = format!(
        "{}\n-- \n{}\n",
        text.trim_end(),
        crate::studio::studios::contact_text(&doc.studio)
    );
    Email {
        studio_name: doc.studio.name.clone(),
        to_name: doc.client.name.clone(),
        to_email: doc.client.email.clone(),
        reply_to: doc.studio.email.clone(),
        subject,
        text,
        html,
        attachments: Vec::new(),
    }
}

/// The name the client is greeted by ("Hi Noah,"): one rule for every email
/// ([`greeting_name`](crate::billing::documents::greeting_name)).
fn greeting(doc: &InvoiceDocument) -> String {
    crate::billing::documents::greeting_name(&doc.client)
}

/// Amounts and invoice numbers are never broken inside.
const NOWRAP: &str = "white-space:nowrap";
/// A figure in a table: right-aligned, unbroken, kept apart from its
/// neighbour so quantity and price never run together.
const NUM: &str =
    "padding:6px 0 6px 12px;border-bottom:1px solid #eee;white-space:nowrap;text-align:right";

/// The frame of every client email: fluid (100 % wide up to 600 px, so it
/// reads at 390 px on a phone), the studio's logo and name on top, its
/// contact details at the foot. Each word of the title stays whole.
fn layout(studio: &entity::studio::Model, title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
            }
            body style="margin:0;padding:0;background:#f4f1ec;font-family:Georgia,'Times New Roman',serif;color:#2b2b2b;-webkit-text-size-adjust:100%" {
                table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="width:100%;border-collapse:collapse" { tr { td align="center" style="padding:24px 8px" {
                    table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="width:100%;max-width:600px;background:#ffffff;border-radius:8px;border-collapse:separate" {
                        tr { td style="padding:24px 20px 0 20px" {
                            (crate::studio::studios::logo_html(studio))
                            div style="font-size:13px;letter-spacing:2px;text-transform:uppercase;color:#8a7560;overflow-wrap:anywhere" { (studio.name) }
                        } }
                        tr { td style="padding:8px 20px 0 20px;font-size:24px;line-height:1.25" {
                            @for (i, word) in title.split(' ').enumerate() {
                                @if i > 0 { " " }
                                span style=(NOWRAP) { (word) }
                            }
                        } }
                        tr { td style="padding:16px 20px 8px 20px;font-family:Helvetica,Arial,sans-serif;font-size:15px;line-height:1.5;overflow-wrap:anywhere" { (body) } }
                        tr { td style="padding:16px 20px 24px 20px;border-top:1px solid #eee;font-family:Helvetica,Arial,sans-serif" {
                            (crate::studio::studios::contact_html(studio))
                        } }
                    }
                } } }
            }
        }
    }
    .into_string()
}

fn lines_table(doc: &InvoiceDocument) -> Markup {
    let cell = "padding:6px 0;border-bottom:1px solid #eee;overflow-wrap:anywhere";
    let total = "padding:4px 0 4px 12px;text-align:right";
    let amount = "padding:4px 0 4px 12px;text-align:right;white-space:nowrap";
    html! {
        table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="width:100%;margin:16px 0;font-size:14px;border-collapse:collapse" {
            tr style="color:#8a7560;text-align:left" { th style="text-align:left" { "Item" } th style=(NUM) { "Qty" } th style=(NUM) { "Unit" } th style=(NUM) { "Amount" } }
            @for line in &doc.lines {
                tr { td style=(cell) { (line.description) } td style=(NUM) { (line.quantity) }
                     td style=(NUM) { (doc.money(line.unit_price_minor)) } td style=(NUM) { (doc.money(line.amount_minor)) } }
            }
            @if let Some((label, value)) = doc.discount_row() {
                tr { td colspan="3" style=(total) { (label) } td style=(amount) { (value) } }
            }
            tr { td colspan="3" style=(total) { "Subtotal" } td style=(amount) { (doc.money(doc.invoice.subtotal_minor)) } }
            @for (label, value) in doc.tax_lines() {
                tr { td colspan="3" style=(total) { (label) } td style=(amount) { (value) } }
            }
            @for (label, value) in doc.credit_rows() {
                tr { td colspan="3" style=(total) { (label) } td style=(amount) { (value) } }
            }
            tr style="font-weight:bold" { td colspan="3" style=(total) { "Total" } td style=(amount) { (doc.money(doc.invoice.total_minor)) } }
            tr style="font-weight:bold" { td colspan="3" style=(total) { "Amount due" } td style=(amount) { (doc.money(doc.invoice.amount_due_minor)) } }
            @if let Some((label, value)) = doc.excess_row() {
                tr { td colspan="3" style=(total) { (label) } td style=(amount) id="excess-credit" { (value) } }
            }
        }
        @if let Some(note) = doc.tax_inclusive_note() {
            p style="font-size:13px;color:#666" { (note) }
        }
    }
}

fn lines_text(doc: &InvoiceDocument) -> String {
    let mut out = String::new();
    for line in &doc.lines {
        out.push_str(&format!(
            "  {} x {} @ {} = {}\n",
            line.quantity,
            line.description,
            doc.money(line.unit_price_minor),
            doc.money(line.amount_minor)
        ));
    }
    if let Some((label, amount)) = doc.discount_row() {
        out.push_str(&format!("  {label}: {amount}\n"));
    }
    out.push_str(&format!(
        "  Subtotal: {}\n",
        doc.money(doc.invoice.subtotal_minor)
    ));
    for (label, amount) in doc.tax_lines() {
        out.push_str(&format!("  {label}: {amount}\n"));
    }
    for (label, amount) in doc.credit_rows() {
        out.push_str(&format!("  {label}: {amount}\n"));
    }
    out.push_str(&format!(
        "  Total: {}\n  Amount due: {}\n",
        doc.money(doc.invoice.total_minor),
        doc.money(doc.invoice.amount_due_minor)
    ));
    if let Some((label, amount)) = doc.excess_row() {
        out.push_str(&format!("  {label}: {amount}\n"));
    }
    if let Some(note) = doc.tax_inclusive_note() {
        out.push_str(&format!("  {note}\n"));
    }
    out
}

fn button(url: &str, label: &str) -> Markup {
    html! {
        p style="margin:24px 0" {
            a href=(url) style="background:#2b2b2b;color:#ffffff;padding:12px 22px;border-radius:4px;text-decoration:none;display:inline-block;white-space:nowrap" { (label) }
        }
    }
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
    let key = key_for(&doc, NotificationKind::Invoice, &step);
    if notify::already_sent(ctx, &key).await? {
        return Ok(Sent::Already);
    }
    let portal = ctx.portal_url(&doc.invoice.portal_salt);
    let paid = doc.invoice.amount_due_minor.is_zero();
    let subject = format!(
        "Invoice {} from {}",
        doc.invoice.display_number(),
        doc.studio.name
    );
    let decline = doc.last_decline().filter(|_| !paid);
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
            "We tried to charge your card{} but it was declined: {}{retry}\n\n",
            crate::billing::documents::payment_card(p)
                .map(|card| format!(" {card}"))
                .unwrap_or_default(),
            p.failure_message.as_deref().unwrap_or("declined")
        )
    });
    let text = format!(
        "Hi {name},\n\nThank you for your session \"{title}\". {decline}Here is invoice {number}.\n\n{lines}\n{due}\n\nView and pay online:\n{portal}\n\n{studio}\n",
        name = greeting(&doc),
        title = doc.session.title,
        decline = decline_text.clone().unwrap_or_default(),
        number = doc.invoice.display_number(),
        lines = lines_text(&doc),
        due = if paid {
            "Nothing is due: this invoice is settled.".to_string()
        } else {
            format!("Due by {}.", doc.due_date())
        },
        studio = doc.studio.name,
    );
    let html = layout(
        &doc.studio,
        &format!("Invoice {}", doc.invoice.display_number()),
        html! {
            p { "Hi " (greeting(&doc)) "," }
            p { "Thank you for your session “" (doc.session.title) "”. Here is your invoice." }
            @if let Some(d) = &decline_text { p style="background:#fdecea;padding:12px;border-radius:4px;color:#8a1f11" { (d) } }
            (lines_table(&doc))
            @if paid { p { "Nothing is due: this invoice is settled." } }
            @else {
                p { "Due by " strong { (doc.due_date()) } "." }
                (button(&portal, &format!("Pay {}", doc.money(doc.invoice.amount_due_minor))))
            }
            p style="font-size:12px;color:#888" { "Or open this link: " a href=(portal) { (portal) } }
        },
    );
    let mut email = to_client(&doc, subject, text, html);
    email.attachments.push(notify::Attachment {
        filename: format!("{}.pdf", doc.invoice.display_number()),
        content_type: "application/pdf",
        bytes: doc.pdf(Some(portal.clone()))?,
    });
    notify::send_once(ctx, &key, &email).await
}

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
    let amount = doc.money(payment.amount_minor);
    let card = match (payment.method, &payment.card_brand, &payment.card_last4) {
        (PaymentMethod::Card, Some(_), Some(_)) => {
            format!(
                "charged to {}",
                crate::billing::documents::payment_label(&payment)
            )
        }
        (PaymentMethod::Card, _, _) => "charged to your card".to_string(),
        (PaymentMethod::Cash, _, _) => "paid in cash".to_string(),
        (PaymentMethod::Check, _, _) => "paid by check".to_string(),
        (PaymentMethod::BankTransfer, _, _) => "paid by bank transfer".to_string(),
        (PaymentMethod::Other, _, _) => "received".to_string(),
    };
    // Only what the client gave us (a check number, a transfer reference)
    // is shown: gateway ids (`sim_ch_...`, `pi_...`) mean nothing to them.
    let reference = payment
        .reference
        .clone()
        .map(|r| format!("Reference: {r}\n"))
        .unwrap_or_default();
    let subject = format!(
        "Receipt for invoice {}: {amount} paid",
        doc.invoice.display_number()
    );
    let text = format!(
        "Hi {name},\n\nWe received your payment of {amount} for invoice {number}, {card}.\n{reference}Balance remaining: {balance}\n\n{lines}\nYour receipt is attached as a PDF.\n\nThank you!\n{studio}\n",
        name = greeting(&doc),
        number = doc.invoice.display_number(),
        balance = doc.money(doc.invoice.amount_due_minor),
        lines = lines_text(&doc),
        studio = doc.studio.name,
    );
    let html = layout(
        &doc.studio,
        "Payment received",
        html! {
            p { "Hi " (greeting(&doc)) "," }
            p { "We received your payment of " strong style="white-space:nowrap" { (amount) } " for invoice " span style="white-space:nowrap" { (doc.invoice.display_number()) } ", " (card) "." }
            @if let Some(r) = &payment.reference { p style="font-size:13px;color:#666" { "Reference: " (r) } }
            (lines_table(&doc))
            p { "Your receipt is attached as a PDF." }
            p { "Thank you!" }
        },
    );
    let mut email = to_client(&doc, subject, text, html);
    email.attachments.push(notify::Attachment {
        filename: format!("Receipt-{}.pdf", doc.invoice.display_number()),
        content_type: "application/pdf",
        bytes: doc.receipt_pdf(&payment)?,
    });
    notify::send_once(
        ctx,
        &key_for(&doc, NotificationKind::Receipt, &payment.id.to_string()),
        &email,
    )
    .await
}

/// The client's confirmation that a refund went back, with the amount, the
/// card (or method) it went to and the credit note that accompanies it. Sent
/// once per refund; a chargeback has no credit note and sends nothing.
pub async fn send_refund_confirmation(ctx: &AppContext, refund_id: i64) -> DomainResult<Sent> {
    use entity::enums::RefundStatus;
    use entity::refund;
    let Some(found) = refund::Entity::find_by_id(refund_id).one(&ctx.db).await? else {
        return Ok(Sent::Already);
    };
    if found.status != RefundStatus::Succeeded {
        return Ok(Sent::Already);
    }
    let Some(note) = crate::billing::refunds::credit_note_of(&ctx.db, found.id).await? else {
        return Ok(Sent::Already);
    };
    let payment = payment::Entity::find_by_id(found.payment_id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("payment {} missing", found.payment_id))?;
    let doc = InvoiceDocument::load_by_id(ctx, found.invoice_id).await?;
    let amount = doc.money(found.amount_minor);
    let number = doc.invoice.display_number().to_string();
    let to = match payment.method {
        PaymentMethod::Card => crate::billing::documents::payment_label(&payment),
        PaymentMethod::Cash => "cash".into(),
        PaymentMethod::Check => "check".into(),
        PaymentMethod::BankTransfer => "bank transfer".into(),
        PaymentMethod::Other => "the original payment method".into(),
    };
    let back_to = match payment.method {
        PaymentMethod::Card => format!("to your {to}"),
        _ => format!("by {to}"),
    };
    let when = match payment.method {
        PaymentMethod::Card => {
            " Card refunds usually reach your statement within 5 to 10 business days."
        }
        _ => "",
    };
    let owed = if doc.invoice.amount_due_minor.is_positive() {
        format!(
            "The balance still due on this invoice is {}.",
            doc.money(doc.invoice.amount_due_minor)
        )
    } else {
        "Nothing is owed on this invoice.".to_string()
    };
    let subject = format!("Refund of {amount} for invoice {number}");
    let text = format!(
        "Hi {name},\n\nWe refunded {amount} {back_to} for invoice {number}.{when}\nCredit note: {cn} ({amount})\n{owed}\n\n{studio}\n",
        name = greeting(&doc),
        cn = note.number,
        studio = doc.studio.name,
    );
    let nowrap = "white-space:nowrap";
    let html = layout(
        &doc.studio,
        "Refund confirmation",
        html! {
            p { "Hi " (greeting(&doc)) "," }
            p { "We refunded " strong style=(nowrap) { (amount) } " " (back_to) " for invoice " span style=(nowrap) { (number) } "." (when) }
            p { "Credit note: " strong style=(nowrap) { (note.number) } " (" span style=(nowrap) { (amount) } ")" }
            p { (owed) }
        },
    );
    let email = to_client(&doc, subject, text, html);
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

fn level_description(level: GalleryLevel) -> &'static str {
    match level {
        GalleryLevel::Full => "full access: view and download every photo in full resolution",
        GalleryLevel::Preview => {
            "preview access: watermarked, lower-resolution photos; full access opens as soon as the invoice is paid"
        }
        GalleryLevel::Locked => "locked",
    }
}

/// Emails gallery credentials, once per gallery. The password is derived from
/// the notification's key, so every delivery of this email (even a resend
/// after a crash) carries the same password and the stored hash matches it.
pub async fn send_gallery_credentials(ctx: &AppContext, invoice_id: i64) -> DomainResult<Sent> {
    let tx = ctx.db.begin().await?;
    let doc = InvoiceDocument::load_by_id_in(&tx, invoice_id).await?;
    let access = gallery::access_for_session(
        &tx,
        StudioId::new(doc.invoice.studio_id),
        SessionId::new(doc.invoice.session_id),
    )
    .await?;
    tx.commit().await?;
    let Some(access) = access else {
        return Err(anyhow::anyhow!("no gallery access for invoice {invoice_id}").into());
    };
    let subject = format!("Your photos from \"{}\" are ready", doc.session.title);
    let key = key_for(&doc, NotificationKind::GalleryCredentials, "1");
    let held = match notify::claim(ctx, &key, &doc.client.email, &subject).await? {
        Claim::AlreadySent => return Ok(Sent::Already),
        Claim::Failed => return Ok(Sent::Failed),
        Claim::HeldElsewhere { until } => return Ok(Sent::InFlight { until }),
        Claim::Mine(held) => held,
    };
    let message_id = held.message_id.clone();
    // Derived from the notification, so a resend after a crash repeats it.
    let password = ctx.secret.gallery_password(&message_id);
    let access = gallery::set_password(ctx, access, &password).await?;
    let url = gallery::link(ctx, &access).await?;
    let expiry = access
        .expires_at
        .map(|e| e.format("%B %-d, %Y").to_string());
    let text = format!(
        "Hi {name},\n\nYour gallery for \"{title}\" is open with {level}.\n\nGallery:\n{url}\n\nUsername: {user}\nPassword: {password}\n{expiry}\nKeep this password safe: we only store a hash of it and cannot send it again.\n\n{studio}\n",
        name = greeting(&doc),
        title = doc.session.title,
        level = level_description(access.level),
        user = access.username,
        expiry = expiry
            .as_ref()
            .map(|e| format!("Access until: {e}\n"))
            .unwrap_or_default(),
        studio = doc.studio.name,
    );
    let html = layout(
        &doc.studio,
        "Your gallery is ready",
        html! {
            p { "Hi " (greeting(&doc)) "," }
            p { "Your gallery for “" (doc.session.title) "” is open with " (level_description(access.level)) "." }
            table cellpadding="6" style="background:#f7f4ef;border-radius:4px;margin:12px 0" {
                tr { td { "Username" } td { code { (access.username) } } }
                tr { td { "Password" } td { code { (password) } } }
                @if let Some(e) = &expiry { tr { td { "Access until" } td { (e) } } }
            }
            (button(&url, "Open your gallery"))
            p style="font-size:12px;color:#888" { (PreEscaped("Keep this password safe: we only store a hash of it.")) }
        },
    );
    let email = to_client(&doc, subject, text, html);
    notify::deliver(ctx, &key, held, &email).await
}

pub async fn send_gallery_upgrade(
    ctx: &AppContext,
    invoice_id: i64,
    level: entity::enums::GalleryLevel,
) -> DomainResult<Sent> {
    let doc = InvoiceDocument::load_by_id(ctx, invoice_id).await?;
    let Some(access) = gallery::access_for_invoice(ctx, &doc.invoice).await? else {
        return Ok(Sent::Already);
    };
    // Still the level this job announces? If access changed again, a newer job speaks for it.
    if access.level != level {
        return Ok(Sent::Already);
    }
    let url = gallery::link(ctx, &access).await?;
    let subject = format!("Full access to your photos from \"{}\"", doc.session.title);
    let expiry = access
        .expires_at
        .map(|e| e.format("%B %-d, %Y").to_string())
        .unwrap_or_default();
    let text = format!(
        "Hi {name},\n\nThank you for your payment. Your gallery for \"{title}\" now has {level}, until {expiry}.\nLog in with the username and password from our earlier email.\n\nGallery:\n{url}\n\n{studio}\n",
        name = greeting(&doc),
        title = doc.session.title,
        level = level_description(access.level),
        studio = doc.studio.name,
    );
    let html = layout(
        &doc.studio,
        "Your gallery is fully open",
        html! {
            p { "Hi " (greeting(&doc)) "," }
            p { "Thank you for your payment. Your gallery for “" (doc.session.title) "” now has " (level_description(access.level)) ", until " (expiry) "." }
            p { "Log in with the username and password from our earlier email." }
            (button(&url, "Open your gallery"))
        },
    );
    let email = to_client(&doc, subject, text, html);
    notify::send_once(
        ctx,
        &key_for(&doc, NotificationKind::GalleryUpgraded, level.as_str()),
        &email,
    )
    .await
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
    let text = format!(
        "Hi {name},\n\nWe tried again to charge your card{card} for invoice {number} ({amount}), but it was declined: {reason}\n\n{next} You can pay now with another card and keep it for your automatic payments:\n{portal}\n\n{studio}\n",
        name = greeting(&doc),
        number = doc.invoice.display_number(),
        studio = doc.studio.name,
    );
    let html = layout(
        &doc.studio,
        "Your payment was declined",
        html! {
            p { "Hi " (greeting(&doc)) "," }
            p { "We tried again to charge your card" (card) " for invoice " (doc.invoice.display_number()) " (" strong { (amount) } "), but it was declined: " (reason) }
            p { (next) " You can pay now with another card and keep it for your automatic payments." }
            (button(&portal, &format!("Pay {amount}")))
        },
    );
    let email = to_client(&doc, subject, text, html);
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
    use crate::followup::reminders::StepKind;
    let doc = InvoiceDocument::load_by_id(ctx, invoice_id).await?;
    let key = key_for(&doc, NotificationKind::Reminder, &step.to_string());
    if notify::already_sent(ctx, &key).await? {
        return Ok(Sent::Already);
    }
    if !crate::billing::payments::payable(&doc.invoice) {
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
    let amount = doc.money(doc.invoice.amount_due_minor);
    let portal = ctx.portal_url(&doc.invoice.portal_salt);
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
    let text = format!(
        "Hi {name},\n\nInvoice {number} for \"{title}\" {when} (due date {due}). Amount due: {amount}.\n{fee}\n{lines}\nPay online:\n{portal}\n\n{closing}\n\n{studio}\n",
        name = greeting(&doc),
        title = doc.session.title,
        due = doc.due_date(),
        fee = late_fee
            .clone()
            .map(|f| format!("{f}\n"))
            .unwrap_or_default(),
        lines = lines_text(&doc),
        studio = doc.studio.name,
    );
    let html = layout(
        &doc.studio,
        if final_notice {
            "Final notice"
        } else {
            "Payment reminder"
        },
        html! {
            p { "Hi " (greeting(&doc)) "," }
            p { "Invoice " (number) " for “" (doc.session.title) "” " (when) " (due date " (doc.due_date()) "). Amount due: " strong { (amount) } "." }
            @if let Some(f) = &late_fee { p style="background:#fff4e5;padding:12px;border-radius:4px" { (f) } }
            (lines_table(&doc))
            (button(&portal, &format!("Pay {amount}")))
            p { (closing) }
            p style="font-size:12px;color:#888" { "Or open this link: " a href=(portal) { (portal) } }
        },
    );
    let mut email = to_client(&doc, subject, text, html);
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
    let advice = if access.level == GalleryLevel::Full {
        "Please download the photos you want to keep before then.".to_string()
    } else {
        format!(
            "Pay invoice {} to unlock full-resolution downloads:\n{}",
            doc.invoice.display_number(),
            ctx.portal_url(&doc.invoice.portal_salt)
        )
    };
    let text = format!(
        "Hi {name},\n\nYour access to the gallery of \"{title}\" ends on {date}.\n{advice}\n\nGallery:\n{url}\n\n{studio}\n",
        name = greeting(&doc),
        title = doc.session.title,
        studio = doc.studio.name,
    );
    let html = layout(
        &doc.studio,
        "Your gallery closes soon",
        html! {
            p { "Hi " (greeting(&doc)) "," }
            p { "Your access to the gallery of “" (doc.session.title) "” ends on " strong { (date) } "." }
            p { (advice) }
            (button(&url, "Open your gallery"))
        },
    );
    notify::send_once(ctx, &key, &to_client(&doc, subject, text, html)).await
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
    let text = format!(
        "Hi {name},\n\n{studio} asks you to put a card on file, so that your next invoices are paid automatically when they are issued. You enter the card on our payment provider's secure page; {studio} never sees its number. Nothing is charged now.\n\nSave your card (this link works until {until}):\n{link}\n\nIf you did not expect this, you can ignore this email.\n\n{studio}\n",
        name = crate::billing::documents::greeting_name(&page.client),
    );
    let text = format!(
        "{}\n-- \n{}\n",
        text.trim_end(),
        crate::studio::studios::contact_text(&page.studio)
    );
    let html = layout(
        &page.studio,
        "Save a card for automatic payments",
        html! {
            p { "Hi " (crate::billing::documents::greeting_name(&page.client)) "," }
            p { (studio) " asks you to put a card on file, so that your next invoices are paid automatically when they are issued. You enter the card on our payment provider's secure page; " (studio) " never sees its number. Nothing is charged now." }
            (button(&link, "Save my card"))
            p style="font-size:13px;color:#666" { "This link works until " (until) ". If you did not expect this, you can ignore this email." }
        },
    );
    let email = Email {
        studio_name: studio.clone(),
        to_name: page.client.name.clone(),
        to_email: page.client.email.clone(),
        reply_to: page.studio.email.clone(),
        subject,
        text,
        html,
        attachments: Vec::new(),
    };
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
