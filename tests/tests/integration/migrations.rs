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

async fn exec(db: &sea_orm::DatabaseConnection, sql: &str) -> Result<(), sea_orm::DbErr> {
    db.execute_unprepared(sql).await.map(|_| ())
}

async fn scalar(db: &sea_orm::DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            sql.to_string(),
        ))
        .await
        .expect("query")
        .expect("row");
    row.try_get::<i64>("", "n").expect("n")
}

fn invoice_sql(id: i64, session: i64, number: &str, status: &str) -> String {
    format!(
        "INSERT INTO invoices (id, studio_id, session_id, client_id, number, status, currency,
            subtotal_minor, tax_minor, credit_minor, total_minor, amount_paid_minor, amount_due_minor,
            issued_at, due_date, portal_salt, portal_token_hash, created_at, updated_at)
         VALUES ({id}, 1, {session}, 1, {number}, '{status}', 'USD', 1000, 0, 0, 1000, 0, 1000,
            '2026-11-01T10:00:00Z', '2026-11-15', 'salt', 'hash-{id}', '2026-11-01T10:00:00Z', '2026-11-01T10:00:00Z')"
    )
}

/// The reissue migration keeps existing invoices and their lines (SQLite
/// rebuilds the table), allows a replacement next to a void invoice but not
/// two live ones, and goes down only when the old schema can hold the data.
async fn reissue_migration_keeps_data(url: &str) {
    let db = Database::connect(url).await.expect("connect");
    Migrator::up(&db, Some(2)).await.expect("up to 2");
    for sql in [
        "INSERT INTO studios (id, name, currency, time_zone, payment_terms_days, invoice_prefix,
            prices_include_tax, gallery_full_days, gallery_unpaid_level, gallery_unpaid_days, created_at)
         VALUES (1, 'S', 'USD', 'UTC', 14, 'INV', FALSE, 365, 'PREVIEW', 30, '2026-11-01T10:00:00Z')",
        "INSERT INTO clients (id, studio_id, name, email, payment_preference, created_at, updated_at)
         VALUES (1, 1, 'C', 'c@example.com', 'INVOICE', '2026-11-01T10:00:00Z', '2026-11-01T10:00:00Z')",
        "INSERT INTO sessions (id, studio_id, client_id, title, scheduled_at, status, retainer_paid_minor, created_at, updated_at)
         VALUES (1, 1, 1, 'T', '2026-11-01T10:00:00Z', 'COMPLETED', 0, '2026-11-01T10:00:00Z', '2026-11-01T10:00:00Z')",
    ] {
        exec(&db, sql).await.expect(sql);
    }
    exec(&db, &invoice_sql(1, 1, "'INV-1'", "OPEN"))
        .await
        .expect("invoice");
    exec(
        &db,
        "INSERT INTO invoice_lines (id, invoice_id, position, kind, description, quantity,
            unit_price_minor, amount_minor, taxable, tax_minor)
         VALUES (1, 1, 1, 'CUSTOM', 'Prints', 1, 1000, 1000, TRUE, 0)",
    )
    .await
    .expect("line");

    Migrator::up(&db, Some(1)).await.expect("up to 3");
    assert_eq!(scalar(&db, "SELECT COUNT(*) AS n FROM invoices").await, 1);
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) AS n FROM invoice_lines WHERE invoice_id = 1"
        )
        .await,
        1
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) AS n FROM invoices WHERE number = 'INV-1' AND session_id = 1"
        )
        .await,
        1
    );
    // Foreign keys still hold after the rebuild.
    assert!(
        exec(
            &db,
            "INSERT INTO invoice_lines (invoice_id, position, kind, description, quantity,
                unit_price_minor, amount_minor, taxable, tax_minor)
             VALUES (999, 1, 'CUSTOM', 'x', 1, 1, 1, TRUE, 0)",
        )
        .await
        .is_err()
    );
    // Two live invoices for one session are refused; a replacement next to
    // a void one is fine, and so are several drafts without a number.
    assert!(
        exec(&db, &invoice_sql(2, 1, "NULL", "DRAFT"))
            .await
            .is_err()
    );
    exec(&db, "UPDATE invoices SET status = 'VOID' WHERE id = 1")
        .await
        .expect("void");
    exec(&db, &invoice_sql(2, 1, "NULL", "DRAFT"))
        .await
        .expect("replacement draft");
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) AS n FROM studios WHERE review_drafts = FALSE"
        )
        .await,
        1
    );

    // Down cannot hold two invoices for one session, and changes nothing.
    assert!(Migrator::down(&db, Some(1)).await.is_err());
    assert_eq!(scalar(&db, "SELECT COUNT(*) AS n FROM invoices").await, 2);
    exec(&db, "DELETE FROM invoices WHERE id = 2")
        .await
        .expect("delete");
    Migrator::down(&db, Some(1)).await.expect("down 3");
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) AS n FROM invoice_lines WHERE invoice_id = 1"
        )
        .await,
        1
    );
    assert!(
        exec(&db, &invoice_sql(3, 1, "'INV-3'", "OPEN"))
            .await
            .is_err()
    );
    Migrator::up(&db, None).await.expect("up again");
    assert_eq!(scalar(&db, "SELECT COUNT(*) AS n FROM invoices").await, 1);
}

#[tokio::test]
async fn the_reissue_migration_keeps_data_on_sqlite() {
    let dir = tempfile::tempdir().expect("dir");
    reissue_migration_keeps_data(&format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("m.db").display()
    ))
    .await;
}

#[tokio::test]
async fn the_reissue_migration_keeps_data_on_postgres() {
    let Some(url) = tests::fresh_postgres_database().await else {
        return;
    };
    reissue_migration_keeps_data(&url).await;
}
