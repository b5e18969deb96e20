//! The simulated gateway's fault injection (`gateway.simulated_faults`):
//! a call answers like a 503 before doing anything, or does the work and
//! answers like a timeout, deterministically in the seed, the key and the
//! call's number.

use super::SimulatedGateway;
use crate::ports::gateway::GatewayError;

/// What an injected fault does to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Answer like a `503` before doing anything.
    Error,
    /// Do the work, then answer like a timeout.
    Timeout,
}

impl SimulatedGateway {
    /// The fault (if any) for this call of `key`: deterministic in the seed,
    /// the key and the call's number.
    fn fault_for(&self, key: &str) -> Option<Fault> {
        let f = &self.faults;
        if f.timeout_percent == 0 && f.error_percent == 0 {
            return None;
        }
        let nth = {
            let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
            let n = calls.entry(key.to_string()).or_insert(0);
            *n += 1;
            *n
        };
        if f.faulty_calls_per_key > 0 && nth > f.faulty_calls_per_key {
            return None;
        }
        use sha2::Digest;
        let digest = sha2::Sha256::digest(format!("{}:{key}:{nth}", f.seed));
        let roll = u16::from_be_bytes([digest[0], digest[1]]) % 100;
        let error = u16::from(f.error_percent.min(100));
        let timeout = u16::from(f.timeout_percent.min(100));
        if roll < error {
            Some(Fault::Error)
        } else if roll < error.saturating_add(timeout) {
            Some(Fault::Timeout)
        } else {
            None
        }
    }

    /// Runs one gateway call under the configured faults.
    pub(super) async fn faulty<T>(
        &self,
        key: &str,
        call: impl std::future::Future<Output = Result<T, GatewayError>>,
    ) -> Result<T, GatewayError> {
        let fault = self.fault_for(key);
        if self.faults.delay_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(self.faults.delay_ms)).await;
        }
        if fault == Some(Fault::Error) {
            tracing::warn!(key, "simulated fault: 503 before doing anything");
            return Err(GatewayError::Unavailable(
                "simulated fault: 503 Service Unavailable".into(),
            ));
        }
        let result = call.await;
        if fault == Some(Fault::Timeout) && result.is_ok() {
            tracing::warn!(key, "simulated fault: timeout after the call went through");
            return Err(GatewayError::Unavailable(
                "simulated fault: timed out waiting for the answer".into(),
            ));
        }
        result
    }
}
