//! The committed SDL must match the code: regenerate with
//! `UPDATE_SCHEMA=1 cargo test -p tests committed_schema` (or `cargo run -p api -- print-schema`).

#[test]
fn committed_schema_graphql_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema.graphql");
    let current = api::graphql::schema_sdl();
    if std::env::var("UPDATE_SCHEMA").is_ok() {
        std::fs::write(&path, &current).expect("write schema.graphql");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == current,
        "schema.graphql is stale: run `UPDATE_SCHEMA=1 cargo test -p tests committed_schema` and commit it"
    );
}
