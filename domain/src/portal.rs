//! The client's payment portal: find an invoice by its link token, pay it.

use crate::context::AppContext;
use crate::documents::InvoiceDocument;
use crate::error::{DomainResult, UserError};
use crate::gateway::GatewayError;
use crate::payments::{self, Card, ChargeResult};
use crate::secrets::hash_token;
use entity::enums::{PaymentPreference, PaymentSource};
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
        return Ok(None);
    };
    // A draft is not issued yet: its link works from finalization on.
    if invoice.status == entity::enums::InvoiceStatus::Draft {
        return Ok(None);
    }
    Ok(Some(InvoiceDocument::load(ctx, invoice).await?))
}

/// A portal link stops working `portal_link_days` after its invoice is
/// settled (paid in full or void); an open invoice's link always works.
pub fn expired(doc: &InvoiceDocument, now: chrono::DateTime<chrono::Utc>) -> bool {
    doc.invoice.settled_at.is_some_and(|settled| {
        now > settled + chrono::Duration::days(i64::from(doc.studio.portal_link_days))
    })
}

#[derive(Debug)]
pub enum PortalPayment {
    Paid,
    Declined(String),
    NothingDue,
}

/// Pays the invoice behind a portal link with a test card. `attempt` is a
/// nonce from the rendered form: submitting the same form twice reuses the
/// gateway idempotency key and charges once. With `keep_card`, an auto-pay
/// client's card that paid replaces the stored one (the card update a
/// decline notice asks for).
pub async fn pay(
    ctx: &AppContext,
    doc: &InvoiceDocument,
    card_number: &str,
    attempt: &str,
    keep_card: bool,
) -> DomainResult<PortalPayment> {
    if attempt.len() < 16
        || attempt.len() > 64
        || !attempt
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(
            UserError::invalid("attempt", "the payment form has expired; reload the page").into(),
        );
    }
    let token = match ctx.gateway.tokenize_test_card(card_number) {
        Ok(token) => token,
        Err(GatewayError::Unsupported(_)) => {
            return Err(UserError::state(
                "cardNumber",
                "card payments on this page are not available with this studio's payment provider yet; please contact the studio to pay",
            )
            .into());
        }
        Err(GatewayError::InvalidPaymentMethod(_)) => {
            return Err(UserError::invalid(
                "cardNumber",
                "this card number is not accepted; use one of the test cards listed",
            )
            .into());
        }
        Err(other) => return Err(anyhow::Error::new(other).into()),
    };
    let details = ctx
        .gateway
        .payment_method(&token)
        .await
        .map_err(anyhow::Error::new)?;
    let card = Card {
        token,
        brand: Some(details.brand.clone()),
        last4: Some(details.last4.clone()),
    };
    let key = format!("inv_{}_portal_{attempt}", doc.invoice.id);
    Ok(
        match payments::charge_invoice(
            ctx,
            doc.invoice.id,
            PaymentSource::Portal,
            &card,
            &key,
            None,
        )
        .await?
        {
            ChargeResult::Succeeded(_) => {
                if keep_card && doc.client.payment_preference == PaymentPreference::AutoPay {
                    crate::catalog::keep_card(&ctx.db, doc.client.clone(), details).await?;
                }
                PortalPayment::Paid
            }
            ChargeResult::Declined(p) => PortalPayment::Declined(
                p.failure_message
                    .unwrap_or_else(|| "Your card was declined.".into()),
            ),
            ChargeResult::NothingDue => PortalPayment::NothingDue,
        },
    )
}
