//! Tips (issue 22, item 2): the studio's tipping setting (`studios.tip_*`:
//! on or off, preset percentages as text `"10,15,20"`, a custom amount
//! allowed or not, a maximum, offered on every payment or only on the final
//! invoice), and on each checkout attempt, payment and refund the tip it
//! carried on top of the invoice's money (`*.tip_minor`; the simulated
//! gateway's sessions too, for their "Gratuity" line).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: [(&str, &str, &str); 9] = [
    ("studios", "tip_enabled", "boolean NOT NULL DEFAULT false"),
    ("studios", "tip_presets", "text NOT NULL DEFAULT '10,15,20'"),
    ("studios", "tip_custom", "boolean NOT NULL DEFAULT true"),
    ("studios", "tip_max_minor", "bigint NULL"),
    (
        "studios",
        "tip_offer",
        "text NOT NULL DEFAULT 'EVERY_PAYMENT'",
    ),
    (
        "checkout_sessions",
        "tip_minor",
        "bigint NOT NULL DEFAULT 0",
    ),
    ("payments", "tip_minor", "bigint NOT NULL DEFAULT 0"),
    ("refunds", "tip_minor", "bigint NOT NULL DEFAULT 0"),
    // The simulated gateway's session shows the tip as its own line.
    (
        "simulated_checkout_sessions",
        "tip_minor",
        "bigint NOT NULL DEFAULT 0",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (table, column, kind) in COLUMNS {
            m.get_connection()
                .execute_unprepared(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (table, column, _) in COLUMNS.iter().rev() {
            m.get_connection()
                .execute_unprepared(&format!("ALTER TABLE {table} DROP COLUMN {column}"))
                .await?;
        }
        Ok(())
    }
}
