//! Invoice number formats: `{PREFIX}-{YYYY}-{SEQ:4}` gives `GHP-2026-0001`.
//!
//! Tokens: `{PREFIX}` (the studio's prefix), `{YYYY}`, `{YY}`, `{MM}` (the
//! finalization date in the studio's time zone), `{SEQ}` or `{SEQ:n}` (the
//! studio's gap-free sequence, zero-padded to `n` digits, 1 to 9). Tokens are
//! case-insensitive and `{seq:04}` is accepted as `{SEQ:4}`. The sequence is
//! one per studio and never restarts, so a number is unique whatever the
//! format, even when the format changes.

use chrono::{Datelike, NaiveDate};

pub const DEFAULT_FORMAT: &str = "{PREFIX}-{YYYY}-{SEQ:4}";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Prefix,
    Year4,
    Year2,
    Month,
    Seq(usize),
}

fn parse(format: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut rest = format;
    let mut seq_seen = false;
    while !rest.is_empty() {
        if let Some(open) = rest.strip_prefix('{') {
            let close = open
                .find('}')
                .ok_or_else(|| "a `{` has no matching `}`".to_string())?;
            let token = open[..close].to_ascii_uppercase();
            let part = match token.as_str() {
                "PREFIX" => Part::Prefix,
                "YYYY" => Part::Year4,
                "YY" => Part::Year2,
                "MM" => Part::Month,
                "SEQ" => Part::Seq(1),
                t => match t.strip_prefix("SEQ:") {
                    Some(width) => match width.parse::<usize>() {
                        Ok(w @ 1..=9) => Part::Seq(w),
                        _ => return Err(format!("`{{{t}}}`: the width must be 1 to 9")),
                    },
                    None => return Err(format!("unknown token `{{{}}}`", &open[..close])),
                },
            };
            if matches!(part, Part::Seq(_)) {
                if seq_seen {
                    return Err("the sequence `{SEQ}` may appear only once".into());
                }
                seq_seen = true;
            }
            parts.push(part);
            rest = &open[close + 1..];
        } else {
            let end = rest.find('{').unwrap_or(rest.len());
            let literal = &rest[..end];
            if let Some(bad) = literal
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || "-_/.#".contains(*c)))
            {
                return Err(format!(
                    "`{bad}` is not allowed; use letters, digits, `-`, `_`, `/`, `.` or `#`"
                ));
            }
            parts.push(Part::Literal(literal.to_string()));
            rest = &rest[end..];
        }
    }
    if !seq_seen {
        return Err("the format must contain the sequence `{SEQ}` or `{SEQ:4}`".into());
    }
    Ok(parts)
}

/// Checks a format before it is saved.
pub fn validate(format: &str) -> Result<(), String> {
    if format.len() > 60 {
        return Err("the format is longer than 60 characters".into());
    }
    parse(format).map(|_| ())
}

/// The number for sequence value `seq` finalized on `date`. A format that no
/// longer parses (it was validated when saved) falls back to the default.
pub fn format_number(format: &str, prefix: &str, date: NaiveDate, seq: i64) -> String {
    let parts = parse(format)
        .or_else(|_| parse(DEFAULT_FORMAT))
        .unwrap_or_default();
    let mut out = String::new();
    for part in parts {
        match part {
            Part::Literal(s) => out.push_str(&s),
            Part::Prefix => out.push_str(prefix),
            Part::Year4 => out.push_str(&format!("{:04}", date.year())),
            Part::Year2 => out.push_str(&format!("{:02}", date.year().rem_euclid(100))),
            Part::Month => out.push_str(&format!("{:02}", date.month())),
            Part::Seq(width) => out.push_str(&format!("{seq:0width$}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 9).unwrap()
    }

    #[test]
    fn formats() {
        assert_eq!(
            format_number(DEFAULT_FORMAT, "GHP", date(), 7),
            "GHP-2026-0007"
        );
        assert_eq!(
            format_number("INV-{YYYY}-{seq:04}", "X", date(), 42),
            "INV-2026-0042"
        );
        assert_eq!(
            format_number("{yy}{mm}/{SEQ}", "X", date(), 12345),
            "2603/12345"
        );
        assert_eq!(format_number("#{SEQ:6}", "X", date(), 3), "#000003");
        // Wider than the padding: never truncated.
        assert_eq!(format_number("{SEQ:2}", "X", date(), 123), "123");
    }

    #[test]
    fn rejects_bad_formats() {
        assert!(validate("INV-{YYYY}").unwrap_err().contains("{SEQ}"));
        assert!(validate("{SEQ}{SEQ}").is_err());
        assert!(validate("{SEQ:0}").is_err());
        assert!(validate("{SEQ:10}").is_err());
        assert!(
            validate("{DAY}-{SEQ}")
                .unwrap_err()
                .contains("unknown token")
        );
        assert!(validate("INV {SEQ}").unwrap_err().contains("not allowed"));
        assert!(validate("{SEQ").is_err());
        assert!(validate("INV-{YYYY}-{seq:04}").is_ok());
    }
}
