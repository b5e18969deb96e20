pub mod failing_steps;
pub mod jobs;
pub mod notify;
pub mod outbox;
