//! Queries. Every read is scoped to the authenticated studio; a record of
//! another studio is indistinguishable from a missing one (`null`).

use super::inputs::{InvoiceFilter, PaymentFilter, SessionFilter};
use super::types::{
    AddOnService, Client, Invoice, Metrics, Package, Payment, Session, Studio, TaxRate,
};
use super::{AppData, domain_error, studio};
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, ID, Object, OutputType, Result};
use chrono::{DateTime, Utc};
use domain::kernel::money::Currency;
use domain::read::queries::{self, PageRequest};
use domain::{studio::catalog, studio::sessions};
use entity::{add_on_service, tax_rate};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

pub struct Query;

fn id_filter(id: &Option<ID>) -> Option<i64> {
    // An unparsable id matches nothing rather than everything.
    id.as_ref().map(|id| id.parse().unwrap_or(-1))
}

/// A cursor argument: the id an edge's `cursor` carries, or `INVALID_INPUT`
/// naming the argument (never the parser's own text).
fn cursor(value: Option<String>, field: &str) -> Result<Option<i64>> {
    value
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                domain_error(
                    domain::UserError::invalid(
                        field,
                        format!(
                            "`{field}` is not a cursor of this list: pass an edge's `cursor` (or `pageInfo.startCursor`/`endCursor`)"
                        ),
                    )
                    .into(),
                )
            })
        })
        .transpose()
}

/// A page size argument: 0 or more (0 returns no edge), or `INVALID_INPUT`.
fn size(value: Option<i32>, field: &str) -> Result<Option<u64>> {
    value
        .map(|n| {
            u64::try_from(n).map_err(|_| {
                domain_error(
                    domain::UserError::invalid(field, format!("`{field}` must be 0 or more"))
                        .into(),
                )
            })
        })
        .transpose()
}

/// A connection's arguments as a page request.
fn page(
    after: Option<String>,
    before: Option<String>,
    first: Option<i32>,
    last: Option<i32>,
) -> Result<PageRequest> {
    Ok(PageRequest {
        after: cursor(after, "after")?,
        before: cursor(before, "before")?,
        first: size(first, "first")?,
        last: size(last, "last")?,
    })
}

/// A page of rows as a Relay connection (cursors are the rows' ids).
fn connection<M, T: OutputType>(
    page: queries::Page<M>,
    id: impl Fn(&M) -> i64,
    node: impl Fn(M) -> T,
) -> Connection<i64, T> {
    let mut connection = Connection::new(page.has_previous, page.has_next);
    connection
        .edges
        .extend(page.items.into_iter().map(|m| Edge::new(id(&m), node(m))));
    connection
}

fn currency_of(studio: &entity::studio::Model) -> Result<Currency> {
    Currency::parse(&studio.currency)
        .map_err(|e| super::internal(anyhow::anyhow!("studio currency: {e}")))
}

#[Object]
impl Query {
    /// The studio the API key belongs to.
    async fn studio(&self, ctx: &Context<'_>) -> Result<Studio> {
        Ok(Studio(studio(ctx)?.clone()))
    }

    /// The studio's API keys, oldest first, revoked ones included.
    async fn api_keys(&self, ctx: &Context<'_>) -> Result<Vec<super::api_keys::ApiKey>> {
        let studio = studio(ctx)?;
        let db = &ctx.data::<AppData>()?.ctx.db;
        let current = super::api_keys::current_key(ctx);
        Ok(domain::studio::api_keys::list(db, studio.id)
            .await
            .map_err(domain_error)?
            .into_iter()
            .map(|m| super::api_keys::ApiKey::new(m, current))
            .collect())
    }

    /// Steps of the studio's workflow that failed and are not done yet
    /// (newest first, at most 100): what failed, how often, the last error
    /// and when it runs again. `retryStep` runs one now.
    async fn failing_steps(&self, ctx: &Context<'_>) -> Result<Vec<super::steps::FailingStep>> {
        super::steps::list(ctx, None).await
    }

    async fn client(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Client>> {
        let studio = studio(ctx)?;
        let Ok(id) = id.parse::<i64>() else {
            return Ok(None);
        };
        let db = &ctx.data::<AppData>()?.ctx.db;
        Ok(catalog::find_client(db, studio.id, id)
            .await
            .map_err(domain_error)?
            .map(Client))
    }

    /// Clients, oldest first, with Relay cursor pagination (at most 100 per page).
    #[graphql(complexity = "super::limits::page_cost(first, last, child_complexity)")]
    async fn clients(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Connection<i64, Client>> {
        let studio = studio(ctx)?;
        let page = page(after, before, first, last)?;
        let db = &ctx.data::<AppData>()?.ctx.db;
        let rows = queries::clients(db, studio.id, page)
            .await
            .map_err(domain_error)?;
        Ok(connection(rows, |m| m.id, Client))
    }

    /// Packages, oldest first, with Relay cursor pagination (at most 100 per page).
    #[graphql(complexity = "super::limits::page_cost(first, last, child_complexity)")]
    async fn packages(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Connection<i64, Package>> {
        let studio = studio(ctx)?;
        let cur = currency_of(studio)?;
        let page = page(after, before, first, last)?;
        let db = &ctx.data::<AppData>()?.ctx.db;
        let rows = queries::packages(db, studio.id, page)
            .await
            .map_err(domain_error)?;
        Ok(connection(rows, |m| m.id, |m| Package(m, cur)))
    }

    async fn add_on_services(&self, ctx: &Context<'_>) -> Result<Vec<AddOnService>> {
        let studio = studio(ctx)?;
        let cur = currency_of(studio)?;
        let db = &ctx.data::<AppData>()?.ctx.db;
        let rows = add_on_service::Entity::find()
            .filter(add_on_service::Column::StudioId.eq(studio.id))
            .order_by_asc(add_on_service::Column::Id)
            .all(db)
            .await
            .map_err(|e| domain_error(e.into()))?;
        Ok(rows.into_iter().map(|a| AddOnService(a, cur)).collect())
    }

    async fn tax_rates(&self, ctx: &Context<'_>) -> Result<Vec<TaxRate>> {
        let studio = studio(ctx)?;
        let db = &ctx.data::<AppData>()?.ctx.db;
        let rows = tax_rate::Entity::find()
            .filter(tax_rate::Column::StudioId.eq(studio.id))
            .order_by_asc(tax_rate::Column::Id)
            .all(db)
            .await
            .map_err(|e| domain_error(e.into()))?;
        Ok(rows.into_iter().map(TaxRate).collect())
    }

    /// Key metrics for `from <= t < to`: processing time, completion rate,
    /// days to collection, outstanding and aging, revenue by month and package.
    async fn metrics(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Metrics> {
        let studio = studio(ctx)?;
        if from >= to {
            return Err(domain_error(
                domain::UserError::invalid("to", "`to` must be after `from`").into(),
            ));
        }
        let db = &ctx.data::<AppData>()?.ctx.db;
        let tz = domain::billing::invoicing::studio_tz(studio);
        let computed = domain::read::metrics::compute(db, studio.id, tz, from, to)
            .await
            .map_err(domain_error)?;
        Ok(Metrics::new(computed, currency_of(studio)?, from, to))
    }

    async fn session(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Session>> {
        let studio = studio(ctx)?;
        let Ok(id) = id.parse::<i64>() else {
            return Ok(None);
        };
        let db = &ctx.data::<AppData>()?.ctx.db;
        Ok(sessions::find_session(db, studio.id, id)
            .await
            .map_err(domain_error)?
            .map(Session))
    }

    /// Sessions, oldest first, with Relay cursor pagination (at most 100 per page).
    #[graphql(complexity = "super::limits::page_cost(first, last, child_complexity)")]
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        filter: Option<SessionFilter>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Connection<i64, Session>> {
        let studio = studio(ctx)?;
        let db = &ctx.data::<AppData>()?.ctx.db;
        let filter = filter
            .map(|f| queries::SessionFilter {
                status: f.status.map(Into::into),
                client_id: id_filter(&f.client_id),
                scheduled_from: f.from,
                scheduled_to: f.to,
            })
            .unwrap_or_default();
        let page = page(after, before, first, last)?;
        let rows = queries::sessions(db, studio.id, &filter, page)
            .await
            .map_err(domain_error)?;
        Ok(connection(rows, |m| m.id, Session))
    }

    async fn invoice(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Invoice>> {
        let studio = studio(ctx)?;
        let Ok(id) = id.parse::<i64>() else {
            return Ok(None);
        };
        let db = &ctx.data::<AppData>()?.ctx.db;
        Ok(queries::invoice(db, studio.id, id)
            .await
            .map_err(domain_error)?
            .map(Invoice))
    }

    /// Invoices, oldest first, with Relay cursor pagination (at most 100 per page).
    #[graphql(complexity = "super::limits::page_cost(first, last, child_complexity)")]
    async fn invoices(
        &self,
        ctx: &Context<'_>,
        filter: Option<InvoiceFilter>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Connection<i64, Invoice>> {
        let studio = studio(ctx)?;
        let db = &ctx.data::<AppData>()?.ctx.db;
        let filter = filter
            .map(|f| queries::InvoiceFilter {
                status: f.status.map(Into::into),
                client_id: id_filter(&f.client_id),
                issued_from: f.from,
                issued_to: f.to,
            })
            .unwrap_or_default();
        let page = page(after, before, first, last)?;
        let rows = queries::invoices(db, studio.id, &filter, page)
            .await
            .map_err(domain_error)?;
        Ok(connection(rows, |m| m.id, Invoice))
    }

    /// Payment attempts (succeeded and failed), oldest first.
    #[graphql(complexity = "super::limits::page_cost(first, last, child_complexity)")]
    async fn payments(
        &self,
        ctx: &Context<'_>,
        filter: Option<PaymentFilter>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Connection<i64, Payment>> {
        let studio = studio(ctx)?;
        let db = &ctx.data::<AppData>()?.ctx.db;
        let filter = filter
            .map(|f| queries::PaymentFilter {
                invoice_id: id_filter(&f.invoice_id),
                status: f.status.map(Into::into),
                created_from: f.from,
                created_to: f.to,
            })
            .unwrap_or_default();
        let page = page(after, before, first, last)?;
        let rows = queries::payments(db, studio.id, &filter, page)
            .await
            .map_err(domain_error)?;
        Ok(connection(rows, |m| m.id, Payment))
    }
}
