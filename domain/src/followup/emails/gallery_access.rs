//! The gallery's emails: its credentials (once per gallery) and a raise
//! of its access level.

use super::{from_studio, greeting, key_for, to_client};
use crate::billing::documents::{InvoiceDocument, Parties, greeting_name, with_parties};
use crate::followup::email_body::{Body, Tone, text};
use crate::followup::gallery;
use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::DomainResult;
use crate::kernel::ids::{SessionId, StudioId};
use crate::workflow::notify::{self, EmailKey, Sent};
use entity::enums::{GalleryLevel, NotificationKind};

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
///
/// One commit reads the invoice with its studio, client and session (the
/// email says nothing of the invoice's lines or payments) and the gallery,
/// claims the email and stores the password's hash; then the email goes out.
pub async fn send_gallery_credentials(ctx: &AppContext, invoice_id: i64) -> DomainResult<Sent> {
    let tx = begin_write(&ctx.db).await?;
    let (invoice, parties) = with_parties(&tx, invoice_id).await?;
    let Parties {
        studio,
        client,
        session,
    } = parties;
    let access = gallery::access_for_session(
        &tx,
        StudioId::new(invoice.studio_id),
        SessionId::new(invoice.session_id),
    )
    .await?
    .ok_or_else(|| anyhow::anyhow!("no gallery access for invoice {invoice_id}"))?;
    let subject = format!("Your photos from \"{}\" are ready", session.title);
    let key = EmailKey {
        studio_id: studio.id,
        invoice_id: invoice.id,
        kind: NotificationKind::GalleryCredentials,
        step: "1".to_string(),
    };
    let taken = notify::claim_in(ctx, &tx, &key, &client.email, &subject).await?;
    // Derived from the notification, so a resend after a crash repeats it;
    // its hash is stored with the claim, before the email can go.
    let access = match &taken {
        notify::Taken::Mine { message_id, .. } => {
            let password = ctx.secret.gallery_password(message_id);
            gallery::set_password(ctx, &tx, access, &password).await?
        }
        _ => access,
    };
    tx.commit().await?;
    let held = match taken.hold(ctx, &key).mine() {
        Ok(held) => held,
        Err(sent) => return Ok(sent),
    };
    let password = ctx.secret.gallery_password(&held.message_id);
    let url = gallery::link(ctx, &access).await?;
    let expiry = access
        .expires_at
        .map(|e| e.format("%B %-d, %Y").to_string());
    let mut body = Body::greeting(&greeting_name(&client));
    body.para(vec![text(format!(
        "Your gallery for “{}” is open with {}.",
        session.title,
        level_description(access.level)
    ))]);
    let mut facts = vec![
        ("Username", access.username.clone()),
        ("Password", password),
    ];
    facts.extend(expiry.map(|e| ("Access until", e)));
    body.facts(&facts);
    body.action("Gallery", &url, "Open your gallery");
    body.styled(
        Tone::Small,
        vec![text(
            "Keep this password safe: we only store a hash of it and cannot send it again.",
        )],
    );
    let email = from_studio(&studio, &client, subject, "Your gallery is ready", &body);
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
    let mut body = greeting(&doc);
    body.para(vec![text(format!(
        "Thank you for your payment. Your gallery for “{}” now has {}, until {expiry}.",
        doc.session.title,
        level_description(access.level)
    ))]);
    body.para(vec![text(
        "Log in with the username and password from our earlier email.",
    )]);
    body.action("Gallery", &url, "Open your gallery");
    let email = to_client(&doc, subject, "Your gallery is fully open", &body);
    notify::send_once(
        ctx,
        &key_for(&doc, NotificationKind::GalleryUpgraded, level.as_str()),
        &email,
    )
    .await
}
