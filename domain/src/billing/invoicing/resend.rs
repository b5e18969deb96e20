//! The invoice email sent again on the studio's request, once per
//! idempotency key.

use crate::billing::lifecycle::{self, Actor, Audit};
use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::DomainResult;
use crate::kernel::ids::{InvoiceId, StudioId};
use crate::workflow::jobs::JobKind;
use crate::workflow::next::{self, Change};
use crate::workflow::outbox;
use entity::enums::{InvoiceEventKind, InvoiceStatus};
use entity::{client, invoice};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};

/// Sends the invoice email again (with its PDF and portal link). Each
/// idempotency key sends at most one email; a replay changes nothing.
pub async fn resend_invoice(
    ctx: &AppContext,
    studio_id: StudioId,
    invoice_id: InvoiceId,
    idempotency_key: &str,
    actor: &Actor,
    request_id: Option<&str>,
) -> DomainResult<invoice::Model> {
    let (studio_id, invoice_id) = (studio_id.get(), invoice_id.get());
    crate::kernel::validate::idempotency_key("idempotencyKey", idempotency_key)?;
    let tx = begin_write(&ctx.db).await?;
    let invoice = invoice::Entity::find_by_id(invoice_id)
        .filter(invoice::Column::StudioId.eq(studio_id))
        .one(&tx)
        .await?
        .ok_or_else(|| crate::infra::error::UserError::not_found("invoiceId", "invoice"))?;
    if matches!(invoice.status, InvoiceStatus::Draft | InvoiceStatus::Void) {
        return Err(crate::infra::error::UserError::state(
            "invoiceId",
            format!(
                "invoice {} is {} and cannot be sent",
                invoice.display_number(),
                invoice.status.as_str()
            ),
        )
        .into());
    }
    let job = JobKind::SendInvoice {
        invoice_id,
        resend: Some(idempotency_key.to_string()),
    };
    let first = outbox::find_by_dedup(&tx, &job).await?.is_none();
    if first {
        next::after(
            &tx,
            Change::InvoiceResent {
                studio_id,
                invoice_id,
                key: idempotency_key.to_string(),
            },
            request_id,
            ctx.clock.now(),
        )
        .await?;
        lifecycle::record(
            &tx,
            &invoice,
            Audit {
                event: InvoiceEventKind::Resent,
                from: None,
                to: None,
                amount_minor: None,
                actor,
                detail: Some(format!(
                    "to {}",
                    client_email(&tx, invoice.client_id).await?
                )),
            },
            ctx.clock.now(),
        )
        .await?;
    }
    crate::workflow::next::commit(ctx, tx).await?;
    Ok(invoice)
}

async fn client_email(tx: &DatabaseTransaction, client_id: i64) -> DomainResult<String> {
    Ok(client::Entity::find_by_id(client_id)
        .one(tx)
        .await?
        .map(|c| c.email)
        .unwrap_or_default())
}
