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

/// One owner of next steps: follow-up outbox rows are written by
/// `workflow::next` alone (services describe their change as a
/// `next::Change`), and "commit, then wake the relay" is `next::commit` /
/// `next::wake` alone.
#[test]
fn only_the_workflow_owner_writes_follow_ups_and_wakes_the_relay() {
    let domain = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../domain/src");
    let mut files = vec![domain];
    let mut offenders = Vec::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).expect("read dir") {
                files.push(entry.expect("entry").path());
            }
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let relative = path
            .strip_prefix(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../domain/src"))
            .expect("under domain/src")
            .to_string_lossy()
            .replace('\\', "/");
        if relative == "workflow/next.rs" || relative == "workflow/outbox.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read source");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains("enqueue(")
                || code.contains("enqueue_after(")
                || code.contains("enqueue_at(")
                || code.contains("outbox_signal.notify")
            {
                offenders.push(format!("domain/src/{relative}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "follow-ups are written and the relay woken only by workflow::next:\n{}",
        offenders.join("\n")
    );
}
