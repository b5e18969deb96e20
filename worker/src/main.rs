//! `cargo run -p worker`: one worker process of the production mode.

use domain::settings::Settings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    domain::telemetry::init(&settings);
    if let Some(addr) = &settings.worker.metrics_addr {
        domain::telemetry::serve_metrics(addr.parse()?)?;
    }
    worker::run_process(settings, worker::shutdown_signal()).await
}
