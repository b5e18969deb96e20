//! Parsing of user input into domain values; every problem is collected so
//! the caller hears about all of them at once.
//!
//! User-supplied names and texts (`Problems::name`, `text`, `plain_text`)
//! refuse control and bidi characters before they can reach an email header
//! or a page; `Problems::percent` checks a percentage's range again behind
//! the API's `Percent` scalar.

use crate::kernel::error::UserError;
use crate::kernel::money::{Currency, Minor};
use rust_decimal::Decimal;
use std::net::IpAddr;
use std::ops::RangeInclusive;

/// A syntactically valid email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        let invalid = || format!("`{trimmed}` is not a valid email address");
        // The rules lettre's `Address` applies (so every address accepted
        // here can be sent to), without linking a mail transport.
        let (user, domain) = trimmed.rsplit_once('@').ok_or_else(invalid)?;
        if !email_address::EmailAddress::is_valid_local_part(user) || !valid_domain(domain) {
            return Err(invalid());
        }
        if !domain.contains('.') && domain != "localhost" {
            return Err(invalid());
        }
        Ok(Self(trimmed.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A domain name (international ones in their ASCII form) or an IP literal.
fn valid_domain(domain: &str) -> bool {
    use email_address::EmailAddress;
    if EmailAddress::is_valid_domain(domain) {
        return true;
    }
    let ip = domain
        .strip_prefix('[')
        .and_then(|ip| ip.strip_suffix(']'))
        .unwrap_or(domain);
    if ip.parse::<IpAddr>().is_ok() {
        return true;
    }
    matches!(url::Host::parse(domain), Ok(url::Host::Domain(ascii)) if EmailAddress::is_valid_domain(&ascii))
}

#[derive(Default)]
pub struct Problems(Vec<UserError>);

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, error: UserError) {
        self.0.push(error);
    }

    /// A whole number within `range` ("must be between 0 and 365").
    pub fn within(&mut self, field: &str, value: i32, range: RangeInclusive<i32>) -> i32 {
        if !range.contains(&value) {
            let (lo, hi) = range.into_inner();
            self.push(UserError::invalid(
                field,
                format!("must be between {lo} and {hi}"),
            ));
        }
        value
    }

    /// A trimmed line of at most `max` characters (a tax id); empty clears
    /// it (`None`).
    pub fn short_text(&mut self, field: &str, raw: &str, max: usize) -> Option<String> {
        let trimmed = raw.trim();
        if trimmed.chars().count() > max {
            self.push(UserError::invalid(
                field,
                format!("at most {max} characters"),
            ));
        } else if let Err(message) = plain_text(trimmed, false) {
            self.push(UserError::invalid(field, message));
        }
        (!trimmed.is_empty()).then(|| trimmed.to_string())
    }

    /// A trimmed, non-empty name of at most 200 characters, on one line and
    /// without bidi controls (names end up in email headers and pages).
    pub fn name(&mut self, field: &str, raw: &str) -> String {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            self.push(UserError::invalid(field, "must not be empty"));
        } else if trimmed.chars().count() > 200 {
            self.push(UserError::invalid(field, "must be at most 200 characters"));
        } else if let Err(message) = plain_text(trimmed, false) {
            self.push(UserError::invalid(field, message));
        }
        trimmed.to_string()
    }

    /// Free text shown on a page or in an email body (a description, an
    /// address, a reason): like a name, but it may span lines (`\r\n` is
    /// kept as `\n`) and may be empty.
    pub fn text(&mut self, field: &str, raw: &str) -> String {
        let normalized = raw.trim().replace("\r\n", "\n");
        if let Err(message) = plain_text(&normalized, true) {
            self.push(UserError::invalid(field, message));
        }
        normalized
    }

    pub fn email(&mut self, field: &str, raw: &str) -> String {
        match EmailAddress::parse(raw) {
            Ok(email) => email.into_inner(),
            Err(message) => {
                self.push(UserError::invalid(field, message));
                String::new()
            }
        }
    }

    /// A phone number to print and dial: at most 40 printable characters on
    /// one line, digits with spaces, `+`, `-`, `.`, `(`, `)` or `/`, and at
    /// least 5 digits. Empty clears it (`None`).
    pub fn phone(&mut self, field: &str, raw: &str) -> Option<String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return None;
        }
        let digits = trimmed.chars().filter(char::is_ascii_digit).count();
        let allowed = trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || " +-.()/".contains(c));
        if trimmed.chars().count() > 40 || !allowed || digits < 5 {
            self.push(UserError::invalid(
                field,
                "must be a phone number: digits with spaces, +, -, ., (, ) or /, at most 40 characters",
            ));
        }
        Some(trimmed.to_string())
    }

    /// An `https` URL (with a host, at most 2000 characters), e.g. a logo
    /// shown on pages and in emails. Empty clears it (`None`).
    pub fn https_url(&mut self, field: &str, raw: &str) -> Option<String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return None;
        }
        let ok = url::Url::parse(trimmed)
            .is_ok_and(|u| u.scheme() == "https" && u.host_str().is_some_and(|h| !h.is_empty()));
        if !ok || trimmed.len() > 2000 || plain_text(trimmed, false).is_err() {
            self.push(UserError::invalid(
                field,
                "must be an https URL of at most 2000 characters",
            ));
        }
        Some(trimmed.to_string())
    }

    /// A non-negative amount in the studio's currency, in minor units.
    pub fn amount(&mut self, field: &str, currency: Currency, amount: Decimal) -> Minor {
        match currency.parse_amount(amount) {
            Ok(minor) => minor,
            Err(err) => {
                self.push(UserError::invalid(field, err.to_string()));
                Minor::ZERO
            }
        }
    }

    pub fn percent(&mut self, field: &str, percent: Decimal) -> Decimal {
        if percent.is_sign_negative() || percent > Decimal::ONE_HUNDRED {
            self.push(UserError::invalid(field, "must be between 0 and 100"));
        } else if percent.normalize().scale() > 4 {
            self.push(UserError::invalid(
                field,
                "must have at most 4 decimal places",
            ));
        }
        percent.normalize()
    }

    /// Every problem collected (`DomainError::User` through `?`).
    pub fn finish(self) -> Result<(), Vec<UserError>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}

/// Bidi embeddings, overrides and isolates (U+202A..U+202E, U+2066..U+2069)
/// and the bare direction marks: they make a name read differently from
/// what it is ("Trojan Source"), so names and texts never carry them.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Refuses control characters (line breaks break email headers; a NUL or an
/// escape breaks pages and logs) and bidi controls. `multi_line` lets line
/// breaks and tabs through for texts shown in a body.
pub fn plain_text(value: &str, multi_line: bool) -> Result<(), String> {
    for c in value.chars() {
        if multi_line && (c == '\n' || c == '\t') {
            continue;
        }
        if c.is_control() {
            return Err(format!(
                "must not contain control characters (found U+{:04X})",
                u32::from(c)
            ));
        }
        if is_bidi_control(c) {
            return Err(format!(
                "must not contain bidirectional text controls (found U+{:04X})",
                u32::from(c)
            ));
        }
    }
    Ok(())
}

/// A client-chosen idempotency key: 1 to 100 printable ASCII characters.
pub fn idempotency_key(field: &str, key: &str) -> Result<(), UserError> {
    let ok = !key.is_empty() && key.len() <= 100 && key.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(UserError::invalid(
            field,
            "an idempotency key is 1 to 100 printable ASCII characters without spaces",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_refuse_control_and_bidi_characters() {
        for bad in [
            "Ava\nBcc: x@example.com",
            "Ava\rMartinez",
            "Ava\tMartinez",
            "A\u{0}va",
            "A\u{1b}[31mva",
            "A\u{85}va",
            "Ava \u{202E}gnp.exe",
            "Ava \u{2066}x\u{2069}",
            "Ava\u{200F}",
        ] {
            let mut problems = Problems::new();
            problems.name("name", bad);
            assert!(problems.finish().is_err(), "{bad:?} should be rejected");
        }
        for good in [
            "Ava Martinez",
            "Zoë Ōkawa-Brontë",
            "محمد",
            "山田 太郎",
            "  Ava  ",
        ] {
            let mut problems = Problems::new();
            problems.name("name", good);
            assert!(problems.finish().is_ok(), "{good:?} should be accepted");
        }
        let mut problems = Problems::new();
        assert_eq!(
            problems.text("address", "1 Main St\r\nSpringfield"),
            "1 Main St\nSpringfield"
        );
        assert!(problems.finish().is_ok());
        let mut problems = Problems::new();
        problems.text("address", "1 Main St\u{202E}");
        assert!(problems.finish().is_err());
    }

    #[test]
    fn phones_and_logo_urls_are_checked() {
        let mut p = Problems::new();
        assert_eq!(
            p.phone("phone", " +1 (514) 555-0199 "),
            Some("+1 (514) 555-0199".into())
        );
        assert_eq!(p.phone("phone", ""), None);
        assert_eq!(
            p.https_url("logoUrl", "https://cdn.example.com/logo.png"),
            Some("https://cdn.example.com/logo.png".into())
        );
        assert_eq!(p.https_url("logoUrl", " "), None);
        assert!(p.finish().is_ok());
        for bad in [
            "call me",
            "+1 555\n0199",
            "12",
            "+1 555 0199 ext. 5",
            &"1".repeat(41),
        ] {
            let mut p = Problems::new();
            p.phone("phone", bad);
            assert!(p.finish().is_err(), "{bad:?}");
        }
        for bad in [
            "http://example.com/logo.png",
            "javascript:alert(1)",
            "https://",
            "logo.png",
            "data:image/png;base64,AAAA",
        ] {
            let mut p = Problems::new();
            p.https_url("logoUrl", bad);
            assert!(p.finish().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn emails_are_parsed_and_normalised() {
        assert_eq!(
            EmailAddress::parse(" Ava@Example.com ").unwrap().as_str(),
            "ava@example.com"
        );
        for bad in [
            "",
            "ava",
            "ava@",
            "@example.com",
            "ava@@example.com",
            "ava@example",
            "a b@example.com",
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad} should be rejected"
            );
        }
    }
}
