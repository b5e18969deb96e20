//! Transactions by shape, from PostgreSQL's statement log (`--profile`).
//!
//! `pg_stat_statements` counts statements, not transactions: it cannot say
//! which reads ran alone (one commit each) and which shared a transaction.
//! With `log_statement=all` and every line prefixed by its database and
//! virtual transaction id (`%d|%v|`), the statements of one transaction share
//! an id; a statement outside any transaction has an id of its own. Each
//! transaction is reduced to its shape (its statements' verbs and tables,
//! `BEGIN`/`COMMIT` left out, `[tx]` when it was explicit), and the shapes
//! are counted.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The server options that make the log this module reads.
pub const LOG_OPTIONS: &str = "-c log_statement=all -c log_line_prefix='%d|%v|'";

/// The log's size now: where the timed part's lines will start.
pub fn log_offset(log: &Path) -> u64 {
    std::fs::metadata(log).map(|m| m.len()).unwrap_or(0)
}

/// Marks the bench's own progress query, which the report leaves out (as
/// the transactions per session leave it out of `xact_commit`).
pub const PROBE: &str = "/* bench progress */";

/// The shapes of `database`'s transactions logged after `offset`, most
/// frequent first, with counts per session (the bench's own progress
/// queries left out).
pub fn report(log: &Path, offset: u64, database: &str, sessions: usize) -> std::io::Result<String> {
    let bytes = std::fs::read(log)?;
    let start = usize::try_from(offset).unwrap_or(0).min(bytes.len());
    let text = String::from_utf8_lossy(&bytes[start..]);
    let mut open: HashMap<String, Vec<String>> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    let prefix = format!("{database}|");
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(&prefix) else {
            continue;
        };
        let Some((vxid, message)) = rest.split_once('|') else {
            continue;
        };
        let statement = message.strip_prefix("LOG:  statement: ").or_else(|| {
            message
                .strip_prefix("LOG:  execute ")
                .and_then(|m| m.split_once(": ").map(|(_, s)| s))
        });
        let Some(statement) = statement.filter(|s| !s.contains(PROBE)) else {
            continue;
        };
        if !open.contains_key(vxid) {
            order.push(vxid.to_string());
        }
        open.entry(vxid.to_string())
            .or_default()
            .push(signature(statement));
    }
    let mut shapes: BTreeMap<String, usize> = BTreeMap::new();
    for vxid in order {
        if let Some(statements) = open.remove(&vxid) {
            *shapes.entry(shape(&statements)).or_default() += 1;
        }
    }
    let total: usize = shapes.values().sum();
    // The simulated gateway keeps its own rows in this database; with Stripe
    // that work is the card network's, not ours.
    let gateway: usize = shapes
        .iter()
        .filter(|(shape, _)| shape.contains(" simulated_"))
        .map(|(_, n)| n)
        .sum();
    let mut rows: Vec<(String, usize)> = shapes.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let per = |n: usize| n as f64 / sessions.max(1) as f64;
    let mut out = format!(
        "\ntransactions by shape ({total} in all, {:.1} per session; {:.1} per session touch the simulated gateway's tables, {:.1} do not)\ncount\tper session\tshape\n",
        per(total),
        per(gateway),
        per(total - gateway)
    );
    for (shape, n) in rows {
        out.push_str(&format!("{n}\t{:.2}\t{shape}\n", per(n)));
    }
    Ok(out)
}

/// `[tx] SELECT invoices · UPDATE outbox` or `SELECT clients` (alone).
fn shape(statements: &[String]) -> String {
    let explicit = statements.iter().any(|s| s == "BEGIN");
    let body: Vec<&str> = statements
        .iter()
        .map(String::as_str)
        .filter(|s| !matches!(*s, "BEGIN" | "COMMIT" | "ROLLBACK"))
        .collect();
    let body = if body.is_empty() {
        "(empty)".to_string()
    } else {
        body.join(" · ")
    };
    if explicit {
        format!("[tx] {body}")
    } else {
        body
    }
}

/// A statement's verb and main table: `SELECT invoices`, `UPDATE outbox`.
fn signature(statement: &str) -> String {
    let words: Vec<&str> = statement.split_whitespace().collect();
    let Some(first) = words.first() else {
        return String::new();
    };
    let verb = first.to_ascii_uppercase();
    let after = |keyword: &str| {
        words
            .iter()
            .position(|w| w.eq_ignore_ascii_case(keyword))
            .and_then(|i| words.get(i + 1))
            .map(|t| {
                t.trim_matches(|c: char| c == '"' || c == '(' || c == ',')
                    .to_string()
            })
    };
    let table = match verb.as_str() {
        "SELECT" => after("FROM").or_else(|| words.get(1).map(|w| w.chars().take(30).collect())),
        "INSERT" => after("INTO"),
        "UPDATE" => words.get(1).map(|t| t.trim_matches('"').to_string()),
        "DELETE" => after("FROM"),
        "WITH" => after("UPDATE")
            .or_else(|| after("FROM"))
            .map(|t| format!("(cte) {t}")),
        _ => None,
    };
    match table {
        Some(table) => format!("{verb} {table}"),
        None => verb,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_of_one_transaction_share_a_shape() {
        let dir = tempfile::tempdir().expect("dir");
        let log = dir.path().join("log");
        std::fs::write(
            &log,
            "other|1/1|LOG:  statement: SELECT 1\n\
             bench|3/7|LOG:  statement: BEGIN\n\
             bench|3/7|LOG:  execute sqlx_s_1: SELECT \"invoices\".\"id\" FROM \"invoices\" WHERE id = $1\n\
             bench|3/7|DETAIL:  parameters: $1 = '4'\n\
             bench|4/2|LOG:  execute <unnamed>: SELECT \"clients\".\"id\" FROM \"clients\" WHERE id = $1\n\
             bench|3/7|LOG:  execute sqlx_s_2: UPDATE \"outbox\" SET status = $1\n\
             bench|3/7|LOG:  statement: COMMIT\n\
             bench|4/3|LOG:  execute <unnamed>: SELECT \"clients\".\"id\" FROM \"clients\" WHERE id = $1\n\
             bench|5/1|LOG:  execute <unnamed>: SELECT \"simulated_gateway_charges\".\"reference\" FROM \"simulated_gateway_charges\"\n\
             bench|6/1|LOG:  execute <unnamed>: /* bench progress */ SELECT (SELECT COUNT(*) FROM invoices) AS paid\n",
        )
        .expect("write");
        let report = report(&log, 0, "bench", 1).expect("report");
        assert!(
            report.contains(
                "4 in all, 4.0 per session; 1.0 per session touch the simulated gateway's tables, 3.0 do not"
            ),
            "{report}"
        );
        assert!(report.contains("2\t2.00\tSELECT clients\n"), "{report}");
        assert!(
            report.contains("1\t1.00\t[tx] SELECT invoices · UPDATE outbox\n"),
            "{report}"
        );
    }
}
