//! Columns added by a migration and dropped by its `down`, in one place
//! (later migrations share it; landed ones keep their own loops).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

/// `(table, column, type and constraints)`.
pub type Column = (&'static str, &'static str, &'static str);

pub async fn add(m: &SchemaManager<'_>, columns: &[Column]) -> Result<(), DbErr> {
    for (table, column, kind) in columns {
        m.get_connection()
            .execute_unprepared(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))
            .await?;
    }
    Ok(())
}

pub async fn drop(m: &SchemaManager<'_>, columns: &[Column]) -> Result<(), DbErr> {
    for (table, column, _) in columns.iter().rev() {
        m.get_connection()
            .execute_unprepared(&format!("ALTER TABLE {table} DROP COLUMN {column}"))
            .await?;
    }
    Ok(())
}
