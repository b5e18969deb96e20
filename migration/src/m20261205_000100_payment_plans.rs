//! Payment plans (issue 19): a booking's balance split into dated parts.
//!
//! - `payment_plans`: at most one `ACTIVE` plan per session (a partial
//!   unique index); a cancelled plan stays, `CANCELLED`, with its parts, so
//!   what was asked and paid stays on record.
//! - `payment_plan_parts`: `seq` 1.. within the plan, the amount in the
//!   plan's currency, the due date, `SCHEDULED` / `PAID` / `CANCELLED`, and
//!   what was paid towards it.

use sea_orm_migration::sea_orm::ConnectionTrait;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PaymentPlans {
    Table,
    Id,
    StudioId,
    SessionId,
    Currency,
    TotalMinor,
    Status,
    CreatedAt,
    UpdatedAt,
    CancelledAt,
}

#[derive(DeriveIden)]
enum PaymentPlanParts {
    Table,
    Id,
    PlanId,
    StudioId,
    Seq,
    AmountMinor,
    Currency,
    DueDate,
    Status,
    AmountPaidMinor,
    PaidAt,
    CreatedAt,
    UpdatedAt,
}

const UP_INDEXES: [&str; 3] = [
    "CREATE UNIQUE INDEX ux_payment_plans_active ON payment_plans (session_id) WHERE status = 'ACTIVE'",
    "CREATE UNIQUE INDEX ux_payment_plan_parts_seq ON payment_plan_parts (plan_id, seq)",
    "CREATE INDEX ix_payment_plan_parts_due ON payment_plan_parts (status, due_date)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(PaymentPlans::Table)
                .col(big_pk_auto(PaymentPlans::Id))
                .col(big_integer(PaymentPlans::StudioId))
                .col(big_integer(PaymentPlans::SessionId))
                .col(string(PaymentPlans::Currency))
                .col(
                    big_integer(PaymentPlans::TotalMinor)
                        .check(Expr::col(PaymentPlans::TotalMinor).gt(0)),
                )
                .col(string(PaymentPlans::Status))
                .col(timestamp_with_time_zone(PaymentPlans::CreatedAt))
                .col(timestamp_with_time_zone(PaymentPlans::UpdatedAt))
                .col(timestamp_with_time_zone_null(PaymentPlans::CancelledAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(PaymentPlanParts::Table)
                .col(big_pk_auto(PaymentPlanParts::Id))
                .col(big_integer(PaymentPlanParts::PlanId))
                .col(big_integer(PaymentPlanParts::StudioId))
                .col(integer(PaymentPlanParts::Seq))
                .col(
                    big_integer(PaymentPlanParts::AmountMinor)
                        .check(Expr::col(PaymentPlanParts::AmountMinor).gt(0)),
                )
                .col(string(PaymentPlanParts::Currency))
                .col(date(PaymentPlanParts::DueDate))
                .col(string(PaymentPlanParts::Status))
                .col(big_integer(PaymentPlanParts::AmountPaidMinor).default(0))
                .col(timestamp_with_time_zone_null(PaymentPlanParts::PaidAt))
                .col(timestamp_with_time_zone(PaymentPlanParts::CreatedAt))
                .col(timestamp_with_time_zone(PaymentPlanParts::UpdatedAt))
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        for sql in UP_INDEXES {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(PaymentPlanParts::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(PaymentPlans::Table).to_owned())
            .await
    }
}
