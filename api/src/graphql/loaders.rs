//! DataLoaders: the related records of a page of results are fetched in one
//! query per kind, not one per row. Built per request and scoped to the
//! request's studio, so a batch can never reach another studio's rows.

use async_graphql::dataloader::{DataLoader, Loader};
use entity::{
    client, credit_note, invoice, invoice_event, invoice_line, payment, refund, session,
    session_item,
};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder};
use std::collections::HashMap;
use std::sync::Arc;

/// DataLoader errors must be `Clone`.
pub type LoadError = Arc<DbErr>;

pub struct Batch {
    db: DatabaseConnection,
    studio_id: i64,
}

pub struct Loaders {
    pub clients: DataLoader<ClientById>,
    pub sessions: DataLoader<SessionById>,
    pub invoices_by_session: DataLoader<InvoiceBySession>,
    pub lines_by_invoice: DataLoader<LinesByInvoice>,
    pub payments_by_invoice: DataLoader<PaymentsByInvoice>,
    pub items_by_session: DataLoader<ItemsBySession>,
    pub refunds_by_invoice: DataLoader<RefundsByInvoice>,
    pub credit_note_by_invoice: DataLoader<CreditNoteByInvoice>,
    pub events_by_invoice: DataLoader<EventsByInvoice>,
}

impl Loaders {
    pub fn new(db: &DatabaseConnection, studio_id: i64) -> Self {
        let batch = || Batch {
            db: db.clone(),
            studio_id,
        };
        Self {
            clients: DataLoader::new(ClientById(batch()), tokio::spawn),
            sessions: DataLoader::new(SessionById(batch()), tokio::spawn),
            invoices_by_session: DataLoader::new(InvoiceBySession(batch()), tokio::spawn),
            lines_by_invoice: DataLoader::new(LinesByInvoice(batch()), tokio::spawn),
            payments_by_invoice: DataLoader::new(PaymentsByInvoice(batch()), tokio::spawn),
            items_by_session: DataLoader::new(ItemsBySession(batch()), tokio::spawn),
            refunds_by_invoice: DataLoader::new(RefundsByInvoice(batch()), tokio::spawn),
            credit_note_by_invoice: DataLoader::new(CreditNoteByInvoice(batch()), tokio::spawn),
            events_by_invoice: DataLoader::new(EventsByInvoice(batch()), tokio::spawn),
        }
    }
}

fn group<K: std::hash::Hash + Eq, V>(rows: Vec<V>, key: impl Fn(&V) -> K) -> HashMap<K, Vec<V>> {
    let mut map: HashMap<K, Vec<V>> = HashMap::new();
    for row in rows {
        map.entry(key(&row)).or_default().push(row);
    }
    map
}

pub struct ClientById(Batch);

impl Loader<i64> for ClientById {
    type Value = client::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let rows = client::Entity::find()
            .filter(client::Column::StudioId.eq(self.0.studio_id))
            .filter(client::Column::Id.is_in(keys.to_vec()))
            .all(&self.0.db)
            .await?;
        Ok(rows.into_iter().map(|r| (r.id, r)).collect())
    }
}

pub struct SessionById(Batch);

impl Loader<i64> for SessionById {
    type Value = session::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let rows = session::Entity::find()
            .filter(session::Column::StudioId.eq(self.0.studio_id))
            .filter(session::Column::Id.is_in(keys.to_vec()))
            .all(&self.0.db)
            .await?;
        Ok(rows.into_iter().map(|r| (r.id, r)).collect())
    }
}

pub struct InvoiceBySession(Batch);

impl Loader<i64> for InvoiceBySession {
    type Value = invoice::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let rows = invoice::Entity::find()
            .filter(invoice::Column::StudioId.eq(self.0.studio_id))
            .filter(invoice::Column::SessionId.is_in(keys.to_vec()))
            .filter(invoice::Column::Kind.eq(entity::enums::InvoiceKind::Final))
            .all(&self.0.db)
            .await?;
        // A session may have void invoices next to its current one.
        Ok(group(rows, |r| r.session_id)
            .into_iter()
            .filter_map(|(session, all)| {
                domain::billing::invoicing::pick_current(all).map(|current| (session, current))
            })
            .collect())
    }
}

pub struct LinesByInvoice(Batch);

impl Loader<i64> for LinesByInvoice {
    type Value = Vec<invoice_line::Model>;
    type Error = LoadError;

    /// Keys are ids of invoices already resolved within the studio.
    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let rows = invoice_line::Entity::find()
            .filter(invoice_line::Column::InvoiceId.is_in(keys.to_vec()))
            .order_by_asc(invoice_line::Column::Position)
            .all(&self.0.db)
            .await?;
        Ok(group(rows, |r| r.invoice_id))
    }
}

pub struct PaymentsByInvoice(Batch);

impl Loader<i64> for PaymentsByInvoice {
    type Value = Vec<payment::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let rows = payment::Entity::find()
            .filter(payment::Column::StudioId.eq(self.0.studio_id))
            .filter(payment::Column::InvoiceId.is_in(keys.to_vec()))
            .order_by_asc(payment::Column::Id)
            .all(&self.0.db)
            .await?;
        Ok(group(rows, |r| r.invoice_id))
    }
}

pub struct ItemsBySession(Batch);

impl Loader<i64> for ItemsBySession {
    type Value = Vec<session_item::Model>;
    type Error = LoadError;

    /// Keys are ids of sessions already resolved within the studio.
    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let rows = session_item::Entity::find()
            .filter(session_item::Column::SessionId.is_in(keys.to_vec()))
            .order_by_asc(session_item::Column::Id)
            .all(&self.0.db)
            .await?;
        Ok(group(rows, |r| r.session_id))
    }
}

pub struct RefundsByInvoice(Batch);

impl Loader<i64> for RefundsByInvoice {
    type Value = Vec<refund::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let rows = refund::Entity::find()
            .filter(refund::Column::StudioId.eq(self.0.studio_id))
            .filter(refund::Column::InvoiceId.is_in(keys.to_vec()))
            .order_by_asc(refund::Column::Id)
            .all(&self.0.db)
            .await?;
        Ok(group(rows, |r| r.invoice_id))
    }
}

/// Every credit note of each invoice (the void's and the refunds'), oldest first.
pub struct CreditNoteByInvoice(Batch);

impl Loader<i64> for CreditNoteByInvoice {
    type Value = Vec<credit_note::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let rows = credit_note::Entity::find()
            .filter(credit_note::Column::StudioId.eq(self.0.studio_id))
            .filter(credit_note::Column::InvoiceId.is_in(keys.to_vec()))
            .order_by_asc(credit_note::Column::Id)
            .all(&self.0.db)
            .await?;
        Ok(group(rows, |r| r.invoice_id))
    }
}

/// The audit trail of each invoice, oldest first.
pub struct EventsByInvoice(Batch);

impl Loader<i64> for EventsByInvoice {
    type Value = Vec<invoice_event::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let rows = invoice_event::Entity::find()
            .filter(invoice_event::Column::StudioId.eq(self.0.studio_id))
            .filter(invoice_event::Column::InvoiceId.is_in(keys.to_vec()))
            .order_by_asc(invoice_event::Column::Id)
            .all(&self.0.db)
            .await?;
        Ok(group(rows, |r| r.invoice_id))
    }
}
