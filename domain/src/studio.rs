//! Studio services: studios, catalog, sessions (scheduling and completing),
//! staff and API keys, login limits, demo data.
//!
//! Services depend on `kernel`, `ports`, `workflow` and `infra`, and on each
//! other where one's step starts another's (`sessions` → `billing`).

pub mod api_keys;
pub mod catalog;
pub mod login_limits;
pub mod seed;
pub mod sessions;
pub mod staff;
pub mod studios;
