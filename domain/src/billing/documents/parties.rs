//! An invoice with the rows it belongs to (its studio, client and
//! session), read in one statement instead of one per table.

use crate::infra::error::DomainResult;
use entity::{client, invoice, session, studio};
use sea_orm::{ConnectionTrait, EntityTrait};

/// The rows an invoice belongs to.
#[derive(Debug, Clone)]
pub struct Parties {
    pub studio: studio::Model,
    pub client: client::Model,
    pub session: session::Model,
}

/// An invoice with its studio, client and session, in one statement
/// instead of four reads by id.
pub async fn with_parties<C: ConnectionTrait>(
    conn: &C,
    invoice_id: i64,
) -> DomainResult<(invoice::Model, Parties)> {
    parties_of(conn, invoice::Entity::find_by_id(invoice_id), invoice_id).await
}

/// [`with_parties`], the invoice's row locked for the rest of the
/// transaction (PostgreSQL's `FOR UPDATE OF invoices`; SQLite's write lock
/// is already held).
pub async fn with_parties_locked<C: ConnectionTrait>(
    conn: &C,
    invoice_id: i64,
) -> DomainResult<(invoice::Model, Parties)> {
    let mut select = invoice::Entity::find_by_id(invoice_id);
    sea_orm::QuerySelect::query(&mut select)
        .lock_with_tables(sea_orm::sea_query::LockType::Update, [invoice::Entity]);
    parties_of(conn, select, invoice_id).await
}

async fn parties_of<C: ConnectionTrait>(
    conn: &C,
    select: sea_orm::Select<invoice::Entity>,
    invoice_id: i64,
) -> DomainResult<(invoice::Model, Parties)> {
    let found = select
        .find_also_related(studio::Entity)
        .find_also_related(client::Entity)
        .find_also(invoice::Entity, session::Entity)
        .one(conn)
        .await?;
    match found {
        Some((invoice, Some(studio), Some(client), Some(session))) => Ok((
            invoice,
            Parties {
                studio,
                client,
                session,
            },
        )),
        Some(_) => Err(anyhow::anyhow!(
            "the studio, client or session of invoice {invoice_id} is missing"
        )
        .into()),
        None => Err(anyhow::anyhow!("invoice {invoice_id} missing").into()),
    }
}
