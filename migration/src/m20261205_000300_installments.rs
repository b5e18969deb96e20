//! Payment plans collected (issue 19): each due part of a plan is billed as
//! an invoice of its own, kind `INSTALLMENT`, with the next gap-free number.
//!
//! - `invoices.kind`: `FINAL` (the session's invoice, issued when it is
//!   completed; every invoice before this migration) or `INSTALLMENT`.
//! - `invoices.plan_part_id`: the plan part an installment bills; at most
//!   one invoice that is not `VOID` per part (`ux_invoices_plan_part`).
//! - `ux_invoices_session_current` gives way to `ux_invoices_session_final`,
//!   narrowed to `FINAL` invoices: a session still has at most one final
//!   invoice that is not `VOID`, beside its installments. (A new name: on
//!   SQLite the pool's other connections may still hold the old schema, and
//!   re-creating a dropped name there fails as "already exists".)
//! - `invoices.plan_credit_minor` and `invoices.plan_credits`: the part of a
//!   final invoice's credit that its session's installments cover, and the
//!   rows it is printed as (JSON `[{"label", "amount_minor"}]`).
//! - `studios.plan_charge_hour`: the local hour (in the client's zone, else
//!   the studio's) at which a part due on a day is charged or emailed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: [&str; 8] = [
    "ALTER TABLE invoices ADD COLUMN kind varchar NOT NULL DEFAULT 'FINAL'",
    "ALTER TABLE invoices ADD COLUMN plan_part_id bigint NULL",
    "ALTER TABLE invoices ADD COLUMN plan_credit_minor bigint NOT NULL DEFAULT 0",
    "ALTER TABLE invoices ADD COLUMN plan_credits text NOT NULL DEFAULT '[]'",
    "DROP INDEX ux_invoices_session_current",
    "CREATE UNIQUE INDEX ux_invoices_session_final ON invoices (session_id) WHERE status <> 'VOID' AND kind = 'FINAL'",
    "CREATE UNIQUE INDEX ux_invoices_plan_part ON invoices (plan_part_id) WHERE status <> 'VOID' AND plan_part_id IS NOT NULL",
    "ALTER TABLE studios ADD COLUMN plan_charge_hour integer NOT NULL DEFAULT 10",
];

const DOWN: [&str; 8] = [
    "ALTER TABLE studios DROP COLUMN plan_charge_hour",
    "DROP INDEX ux_invoices_plan_part",
    "DROP INDEX ux_invoices_session_final",
    "CREATE UNIQUE INDEX ux_invoices_session_current ON invoices (session_id) WHERE status <> 'VOID'",
    "ALTER TABLE invoices DROP COLUMN plan_credits",
    "ALTER TABLE invoices DROP COLUMN plan_credit_minor",
    "ALTER TABLE invoices DROP COLUMN plan_part_id",
    "ALTER TABLE invoices DROP COLUMN kind",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for sql in UP {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        // With installments on record the wider one-per-session index
        // cannot be built again, and the down migration fails there: the
        // installments are invoices, and they are not deleted.
        for sql in DOWN {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
