//! Photo sessions: scheduling, cancelling, and completing (which starts billing).
//!
//! A session is priced when it is scheduled, by the same
//! `quote::quote_session` that prices its invoice, inside the scheduling
//! transaction: one that could never be invoiced (`AMOUNT_TOO_LARGE`) is
//! refused and nothing is written. A retainer above the total is accepted
//! (its excess is owed back or carried forward: `billing::credits`). A
//! session keeps the package as sold (name, price, taxability): later
//! catalogue edits do not change what it bills.

use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::{DomainResult, UserError};
use crate::kernel::money::Minor;
use crate::kernel::validate::Problems;
use crate::studio::catalog::{find_add_on, find_client, find_package, find_tax_rate};
use chrono::{DateTime, Utc};
use entity::enums::SessionStatus;
use entity::{session, session_item, studio};
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder,
};

#[derive(Debug, Clone)]
pub struct ItemInput {
    /// Price from this add-on service (its name, price and taxability).
    pub add_on_service_id: Option<i64>,
    pub description: Option<String>,
    pub quantity: i32,
    /// Overrides the add-on's price; required for a custom item.
    pub unit_price: Option<Decimal>,
    pub taxable: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct ScheduleSession {
    pub client_id: i64,
    pub package_id: Option<i64>,
    pub title: String,
    pub scheduled_at: DateTime<Utc>,
    pub items: Vec<ItemInput>,
    pub retainer_paid: Option<Decimal>,
    /// Tax rates for this session; `None` means the studio's default rates.
    pub tax_rate_ids: Option<Vec<i64>>,
    /// Invoice-wide discount.
    pub discount: Option<AdjustmentSpec>,
    pub fees: Vec<FeeSpec>,
}

mod fees;
pub use fees::{AdjustmentChanges, AdjustmentSpec, FeeSpec};
use fees::{adjustment, fees_for};
pub(crate) use fees::{apply_adjustment_changes, where_client_lives};

pub async fn schedule_session(
    db: &DatabaseConnection,
    studio: &studio::Model,
    input: ScheduleSession,
    now: DateTime<Utc>,
) -> DomainResult<(session::Model, Vec<session_item::Model>)> {
    let currency = studio.currency;
    let mut problems = Problems::new();
    let title = problems.name("title", &input.title);
    if find_client(db, studio.id, input.client_id).await?.is_none() {
        problems.push(UserError::not_found("clientId", "client"));
    }
    let mut package = None;
    if let Some(package_id) = input.package_id {
        match find_package(db, studio.id, package_id).await? {
            Some(p) if p.active => package = Some(p),
            Some(_) => problems.push(UserError::state(
                "packageId",
                "this package is no longer offered",
            )),
            None => problems.push(UserError::not_found("packageId", "package")),
        }
    }
    let retainer = input
        .retainer_paid
        .map(|r| problems.amount("retainerPaid", currency, r))
        .unwrap_or_default();
    if let Some(ids) = &input.tax_rate_ids {
        for (i, id) in ids.iter().enumerate() {
            if find_tax_rate(db, studio.id, *id).await?.is_none() {
                problems.push(UserError::not_found(&format!("taxRateIds.{i}"), "tax rate"));
            }
        }
    }
    let mut items = Vec::with_capacity(input.items.len());
    for (i, item) in input.items.iter().enumerate() {
        let field = |name: &str| format!("items.{i}.{name}");
        if !(1..=10_000).contains(&item.quantity) {
            problems.push(UserError::invalid(
                &field("quantity"),
                "must be between 1 and 10000",
            ));
        }
        let add_on = match item.add_on_service_id {
            Some(id) => match find_add_on(db, studio.id, id).await? {
                Some(a) => Some(a),
                None => {
                    problems.push(UserError::not_found(
                        &field("addOnServiceId"),
                        "add-on service",
                    ));
                    None
                }
            },
            None => None,
        };
        let unit = match (item.unit_price, &add_on) {
            (Some(price), _) => problems.amount(&field("unitPrice"), currency, price),
            (None, Some(a)) => a.unit_price_minor,
            (None, None) => {
                if item.add_on_service_id.is_none() {
                    problems.push(UserError::invalid(
                        &field("unitPrice"),
                        "is required for an item without an add-on service",
                    ));
                }
                Minor::ZERO
            }
        };
        let description = match (&item.description, &add_on) {
            (Some(d), _) => problems.name(&field("description"), d),
            (None, Some(a)) => a.name.clone(),
            // An unknown add-on was reported above; no second error for it.
            (None, None) if item.add_on_service_id.is_some() => String::new(),
            (None, None) => problems.name(&field("description"), ""),
        };
        let taxable = item
            .taxable
            .or(add_on.as_ref().map(|a| a.taxable))
            .unwrap_or(true);
        items.push((
            item.add_on_service_id,
            description,
            item.quantity,
            unit,
            taxable,
        ));
    }
    let discount = input
        .discount
        .as_ref()
        .map(|d| adjustment(&mut problems, "discount", currency, d));
    let fees = fees_for(studio, &mut problems, &input.fees);
    problems.finish()?;

    let tx = begin_write(db).await?;
    let session = session::ActiveModel {
        studio_id: Set(studio.id),
        client_id: Set(input.client_id),
        package_id: Set(input.package_id),
        package_name: Set(package.as_ref().map(|p| p.name.clone())),
        package_price_minor: Set(package.as_ref().map(|p| p.price_minor)),
        package_taxable: Set(package.as_ref().map(|p| p.taxable)),
        image_pricing: Set(package.as_ref().and_then(|p| p.image_pricing.clone())),
        title: Set(title),
        scheduled_at: Set(input.scheduled_at),
        status: Set(SessionStatus::Scheduled),
        retainer_paid_minor: Set(retainer),
        tax_rate_ids: Set(input
            .tax_rate_ids
            .map(|ids| ids.iter().map(i64::to_string).collect::<Vec<_>>().join(","))),
        discount: Set(discount
            .map(|d| serde_json::to_string(&d))
            .transpose()
            .map_err(|e| anyhow::anyhow!("discount: {e}"))?),
        fees: Set(serde_json::to_string(&fees).map_err(|e| anyhow::anyhow!("fees: {e}"))?),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    let mut stored = Vec::with_capacity(items.len());
    for (add_on_service_id, description, quantity, unit, taxable) in items {
        stored.push(
            session_item::ActiveModel {
                session_id: Set(session.id),
                add_on_service_id: Set(add_on_service_id),
                description: Set(description),
                quantity: Set(quantity),
                unit_price_minor: Set(unit),
                taxable: Set(taxable),
                ..Default::default()
            }
            .insert(&tx)
            .await?,
        );
    }
    // Priced now exactly as the invoice will be (inside the transaction, so
    // a refusal writes nothing): a session that can never be invoiced is
    // refused here instead of failing in the worker after completion.
    // A retainer may exceed the total (tax and fees included): the excess
    // is owed back or carried forward, as the studio chose (`credits`).
    let (_, priced) = super::quote::quote_session(&tx, studio, &session, Minor::ZERO).await?;
    match priced {
        Ok(_) => {}
        Err(crate::kernel::pricing::PricingError::Overflow) => {
            return Err(UserError::too_large(
                if input.items.is_empty() {
                    "packageId"
                } else {
                    "items"
                },
                "the session's amounts add up to more than can be invoiced",
            )
            .into());
        }
        Err(other) => return Err(UserError::invalid("items", other.to_string()).into()),
    }
    tx.commit().await?;
    Ok((session, stored))
}

pub async fn find_session(
    db: &DatabaseConnection,
    studio_id: i64,
    id: i64,
) -> DomainResult<Option<session::Model>> {
    Ok(session::Entity::find_by_id(id)
        .filter(session::Column::StudioId.eq(studio_id))
        .one(db)
        .await?)
}

pub async fn session_items(
    db: &DatabaseConnection,
    session_id: i64,
) -> DomainResult<Vec<session_item::Model>> {
    Ok(session_item::Entity::find()
        .filter(session_item::Column::SessionId.eq(session_id))
        .order_by_asc(session_item::Column::Id)
        .all(db)
        .await?)
}

pub async fn cancel_session(
    db: &DatabaseConnection,
    studio: &studio::Model,
    id: i64,
    now: DateTime<Utc>,
) -> DomainResult<session::Model> {
    let tx = begin_write(db).await?;
    let Some(existing) = session::Entity::find_by_id(id)
        .filter(session::Column::StudioId.eq(studio.id))
        .one(&tx)
        .await?
    else {
        return Err(UserError::not_found("id", "session").into());
    };
    match existing.status {
        SessionStatus::Cancelled => Ok(existing),
        SessionStatus::Completed => {
            Err(UserError::state("id", "a completed session cannot be cancelled").into())
        }
        SessionStatus::Scheduled => {
            let mut active: session::ActiveModel = existing.into();
            active.status = Set(SessionStatus::Cancelled);
            active.cancelled_at = Set(Some(now));
            active.updated_at = Set(now);
            let updated = active.update(&tx).await?;
            tx.commit().await?;
            Ok(updated)
        }
    }
}

/// Marks a session completed and, in the same transaction, writes the outbox
/// row that starts billing. Completing it again returns it unchanged and
/// starts nothing: only the call that moves it out of `SCHEDULED` enqueues.
pub async fn complete_session(
    ctx: &AppContext,
    studio: &studio::Model,
    id: i64,
    request_id: Option<&str>,
) -> DomainResult<session::Model> {
    let tx = begin_write(&ctx.db).await?;
    let now = ctx.clock.now();
    // The move out of `SCHEDULED` comes back with the row it wrote: one
    // statement when the session is this studio's and still scheduled.
    let moved = session::Entity::update_many()
        .col_expr(
            session::Column::Status,
            Expr::value(SessionStatus::Completed.as_str()),
        )
        .col_expr(session::Column::CompletedAt, Expr::value(now))
        .col_expr(session::Column::UpdatedAt, Expr::value(now))
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::StudioId.eq(studio.id))
        .filter(session::Column::Status.eq(SessionStatus::Scheduled))
        .exec_with_returning(&tx)
        .await?
        .pop();
    let Some(updated) = moved else {
        // Nothing moved: say why (or answer the completed session as it is).
        let existing = session::Entity::find_by_id(id)
            .filter(session::Column::StudioId.eq(studio.id))
            .one(&tx)
            .await?;
        return match existing.map(|s| (s.status, s)) {
            None => Err(UserError::not_found("id", "session").into()),
            Some((SessionStatus::Cancelled, _)) => {
                Err(UserError::state("id", "a cancelled session cannot be completed").into())
            }
            Some((SessionStatus::Completed, existing)) => Ok(existing),
            Some((SessionStatus::Scheduled, _)) => {
                Err(anyhow::anyhow!("session {id} is still scheduled after its completion").into())
            }
        };
    };
    crate::workflow::next::after(
        &tx,
        crate::workflow::next::Change::SessionCompleted {
            studio_id: studio.id,
            session_id: id,
        },
        request_id,
        now,
    )
    .await?;
    crate::workflow::next::commit(ctx, tx).await?;
    tracing::info!(session_id = id, "session completed");
    Ok(updated)
}
