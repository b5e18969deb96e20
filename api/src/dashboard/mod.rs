//! The studio's financial dashboard: staff login and logout, and the page.
//!
//! - `GET /dashboard/login` sets a random nonce cookie and renders the form
//!   with `HMAC(secret, nonce)` (signed double submit); `POST` checks it,
//!   the failed-login limit (per source address and per account, counted in
//!   the database: `domain::studio::staff::attempt_login`), then the password.
//! - A login sets the session cookie (`HttpOnly`, `SameSite=Lax`,
//!   `Path=/dashboard`, `Secure` behind https): a 256-bit random token whose
//!   SHA-256 the database keeps with the studio and the expiry.
//! - Every state-changing `POST` carries a CSRF token; a missing or wrong one
//!   is refused with 403 before anything else happens.
//! - `GET /dashboard` reads everything for the session's studio only.
//! - The studio comes from the session row only (never from the URL or a
//!   form), and every query filters by it, lists and client names included.
//! - The login form's CSRF token is `HMAC(secret, nonce)`, a session's
//!   `HMAC(secret, csrf_secret)`; both are compared in constant time.
//!   Sessions expire on the server (12 h) and logout deletes the row.

mod disputes;
mod view;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use domain::AppContext;
use domain::infra::secrets::random_token;
use domain::read::dashboard;
use domain::studio::staff::{self, StaffSession};
use serde::Deserialize;

pub const SESSION_COOKIE: &str = "dashboard_session";
pub const LOGIN_NONCE_COOKIE: &str = "dashboard_login_nonce";
const COOKIE_PATH: &str = "/dashboard";
const LOGIN_PATH: &str = "/dashboard/login";

/// The dashboard's pages and forms.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/dashboard", web::get().to(show))
        .route("/dashboard/login", web::get().to(login_page))
        .route("/dashboard/login", web::post().to(login))
        .route("/dashboard/logout", web::post().to(logout))
        .route(
            "/dashboard/disputes/{id}/submit",
            web::post().to(submit_dispute_evidence),
        )
        .route("/dashboard/steps/{id}/retry", web::post().to(retry_step));
}

fn secure(app: &AppContext) -> bool {
    app.settings.public_url().starts_with("https://")
}

fn cookie<'a>(
    app: &AppContext,
    name: &'a str,
    value: String,
    max_age: CookieDuration,
) -> Cookie<'a> {
    Cookie::build(name, value)
        .path(COOKIE_PATH)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure(app))
        .max_age(max_age)
        .finish()
}

fn expired_cookie<'a>(app: &AppContext, name: &'a str) -> Cookie<'a> {
    cookie(app, name, String::new(), CookieDuration::ZERO)
}

fn html(status: StatusCode, body: maud::Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("x-frame-options", "DENY"))
        .body(body.into_string())
}

fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

fn server_error(err: domain::DomainError) -> HttpResponse {
    tracing::error!(error = ?err, "dashboard error");
    html(
        StatusCode::INTERNAL_SERVER_ERROR,
        view::message_page(
            "Something went wrong",
            "The dashboard could not be loaded. Please try again in a moment.",
        ),
    )
}

fn forbidden() -> HttpResponse {
    html(
        StatusCode::FORBIDDEN,
        view::message_page(
            "This form has expired",
            "For your security the request was refused: the form was not sent from this dashboard, or it is too old. Nothing was changed. Go back to the dashboard, reload the page and try again.",
        ),
    )
}

/// The session behind the request's cookie, if it is valid and unexpired.
async fn current_session(
    app: &AppContext,
    req: &HttpRequest,
) -> Result<Option<(String, StaffSession)>, HttpResponse> {
    let Some(token) = req.cookie(SESSION_COOKIE).map(|c| c.value().to_string()) else {
        return Ok(None);
    };
    match staff::lookup_session(&app.db, &token, app.clock.now()).await {
        Ok(session) => Ok(session.map(|s| (token, s))),
        Err(err) => Err(server_error(err)),
    }
}

/// The staff session a form was POSTed in, its CSRF token checked: else
/// the login page (no session) or 403 (a forged form).
async fn staff_form(
    app: &AppContext,
    req: &HttpRequest,
    csrf: &str,
) -> Result<StaffSession, HttpResponse> {
    match current_session(app, req).await? {
        None => Err(redirect(LOGIN_PATH)),
        Some((_, session)) if session.csrf_ok(&app.secret, csrf) => Ok(session),
        Some(_) => Err(forbidden()),
    }
}

#[derive(Deserialize)]
pub struct LoginQuery {
    logged_out: Option<String>,
}

/// `GET /dashboard/login`.
pub async fn login_page(
    app: web::Data<AppContext>,
    req: HttpRequest,
    query: web::Query<LoginQuery>,
) -> HttpResponse {
    match current_session(&app, &req).await {
        Ok(Some(_)) => return redirect("/dashboard"),
        Ok(None) => {}
        Err(page) => return page,
    }
    let notice = query
        .logged_out
        .is_some()
        .then_some(view::Notice::Info("You are logged out."));
    login_form(&app, None, StatusCode::OK, "", notice)
}

/// The login form with the token signed over the nonce: the request's own
/// (already checked) nonce when the form is shown again after a failed
/// attempt, otherwise a fresh one set as a cookie.
fn login_form(
    app: &AppContext,
    nonce: Option<&str>,
    status: StatusCode,
    email: &str,
    notice: Option<view::Notice<'_>>,
) -> HttpResponse {
    let fresh = nonce.is_none().then(random_token);
    let nonce = nonce.or(fresh.as_deref()).unwrap_or_default();
    let csrf = staff::login_csrf_token(&app.secret, nonce);
    let mut response = html(status, view::login_page(email, &csrf, notice));
    if let Some(fresh) = fresh {
        // One hour to fill in the form; `add_cookie` only fails on invalid
        // header bytes, which a base64url value cannot contain.
        let _ = response.add_cookie(&cookie(
            app,
            LOGIN_NONCE_COOKIE,
            fresh,
            CookieDuration::hours(1),
        ));
    }
    response
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /dashboard/login`.
pub async fn login(
    app: web::Data<AppContext>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> HttpResponse {
    let nonce = req
        .cookie(LOGIN_NONCE_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    if !staff::login_csrf_ok(&app.secret, &nonce, &form.csrf) {
        return forbidden();
    }
    // The socket's address, or what a configured trusted proxy saw.
    let source = crate::source::login_source(&req, &app);
    let user = match staff::attempt_login(&app, &source, &form.email, &form.password).await {
        Ok(staff::LoginOutcome::LoggedIn(user)) => user,
        Ok(staff::LoginOutcome::TooManyAttempts) => {
            return login_form(
                &app,
                Some(&nonce),
                StatusCode::TOO_MANY_REQUESTS,
                &form.email,
                Some(view::Notice::Error(
                    "Too many failed attempts. For your security, logging in from here is paused for 15 minutes.",
                )),
            );
        }
        Ok(staff::LoginOutcome::Refused) => {
            return login_form(
                &app,
                Some(&nonce),
                StatusCode::UNAUTHORIZED,
                &form.email,
                Some(view::Notice::Error(
                    "That email and password do not match an account.",
                )),
            );
        }
        Err(err) => return server_error(err),
    };
    let session = match staff::create_session(&app.db, &user, app.clock.now()).await {
        Ok(session) => session,
        Err(err) => return server_error(err),
    };
    let mut response = redirect("/dashboard");
    let max_age = CookieDuration::seconds(staff::SESSION_TTL.num_seconds());
    let _ = response.add_cookie(&cookie(&app, SESSION_COOKIE, session.token, max_age));
    let _ = response.add_cookie(&expired_cookie(&app, LOGIN_NONCE_COOKIE));
    response
}

/// A form that carries only its CSRF token (logout, retry).
#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /dashboard/logout`: ends the session on the server, then the cookie.
pub async fn logout(
    app: web::Data<AppContext>,
    req: HttpRequest,
    form: web::Form<LogoutForm>,
) -> HttpResponse {
    let (token, session) = match current_session(&app, &req).await {
        Ok(Some(found)) => found,
        // Nothing to end: an expired or unknown session is already logged out.
        Ok(None) => return redirect(LOGIN_PATH),
        Err(page) => return page,
    };
    if !session.csrf_ok(&app.secret, &form.csrf) {
        return forbidden();
    }
    if let Err(err) = staff::revoke_session(&app.db, &token).await {
        return server_error(err);
    }
    let mut response = redirect("/dashboard/login?logged_out=1");
    let _ = response.add_cookie(&expired_cookie(&app, SESSION_COOKIE));
    response
}

/// `POST /dashboard/steps/{id}/retry`: the Retry button of a failing step.
/// The step must be the session's studio's (another studio's is not found).
pub async fn retry_step(
    app: web::Data<AppContext>,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<LogoutForm>,
) -> HttpResponse {
    let session = match staff_form(&app, &req, &form.csrf).await {
        Ok(session) => session,
        Err(page) => return page,
    };
    let Ok(id) = id.parse::<i64>() else {
        return html(
            StatusCode::NOT_FOUND,
            view::message_page("Step not found", "There is no such step."),
        );
    };
    match domain::workflow::failing_steps::retry(&app, session.studio_id, id).await {
        Ok(_) => redirect("/dashboard"),
        Err(domain::DomainError::User(problems)) => {
            refused("This step cannot be retried", &problems)
        }
        Err(err) => server_error(err),
    }
}

/// `POST /dashboard/disputes/{id}/submit`: sends a dispute's reviewed
/// evidence (the studio's own dispute; another studio's is not found).
pub async fn submit_dispute_evidence(
    app: web::Data<AppContext>,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<LogoutForm>,
) -> HttpResponse {
    let session = match staff_form(&app, &req, &form.csrf).await {
        Ok(session) => session,
        Err(page) => return page,
    };
    let studio = domain::kernel::ids::StudioId::new(session.studio_id);
    let result = match id.parse::<i64>() {
        Ok(id) => domain::billing::disputes::approve(&app, studio, id).await,
        Err(_) => Err(domain::UserError::not_found("disputeId", "dispute").into()),
    };
    match result {
        Ok(_) => redirect("/dashboard#disputes"),
        Err(domain::DomainError::User(problems)) => {
            refused("This evidence cannot be sent", &problems)
        }
        Err(err) => server_error(err),
    }
}

/// A refused action's page: 404 for what is not the studio's, else 409.
fn refused(title: &str, problems: &[domain::UserError]) -> HttpResponse {
    let not_found = problems
        .iter()
        .any(|p| p.code == domain::ErrorCode::NotFound);
    let message = problems
        .iter()
        .map(|p| p.message.clone())
        .collect::<Vec<_>>()
        .join("; ");
    html(
        if not_found {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::CONFLICT
        },
        view::message_page(title, &message),
    )
}

#[derive(Deserialize)]
pub struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

/// `GET /dashboard?from=YYYY-MM-DD&to=YYYY-MM-DD`.
pub async fn show(
    app: web::Data<AppContext>,
    req: HttpRequest,
    query: web::Query<PeriodQuery>,
) -> HttpResponse {
    let session = match current_session(&app, &req).await {
        Ok(Some((_, session))) => session,
        Ok(None) => return redirect(LOGIN_PATH),
        Err(page) => return page,
    };
    let csrf = session.csrf_token(&app.secret);
    match dashboard::load(
        &app.db,
        session.studio_id,
        query.from.as_deref(),
        query.to.as_deref(),
        app.clock.now(),
    )
    .await
    {
        Ok(Some(mut data)) => {
            domain::workflow::failing_steps::name_mail_server(
                &mut data.needs_attention,
                &app.settings,
            );
            html(
                StatusCode::OK,
                view::dashboard_page(&data, &session.email, &csrf),
            )
        }
        Ok(None) => redirect(LOGIN_PATH),
        Err(domain::DomainError::User(problems)) => html(
            StatusCode::BAD_REQUEST,
            view::bad_period(
                &session.email,
                &csrf,
                query.from.as_deref(),
                query.to.as_deref(),
                &problems,
            ),
        ),
        Err(err) => server_error(err),
    }
}
