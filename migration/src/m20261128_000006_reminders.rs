//! Follow-up of unpaid invoices: each studio's reminder policy (when
//! reminders go out, in which local sending window, the optional late fee,
//! and whether an invoice becomes uncollectible after the final notice), and
//! a client's own time zone for the sending window.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ReminderPolicies {
    Table,
    StudioId,
    Enabled,
    /// JSON list of days relative to the due date, e.g. `[-3,0,3,7,14]`;
    /// the last one is the final notice.
    OffsetsDays,
    WindowStartHour,
    WindowEndHour,
    LateFeeFixedMinor,
    /// A decimal percentage as text, e.g. `"1.5"`.
    LateFeePercent,
    LateFeeCapMinor,
    UncollectibleAfterDays,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Studios {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    TimeZone,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ReminderPolicies::Table)
                .col(big_integer(ReminderPolicies::StudioId).primary_key())
                .col(boolean(ReminderPolicies::Enabled).default(true))
                .col(string(ReminderPolicies::OffsetsDays))
                .col(integer(ReminderPolicies::WindowStartHour))
                .col(integer(ReminderPolicies::WindowEndHour))
                .col(big_integer_null(ReminderPolicies::LateFeeFixedMinor))
                .col(string_null(ReminderPolicies::LateFeePercent))
                .col(big_integer_null(ReminderPolicies::LateFeeCapMinor))
                .col(integer_null(ReminderPolicies::UncollectibleAfterDays))
                .col(timestamp_with_time_zone(ReminderPolicies::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(ReminderPolicies::Table, ReminderPolicies::StudioId)
                        .to(Studios::Table, Studios::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Clients::Table)
                .add_column(string_null(Clients::TimeZone))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Clients::Table)
                .drop_column(Clients::TimeZone)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(ReminderPolicies::Table).to_owned())
            .await
    }
}
