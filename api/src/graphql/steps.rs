//! Steps of the workflow that keep failing (`domain::workflow::failing_steps`): what
//! the studio sees of them, and the retry.

use super::common::{Caller, UserError, domain_error, id, load_error, loaders, parse_id, payload};
use super::sessions::Session;
use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use domain::kernel::ids::{SessionId, StudioId};
use domain::workflow::failing_steps::{self, StepState};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum FailingStepState {
    /// Waiting for its next attempt, at `nextRetryAt`.
    Retrying,
    /// Handed to a worker again right now.
    Running,
    /// Out of attempts: runs again only through `retryStep`.
    GaveUp,
}

impl From<StepState> for FailingStepState {
    fn from(state: StepState) -> Self {
        match state {
            StepState::Retrying => Self::Retrying,
            StepState::Running => Self::Running,
            StepState::GaveUp => Self::GaveUp,
        }
    }
}

// A step of the workflow (an invoice to generate, an email to send, a
// charge...) that failed at least once and is not done.
#[derive(SimpleObject)]
pub struct FailingStep {
    /// Pass this to `retryStep`.
    pub id: ID,
    /// What the step does: `generate_invoice`, `send_invoice`, `charge`,
    /// `send_receipt`, `send_gallery_credentials`, `send_reminder`...
    pub step: &'static str,
    #[graphql(flatten)]
    pub session: StepSession,
    pub invoice_id: Option<ID>,
    /// Failed attempts so far.
    pub attempts: i32,
    /// Why the last attempt failed (its first line).
    pub last_error: String,
    pub state: FailingStepState,
    /// When it is tried again by itself (`RETRYING` only).
    pub next_retry_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<failing_steps::FailingStep> for FailingStep {
    fn from(s: failing_steps::FailingStep) -> Self {
        Self {
            id: id(s.id),
            step: s.kind,
            session: StepSession(s.session_id),
            invoice_id: s.invoice_id.map(id),
            attempts: s.attempts,
            last_error: s.last_error,
            state: s.state.into(),
            next_retry_at: s.next_retry_at,
            created_at: s.created_at,
        }
    }
}

// `FailingStep.session`, loaded when asked for.
pub struct StepSession(Option<i64>);

#[Object]
impl StepSession {
    /// The session it is about, if any.
    async fn session(&self, ctx: &Context<'_>) -> Result<Option<Session>> {
        let Some(id) = self.0 else {
            return Ok(None);
        };
        let loaders = loaders(ctx)?;
        Ok(loaders
            .sessions
            .load_one(id)
            .await
            .map_err(load_error)?
            .map(Session::from))
    }
}

#[derive(SimpleObject)]
pub struct RetryStepPayload {
    /// The step, now due: it runs as soon as a worker takes it.
    pub step: Option<FailingStep>,
    pub user_errors: Vec<UserError>,
}

/// The studio's failing steps, or those of one session.
pub async fn list(ctx: &Context<'_>, session_id: Option<i64>) -> Result<Vec<FailingStep>> {
    let caller = Caller::of(ctx)?;
    let (db, studio_id) = (caller.db(), caller.studio.id);
    let steps = match session_id {
        Some(session) => {
            failing_steps::of_session(db, StudioId::new(studio_id), SessionId::new(session)).await
        }
        None => failing_steps::list(db, studio_id).await,
    };
    Ok(steps
        .map_err(domain_error)?
        .into_iter()
        .map(FailingStep::from)
        .collect())
}

#[derive(Default)]
pub struct StepsQuery;

#[Object]
impl StepsQuery {
    /// Steps of the studio's workflow that failed and are not done yet
    /// (newest first, at most 100): what failed, how often, the last error
    /// and when it runs again. `retryStep` runs one now.
    async fn failing_steps(&self, ctx: &Context<'_>) -> Result<Vec<FailingStep>> {
        list(ctx, None).await
    }
}

#[derive(Default)]
pub struct StepsMutation;

#[Object]
impl StepsMutation {
    /// Runs a failing step (see `failingSteps`) now instead of at its next
    /// retry; one that gave up gets another attempt. `INVALID_STATE` while it
    /// runs or once it is done; another studio's step is `NOT_FOUND`.
    async fn retry_step(&self, ctx: &Context<'_>, id: ID) -> Result<RetryStepPayload> {
        let caller = Caller::of(ctx)?;
        let result = async {
            let id = parse_id(&id, "id", "step")?;
            failing_steps::retry(caller.app, caller.studio.id, id).await
        }
        .await;
        let (step, user_errors) = payload(result)?;
        Ok(RetryStepPayload {
            step: step.map(FailingStep::from),
            user_errors,
        })
    }
}
