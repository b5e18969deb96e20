//! Failed-login limits shared by every api process: counts live in the
//! `login_failures` table, in one-minute buckets per scope and subject, and
//! a login is refused while the failures of the window reach a threshold.
//!
//! Two kinds of counter guard each login form: one per source address (low:
//! one attacker's guesses, whatever they aim at) and one per target (higher:
//! a gallery or a staff account under a distributed attack). An attacker
//! locks out their own address long before the target, so the real client
//! from another address still gets in.
//!
//! The source is the connection's peer; `X-Forwarded-For` counts only
//! behind a configured trusted proxy (`api/src/source.rs`). Concurrent
//! failures may overshoot a threshold by the number in flight (check,
//! verify, then count).

use crate::infra::context::AppContext;
use crate::infra::error::DomainResult;
use entity::login_failure;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use std::net::IpAddr;

/// The width of one counting bucket, in seconds.
const BUCKET_SECS: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A source address trying gallery logins.
    GalleryAddress,
    /// One gallery (by id), from every address.
    Gallery,
    /// A source address trying dashboard logins.
    StaffAddress,
    /// One staff account (by the SHA-256 of its email), from every address.
    StaffAccount,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GalleryAddress => "gallery_address",
            Self::Gallery => "gallery",
            Self::StaffAddress => "staff_address",
            Self::StaffAccount => "staff_account",
        }
    }
}

/// One counter a login is checked against.
#[derive(Debug, Clone)]
pub struct Counter {
    pub scope: Scope,
    pub subject: String,
    /// Failures in the window at which logins are refused.
    pub limit: u32,
}

/// How a source address is counted: an IPv4 address as itself, an IPv6
/// address by its /64 (one subscriber usually holds a whole /64, so single
/// addresses in it would be free to rotate through).
pub fn address_subject(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

fn bucket(unix: i64) -> i64 {
    unix - unix.rem_euclid(BUCKET_SECS)
}

/// Whether any counter has reached its limit within the window.
pub async fn reached(ctx: &AppContext, counters: &[Counter]) -> DomainResult<bool> {
    let now = ctx.clock.now().timestamp();
    let since = bucket(now - ctx.settings.login_limits.window_secs) + BUCKET_SECS;
    for counter in counters {
        let total: Option<i64> = login_failure::Entity::find()
            .select_only()
            .column_as(Expr::col(login_failure::Column::Failures).sum(), "total")
            .filter(login_failure::Column::Scope.eq(counter.scope.as_str()))
            .filter(login_failure::Column::Subject.eq(counter.subject.as_str()))
            .filter(login_failure::Column::WindowStart.gte(since))
            .into_tuple::<Option<i64>>()
            .one(&ctx.db)
            .await?
            .flatten();
        if total.unwrap_or(0) >= i64::from(counter.limit) {
            tracing::warn!(
                scope = counter.scope.as_str(),
                limit = counter.limit,
                "login refused: too many failures"
            );
            return Ok(true);
        }
    }
    Ok(false)
}

/// Counts one failed login against every counter (an upsert of the current
/// bucket), and deletes the buckets every window has left behind.
pub async fn record_failure(ctx: &AppContext, counters: &[Counter]) -> DomainResult<()> {
    let now = ctx.clock.now().timestamp();
    let current = bucket(now);
    for counter in counters {
        let row = login_failure::ActiveModel {
            scope: Set(counter.scope.as_str().to_string()),
            subject: Set(counter.subject.clone()),
            window_start: Set(current),
            failures: Set(1),
            ..Default::default()
        };
        login_failure::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([
                    login_failure::Column::Scope,
                    login_failure::Column::Subject,
                    login_failure::Column::WindowStart,
                ])
                .value(
                    login_failure::Column::Failures,
                    Expr::col((login_failure::Entity, login_failure::Column::Failures)).add(1),
                )
                .to_owned(),
            )
            .exec_without_returning(&ctx.db)
            .await?;
    }
    let expired = bucket(now - ctx.settings.login_limits.window_secs);
    login_failure::Entity::delete_many()
        .filter(login_failure::Column::WindowStart.lt(expired))
        .exec(&ctx.db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_count_by_their_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:1:2:3".parse().unwrap();
        assert_eq!(address_subject(a), address_subject(b));
        assert_eq!(address_subject(a), "2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_subject(mapped), "192.0.2.7");
    }

    #[test]
    fn buckets_start_on_the_minute() {
        assert_eq!(bucket(120), 120);
        assert_eq!(bucket(179), 120);
        assert_eq!(bucket(-1), -60);
    }
}
