//! An invoice with everything needed to show it (email, portal): loaded once,
//! rendered the same everywhere so every surface shows the same minor units.

use crate::context::AppContext;
use crate::error::DomainResult;
use crate::money::{Currency, Money};
use crate::queries;
use entity::{client, invoice, invoice_line, payment, session, studio};
use sea_orm::EntityTrait;

pub struct InvoiceDocument {
    pub studio: studio::Model,
    pub client: client::Model,
    pub session: session::Model,
    pub invoice: invoice::Model,
    pub lines: Vec<invoice_line::Model>,
    pub payments: Vec<payment::Model>,
    pub currency: Currency,
}

impl InvoiceDocument {
    pub async fn load(ctx: &AppContext, invoice: invoice::Model) -> DomainResult<Self> {
        let missing = |what: &str| anyhow::anyhow!("{what} of invoice {} missing", invoice.id);
        let studio = studio::Entity::find_by_id(invoice.studio_id)
            .one(&ctx.db)
            .await?
            .ok_or_else(|| missing("studio"))?;
        let client = client::Entity::find_by_id(invoice.client_id)
            .one(&ctx.db)
            .await?
            .ok_or_else(|| missing("client"))?;
        let session = session::Entity::find_by_id(invoice.session_id)
            .one(&ctx.db)
            .await?
            .ok_or_else(|| missing("session"))?;
        let lines = queries::invoice_lines(&ctx.db, invoice.id).await?;
        let payments = queries::invoice_payments(&ctx.db, invoice.id).await?;
        let currency = Currency::parse(&invoice.currency)
            .map_err(|e| anyhow::anyhow!("invoice currency: {e}"))?;
        Ok(Self {
            studio,
            client,
            session,
            invoice,
            lines,
            payments,
            currency,
        })
    }

    pub async fn load_by_id(ctx: &AppContext, invoice_id: i64) -> DomainResult<Self> {
        let invoice = invoice::Entity::find_by_id(invoice_id)
            .one(&ctx.db)
            .await?
            .ok_or_else(|| anyhow::anyhow!("invoice {invoice_id} missing"))?;
        Self::load(ctx, invoice).await
    }

    pub fn money(&self, minor: i64) -> String {
        Money::new(minor, self.currency).to_string()
    }

    pub fn due_date(&self) -> String {
        self.invoice.due_date.format("%B %-d, %Y").to_string()
    }

    /// The most recent declined attempt, if the invoice is still unpaid.
    pub fn last_decline(&self) -> Option<&payment::Model> {
        self.payments
            .iter()
            .rev()
            .find(|p| p.status == entity::enums::PaymentStatus::Failed)
    }
}
