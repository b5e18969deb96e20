//! The card surcharge at the portal (issue 22, item 3): each checkout
//! attempt keeps the surcharge a credit card pays on top of its money
//! (`checkout_sessions.surcharge_minor`, fixed when the attempt is
//! reserved; its session then only authorizes, and the system captures
//! what the card's funding type allows), and the simulated gateway's
//! sessions keep it too, for their "Card surcharge" line and their manual
//! capture. A studio may tax its surcharge (`studios.surcharge_taxable`):
//! the tax in a surcharge is kept apart on the attempt and the payment
//! (`surcharge_tax_minor`, part of `surcharge_minor`).

use crate::columns::{self, Column};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: [Column; 5] = [
    (
        "studios",
        "surcharge_taxable",
        "boolean NOT NULL DEFAULT false",
    ),
    (
        "checkout_sessions",
        "surcharge_tax_minor",
        "bigint NOT NULL DEFAULT 0",
    ),
    (
        "payments",
        "surcharge_tax_minor",
        "bigint NOT NULL DEFAULT 0",
    ),
    (
        "checkout_sessions",
        "surcharge_minor",
        "bigint NOT NULL DEFAULT 0",
    ),
    (
        "simulated_checkout_sessions",
        "surcharge_minor",
        "bigint NOT NULL DEFAULT 0",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        columns::add(m, &COLUMNS).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        columns::drop(m, &COLUMNS).await
    }
}
