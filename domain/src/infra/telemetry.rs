//! `tracing` set-up shared by both binaries (pretty or JSON lines) and the
//! Prometheus recorder behind `/metrics`.

use crate::infra::settings::{LogFormat, Settings};
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// Logs go to stderr: stdout is the commands' output (`seed-demo` prints
/// an API key on its last line for scripts).
pub fn init(settings: &Settings) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.log.filter));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match settings.log.format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        LogFormat::Pretty => registry
            .with(fmt::layer().compact().with_writer(std::io::stderr))
            .try_init(),
    };
    // Already initialised (tests start several apps in one process): keep the first.
    let _ = result;
}

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

/// Latency buckets (seconds) for request and job durations.
const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

fn builder() -> PrometheusBuilder {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("duration_seconds".into()), LATENCY_BUCKETS)
        .unwrap_or_else(|_| PrometheusBuilder::new())
}

/// The process-wide Prometheus recorder (installed on first use) and its
/// renderer for the api's `/metrics`.
pub fn metrics_handle() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| match builder().install_recorder() {
            Ok(handle) => Some(handle),
            Err(err) => {
                tracing::warn!(error = %err, "metrics recorder not installed");
                None
            }
        })
        .clone()
}

/// For a standalone worker (which has no web server): installs the recorder
/// with its own `/metrics` listener on `addr`. Must run inside a Tokio runtime.
pub fn serve_metrics(addr: std::net::SocketAddr) -> anyhow::Result<()> {
    builder().with_http_listener(addr).install()?;
    tracing::info!(%addr, "worker metrics at http://{addr}/metrics");
    Ok(())
}
