//! ARCHITECTURE.md's invariants that a build can check.

/// The worker process never links actix-web or async-graphql: only `api`
/// knows HTTP and GraphQL (features such as maud's `actix-web` are enabled
/// in `api` alone, so they never reach the worker's build).
#[test]
fn the_worker_links_neither_actix_web_nor_async_graphql() {
    let output = std::process::Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "-p",
            "worker",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo tree");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8_lossy(&output.stdout);
    for forbidden in ["actix-web ", "async-graphql "] {
        assert!(
            !tree.lines().any(|line| line.starts_with(forbidden)),
            "the worker links {forbidden}:\n{tree}"
        );
    }
}
