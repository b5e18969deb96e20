//! Studio services: studios, catalog, sessions (scheduling and completing),
//! staff and API keys, login limits, the quote of a session.
//!
//! Services depend on `kernel`, `ports`, `workflow` and `infra`, and on each
//! other where one's step starts another's: `billing` uses `studio`
//! (`quote`, `catalog`, `sessions`), never the other way round.

pub mod api_keys;
pub mod catalog;
pub mod login_limits;
pub mod places;
pub mod plans;
pub mod quote;
pub mod sessions;
pub mod staff;
pub mod studios;
