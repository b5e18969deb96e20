//! The one reader of the system time (`ctx.clock`): every date the services
//! write or decide with comes from here, passed on as a `now` where there is
//! no context. The system clock in production; tests set a manual one to run
//! the whole workflow at a chosen instant, or to walk an invoice through
//! weeks of reminders, across a daylight-saving change, in seconds.
//! (`tests/integration/architecture.rs` checks that nothing else calls
//! `Utc::now()`.)

use chrono::{DateTime, Utc};
use std::sync::{Arc, RwLock};

#[derive(Clone, Default)]
pub struct Clock {
    manual: Option<Arc<RwLock<DateTime<Utc>>>>,
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that stands still at `at` until `set` moves it.
    pub fn manual(at: DateTime<Utc>) -> Self {
        Self {
            manual: Some(Arc::new(RwLock::new(at))),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &self.manual {
            Some(at) => at.read().map(|t| *t).unwrap_or_else(|e| *e.into_inner()),
            None => Utc::now(),
        }
    }

    /// Moves a manual clock; the system clock ignores it.
    pub fn set(&self, at: DateTime<Utc>) {
        if let Some(slot) = &self.manual {
            match slot.write() {
                Ok(mut t) => *t = at,
                Err(e) => *e.into_inner() = at,
            }
        }
    }
}

/// The time zone an IANA name stands for (`Europe/Paris`); UTC for a name
/// that is not one (a studio's or client's zone is validated when stored).
pub fn zone(name: &str) -> chrono_tz::Tz {
    name.parse().unwrap_or(chrono_tz::UTC)
}
