//! Probes of the services a process depends on: at start (fail fast, with a
//! message that names the setting) and for `/readyz` (each bounded in time).

use crate::infra::settings::Settings;
use crate::infra::startup::{CONNECT_TIMEOUT, mask_url};
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use secrecy::ExposeSecret;

/// At start: Redis answers a `PING` within a few seconds, or the process
/// stops with a message naming `redis_url` (REDIS_URL). Nothing to do
/// without Redis.
pub async fn redis_at_start(settings: &Settings) -> anyhow::Result<()> {
    let Some(url) = &settings.redis_url else {
        return Ok(());
    };
    let url = url.expose_secret();
    let shown = mask_url(url);
    let client = redis::Client::open(url).map_err(|e| {
        anyhow::anyhow!(
            "redis_url (REDIS_URL) {shown} is not a Redis URL ({e}): use redis://host:6379"
        )
    })?;
    let ping = async {
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    let reason = match tokio::time::timeout(CONNECT_TIMEOUT, ping).await {
        Ok(Ok(_)) => return Ok(()),
        Ok(Err(err)) => err.to_string(),
        Err(_) => format!("no answer in {} s", CONNECT_TIMEOUT.as_secs()),
    };
    Err(anyhow::anyhow!(
        "Redis is unreachable at {shown} (redis_url, REDIS_URL): {reason}\n  start Redis there, or set REDIS_URL to a running one (unset it to run without Redis, embedded mode)"
    ))
}

/// `/readyz`'s mail check: the SMTP server answers (when one is configured),
/// or else the outbox directory takes a file.
pub async fn mail(settings: &Settings) -> Result<(), String> {
    match &settings.smtp.url {
        Some(url) => {
            let transport: AsyncSmtpTransport<Tokio1Executor> =
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .map_err(|e| e.to_string())?
                    .timeout(Some(CONNECT_TIMEOUT))
                    .build();
            match transport.test_connection().await {
                Ok(true) => Ok(()),
                Ok(false) => Err("the SMTP server did not accept a NOOP".into()),
                Err(err) => Err(err.to_string()),
            }
        }
        None => {
            let dir = settings.outbox_dir();
            let probe = dir.join(".readyz-probe");
            tokio::fs::create_dir_all(&dir)
                .await
                .map_err(|e| format!("{}: {e}", dir.display()))?;
            tokio::fs::write(&probe, b"")
                .await
                .map_err(|e| format!("{}: {e}", probe.display()))?;
            tokio::fs::remove_file(&probe)
                .await
                .map_err(|e| format!("{}: {e}", probe.display()))
        }
    }
}
