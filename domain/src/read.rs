//! Read side: list queries with filters and keyset pagination, key metrics,
//! the dashboard. Reads only; may depend on any layer below.

pub mod dashboard;
pub mod metrics;
pub mod queries;
