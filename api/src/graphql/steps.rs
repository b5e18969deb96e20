//! Steps of the workflow that keep failing (`domain::workflow::failing_steps`): what
//! the studio sees of them, and the retry.

use super::types::Session;
use super::{AppData, UserError};
use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
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

/// A step of the workflow (an invoice to generate, an email to send, a
/// charge...) that failed at least once and is not done.
pub struct FailingStep(pub failing_steps::FailingStep);

#[Object]
impl FailingStep {
    /// Pass this to `retryStep`.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// What the step does: `generate_invoice`, `send_invoice`, `charge`,
    /// `send_receipt`, `send_gallery_credentials`, `send_reminder`...
    async fn step(&self) -> &str {
        self.0.kind
    }
    /// The session it is about, if any.
    async fn session(&self, ctx: &Context<'_>) -> Result<Option<Session>> {
        let Some(id) = self.0.session_id else {
            return Ok(None);
        };
        let loaders = super::loaders(ctx)?;
        Ok(loaders
            .sessions
            .load_one(id)
            .await
            .map_err(super::load_error)?
            .map(Session))
    }
    async fn invoice_id(&self) -> Option<ID> {
        self.0.invoice_id.map(|id| ID(id.to_string()))
    }
    /// Failed attempts so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// Why the last attempt failed (its first line).
    async fn last_error(&self) -> &str {
        &self.0.last_error
    }
    async fn state(&self) -> FailingStepState {
        self.0.state.into()
    }
    /// When it is tried again by itself (`RETRYING` only).
    async fn next_retry_at(&self) -> Option<DateTime<Utc>> {
        self.0.next_retry_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(SimpleObject)]
pub struct RetryStepPayload {
    /// The step, now due: it runs as soon as a worker takes it.
    pub step: Option<FailingStep>,
    pub user_errors: Vec<UserError>,
}

pub async fn list(ctx: &Context<'_>, session_id: Option<i64>) -> Result<Vec<FailingStep>> {
    let studio = super::studio(ctx)?;
    let db = &ctx.data::<AppData>()?.ctx.db;
    let steps = match session_id {
        Some(session) => failing_steps::of_session(db, studio.id, session).await,
        None => failing_steps::list(db, studio.id).await,
    };
    Ok(steps
        .map_err(super::domain_error)?
        .into_iter()
        .map(FailingStep)
        .collect())
}
