//! Queries. Every read is scoped to the authenticated studio; a record of
//! another studio is indistinguishable from a missing one (`null`).

use super::inputs::{InvoiceFilter, PaymentFilter, SessionFilter};
use super::types::{
    AddOnService, Client, Invoice, Metrics, Package, Payment, Session, Studio, TaxRate,
};
use super::{AppData, domain_error, studio};
use async_graphql::connection::{Connection, Edge, query};
use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use domain::kernel::money::Currency;
use domain::read::queries::{self, PageRequest};
use domain::{studio::catalog, studio::sessions};
use entity::{add_on_service, package, tax_rate};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

pub struct Query;

fn id_filter(id: &Option<ID>) -> Option<i64> {
    // An unparsable id matches nothing rather than everything.
    id.as_ref().map(|id| id.parse().unwrap_or(-1))
}

fn page(
    after: Option<i64>,
    before: Option<i64>,
    first: Option<usize>,
    last: Option<usize>,
) -> PageRequest {
    PageRequest {
        after,
        before,
        first: first.map(|n| n as u64),
        last: last.map(|n| n as u64),
    }
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

    async fn packages(&self, ctx: &Context<'_>) -> Result<Vec<Package>> {
        let studio = studio(ctx)?;
        let cur = currency_of(studio)?;
        let db = &ctx.data::<AppData>()?.ctx.db;
        let rows = package::Entity::find()
            .filter(package::Column::StudioId.eq(studio.id))
            .order_by_asc(package::Column::Id)
            .all(db)
            .await
            .map_err(|e| domain_error(e.into()))?;
        Ok(rows.into_iter().map(|p| Package(p, cur)).collect())
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
        let db = ctx.data::<AppData>()?.ctx.db.clone();
        let filter = filter
            .map(|f| queries::SessionFilter {
                status: f.status.map(Into::into),
                client_id: id_filter(&f.client_id),
                scheduled_from: f.from,
                scheduled_to: f.to,
            })
            .unwrap_or_default();
        let studio_id = studio.id;
        query(after, before, first, last, |a, b, f, l| async move {
            let page = queries::sessions(&db, studio_id, &filter, page(a, b, f, l))
                .await
                .map_err(domain_error)?;
            let mut connection = Connection::new(page.has_previous, page.has_next);
            connection
                .edges
                .extend(page.items.into_iter().map(|m| Edge::new(m.id, Session(m))));
            Ok::<_, async_graphql::Error>(connection)
        })
        .await
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
        let db = ctx.data::<AppData>()?.ctx.db.clone();
        let filter = filter
            .map(|f| queries::InvoiceFilter {
                status: f.status.map(Into::into),
                client_id: id_filter(&f.client_id),
                issued_from: f.from,
                issued_to: f.to,
            })
            .unwrap_or_default();
        let studio_id = studio.id;
        query(after, before, first, last, |a, b, f, l| async move {
            let page = queries::invoices(&db, studio_id, &filter, page(a, b, f, l))
                .await
                .map_err(domain_error)?;
            let mut connection = Connection::new(page.has_previous, page.has_next);
            connection
                .edges
                .extend(page.items.into_iter().map(|m| Edge::new(m.id, Invoice(m))));
            Ok::<_, async_graphql::Error>(connection)
        })
        .await
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
        let db = ctx.data::<AppData>()?.ctx.db.clone();
        let filter = filter
            .map(|f| queries::PaymentFilter {
                invoice_id: id_filter(&f.invoice_id),
                status: f.status.map(Into::into),
                created_from: f.from,
                created_to: f.to,
            })
            .unwrap_or_default();
        let studio_id = studio.id;
        query(after, before, first, last, |a, b, f, l| async move {
            let page = queries::payments(&db, studio_id, &filter, page(a, b, f, l))
                .await
                .map_err(domain_error)?;
            let mut connection = Connection::new(page.has_previous, page.has_next);
            connection
                .edges
                .extend(page.items.into_iter().map(|m| Edge::new(m.id, Payment(m))));
            Ok::<_, async_graphql::Error>(connection)
        })
        .await
    }
}
