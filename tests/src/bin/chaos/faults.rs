//! The faults of a chaos run, one at a time at seeded random moments: kill -9
//! of a worker or an api (and its restart), a Redis restart that loses its
//! data, a PostgreSQL immediate stop and start (private cluster only), an
//! SMTP outage. The simulated gateway's own faults (timeouts, 503s, slow
//! answers) are on for the whole run through its settings.

use crate::fleet::{Member, Role};
use std::sync::Arc;
use std::time::Duration;
use tests::private::{PrivatePostgres, PrivateRedis};
use tests::smtp::SmtpSink;
use tokio::sync::Mutex;
use tokio::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    KillWorker,
    KillApi,
    RedisRestart,
    PostgresRestart,
    SmtpOutage,
}

impl FaultKind {
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::KillWorker => "kill -9 worker",
            FaultKind::KillApi => "kill -9 api",
            FaultKind::RedisRestart => "Redis restart (data lost)",
            FaultKind::PostgresRestart => "PostgreSQL immediate restart",
            FaultKind::SmtpOutage => "SMTP outage",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Fault {
    pub at: Instant,
    pub kind: FaultKind,
    pub target: String,
    pub down_for: Duration,
}

impl Fault {
    /// Faults that can make a sender miss marking an email it delivered:
    /// the sender killed, the SMTP conversation cut, the database away.
    pub fn in_send_window(&self) -> bool {
        matches!(
            self.kind,
            FaultKind::KillWorker | FaultKind::SmtpOutage | FaultKind::PostgresRestart
        )
    }

    pub fn describe(&self) -> String {
        format!(
            "{} {} ({:.1} s down)",
            self.kind.name(),
            self.target,
            self.down_for.as_secs_f64()
        )
    }
}

/// A small deterministic generator (splitmix64): the same seed, the same
/// sequence of faults.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi` milliseconds.
    pub fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next_u64() % (hi - lo + 1))
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

pub struct Targets {
    pub members: Arc<Mutex<Vec<Member>>>,
    pub smtp: Arc<SmtpSink>,
    pub redis: Arc<Mutex<PrivateRedis>>,
    pub postgres: Option<Arc<PrivatePostgres>>,
}

/// Injects faults until `window` has passed, each healed before the next.
/// Every kind comes once per round, in a seeded order, so that even a short
/// run has each of them.
pub async fn inject(targets: Targets, seed: u64, window: Duration, log: Arc<Mutex<Vec<Fault>>>) {
    let mut rng = Rng::new(seed);
    let end = Instant::now() + window;
    let mut kinds = vec![
        FaultKind::KillWorker,
        FaultKind::KillApi,
        FaultKind::RedisRestart,
        FaultKind::SmtpOutage,
    ];
    if targets.postgres.is_some() {
        kinds.push(FaultKind::PostgresRestart);
    }
    let mut round: Vec<FaultKind> = Vec::new();
    loop {
        tokio::time::sleep(rng.millis(1_000, 4_000)).await;
        if Instant::now() >= end {
            return;
        }
        if round.is_empty() {
            round = kinds.clone();
            // Fisher-Yates with the seeded generator.
            for i in (1..round.len()).rev() {
                round.swap(i, rng.below(i + 1));
            }
        }
        let Some(kind) = round.pop() else {
            continue;
        };
        let down_for = match kind {
            FaultKind::SmtpOutage => rng.millis(2_000, 8_000),
            _ => rng.millis(300, 3_000),
        };
        let at = Instant::now();
        let target = match kind {
            FaultKind::KillWorker | FaultKind::KillApi => {
                let role = if kind == FaultKind::KillWorker {
                    Role::Worker
                } else {
                    Role::Api
                };
                let mut members = targets.members.lock().await;
                let candidates: Vec<usize> = members
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| m.role == role)
                    .map(|(i, _)| i)
                    .collect();
                let i = candidates[rng.below(candidates.len())];
                members[i].kill();
                members[i].label()
            }
            FaultKind::RedisRestart => {
                targets.redis.lock().await.stop();
                "redis".into()
            }
            FaultKind::PostgresRestart => {
                if let Some(pg) = &targets.postgres {
                    let pg = pg.clone();
                    let _ = tokio::task::spawn_blocking(move || pg.stop()).await;
                }
                "postgres".into()
            }
            FaultKind::SmtpOutage => {
                targets.smtp.stop();
                "smtp".into()
            }
        };
        println!(
            "chaos: {:>5.1} s  {} {target} for {:.1} s",
            window
                .saturating_sub(end.saturating_duration_since(at))
                .as_secs_f64(),
            kind.name(),
            down_for.as_secs_f64()
        );
        log.lock().await.push(Fault {
            at,
            kind,
            target: target.clone(),
            down_for,
        });
        tokio::time::sleep(down_for).await;
        let healed = match kind {
            FaultKind::KillWorker | FaultKind::KillApi => {
                let mut members = targets.members.lock().await;
                match members.iter_mut().find(|m| m.label() == target) {
                    Some(member) => member.start(),
                    None => Ok(()),
                }
            }
            FaultKind::RedisRestart => {
                targets.redis.lock().await.start_again().await;
                Ok(())
            }
            FaultKind::PostgresRestart => {
                if let Some(pg) = &targets.postgres {
                    let pg = pg.clone();
                    let _ = tokio::task::spawn_blocking(move || {
                        tokio::runtime::Handle::current().block_on(pg.start_again())
                    })
                    .await;
                }
                Ok(())
            }
            FaultKind::SmtpOutage => {
                targets.smtp.start_again().await;
                Ok(())
            }
        };
        if let Err(err) = healed {
            eprintln!("chaos: could not heal {target}: {err:#}");
        }
    }
}

/// After the window: every process that is not running (killed, or exited
/// on its own) is started again; the services are up already (each fault
/// healed itself). Returns the processes that had exited on their own.
pub async fn heal(members: &Arc<Mutex<Vec<Member>>>) -> anyhow::Result<Vec<String>> {
    let mut members = members.lock().await;
    let mut exited = Vec::new();
    for member in members.iter_mut() {
        if !member.is_running() {
            exited.push(member.label());
            member.start()?;
        }
    }
    Ok(exited)
}
