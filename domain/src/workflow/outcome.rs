//! What a job's step came to. Handlers return an [`Outcome`]; the worker
//! turns it into outbox bookkeeping (done, wait, retry) without looking
//! inside errors for control flow.

use crate::infra::error::{DomainError, DomainResult};
use crate::workflow::notify::Sent;
use chrono::{DateTime, Utc};

#[derive(Debug)]
pub enum Outcome {
    /// The step did its work (or found it done already).
    Done,
    /// As `Done`, and the step's own transaction already marked its outbox
    /// row `DONE` (a batched step: the bookkeeping folded into its commit).
    Recorded,
    /// The step is early for itself (outside the sending window): it waits
    /// until then. Not a failed attempt.
    Postpone(DateTime<Utc>),
    /// Another sender holds the step's email until then: it comes back when
    /// the claim runs out (the holder has sent it, or died and this run
    /// sends it). Not a failed attempt.
    InFlight(DateTime<Utc>),
    /// An outside party has the step's work and no answer yet (the gateway
    /// still processing a payment): the step looks again then. Not a failed
    /// attempt, so a slow bank never uses up the step's attempts.
    Waiting(DateTime<Utc>),
    /// The step failed; the outbox retries it (soon when a service it
    /// needs was unavailable, with back-off otherwise).
    Retry(DomainError),
}

impl Outcome {
    /// A step that only does work: done, or retried on error.
    pub fn of(result: DomainResult<()>) -> Self {
        match result {
            Ok(()) => Self::Done,
            Err(err) => Self::Retry(err),
        }
    }

    /// A batched step whose transaction marked its outbox row `DONE`.
    pub fn recorded(result: DomainResult<()>) -> Self {
        match result {
            Ok(()) => Self::Recorded,
            Err(err) => Self::Retry(err),
        }
    }

    /// A step that sends an email.
    pub fn of_sent(result: DomainResult<Sent>) -> Self {
        match result {
            Ok(Sent::InFlight { until }) => Self::InFlight(until),
            Ok(Sent::Now | Sent::Already | Sent::Failed) => Self::Done,
            Err(err) => Self::Retry(err),
        }
    }
}

impl From<DomainError> for Outcome {
    fn from(err: DomainError) -> Self {
        Self::Retry(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infra::error::UserError;

    #[test]
    fn an_email_held_elsewhere_waits_for_its_claim_instead_of_failing() {
        let until = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).expect("an instant");
        assert!(matches!(
            Outcome::of_sent(Ok(Sent::InFlight { until })),
            Outcome::InFlight(t) if t == until
        ));
        for sent in [Sent::Now, Sent::Already, Sent::Failed] {
            assert!(matches!(Outcome::of_sent(Ok(sent)), Outcome::Done));
        }
        assert!(matches!(
            Outcome::of_sent(Err(UserError::not_found("id", "invoice").into())),
            Outcome::Retry(_)
        ));
        assert!(matches!(Outcome::of(Ok(())), Outcome::Done));
    }
}
