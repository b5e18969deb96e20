//! The bench (`cargo run -p tests --release --bin bench`) runs end to end
//! with tiny numbers (`--smoke`), so that it cannot rot: every scenario it
//! measures starts, finishes and is reported.

use std::process::Command;

#[test]
fn smoke_runs_every_scenario_and_reports() {
    // The production scenarios run on private PostgreSQL and Redis
    // instances; without their binaries only the embedded one can run.
    let production = tests::private::PrivatePostgres::bin_dir().is_some()
        && Command::new("redis-server")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
    let mut command = Command::new(env!("CARGO_BIN_EXE_bench"));
    command.arg("--smoke");
    if !production {
        command.args(["--mode", "embedded"]);
    }
    let output = command.output().expect("run the bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the bench failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("==== bench report ===="), "{stdout}");
    assert!(stdout.contains("| embedded (median) |"), "{stdout}");
    if production {
        assert!(
            stdout.contains("| production, 2 workers (median) |"),
            "{stdout}"
        );
        assert!(stdout.contains("| no-op jobs | jobs/s |"), "{stdout}");
        assert!(stdout.contains("| pgbench | tps |"), "{stdout}");
    }
}
