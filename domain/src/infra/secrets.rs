//! Keys, tokens and passwords. Everything a client holds is stored hashed.
//!
//! API keys and dashboard session tokens: SHA-256 of 256 random bits (the
//! cookie holds a session's only copy). Portal tokens: SHA-256 of
//! `HMAC(secret, salt)`. Staff passwords: argon2id (people choose them).
//! Gallery passwords (139 random bits): a keyed SHA-256,
//! `HMAC(secret, "gallery-credential:" + password)`; an argon2id hash from
//! before still verifies and is rehashed at its next login. Every failed
//! check does the same work: `decoy_hash` (argon2id) for an unknown staff
//! email, `gallery_decoy_hash` for a missing gallery. `secret.key` is
//! owner-only or the process does not start.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::{Rng, RngCore};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::path::Path;

/// 32 random bytes, URL-safe base64.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 hex of a high-entropy token (API key, portal token). A fast hash is
/// right here: the input is 256 random bits, not a human password.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new studio API key and its stored hash.
pub fn generate_api_key() -> (String, String) {
    let key = format!("sk_studio_{}", random_token());
    let hash = hash_token(&key);
    (key, hash)
}

const PASSWORD_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A 16-character password without look-alike characters (about 92 bits).
pub fn generate_password() -> String {
    let mut rng = rand::rng();
    (0..16)
        .map(|_| PASSWORD_ALPHABET[rng.random_range(0..PASSWORD_ALPHABET.len())] as char)
        .collect()
}

/// argon2id PHC string with a random salt.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let mut salt_bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))
}

/// How many password verifications this process has run (each one is the
/// same argon2id work); lets tests see that a decoy was verified.
static VERIFICATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub fn password_verifications() -> u64 {
    VERIFICATIONS.load(std::sync::atomic::Ordering::Relaxed)
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    VERIFICATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when there is no real one (an unknown staff
/// email, a gallery that does not exist), so that the answer takes as long as
/// for a wrong password (no enumeration by timing). Same parameters as every
/// stored hash; no password opens it.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&random_token()).unwrap_or_default())
}

const GALLERY_PASSWORD_LEN: usize = 24;
const GALLERY_HASH_PREFIX: &str = "$hmac-sha256$v=1$k=gallery$";

/// Whether a stored gallery hash is a legacy argon2id one (rehashed at the
/// next successful login).
pub fn is_legacy_gallery_hash(stored: &str) -> bool {
    !stored.starts_with(GALLERY_HASH_PREFIX)
}

/// A gallery hash to verify against when there is none (an unknown link, a
/// gallery without credentials yet): the same format and the same work as a
/// real one, and no password opens it.
pub fn gallery_decoy_hash() -> String {
    let mut tag = [0u8; 32];
    rand::rng().fill_bytes(&mut tag);
    format!("{GALLERY_HASH_PREFIX}{}", hex::encode(tag))
}

/// The password as typed: the group dashes and any spaces do not count.
fn normalize_gallery_password(password: &str) -> String {
    password
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .collect()
}

/// The `len` lowest base-55 digits of a 256-bit big-endian number (each
/// digit an index into `PASSWORD_ALPHABET`). 55^24 is far below 2^256, so
/// the digits are uniform to within 2^-117.
fn base_n(mut number: [u8; 32], len: usize) -> Vec<usize> {
    let base = PASSWORD_ALPHABET.len() as u32;
    (0..len)
        .map(|_| {
            let mut remainder = 0u32;
            for byte in number.iter_mut() {
                let value = (remainder << 8) | u32::from(*byte);
                *byte = (value / base) as u8;
                remainder = value % base;
            }
            remainder as usize
        })
        .collect()
}

/// Creates (or truncates) `path` readable and writable by its owner only
/// (0600), the mode set at creation so the secret is never briefly readable.
#[cfg(unix)]
fn write_owner_only(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // An existing empty file keeps its mode on open: set it explicitly.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

#[cfg(not(unix))]
fn write_owner_only(path: &Path, contents: &str) -> anyhow::Result<()> {
    std::fs::write(path, contents)?;
    Ok(())
}

/// Refuses a key file that group or others may read or write.
#[cfg(unix)]
fn refuse_if_shared(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        anyhow::bail!(
            "{} is accessible by group or others (mode {mode:04o}); anyone who can read it can sign webhooks and portal links. Run `chmod 600 {}` and start again",
            path.display(),
            path.display()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_if_shared(_path: &Path) -> anyhow::Result<()> {
    Ok(())
}

/// The application secret. Portal links are `HMAC(secret, salt)` so that any
/// process holding the secret can re-derive an invoice's link for an email,
/// while the database only stores the salt and the hash of the link token.
#[derive(Clone)]
pub struct AppSecret(SecretString);

impl AppSecret {
    pub fn new(secret: SecretString) -> Self {
        Self(secret)
    }

    /// Reads the secret from settings, or from `{data_dir}/secret.key`,
    /// creating it on first run (embedded mode).
    pub fn load_or_create(
        configured: Option<&SecretString>,
        data_dir: &Path,
    ) -> anyhow::Result<Self> {
        if let Some(secret) = configured {
            return Ok(Self(secret.clone()));
        }
        let path = data_dir.join("secret.key");
        if let Ok(existing) = std::fs::read_to_string(&path) {
            // Anyone who can read the key can sign webhooks and portal links.
            refuse_if_shared(&path)?;
            let trimmed = existing.trim();
            if !trimmed.is_empty() {
                return Ok(Self(SecretString::from(trimmed.to_string())));
            }
        }
        std::fs::create_dir_all(data_dir)?;
        let fresh = random_token();
        write_owner_only(&path, &fresh)?;
        Ok(Self(SecretString::from(fresh)))
    }

    /// The gallery password of one credentials email, derived from its
    /// notification key: a resend after a crash carries the same password.
    /// 24 characters of a 55-letter alphabet without look-alikes (about 139
    /// bits), shown in groups of four: `abcd-EFGH-...`.
    pub fn gallery_password(&self, message_id: &str) -> String {
        let Some(mac) = self.mac("gallery-password", message_id) else {
            return generate_password();
        };
        let mut number = [0u8; 32];
        number.copy_from_slice(&mac.finalize().into_bytes());
        let digits = base_n(number, GALLERY_PASSWORD_LEN);
        digits
            .chunks(4)
            .map(|group| {
                group
                    .iter()
                    .map(|d| PASSWORD_ALPHABET[*d] as char)
                    .collect()
            })
            .collect::<Vec<String>>()
            .join("-")
    }

    /// What is stored of a gallery password: `$hmac-sha256$v=1$k=gallery$`
    /// and `hex(HMAC(secret, "gallery-credential:" + password))`. The
    /// password is 139 random bits, not something a person chose, so a keyed
    /// fast hash is enough (as for API keys): guessing it is hopeless, and
    /// the stored value is useless without the application secret. A slow
    /// password hash (argon2id, about 15 ms of CPU each) capped the whole
    /// workflow near 30 sessions/s.
    pub fn hash_gallery_password(&self, password: &str) -> String {
        format!(
            "{GALLERY_HASH_PREFIX}{}",
            self.sign("gallery-credential", &normalize_gallery_password(password))
        )
    }

    /// Whether `password` opens `stored`: a keyed hash of
    /// [`hash_gallery_password`](Self::hash_gallery_password), compared in
    /// constant time, or (galleries opened before it) an argon2id PHC
    /// string, which costs argon2's time: call from a blocking thread.
    pub fn verify_gallery_password(&self, password: &str, stored: &str) -> bool {
        match stored.strip_prefix(GALLERY_HASH_PREFIX) {
            Some(tag) => {
                VERIFICATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.verify(
                    "gallery-credential",
                    &normalize_gallery_password(password),
                    tag,
                )
            }
            None => verify_password(password, stored),
        }
    }

    /// A stable secret for another purpose, derived so that every process
    /// holding the application secret derives the same one:
    /// `prefix + hex(HMAC(secret, "derive:" + purpose))`.
    pub fn derive(&self, purpose: &str, prefix: &str) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(self.0.expose_secret().as_bytes()) else {
            return String::new();
        };
        mac.update(b"derive:");
        mac.update(purpose.as_bytes());
        format!("{prefix}{}", hex::encode(mac.finalize().into_bytes()))
    }

    /// `hex(HMAC(secret, purpose + ":" + value))`: a tag only this
    /// deployment can make (the dashboard's CSRF tokens).
    pub fn sign(&self, purpose: &str, value: &str) -> String {
        match self.mac(purpose, value) {
            Some(mac) => hex::encode(mac.finalize().into_bytes()),
            None => String::new(),
        }
    }

    /// Whether `tag` is `sign(purpose, value)`, compared in constant time.
    pub fn verify(&self, purpose: &str, value: &str, tag: &str) -> bool {
        let (Some(mac), Ok(bytes)) = (self.mac(purpose, value), hex::decode(tag)) else {
            return false;
        };
        mac.verify_slice(&bytes).is_ok()
    }

    fn mac(&self, purpose: &str, value: &str) -> Option<Hmac<Sha256>> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose_secret().as_bytes()).ok()?;
        mac.update(purpose.as_bytes());
        mac.update(b":");
        mac.update(value.as_bytes());
        Some(mac)
    }

    /// A gallery's link token, `base64url(HMAC(secret, "gallery:" + salt))`
    /// (256 bits): every process can put the same link in any email, while
    /// the database keeps the salt and the token's SHA-256 only.
    pub fn gallery_token(&self, salt: &str) -> String {
        match self.mac("gallery", salt) {
            Some(mac) => URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()),
            None => String::new(),
        }
    }

    /// The link token of a card-setup request: `HMAC(secret, "card-setup:" +
    /// salt)`, URL-safe base64 (43 characters).
    pub fn card_setup_token(&self, salt: &str) -> String {
        match self.mac("card-setup", salt) {
            Some(mac) => URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()),
            None => String::new(),
        }
    }

    pub fn portal_token(&self, salt: &str) -> String {
        let mut mac = match Hmac::<Sha256>::new_from_slice(self.0.expose_secret().as_bytes()) {
            Ok(mac) => mac,
            // HMAC accepts keys of any length; this arm is unreachable.
            Err(_) => return String::new(),
        };
        mac.update(b"portal:");
        mac.update(salt.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decoy_hash_costs_what_a_real_hash_costs() {
        // The PHC string's parameters (`$argon2id$v=19$m=..,t=..,p=..$`) decide the work.
        let params = |phc: &str| phc.split('$').take(4).collect::<Vec<_>>().join("$");
        let real = hash_password("hunter2").unwrap();
        assert!(decoy_hash().starts_with("$argon2id$"));
        assert_eq!(params(decoy_hash()), params(&real));
        assert!(!verify_password("", decoy_hash()));
    }

    #[cfg(unix)]
    #[test]
    fn the_secret_key_file_is_created_owner_only_and_a_shared_one_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let first = AppSecret::load_or_create(None, dir.path()).unwrap();
        let path = dir.path().join("secret.key");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "created {mode:o}");
        // Read back unchanged.
        let again = AppSecret::load_or_create(None, dir.path()).unwrap();
        assert_eq!(first.portal_token("s"), again.portal_token("s"));
        for shared in [0o644, 0o640, 0o604, 0o660] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(shared)).unwrap();
            let err = AppSecret::load_or_create(None, dir.path())
                .err()
                .unwrap_or_else(|| panic!("mode {shared:o} accepted"));
            assert!(err.to_string().contains("chmod 600"), "{err}");
        }
    }

    #[test]
    fn passwords_round_trip_through_argon2id() {
        let pw = generate_password();
        assert_eq!(pw.len(), 16);
        let phc = hash_password(&pw).unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password(&pw, &phc));
        assert!(!verify_password("wrong", &phc));
    }

    #[test]
    fn portal_tokens_depend_on_secret_and_salt() {
        let a = AppSecret::new(SecretString::from("one"));
        let b = AppSecret::new(SecretString::from("two"));
        assert_eq!(a.portal_token("s"), a.portal_token("s"));
        assert_ne!(a.portal_token("s"), a.portal_token("t"));
        assert_ne!(a.portal_token("s"), b.portal_token("s"));
        assert!(a.portal_token("s").len() >= 43);
    }

    #[test]
    fn gallery_tokens_are_long_and_depend_on_secret_and_salt() {
        let a = AppSecret::new(SecretString::from("one"));
        let b = AppSecret::new(SecretString::from("two"));
        assert_eq!(a.gallery_token("s"), a.gallery_token("s"));
        assert_ne!(a.gallery_token("s"), a.gallery_token("t"));
        assert_ne!(a.gallery_token("s"), b.gallery_token("s"));
        assert_ne!(a.gallery_token("s"), a.portal_token("s"));
        // 256 bits in base64url.
        assert_eq!(a.gallery_token("s").len(), 43);
    }

    #[test]
    fn gallery_passwords_are_stable_per_email_and_secret() {
        let a = AppSecret::new(SecretString::from("one"));
        let b = AppSecret::new(SecretString::from("two"));
        let pw = a.gallery_password("<m1@x>");
        // Six groups of four, from the alphabet without look-alikes.
        assert_eq!(pw.len(), 29, "{pw}");
        let groups: Vec<&str> = pw.split('-').collect();
        assert_eq!(groups.len(), 6, "{pw}");
        assert!(groups.iter().all(|g| g.len() == 4), "{pw}");
        assert!(
            pw.bytes()
                .all(|c| c == b'-' || PASSWORD_ALPHABET.contains(&c)),
            "{pw}"
        );
        assert_eq!(pw, a.gallery_password("<m1@x>"));
        assert_ne!(pw, a.gallery_password("<m2@x>"));
        assert_ne!(pw, b.gallery_password("<m1@x>"));
    }

    #[test]
    fn gallery_password_digits_are_spread_over_the_whole_alphabet() {
        let a = AppSecret::new(SecretString::from("one"));
        let mut seen = std::collections::HashMap::<u8, usize>::new();
        for i in 0..2_000 {
            for c in a.gallery_password(&format!("<m{i}@x>")).bytes() {
                if c != b'-' {
                    *seen.entry(c).or_default() += 1;
                }
            }
        }
        // 48,000 digits over 55 letters: about 873 each.
        assert_eq!(seen.len(), PASSWORD_ALPHABET.len());
        assert!(seen.values().all(|n| (700..1050).contains(n)), "{seen:?}");
    }

    #[test]
    fn gallery_passwords_are_stored_keyed_and_verified_in_either_format() {
        let a = AppSecret::new(SecretString::from("one"));
        let b = AppSecret::new(SecretString::from("two"));
        let pw = a.gallery_password("<m1@x>");
        let stored = a.hash_gallery_password(&pw);
        assert!(
            stored.starts_with("$hmac-sha256$v=1$k=gallery$"),
            "{stored}"
        );
        assert!(!stored.contains(&pw));
        assert!(!is_legacy_gallery_hash(&stored));
        assert!(a.verify_gallery_password(&pw, &stored));
        // Typed without the dashes, or with spaces around: the same password.
        assert!(a.verify_gallery_password(&pw.replace('-', ""), &stored));
        assert!(a.verify_gallery_password(&format!(" {pw} "), &stored));
        assert!(!a.verify_gallery_password(&pw.to_lowercase(), &stored));
        assert!(!a.verify_gallery_password("", &stored));
        // Useless without the application secret.
        assert!(!b.verify_gallery_password(&pw, &stored));
        // A decoy has the same shape and opens for nothing.
        let decoy = gallery_decoy_hash();
        assert_eq!(decoy.len(), stored.len());
        assert!(!a.verify_gallery_password(&pw, &decoy));
        assert!(!a.verify_gallery_password("", &decoy));
        // Galleries opened before keep their argon2id hash until next login.
        let legacy = hash_password("old-password").unwrap();
        assert!(is_legacy_gallery_hash(&legacy));
        assert!(a.verify_gallery_password("old-password", &legacy));
        assert!(!a.verify_gallery_password("wrong", &legacy));
    }

    #[test]
    fn signatures_verify_only_for_the_same_purpose_value_and_secret() {
        let a = AppSecret::new(SecretString::from("one"));
        let b = AppSecret::new(SecretString::from("two"));
        let tag = a.sign("csrf", "nonce");
        assert!(a.verify("csrf", "nonce", &tag));
        assert!(!a.verify("csrf", "other", &tag));
        assert!(!a.verify("other", "nonce", &tag));
        assert!(!b.verify("csrf", "nonce", &tag));
        assert!(!a.verify("csrf", "nonce", ""));
        assert!(!a.verify("csrf", "nonce", "not hex"));
    }

    #[test]
    fn api_keys_are_long_and_hashed() {
        let (key, hash) = generate_api_key();
        assert!(key.len() > 40);
        assert_eq!(hash, hash_token(&key));
        assert_ne!(key, hash);
    }
}
