//! Step 2-4 of the workflow: price a completed session, take the next
//! gap-free number, issue the invoice and route it on payment preference.

use crate::catalog::percent_of;
use crate::context::AppContext;
use crate::db::begin_write;
use crate::error::DomainResult;
use crate::jobs::JobKind;
use crate::outbox;
use crate::pricing::{self, LineInput, PricingInput, TaxRateInput};
use crate::secrets::{hash_token, random_token};
use chrono::{Datelike, Duration, Utc};
use entity::enums::{InvoiceStatus, LineKind, PaymentPreference, SessionStatus};
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
    let year = Utc::now().with_timezone(&studio_tz(studio)).year();
    Ok(format!("{}-{year}-{seq:04}", studio.invoice_prefix))
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

/// Follow-ups of an invoice that goes to the client by email: the email, and
/// gallery access matching the payment state (`state` names that state).
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
        &JobKind::SendInvoice { invoice_id },
        request_id,
    )
    .await?;
    let gallery = JobKind::SyncGalleryAccess {
        invoice_id,
        state: state.into(),
    };
    outbox::enqueue(tx, studio_id, &gallery, request_id).await?;
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
            compound: false,
        });
    }
    let priced = pricing::price(&PricingInput {
        lines: lines.iter().map(|(_, l)| l.clone()).collect(),
        tax_rates: rate_inputs,
        prices_include_tax: studio.prices_include_tax,
        credit_minor: session.retainer_paid_minor,
        ..Default::default()
    })
    .map_err(|e| anyhow::anyhow!("pricing session {session_id}: {e}"))?;

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
            ..Default::default()
        }
        .insert(&tx)
        .await?;
    }

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
