//! `tracing` set-up shared by both binaries: pretty or JSON lines.

use crate::settings::{LogFormat, Settings};
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

pub fn init(settings: &Settings) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.log.filter));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match settings.log.format {
        LogFormat::Json => registry
            .with(fmt::layer().json().with_current_span(true))
            .try_init(),
        LogFormat::Pretty => registry.with(fmt::layer().compact()).try_init(),
    };
    // Already initialised (tests start several apps in one process): keep the first.
    let _ = result;
}
