//! Where the box's CPU went during a timed run: PostgreSQL (the private
//! cluster's postmaster and every backend it forked, exited ones included),
//! the api, the workers, Redis, the bench itself, and whatever else ran
//! (`other`: the box's busy time less all of those), out of the cores'
//! time while the run lasted. Read from `/proc` (Linux only; elsewhere the
//! report says nothing).
//!
//! A group's time is the sum of its processes' `utime + stime`, plus the
//! `cutime + cstime` of its root (the postmaster's reaped backends), so
//! that the difference between two samples counts a backend that exited
//! meanwhile exactly once. This is what bounds the rate when the box is
//! busy: if PostgreSQL spends `p` ms of CPU per session, two cores can do
//! no more than `2000 / p` sessions per second however lean the engine.

use std::collections::BTreeMap;
use std::time::Instant;

/// The group of the private PostgreSQL cluster.
pub const POSTGRES: &str = "postgres";

/// The groups the bench reports, in order.
pub const GROUPS: [&str; 5] = [POSTGRES, "api", "workers", "redis", "bench"];

/// The processes of one group: roots whose children count too, and
/// single processes.
#[derive(Debug, Clone, Default)]
pub struct Group {
    /// Processes counted with their children (alive or reaped).
    pub trees: Vec<u32>,
    /// Processes counted alone (their threads included).
    pub alone: Vec<u32>,
}

/// One reading of every group, and of the box.
#[derive(Debug, Clone)]
pub struct Sample {
    at: Instant,
    groups: BTreeMap<String, u64>,
    busy: u64,
    cores: usize,
}

/// CPU seconds of each group between two samples, and the cores' time.
#[derive(Debug, Clone)]
pub struct Usage {
    pub wall_secs: f64,
    pub cores: usize,
    /// Seconds of CPU by group, in the order the groups were named.
    pub groups: Vec<(String, f64)>,
    /// The box's busy seconds (all processes).
    pub busy_secs: f64,
}

/// The clock ticks `/proc` counts in (`getconf CLK_TCK`; 100 on Linux).
fn ticks_per_sec() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// `(ppid, utime + stime, cutime + cstime)` of one process, in ticks.
fn stat(pid: u32) -> Option<(u32, u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    let ppid = u32::try_from(field(1)?).ok()?;
    Some((ppid, field(11)? + field(12)?, field(13)? + field(14)?))
}

/// Every process' parent, from `/proc`.
fn parents() -> Vec<(u32, u32)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, stat(pid)?.0)))
        .collect()
}

/// The box's busy ticks (user, nice, system, irq, softirq, steal).
fn box_busy() -> u64 {
    let Ok(text) = std::fs::read_to_string("/proc/stat") else {
        return 0;
    };
    let Some(line) = text.lines().find(|l| l.starts_with("cpu ")) else {
        return 0;
    };
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|&i| values.get(i))
        .sum()
}

impl Sample {
    /// Reads every group now.
    pub fn take(groups: &[(&str, Group)]) -> Self {
        let parents = parents();
        let mut totals = BTreeMap::new();
        for (name, group) in groups {
            let mut ticks = 0;
            for &root in &group.trees {
                if let Some((_, own, reaped)) = stat(root) {
                    ticks += own + reaped;
                }
                for &(pid, parent) in &parents {
                    if parent == root
                        && let Some((_, own, _)) = stat(pid)
                    {
                        ticks += own;
                    }
                }
            }
            for &pid in &group.alone {
                if let Some((_, own, _)) = stat(pid) {
                    ticks += own;
                }
            }
            totals.insert((*name).to_string(), ticks);
        }
        Self {
            at: Instant::now(),
            groups: totals,
            busy: box_busy(),
            cores: std::thread::available_parallelism().map_or(1, usize::from),
        }
    }

    /// What each group spent since `before` (a process that ended between
    /// the two samples counts what it had, for a root's reaped children).
    pub fn since(&self, before: &Sample, order: &[&str]) -> Usage {
        let tick = ticks_per_sec();
        let secs = |after: u64, before: u64| after.saturating_sub(before) as f64 / tick;
        Usage {
            wall_secs: (self.at - before.at).as_secs_f64(),
            cores: self.cores,
            groups: order
                .iter()
                .map(|name| {
                    let after = self.groups.get(*name).copied().unwrap_or(0);
                    let was = before.groups.get(*name).copied().unwrap_or(0);
                    ((*name).to_string(), secs(after, was))
                })
                .collect(),
            busy_secs: secs(self.busy, before.busy),
        }
    }
}

impl Usage {
    /// The cores' time while the run lasted.
    pub fn capacity_secs(&self) -> f64 {
        self.wall_secs * self.cores as f64
    }

    /// One line: each group's seconds and share of the cores' time, the
    /// rest of the box's busy time, and the idle time.
    pub fn describe(&self) -> String {
        let capacity = self.capacity_secs().max(f64::MIN_POSITIVE);
        let share = |secs: f64| 100.0 * secs / capacity;
        let counted: f64 = self.groups.iter().map(|(_, s)| s).sum();
        let mut parts: Vec<String> = self
            .groups
            .iter()
            .map(|(name, secs)| format!("{name} {secs:.2} s ({:.0} %)", share(*secs)))
            .collect();
        let other = (self.busy_secs - counted).max(0.0);
        let idle = (capacity - self.busy_secs).max(0.0);
        parts.push(format!("other {other:.2} s ({:.0} %)", share(other)));
        parts.push(format!("idle {idle:.2} s ({:.0} %)", share(idle)));
        format!(
            "CPU over {:.2} s × {} cores: {}",
            self.wall_secs,
            self.cores,
            parts.join(", ")
        )
    }

    /// Seconds of CPU of one group.
    pub fn of(&self, name: &str) -> f64 {
        self.groups
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0.0, |(_, s)| *s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_child_counts_for_its_tree_and_the_box_sees_it() {
        let me = std::process::id();
        let groups = [(
            "bench",
            Group {
                trees: vec![],
                alone: vec![me],
            },
        )];
        let before = Sample::take(&groups);
        // Burn about 0.3 s of CPU in this process.
        let start = Instant::now();
        let mut x: u64 = 0;
        while start.elapsed().as_millis() < 300 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let usage = Sample::take(&groups).since(&before, &["bench"]);
        assert!(usage.of("bench") >= 0.2, "{}", usage.describe());
        assert!(usage.busy_secs >= 0.2, "{}", usage.describe());
        assert!(usage.describe().contains("bench "));
    }
}
