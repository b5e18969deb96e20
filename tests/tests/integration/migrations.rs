//! Migrations run up, down and up again on both databases.

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database};

async fn up_down_up(url: &str) {
    let db = Database::connect(url).await.expect("connect");
    Migrator::up(&db, None).await.expect("up");
    let schema = sea_orm_migration::SchemaManager::new(&db);
    assert!(schema.has_table("invoices").await.expect("has_table"));
    Migrator::down(&db, None).await.expect("down");
    assert!(!schema.has_table("invoices").await.expect("has_table"));
    assert!(!schema.has_table("studios").await.expect("has_table"));
    Migrator::up(&db, None).await.expect("up again");
    for table in [
        "studios",
        "api_keys",
        "clients",
        "packages",
        "add_on_services",
        "tax_rates",
        "sessions",
        "session_items",
        "invoices",
        "invoice_lines",
        "invoice_number_counters",
        "payments",
        "gallery_access",
        "notifications",
        "outbox",
        "simulated_gateway_charges",
        "staff_users",
        "staff_sessions",
    ] {
        assert!(
            schema.has_table(table).await.expect("has_table"),
            "{table} exists"
        );
    }
    assert!(
        Migrator::get_pending_migrations(&db)
            .await
            .expect("pending")
            .is_empty()
    );
    db.execute_unprepared("SELECT 1")
        .await
        .expect("still usable");
}

#[tokio::test]
async fn migrations_run_up_down_and_up_again_on_sqlite() {
    let dir = tempfile::tempdir().expect("dir");
    up_down_up(&format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("m.db").display()
    ))
    .await;
}

#[tokio::test]
async fn migrations_run_up_down_and_up_again_on_postgres() {
    let Some(url) = tests::fresh_postgres_database().await else {
        return;
    };
    up_down_up(&url).await;
}
