pub mod failing_steps;
pub mod jobs;
pub mod next;
pub mod notify;
pub mod outbox;
pub mod outcome;
