//! Step 2-4 of the workflow: price a completed session, take the next
//! gap-free number, issue the invoice and route it on payment preference.

use crate::adjustments::{self, TaxShare};
use crate::catalog::percent_of;
use crate::context::AppContext;
use crate::db::begin_write;
use crate::error::DomainResult;
use crate::jobs::JobKind;
use crate::lifecycle::{self, Actor, Audit};
use crate::outbox;
use crate::pricing::{self, LineInput, PricingInput, RoundingMode, TaxRateInput};
use crate::secrets::{hash_token, random_token};
use chrono::{Duration, Utc};
use entity::enums::{
    InvoiceEventKind, InvoiceStatus, LineKind, PaymentPreference, Rounding, SessionStatus,
};
use entity::{
    client, invoice, invoice_line, invoice_number_counter, session, session_item, studio, tax_rate,
};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder,
};

#[derive(Debug, PartialEq, Eq)]
pub enum Generated {
    Issued {
        invoice_id: i64,
        number: String,
    },
    AlreadyIssued {
        invoice_id: i64,
    },
    /// The session is not completed (it was never, or the row is gone).
    NotBillable,
}

/// Takes the next number of the studio's counter inside the caller's
/// transaction. The row lock (PostgreSQL) or the write lock (SQLite) holds
/// concurrent finalizations back until commit, and a rollback returns the
/// number, so numbers are gap-free and unique.
pub async fn next_invoice_number(
    tx: &DatabaseTransaction,
    studio: &studio::Model,
) -> DomainResult<String> {
    invoice_number_counter::Entity::insert(invoice_number_counter::ActiveModel {
        studio_id: Set(studio.id),
        last_value: Set(0),
    })
    .on_conflict(
        OnConflict::column(invoice_number_counter::Column::StudioId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(tx)
    .await?;
    let mut update = Query::update();
    update
        .table(invoice_number_counter::Entity)
        .value(
            invoice_number_counter::Column::LastValue,
            Expr::col(invoice_number_counter::Column::LastValue).add(1),
        )
        .and_where(Expr::col(invoice_number_counter::Column::StudioId).eq(studio.id))
        .returning_col(invoice_number_counter::Column::LastValue);
    let row = tx
        .query_one(&update)
        .await?
        .ok_or_else(|| anyhow::anyhow!("invoice counter of studio {} missing", studio.id))?;
    let seq: i64 = row.try_get("", "last_value")?;
    let today = Utc::now().with_timezone(&studio_tz(studio)).date_naive();
    Ok(crate::numbering::format_number(
        &studio.invoice_number_format,
        &studio.invoice_prefix,
        today,
        seq,
    ))
}

pub fn studio_tz(studio: &studio::Model) -> chrono_tz::Tz {
    studio.time_zone.parse().unwrap_or(chrono_tz::UTC)
}

async fn tax_rates_for(
    tx: &DatabaseTransaction,
    session: &session::Model,
) -> DomainResult<Vec<tax_rate::Model>> {
    let select = tax_rate::Entity::find().filter(tax_rate::Column::StudioId.eq(session.studio_id));
    let rates = match &session.tax_rate_ids {
        Some(ids) => {
            let ids: Vec<i64> = ids
                .split(',')
                .filter_map(|s| s.trim().parse().ok())
                .collect();
            select
                .filter(tax_rate::Column::Id.is_in(ids))
                .order_by_asc(tax_rate::Column::Id)
                .all(tx)
                .await?
        }
        None => {
            select
                .filter(tax_rate::Column::IsDefault.eq(true))
                .filter(tax_rate::Column::Active.eq(true))
                .order_by_asc(tax_rate::Column::Id)
                .all(tx)
                .await?
        }
    };
    Ok(rates)
}

/// Follow-ups of an invoice that goes to the client by email: the email,
/// gallery access matching the payment state (`state` names that state), and
/// the first reminder of its follow-up plan.
pub(crate) async fn email_invoice(
    tx: &DatabaseTransaction,
    studio_id: Option<i64>,
    invoice_id: i64,
    state: &str,
    request_id: Option<&str>,
) -> DomainResult<()> {
    outbox::enqueue(
        tx,
        studio_id,
        &JobKind::SendInvoice {
            invoice_id,
            resend: None,
        },
        request_id,
    )
    .await?;
    let gallery = JobKind::SyncGalleryAccess {
        invoice_id,
        state: state.into(),
    };
    outbox::enqueue(tx, studio_id, &gallery, request_id).await?;
    crate::reminders::schedule_first(tx, invoice_id, request_id).await?;
    Ok(())
}

pub async fn generate_invoice(
    ctx: &AppContext,
    session_id: i64,
    request_id: Option<&str>,
) -> DomainResult<Generated> {
    let tx = begin_write(&ctx.db).await?;
    if let Some(existing) = invoice::Entity::find()
        .filter(invoice::Column::SessionId.eq(session_id))
        .one(&tx)
        .await?
    {
        return Ok(Generated::AlreadyIssued {
            invoice_id: existing.id,
        });
    }
    let Some(session) = session::Entity::find_by_id(session_id).one(&tx).await? else {
        return Ok(Generated::NotBillable);
    };
    if session.status != SessionStatus::Completed {
        return Ok(Generated::NotBillable);
    }
    let studio = studio::Entity::find_by_id(session.studio_id)
        .one(&tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("studio of session {session_id} missing"))?;
    let client = client::Entity::find_by_id(session.client_id)
        .one(&tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("client of session {session_id} missing"))?;

    let mut lines: Vec<(LineKind, LineInput)> = Vec::new();
    // The package as sold when the session was scheduled.
    if let (Some(name), Some(price)) = (&session.package_name, session.package_price_minor) {
        lines.push((
            LineKind::Package,
            LineInput {
                description: name.clone(),
                quantity: 1,
                unit_price_minor: price,
                taxable: session.package_taxable.unwrap_or(true),
                discount: None,
            },
        ));
    }
    for item in session_item::Entity::find()
        .filter(session_item::Column::SessionId.eq(session.id))
        .order_by_asc(session_item::Column::Id)
        .all(&tx)
        .await?
    {
        let kind = if item.add_on_service_id.is_some() {
            LineKind::AddOn
        } else {
            LineKind::Custom
        };
        lines.push((
            kind,
            LineInput {
                description: item.description,
                quantity: item.quantity,
                unit_price_minor: item.unit_price_minor,
                taxable: item.taxable,
                discount: None,
            },
        ));
    }
    let rates = tax_rates_for(&tx, &session).await?;
    let mut rate_inputs = Vec::with_capacity(rates.len());
    for rate in &rates {
        rate_inputs.push(TaxRateInput {
            name: rate.name.clone(),
            percent: percent_of(rate)?,
            compound: rate.compound,
        });
    }
    let discount = adjustments::parse_discount(session.discount.as_deref())?;
    let fees = adjustments::parse_fees(&session.fees)?;
    let priced = pricing::price(&PricingInput {
        lines: lines.iter().map(|(_, l)| l.clone()).collect(),
        tax_rates: rate_inputs,
        prices_include_tax: studio.prices_include_tax,
        credit_minor: session.retainer_paid_minor,
        discount: discount.as_ref().map(Into::into),
        fees: fees.iter().map(Into::into).collect(),
        rounding: match studio.rounding {
            Rounding::PerLine => RoundingMode::PerLine,
            Rounding::PerInvoice => RoundingMode::PerInvoice,
        },
    })
    .map_err(|e| anyhow::anyhow!("pricing session {session_id}: {e}"))?;
    let tax_breakdown: Vec<TaxShare> = priced
        .taxes
        .iter()
        .map(|t| TaxShare {
            name: t.name.clone(),
            percent: t.percent,
            amount_minor: t.amount_minor,
        })
        .collect();

    let number = next_invoice_number(&tx, &studio).await?;
    let now = Utc::now();
    let due_date = now.with_timezone(&studio_tz(&studio)).date_naive()
        + Duration::days(i64::from(studio.payment_terms_days));
    let salt = random_token();
    let settled = priced.total_minor == 0;
    let invoice = invoice::ActiveModel {
        studio_id: Set(studio.id),
        session_id: Set(session.id),
        client_id: Set(client.id),
        number: Set(number.clone()),
        status: Set(if settled {
            InvoiceStatus::Paid
        } else {
            InvoiceStatus::Open
        }),
        currency: Set(studio.currency.clone()),
        subtotal_minor: Set(priced.subtotal_minor),
        tax_minor: Set(priced.tax_minor),
        credit_minor: Set(priced.credit_minor),
        total_minor: Set(priced.total_minor),
        amount_paid_minor: Set(0),
        amount_due_minor: Set(priced.total_minor),
        issued_at: Set(now),
        due_date: Set(due_date),
        paid_at: Set(settled.then_some(now)),
        settled_at: Set(settled.then_some(now)),
        finalized_at: Set(Some(now)),
        amount_refunded_minor: Set(0),
        discount_minor: Set(priced.discount_minor),
        fee_minor: Set(priced.fees_minor),
        tax_breakdown: Set(serde_json::to_string(&tax_breakdown)
            .map_err(|e| anyhow::anyhow!("tax breakdown: {e}"))?),
        portal_token_hash: Set(hash_token(&ctx.secret.portal_token(&salt))),
        portal_salt: Set(salt),
        request_id: Set(request_id.map(str::to_string)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    for (position, ((kind, _), line)) in lines.iter().zip(priced.lines.iter()).enumerate() {
        invoice_line::ActiveModel {
            invoice_id: Set(invoice.id),
            position: Set(position as i32 + 1),
            kind: Set(*kind),
            description: Set(line.description.clone()),
            quantity: Set(line.quantity),
            unit_price_minor: Set(line.unit_price_minor),
            amount_minor: Set(line.amount_minor),
            taxable: Set(line.taxable),
            tax_minor: Set(line.tax_minor),
            discount_minor: Set(line.discount_minor),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
    }
    for (offset, fee) in priced.fees.iter().enumerate() {
        invoice_line::ActiveModel {
            invoice_id: Set(invoice.id),
            position: Set((lines.len() + offset) as i32 + 1),
            kind: Set(LineKind::Fee),
            description: Set(fee.name.clone()),
            quantity: Set(1),
            unit_price_minor: Set(fee.amount_minor),
            amount_minor: Set(fee.amount_minor),
            taxable: Set(fee.taxable),
            tax_minor: Set(fee.tax_minor),
            discount_minor: Set(0),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
    }
    // The automatic path creates and finalizes in one step; the trail shows both.
    let system = Actor::system();
    lifecycle::record(
        &tx,
        &invoice,
        Audit {
            event: InvoiceEventKind::Created,
            from: None,
            to: Some(InvoiceStatus::Draft),
            amount_minor: Some(invoice.total_minor),
            actor: &system,
            detail: Some(format!("from session {}", session.id)),
        },
    )
    .await?;
    lifecycle::record(
        &tx,
        &invoice,
        Audit {
            event: InvoiceEventKind::Finalized,
            from: Some(InvoiceStatus::Draft),
            to: Some(invoice.status),
            amount_minor: None,
            actor: &system,
            detail: Some(format!("numbered {}", invoice.number)),
        },
    )
    .await?;

    // Route: auto-pay clients with a card are charged; everyone else (and a
    // settled invoice) gets the invoice email, and gallery access follows.
    let studio_id = Some(studio.id);
    let auto_pay =
        client.payment_preference == PaymentPreference::AutoPay && client.pm_token.is_some();
    if !settled && auto_pay {
        outbox::enqueue(
            &tx,
            studio_id,
            &JobKind::Charge {
                invoice_id: invoice.id,
                attempt: 1,
            },
            request_id,
        )
        .await?;
    } else {
        email_invoice(
            &tx,
            studio_id,
            invoice.id,
            invoice.status.as_str(),
            request_id,
        )
        .await?;
    }
    tx.commit().await?;
    ctx.outbox_signal.notify_one();
    ctx.events
        .publish(crate::events::for_invoice(
            crate::events::EventKind::InvoiceIssued,
            &invoice,
            None,
        ))
        .await;
    tracing::info!(invoice_id = invoice.id, %number, total = priced.total_minor, auto_pay, "invoice issued");
    Ok(Generated::Issued {
        invoice_id: invoice.id,
        number,
    })
}

/// Sends the invoice email again (with its PDF and portal link). Each
/// idempotency key sends at most one email; a replay changes nothing.
pub async fn resend_invoice(
    ctx: &AppContext,
    studio_id: i64,
    invoice_id: i64,
    idempotency_key: &str,
    actor: &Actor,
    request_id: Option<&str>,
) -> DomainResult<invoice::Model> {
    crate::validate::idempotency_key("idempotencyKey", idempotency_key)?;
    let tx = begin_write(&ctx.db).await?;
    let invoice = invoice::Entity::find_by_id(invoice_id)
        .filter(invoice::Column::StudioId.eq(studio_id))
        .one(&tx)
        .await?
        .ok_or_else(|| crate::error::UserError::not_found("invoiceId", "invoice"))?;
    if matches!(invoice.status, InvoiceStatus::Draft | InvoiceStatus::Void) {
        return Err(crate::error::UserError::state(
            "invoiceId",
            format!(
                "invoice {} is {} and cannot be sent",
                invoice.number,
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
        outbox::enqueue(&tx, Some(studio_id), &job, request_id).await?;
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
        )
        .await?;
    }
    tx.commit().await?;
    ctx.outbox_signal.notify_one();
    Ok(invoice)
}

async fn client_email(tx: &DatabaseTransaction, client_id: i64) -> DomainResult<String> {
    Ok(client::Entity::find_by_id(client_id)
        .one(tx)
        .await?
        .map(|c| c.email)
        .unwrap_or_default())
}
