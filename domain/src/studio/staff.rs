//! Staff accounts and their dashboard sessions.
//!
//! - A staff email is unique across all studios (the login form asks for an
//!   email and a password only), stored lower-cased; the password as argon2id.
//! - A session is a 256-bit random token held by the browser; the database
//!   keeps only its SHA-256, the studio it is scoped to, its expiry and a
//!   random CSRF secret the session's forms are signed with.
//! - Login failures are indistinguishable: an unknown email costs the same
//!   argon2id verification as a wrong password.

use crate::infra::db::begin_write;
use crate::infra::error::{DomainError, DomainResult, UserError};
use crate::infra::secrets::{AppSecret, hash_password, hash_token, random_token, verify_password};
use crate::kernel::validate::Problems;
use chrono::{DateTime, Duration, Utc};
use entity::{staff_session, staff_user, studio};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
};

/// How long a dashboard login lasts, enforced by the server.
pub const SESSION_TTL: Duration = Duration::hours(12);
pub const MIN_PASSWORD_CHARS: usize = 12;
const MAX_PASSWORD_CHARS: usize = 1024;
const CSRF_PURPOSE: &str = "dashboard-csrf";

/// Creates a staff login for a studio.
pub async fn create_staff(
    db: &DatabaseConnection,
    studio_id: i64,
    email: &str,
    password: &str,
    now: DateTime<Utc>,
) -> DomainResult<staff_user::Model> {
    let mut problems = Problems::new();
    let email = problems.email("email", email);
    let length = password.chars().count();
    if length < MIN_PASSWORD_CHARS {
        problems.push(UserError::invalid(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    } else if length > MAX_PASSWORD_CHARS {
        problems.push(UserError::invalid(
            "password",
            format!("must be at most {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    if studio::Entity::find_by_id(studio_id)
        .one(db)
        .await?
        .is_none()
    {
        problems.push(UserError::not_found("studioId", "studio"));
    }
    problems.finish()?;
    let password_hash = hash_password(password)?;
    let user = staff_user::ActiveModel {
        studio_id: Set(studio_id),
        email: Set(email),
        password_hash: Set(password_hash),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| {
        DomainError::unique_as(
            e,
            UserError::duplicate("email", "a staff login with this email already exists"),
        )
    })?;
    tracing::info!(studio_id, staff_user_id = user.id, "staff login created");
    Ok(user)
}

/// The staff account for these credentials, or `None`: an unknown email and a
/// wrong password are the same answer.
pub async fn verify_login(
    db: &DatabaseConnection,
    email: &str,
    password: &str,
) -> DomainResult<Option<staff_user::Model>> {
    let email = email.trim().to_lowercase();
    let user = staff_user::Entity::find()
        .filter(staff_user::Column::Email.eq(email))
        .one(db)
        .await?;
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| crate::infra::secrets::decoy_hash().to_string());
    let password = password.to_string();
    // argon2id is deliberately slow: keep it off the async executor.
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| DomainError::Internal(e.into()))?;
    Ok(user.filter(|_| ok))
}

/// What a dashboard login attempt came to.
pub enum LoginOutcome {
    LoggedIn(staff_user::Model),
    /// Unknown email or wrong password: the same answer.
    Refused,
    /// Too many failures from this address, or at this account, lately.
    TooManyAttempts,
}

/// A dashboard login from `source` (`login_limits::address_subject`),
/// limited like gallery logins: per source address, and (higher) per
/// account, counted by the SHA-256 of the email so that the table holds no
/// addresses typed by strangers. Counted in the database, so every api
/// process sees the same counts.
pub async fn attempt_login(
    ctx: &crate::infra::context::AppContext,
    source: &str,
    email: &str,
    password: &str,
) -> DomainResult<LoginOutcome> {
    use crate::studio::login_limits::{self, Counter, Scope};
    let limits = &ctx.settings.login_limits;
    let counters = [
        Counter {
            scope: Scope::StaffAddress,
            subject: source.to_string(),
            limit: limits.per_address,
        },
        Counter {
            scope: Scope::StaffAccount,
            subject: hash_token(&email.trim().to_lowercase()),
            limit: limits.per_staff_account,
        },
    ];
    if login_limits::reached(ctx, &counters).await? {
        return Ok(LoginOutcome::TooManyAttempts);
    }
    match verify_login(&ctx.db, email, password).await? {
        Some(user) => Ok(LoginOutcome::LoggedIn(user)),
        None => {
            login_limits::record_failure(ctx, &counters).await?;
            Ok(LoginOutcome::Refused)
        }
    }
}

/// A new session: the token goes to the browser, only its hash is stored.
pub struct NewSession {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

pub async fn create_session(
    db: &DatabaseConnection,
    user: &staff_user::Model,
    now: DateTime<Utc>,
) -> DomainResult<NewSession> {
    let token = random_token();
    let expires_at = now + SESSION_TTL;
    let tx = begin_write(db).await?;
    // Sweep this account's expired sessions so the table does not grow forever.
    staff_session::Entity::delete_many()
        .filter(staff_session::Column::StaffUserId.eq(user.id))
        .filter(staff_session::Column::ExpiresAt.lte(now))
        .exec(&tx)
        .await?;
    staff_session::ActiveModel {
        staff_user_id: Set(user.id),
        studio_id: Set(user.studio_id),
        token_hash: Set(hash_token(&token)),
        csrf_secret: Set(random_token()),
        created_at: Set(now),
        expires_at: Set(expires_at),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    tx.commit().await?;
    tracing::info!(
        studio_id = user.studio_id,
        staff_user_id = user.id,
        "staff logged in"
    );
    Ok(NewSession { token, expires_at })
}

/// Who a valid, unexpired session token belongs to. (No `Debug`: it holds
/// the session's CSRF secret, which must not reach a log.)
#[derive(Clone)]
pub struct StaffSession {
    pub staff_user_id: i64,
    /// Every dashboard query is scoped to this studio.
    pub studio_id: i64,
    pub email: String,
    pub expires_at: DateTime<Utc>,
    csrf_secret: String,
}

impl StaffSession {
    /// The CSRF token this session's forms carry.
    pub fn csrf_token(&self, secret: &AppSecret) -> String {
        secret.sign(CSRF_PURPOSE, &self.csrf_secret)
    }

    pub fn csrf_ok(&self, secret: &AppSecret, token: &str) -> bool {
        secret.verify(CSRF_PURPOSE, &self.csrf_secret, token)
    }
}

/// The CSRF token of the login form, bound to a random nonce kept in a
/// cookie (signed double submit: a forged form has neither the nonce nor the
/// secret to sign it).
pub fn login_csrf_token(secret: &AppSecret, nonce: &str) -> String {
    secret.sign("dashboard-login-csrf", nonce)
}

pub fn login_csrf_ok(secret: &AppSecret, nonce: &str, token: &str) -> bool {
    !nonce.is_empty() && secret.verify("dashboard-login-csrf", nonce, token)
}

pub async fn lookup_session(
    db: &DatabaseConnection,
    token: &str,
    now: DateTime<Utc>,
) -> DomainResult<Option<StaffSession>> {
    if token.is_empty() {
        return Ok(None);
    }
    let Some(session) = staff_session::Entity::find()
        .filter(staff_session::Column::TokenHash.eq(hash_token(token)))
        .filter(staff_session::Column::ExpiresAt.gt(now))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let Some(user) = staff_user::Entity::find_by_id(session.staff_user_id)
        .filter(staff_user::Column::StudioId.eq(session.studio_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(StaffSession {
        staff_user_id: user.id,
        studio_id: session.studio_id,
        email: user.email,
        expires_at: session.expires_at,
        csrf_secret: session.csrf_secret,
    }))
}

/// Ends a session (logout); an unknown token is a no-op.
pub async fn revoke_session(db: &DatabaseConnection, token: &str) -> DomainResult<()> {
    staff_session::Entity::delete_many()
        .filter(staff_session::Column::TokenHash.eq(hash_token(token)))
        .exec(db)
        .await?;
    Ok(())
}
