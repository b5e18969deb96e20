//! The client's payment portal: find an invoice by its link token, and its
//! Pay button, which opens the gateway's hosted checkout (`checkout.rs`).

use crate::billing::documents::InvoiceDocument;
use crate::infra::context::AppContext;
use crate::infra::error::{DomainResult, UserError};
use crate::infra::secrets::hash_token;
use entity::enums::PaymentPreference;
use entity::invoice;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

pub async fn find(ctx: &AppContext, token: &str) -> DomainResult<Option<InvoiceDocument>> {
    if token.len() < 32 || token.len() > 128 {
        return Ok(None);
    }
    let Some(invoice) = invoice::Entity::find()
        .filter(invoice::Column::PortalTokenHash.eq(hash_token(token)))
        .one(&ctx.db)
        .await?
    else {
        return for_payer(ctx, token).await;
    };
    // A draft is not issued yet: its link works from finalization on.
    if invoice.status == entity::enums::InvoiceStatus::Draft {
        return Ok(None);
    }
    Ok(Some(InvoiceDocument::load(ctx, invoice).await?))
}

/// A payer's own link: the invoice as that payer sees it.
async fn for_payer(ctx: &AppContext, token: &str) -> DomainResult<Option<InvoiceDocument>> {
    let Some(payer) = crate::billing::payers::by_token(&ctx.db, token).await? else {
        return Ok(None);
    };
    let doc = InvoiceDocument::load_by_id(ctx, payer.invoice_id).await?;
    if doc.invoice.status == entity::enums::InvoiceStatus::Draft {
        return Ok(None);
    }
    Ok(Some(doc.for_payer(&payer)))
}

/// A portal link stops working `portal_link_days` after its invoice is
/// settled (paid in full or void); an open invoice's link always works.
pub fn expired(doc: &InvoiceDocument, now: chrono::DateTime<chrono::Utc>) -> bool {
    doc.invoice.settled_at.is_some_and(|settled| {
        now > settled + chrono::Duration::days(i64::from(doc.studio.portal_link_days))
    })
}

/// The CSRF token of a portal page's Pay form: an HMAC of the link token,
/// so only a page rendered by this server for this link can start a
/// checkout (no cookie needed; the link token itself is the secret).
pub fn csrf_token(ctx: &AppContext, token: &str) -> String {
    ctx.secret.sign("portal-checkout", token)
}

pub fn csrf_ok(ctx: &AppContext, token: &str, csrf: &str) -> bool {
    ctx.secret.verify("portal-checkout", token, csrf)
}

fn check_csrf(ctx: &AppContext, token: &str, csrf: &str) -> DomainResult<()> {
    match csrf_ok(ctx, token, csrf) {
        true => Ok(()),
        false => {
            Err(UserError::invalid("csrf", "the payment form has expired; reload the page").into())
        }
    }
}

/// What the client chose on the portal before paying.
#[derive(Debug, Clone)]
pub struct PayChoice {
    /// Keep the card for automatic payments (an auto-pay client only).
    pub save_card: bool,
    pub tip: crate::kernel::tips::Choice,
}

/// The Pay button: opens (or reuses) the hosted Checkout Session for what
/// the invoice owes now, with the tip chosen, and returns where to send the
/// browser. A tip that is refused opens nothing.
pub async fn checkout(
    ctx: &AppContext,
    doc: &InvoiceDocument,
    token: &str,
    csrf: &str,
    choice: &PayChoice,
) -> DomainResult<String> {
    check_csrf(ctx, token, csrf)?;
    crate::billing::installments::ensure_oldest_first(&ctx.db, &doc.invoice).await?;
    let tip = crate::billing::tips::chosen(doc, &choice.tip)?;
    // Only an auto-pay client, or a booking's auto-pay payer, keeps it.
    let save_card = choice.save_card
        && match &doc.payer {
            Some(payer) => payer.auto_pay,
            None => doc.client.payment_preference == PaymentPreference::AutoPay,
        };
    crate::billing::checkout::start(ctx, doc, save_card, tip).await
}

/// "Pay the next part now" / "Pay everything that's left": bills it at
/// once ([`crate::billing::installments::bill_ahead`]) and returns its
/// portal page, where the client pays it.
pub async fn pay_ahead(
    ctx: &AppContext,
    doc: &InvoiceDocument,
    token: &str,
    csrf: &str,
    ahead: crate::billing::installments::Ahead,
) -> DomainResult<String> {
    check_csrf(ctx, token, csrf)?;
    not_for_payers(doc)?;
    let session = crate::kernel::ids::SessionId::new(doc.session.id);
    let billed =
        crate::billing::installments::bill_ahead(ctx, doc.invoice.studio_id, session, ahead, None)
            .await?;
    Ok(ctx.portal_url(&billed.portal_salt))
}

/// "Add a tip" on a paid invoice: opens (or reuses) a tip-only hosted
/// checkout for the tip chosen and returns where to send the browser.
pub async fn tip_after(
    ctx: &AppContext,
    doc: &InvoiceDocument,
    token: &str,
    csrf: &str,
    choice: &crate::kernel::tips::Choice,
) -> DomainResult<String> {
    check_csrf(ctx, token, csrf)?;
    not_for_payers(doc)?;
    let tip = crate::billing::tips::chosen_after(doc, choice)?;
    crate::billing::checkout::start_tip(ctx, doc, tip).await
}

/// A payer pays their share (a tip with it, if they like); paying the plan
/// ahead and a tip after an automatic charge are the client's.
fn not_for_payers(doc: &InvoiceDocument) -> DomainResult<()> {
    match doc.payer {
        Some(_) => Err(UserError::state(
            "payer",
            "this link pays your share of the invoice; ask the studio for anything else",
        )
        .into()),
        None => Ok(()),
    }
}
