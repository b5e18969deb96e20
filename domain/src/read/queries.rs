//! Read models for lists: filters and keyset pagination, always scoped to one studio.

use crate::infra::error::DomainResult;
use crate::kernel::ids::{InvoiceId, SessionId, StudioId};
use chrono::{DateTime, Utc};
use entity::enums::{InvoiceStatus, PaymentStatus, SessionStatus};
use entity::{client, invoice, package, payment, session};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};

pub const MAX_PAGE: u64 = 100;
pub const DEFAULT_PAGE: u64 = 20;

/// Keyset pagination on ascending ids (`after`/`first` forward, `before`/`last` backward).
/// A page size of 0 returns no item (only whether there are more); above
/// [`MAX_PAGE`] it is clamped; none means [`DEFAULT_PAGE`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PageRequest {
    pub after: Option<i64>,
    pub before: Option<i64>,
    pub first: Option<u64>,
    pub last: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_previous: bool,
    pub has_next: bool,
}

async fn paginate<E, C>(
    db: &DatabaseConnection,
    select: Select<E>,
    id: C,
    page: PageRequest,
) -> DomainResult<Page<E::Model>>
where
    E: EntityTrait,
    C: ColumnTrait,
{
    let mut select = select;
    if let Some(after) = page.after {
        select = select.filter(id.gt(after));
    }
    if let Some(before) = page.before {
        select = select.filter(id.lt(before));
    }
    let backward = page.last.is_some() && page.first.is_none();
    let size = page
        .first
        .or(page.last)
        .unwrap_or(DEFAULT_PAGE)
        .min(MAX_PAGE);
    let ordered = if backward {
        select.order_by_desc(id)
    } else {
        select.order_by_asc(id)
    };
    let mut rows = ordered.limit(size + 1).all(db).await?;
    let more = rows.len() as u64 > size;
    rows.truncate(size as usize);
    if backward {
        rows.reverse();
    }
    Ok(Page {
        items: rows,
        has_previous: if backward { more } else { page.after.is_some() },
        has_next: if backward {
            page.before.is_some()
        } else {
            more
        },
    })
}

#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    pub status: Option<SessionStatus>,
    pub client_id: Option<i64>,
    pub scheduled_from: Option<DateTime<Utc>>,
    pub scheduled_to: Option<DateTime<Utc>>,
}

pub async fn sessions(
    db: &DatabaseConnection,
    studio_id: i64,
    filter: &SessionFilter,
    page: PageRequest,
) -> DomainResult<Page<session::Model>> {
    let mut select = session::Entity::find().filter(session::Column::StudioId.eq(studio_id));
    if let Some(status) = filter.status {
        select = select.filter(session::Column::Status.eq(status));
    }
    if let Some(client_id) = filter.client_id {
        select = select.filter(session::Column::ClientId.eq(client_id));
    }
    if let Some(from) = filter.scheduled_from {
        select = select.filter(session::Column::ScheduledAt.gte(from));
    }
    if let Some(to) = filter.scheduled_to {
        select = select.filter(session::Column::ScheduledAt.lt(to));
    }
    paginate(db, select, session::Column::Id, page).await
}

#[derive(Debug, Clone, Default)]
pub struct InvoiceFilter {
    pub status: Option<InvoiceStatus>,
    pub client_id: Option<i64>,
    pub issued_from: Option<DateTime<Utc>>,
    pub issued_to: Option<DateTime<Utc>>,
}

pub async fn invoices(
    db: &DatabaseConnection,
    studio_id: i64,
    filter: &InvoiceFilter,
    page: PageRequest,
) -> DomainResult<Page<invoice::Model>> {
    let mut select = invoice::Entity::find().filter(invoice::Column::StudioId.eq(studio_id));
    if let Some(status) = filter.status {
        select = select.filter(invoice::Column::Status.eq(status));
    }
    if let Some(client_id) = filter.client_id {
        select = select.filter(invoice::Column::ClientId.eq(client_id));
    }
    if let Some(from) = filter.issued_from {
        select = select.filter(invoice::Column::IssuedAt.gte(from));
    }
    if let Some(to) = filter.issued_to {
        select = select.filter(invoice::Column::IssuedAt.lt(to));
    }
    paginate(db, select, invoice::Column::Id, page).await
}

#[derive(Debug, Clone, Default)]
pub struct PaymentFilter {
    pub invoice_id: Option<i64>,
    pub status: Option<PaymentStatus>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
}

pub async fn payments(
    db: &DatabaseConnection,
    studio_id: i64,
    filter: &PaymentFilter,
    page: PageRequest,
) -> DomainResult<Page<payment::Model>> {
    let mut select = payment::Entity::find().filter(payment::Column::StudioId.eq(studio_id));
    if let Some(invoice_id) = filter.invoice_id {
        select = select.filter(payment::Column::InvoiceId.eq(invoice_id));
    }
    if let Some(status) = filter.status {
        select = select.filter(payment::Column::Status.eq(status));
    }
    if let Some(from) = filter.created_from {
        select = select.filter(payment::Column::CreatedAt.gte(from));
    }
    if let Some(to) = filter.created_to {
        select = select.filter(payment::Column::CreatedAt.lt(to));
    }
    paginate(db, select, payment::Column::Id, page).await
}

/// The studio's packages, oldest first.
pub async fn packages(
    db: &DatabaseConnection,
    studio_id: i64,
    page: PageRequest,
) -> DomainResult<Page<package::Model>> {
    let select = package::Entity::find().filter(package::Column::StudioId.eq(studio_id));
    paginate(db, select, package::Column::Id, page).await
}

/// The studio's clients, oldest first.
pub async fn clients(
    db: &DatabaseConnection,
    studio_id: i64,
    page: PageRequest,
) -> DomainResult<Page<client::Model>> {
    let select = client::Entity::find().filter(client::Column::StudioId.eq(studio_id));
    paginate(db, select, client::Column::Id, page).await
}

pub async fn invoice(
    db: &DatabaseConnection,
    studio_id: i64,
    id: i64,
) -> DomainResult<Option<invoice::Model>> {
    Ok(invoice::Entity::find_by_id(id)
        .filter(invoice::Column::StudioId.eq(studio_id))
        .one(db)
        .await?)
}

pub async fn session(
    db: &DatabaseConnection,
    studio_id: i64,
    id: i64,
) -> DomainResult<Option<session::Model>> {
    Ok(session::Entity::find_by_id(id)
        .filter(session::Column::StudioId.eq(studio_id))
        .one(db)
        .await?)
}

/// The session's current invoice: the one that is not void, else the
/// latest void one.
pub async fn invoice_for_session(
    db: &DatabaseConnection,
    studio_id: StudioId,
    session_id: SessionId,
) -> DomainResult<Option<invoice::Model>> {
    let (studio_id, session_id) = (studio_id.get(), session_id.get());
    let all = invoice::Entity::find()
        .filter(invoice::Column::StudioId.eq(studio_id))
        .filter(invoice::Column::SessionId.eq(session_id))
        .filter(invoice::Column::Kind.eq(entity::enums::InvoiceKind::Final))
        .all(db)
        .await?;
    Ok(crate::billing::invoicing::pick_current(all))
}

/// The invoice that reissued (replaced) the void invoice `invoice_id`.
pub async fn invoice_reissuing(
    db: &DatabaseConnection,
    studio_id: StudioId,
    invoice_id: InvoiceId,
) -> DomainResult<Option<invoice::Model>> {
    let (studio_id, invoice_id) = (studio_id.get(), invoice_id.get());
    Ok(invoice::Entity::find()
        .filter(invoice::Column::StudioId.eq(studio_id))
        .filter(invoice::Column::ReissuedFromId.eq(invoice_id))
        .one(db)
        .await?)
}

pub async fn payment(
    db: &DatabaseConnection,
    studio_id: i64,
    id: i64,
) -> DomainResult<Option<payment::Model>> {
    Ok(payment::Entity::find_by_id(id)
        .filter(payment::Column::StudioId.eq(studio_id))
        .one(db)
        .await?)
}
