pub mod dashboard;
pub mod metrics;
pub mod queries;
