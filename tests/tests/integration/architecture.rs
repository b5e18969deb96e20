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

/// The workspace's root (this crate is `tests/`).
pub(crate) fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// Every `.rs` file under `dir`, sorted.
pub(crate) fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read a source folder") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The code of a line: what comes before a `//` comment (doc comments may
/// name anything).
fn code(line: &str) -> &str {
    line.find("//").map_or(line, |i| &line[..i])
}

/// Whether `line` names `path` as a path of its own (`sea_orm::`, not
/// `my_sea_orm::`).
fn names(line: &str, path: &str) -> bool {
    line.match_indices(path).any(|(i, _)| {
        !line[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// `file:line: text` of each line under `dir` (code only) that names one of
/// `forbidden`, unless `allowed` says otherwise.
fn offending(
    dir: &std::path::Path,
    forbidden: &[&str],
    allowed: impl Fn(&str) -> bool,
) -> Vec<String> {
    let root = root();
    let mut found = Vec::new();
    for file in rust_files(dir) {
        let text = std::fs::read_to_string(&file).expect("read a source file");
        for (n, line) in text.lines().enumerate() {
            let code = code(line);
            if forbidden.iter().any(|p| names(code, p)) && !allowed(code) {
                let shown = file.strip_prefix(&root).unwrap_or(&file).display();
                found.push(format!("{shown}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    found
}

/// What the pure layers may not name: the database, the network, mail, the
/// async runtime, and the layers above them.
const IMPURE: &[&str] = &[
    "sea_orm",
    "entity::",
    "sqlx",
    "redis",
    "reqwest",
    "lettre",
    "tokio",
    "std::fs",
    "std::net::Tcp",
    "crate::infra",
    "crate::studio",
    "crate::billing",
    "crate::followup",
    "crate::workflow",
    "crate::adapters",
    "crate::read",
    "crate::AppContext",
    "crate::DomainError",
    "crate::DomainResult",
];

/// The kernel is pure: no database or I/O crate, no layer above it
/// (ARCHITECTURE.md, "Layers"). Its one window on `entity` is the
/// re-export of the money value types, which are the columns' types
/// (`kernel::money`).
#[test]
fn the_kernel_uses_no_database_no_io_and_no_layer_above_it() {
    let bad = offending(
        &root().join("domain/src/kernel"),
        &[IMPURE, &["crate::ports"]].concat(),
        |code| code.trim_start().starts_with("pub use entity::money::{"),
    );
    assert!(
        bad.is_empty(),
        "the kernel must stay pure:\n{}",
        bad.join("\n")
    );
}

/// Ports are traits and the types in their signatures: they depend on the
/// kernel only (the mailer's trait takes lettre's built `Message`, no
/// transport).
#[test]
fn ports_depend_on_the_kernel_only() {
    let bad = offending(&root().join("domain/src/ports"), IMPURE, |code| {
        code.trim() == "use lettre::Message;"
    });
    assert!(
        bad.is_empty(),
        "ports hold traits only; implementations go to adapters:\n{}",
        bad.join("\n")
    );
}

/// One clock: `kernel::clock::Clock::now` is the only reader of the system
/// time in the processes' code, so a test can run everything at a chosen
/// instant (`Clock::manual`). Durations (`Instant`) are not dates.
#[test]
fn only_the_clock_reads_the_system_time() {
    let clock = root().join("domain/src/kernel/clock.rs");
    let mut bad = Vec::new();
    for dir in ["api/src", "worker/src", "domain/src"] {
        let dir = root().join(dir);
        for line in offending(
            &dir,
            &["Utc::now(", "Local::now(", "SystemTime::now("],
            |_| false,
        ) {
            if !line.starts_with(&format!(
                "{}:",
                clock.strip_prefix(root()).unwrap_or(&clock).display()
            )) {
                bad.push(line);
            }
        }
    }
    assert!(
        bad.is_empty(),
        "read the time through `ctx.clock` (or take a `now`):\n{}",
        bad.join("\n")
    );
}

/// The folders show the layers: every module of `domain/src` lives in a
/// layer folder; the root holds only `lib.rs` and one `<layer>.rs` per
/// folder.
#[test]
fn every_domain_module_is_in_a_layer_folder() {
    const LAYERS: &[&str] = &[
        "kernel", "ports", "adapters", "infra", "workflow", "studio", "billing", "followup",
        "read", "app",
    ];
    let src = root().join("domain/src");
    let mut bad = Vec::new();
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).unwrap_or(&file);
        let mut parts = relative.components();
        let first = parts
            .next()
            .map(|c| c.as_os_str().to_string_lossy().to_string())
            .unwrap_or_default();
        let nested = parts.next().is_some();
        let ok = if nested {
            LAYERS.contains(&first.as_str())
        } else {
            first == "lib.rs"
                || first
                    .strip_suffix(".rs")
                    .is_some_and(|layer| LAYERS.contains(&layer))
        };
        if !ok {
            bad.push(format!("domain/src/{}", relative.display()));
        }
    }
    for layer in LAYERS {
        if !src.join(layer).is_dir() || !src.join(format!("{layer}.rs")).is_file() {
            bad.push(format!("domain/src/{layer}/ or {layer}.rs is missing"));
        }
    }
    assert!(
        bad.is_empty(),
        "outside a layer ({}):\n{}",
        LAYERS.join(", "),
        bad.join("\n")
    );
}

/// One owner of next steps: follow-up outbox rows are written by
/// `workflow::next` alone (services describe their change as a
/// `next::Change`), and "commit, then wake the relay" is `next::commit` /
/// `next::wake` alone.
#[test]
fn only_the_workflow_owner_writes_follow_ups_and_wakes_the_relay() {
    let src = root().join("domain/src");
    let mut offenders = Vec::new();
    for file in rust_files(&src) {
        let relative = file
            .strip_prefix(&src)
            .unwrap_or(&file)
            .to_string_lossy()
            .replace('\\', "/");
        if relative == "workflow/next.rs" || relative == "workflow/outbox.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read source");
        for (n, line) in text.lines().enumerate() {
            let code = code(line);
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

/// Keys have one printer and one parser (`kernel::keys`): no code builds an
/// idempotency or gateway key with `format!` or takes one apart by hand.
/// The simulated gateway's own records (`sim_*.rs`) are not our keys.
#[test]
fn keys_are_printed_and_parsed_by_kernel_keys_alone() {
    /// Pieces of a key's shape in a format string.
    const INSIDE: &[&str] = &[
        "_autopay_",
        "_checkout_",
        "_customer",
        "_create_{",
        "_confirm_{",
        "_attempt_{",
    ];
    /// How a key's format string starts.
    const STARTS: &[&str] = &[
        "inv_{",
        "refund_{",
        "manual_{",
        "dispute_{",
        "setup_{",
        "client_{",
        "checkout_{",
        "{}_{",
    ];
    let mut bad = Vec::new();
    for dir in ["api/src", "worker/src", "domain/src"] {
        for file in rust_files(&root().join(dir)) {
            let relative = file
                .strip_prefix(root())
                .unwrap_or(&file)
                .display()
                .to_string();
            if relative == "domain/src/kernel/keys.rs" || relative.contains("/adapters/sim_") {
                continue;
            }
            let text = std::fs::read_to_string(&file).expect("read source");
            // The code before the unit tests, without comments, lines kept.
            let code: String = text
                .lines()
                .take_while(|l| l.trim() != "#[cfg(test)]")
                .map(|l| format!("{}\n", code(l)))
                .collect();
            for macro_call in ["format!(", "write!("] {
                for (at, _) in code.match_indices(macro_call) {
                    let literal = code[at..].split('"').nth(1).unwrap_or_default();
                    if INSIDE.iter().any(|s| literal.contains(s))
                        || STARTS.iter().any(|s| literal.starts_with(s))
                    {
                        let line = code[..at].matches('\n').count() + 1;
                        bad.push(format!("{relative}:{line}: {macro_call}\"{literal}\""));
                    }
                }
            }
            for (at, _) in code.match_indices("split_once(\"_") {
                let line = code[..at].matches('\n').count() + 1;
                bad.push(format!("{relative}:{line}: takes a key apart"));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "build and read keys through kernel::keys::{{Key, RequestKey}}:\n{}",
        bad.join("\n")
    );
}

/// Errors are typed: a step's "retry soon or back off" is
/// `DomainError::is_unavailable`, mapped where a port's error enters the
/// domain, never found by downcasting. The one downcast left reads a caught
/// panic's message (`kernel::error::panic_message`); async-graphql's request
/// data is a type map read by its `TypeId` (`graphql/limits.rs`).
#[test]
fn no_downcast_outside_panic_capture() {
    let mut bad = Vec::new();
    for dir in ["api/src", "worker/src", "domain/src"] {
        bad.extend(offending(&root().join(dir), &["downcast"], |_| false));
    }
    bad.retain(|line| {
        !(line.starts_with("domain/src/kernel/error.rs:")
            || line.starts_with("api/src/graphql/limits.rs:")
                && line.contains("downcast_ref::<super::Auth>()"))
    });
    assert!(
        bad.is_empty(),
        "match on a typed error (DomainError::Unavailable...) instead:\n{}",
        bad.join("\n")
    );
}
