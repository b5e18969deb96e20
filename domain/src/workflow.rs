//! Workflow: the jobs and what happens next. Job payloads and their dedup
//! keys, the transactional outbox, the exactly-once notifications, the
//! failing steps a studio sees.
//!
//! Depends on `kernel` and `infra`; the services write into it.

pub mod failing_steps;
pub mod follow_up_plan;
pub mod jobs;
pub mod next;
pub mod notify;
pub mod outbox;
pub mod outcome;
pub mod wakes;
