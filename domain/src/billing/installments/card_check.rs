//! The card checked before a large charge (issue 19, item 3): when an
//! auto-pay part above the studio's `plan_card_check_minor` is issued (its
//! notice, `plan_notice_days` before the charge), its card on file is
//! checked at the gateway, charging nothing (`PaymentGateway::verify_card`:
//! a SetupIntent confirmed off-session at Stripe). A refused card is known
//! days before the charge day: the client is emailed a link to save a new
//! card (`card_setup`), and the invoice's trail says what the issuer said
//! (`CARD_CHECK_FAILED`); a usable card is noted (`CARD_CHECKED`). A card
//! that expires before the due day is not checked: the link went with the
//! notice already (`installments::issue`).
//!
//! The check is a step of its own (`CheckCard`), written with the
//! installment, so a crash between them loses nothing; its key names the
//! invoice and the card, so a replay asks the gateway nothing new and a
//! replay after the trail was written writes nothing.

use crate::billing::lifecycle::{self, Actor, Audit};
use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::DomainResult;
use crate::kernel::money::Minor;
use crate::ports::gateway::{CardCheck, CardCheckRequest, GatewayError};
use entity::enums::{InvoiceEventKind, InvoiceKind, InvoiceStatus};
use entity::{client, invoice, invoice_event, studio};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect};

/// What a card check came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    Usable,
    /// Refused by the issuer (its code); a card-setup link was emailed.
    Refused(String),
    /// Nothing to check (and why).
    Nothing(&'static str),
}

/// Whether an auto-pay installment of `amount` due on `due_date`, issued
/// now and charged at `charge_at`, has its card checked when it is issued:
/// above the threshold, charged later (a part charged at once, like a
/// retainer, learns about its card from the charge), and not on a card
/// known to expire first.
pub fn wanted(
    studio: &studio::Model,
    client: &client::Model,
    amount: Minor,
    due_date: chrono::NaiveDate,
    later: bool,
) -> bool {
    later
        && client.auto_pays()
        && !client.card_expires_before(due_date)
        && studio
            .plan_card_check_minor
            .is_some_and(|above| amount > above)
}

/// What an installment issued ahead of its charge needs for its card: a
/// card expiring before the part's day gets the client a card-setup link
/// with the notice (so the charge day is not the day the card fails); a
/// large part above the studio's threshold has its card checked (`wanted`).
pub(super) async fn ahead_of_charge(
    ctx: &AppContext,
    tx: &sea_orm::DatabaseTransaction,
    (studio, client, plan): (&studio::Model, &client::Model, &entity::payment_plan::Model),
    part: &entity::payment_plan_part::Model,
    invoice: &invoice::Model,
    request_id: Option<&str>,
) -> DomainResult<()> {
    let now = ctx.clock.now();
    if client.auto_pays() && client.card_expires_before(part.due_date) {
        crate::billing::card_setup::request_in(ctx, tx, studio.id, client.id, request_id, now)
            .await?;
    } else if wanted(
        studio,
        client,
        invoice.total_minor,
        part.due_date,
        crate::studio::plans::billing_moment(studio, client, plan, part.due_date) > now,
    ) {
        let change = crate::workflow::next::Change::CardCheckWanted {
            studio_id: studio.id,
            invoice_id: invoice.id,
        };
        crate::workflow::next::after(tx, change, request_id, now).await?;
    }
    Ok(())
}

/// The `CheckCard` step: checks the card on file of installment
/// `invoice_id` if it is still to be charged to it.
pub async fn check_card(
    ctx: &AppContext,
    invoice_id: i64,
    request_id: Option<&str>,
) -> DomainResult<Checked> {
    let Some(billed) = invoice::Entity::find_by_id(invoice_id).one(&ctx.db).await? else {
        return Ok(Checked::Nothing("the invoice is gone"));
    };
    if billed.kind != InvoiceKind::Installment || billed.status != InvoiceStatus::Open {
        return Ok(Checked::Nothing(
            "the installment is not waiting for its charge",
        ));
    }
    let client = client::Entity::find_by_id(billed.client_id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("client of invoice {invoice_id} missing"))?;
    let Some(token) = client.pm_token.clone().filter(|_| client.auto_pays()) else {
        return Ok(Checked::Nothing("the client has no card on file"));
    };
    let request = CardCheckRequest {
        idempotency_key: format!("card_check_inv_{invoice_id}_{token}"),
        payment_method_token: token,
        installment_ref: billed.plan_part_id.map(|id| id.to_string()),
    };
    let answer = match ctx.gateway.verify_card(&request).await {
        Ok(answer) => answer,
        Err(GatewayError::Unsupported(what)) => {
            tracing::warn!(invoice_id, what, "the gateway cannot check cards");
            return Ok(Checked::Nothing("the gateway cannot check cards"));
        }
        Err(GatewayError::InvalidPaymentMethod(_)) => CardCheck::Refused {
            code: "resource_missing".into(),
            message: "The card on file no longer exists.".into(),
        },
        Err(err) => return Err(err.into()),
    };
    record(ctx, &billed, &client, answer, request_id).await
}

/// Writes the check's answer on the invoice's trail, once, and asks the
/// client for a new card when it was refused.
async fn record(
    ctx: &AppContext,
    billed: &invoice::Model,
    client: &client::Model,
    answer: CardCheck,
    request_id: Option<&str>,
) -> DomainResult<Checked> {
    let now = ctx.clock.now();
    let tx = begin_write(&ctx.db).await?;
    let locked = invoice::Entity::find_by_id(billed.id)
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("invoice {} vanished", billed.id))?;
    let recorded = invoice_event::Entity::find()
        .filter(invoice_event::Column::InvoiceId.eq(billed.id))
        .filter(invoice_event::Column::Event.is_in([
            InvoiceEventKind::CardChecked,
            InvoiceEventKind::CardCheckFailed,
        ]))
        .count(&tx)
        .await?;
    if recorded > 0 {
        return Ok(Checked::Nothing("the card was checked already"));
    }
    let card = crate::billing::labels::card_display(
        client.pm_brand.as_deref(),
        client.pm_last4.as_deref(),
    )
    .unwrap_or_else(|| "the card on file".into());
    let (event, detail, checked) = match answer {
        CardCheck::Usable => (
            InvoiceEventKind::CardChecked,
            format!("{card} checked before the charge: it can be charged"),
            Checked::Usable,
        ),
        CardCheck::Refused { code, message } => {
            crate::billing::card_setup::request_in(
                ctx,
                &tx,
                locked.studio_id,
                client.id,
                request_id,
                now,
            )
            .await?;
            (
                InvoiceEventKind::CardCheckFailed,
                format!(
                    "{card} refused by its issuer before the charge ({code}: {message}); \
                     the client was emailed a link to save another card"
                ),
                Checked::Refused(code),
            )
        }
    };
    lifecycle::record(
        &tx,
        &locked,
        Audit {
            event,
            from: Some(locked.status),
            to: Some(locked.status),
            amount_minor: None,
            actor: &Actor::system(),
            detail: Some(detail),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(checked)
}
