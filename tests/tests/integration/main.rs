#![allow(clippy::expect_used, clippy::unwrap_used)]

//! One integration test binary; each scenario runs on the embedded default
//! (SQLite, SQLite queue, `.eml` files) and on production parts (PostgreSQL,
//! Redis queue, SMTP). The PostgreSQL variants skip when the services are not
//! reachable, unless `REQUIRE_SERVICES=1` (as in `.ci/run`).

/// Generates `<name>::sqlite` and `<name>::postgres` tests for a scenario.
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(tests::Backend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name(tests::Backend::Postgres).await
                }
            }
        )+
    };
}

/// A PDF's text, whitespace runs folded to one space.
fn pdf_text(bytes: &[u8]) -> String {
    let text = pdf_extract::extract_text_from_mem(bytes).expect("extract PDF text");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

mod architecture;
mod bench;
mod billing;
mod card_setup;
mod checkout;
mod clock;
mod dashboard;
mod disputes;
mod edges;
mod faults;
mod gallery;
mod hostile;
mod idempotency;
mod installments;
mod isolation;
mod layers;
mod lifecycle;
mod logins;
mod metrics;
mod migrations;
mod numbering;
mod operations;
mod outages;
mod pages;
mod payers;
mod picks;
mod plan_ahead;
mod plan_checks;
mod plan_completion;
mod plan_edits;
mod plan_refunds;
mod plan_rest;
mod plans;
mod queries;
mod readiness;
mod refunds;
mod relay;
mod reminders;
mod retries;
mod rooms;
mod schema;
mod steps;
mod stripe;
mod subscriptions;
mod surcharges;
mod surcharges_at_portal;
mod test_mode;
mod tips;
mod unknown;
mod validation;
mod webhooks;
mod wording;
mod workflow;

/// Not a scenario: the entry point of the worker processes that
/// `TestApp::spawn_worker_process` starts by re-executing this binary. Run
/// normally, it does nothing.
#[test]
fn worker_process_entry_point() {
    if std::env::var(tests::WORKER_PROCESS_ENV).is_ok() {
        tests::run_worker_process();
    }
}
