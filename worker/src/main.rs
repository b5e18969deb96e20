//! `cargo run -p worker`: one worker process of the production mode.

use domain::infra::settings::Settings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    domain::infra::telemetry::init(&settings);
    if let Some(addr) = &settings.worker.metrics_addr {
        domain::infra::telemetry::serve_metrics(addr.parse()?)?;
    }
    worker::run_process(settings, worker::shutdown_signal()).await
}
