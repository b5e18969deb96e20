//! The staff dashboard over HTTP (a cookie-keeping client, as a browser
//! would be) and in a real headless Chromium.

use crate::metrics::{Spec, insert, pay, t};
use entity::enums::{InvoiceStatus, PaymentStatus};
use entity::{staff_session, studio};
use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use std::path::PathBuf;
use std::time::Duration;
use tests::{Backend, TestApp, spawn_app, spawn_app_with};

on_both_backends!(
    staff_login_refuses_bad_credentials_and_forged_forms,
    the_dashboard_shows_the_figures_of_a_seeded_history_to_its_own_studio_only,
    logging_out_ends_the_session_on_the_server,
    failed_logins_are_limited_per_address_and_per_account,
);

const PASSWORD: &str = "correct horse battery";

/// A browser-like client: keeps cookies, does not follow redirects.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn hidden_csrf(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a csrf field") + marker.len();
    html[start..].split('"').next().expect("value").to_string()
}

async fn login_form(app: &TestApp, client: &reqwest::Client) -> String {
    let page = client
        .get(format!("{}/dashboard/login", app.address))
        .send()
        .await
        .expect("login page");
    assert_eq!(page.status(), StatusCode::OK);
    hidden_csrf(&page.text().await.expect("html"))
}

async fn post_login(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
    password: &str,
    csrf: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![("email", email), ("password", password)];
    if let Some(csrf) = csrf {
        form.push(("csrf", csrf));
    }
    client
        .post(format!("{}/dashboard/login", app.address))
        .form(&form)
        .send()
        .await
        .expect("login")
}

/// Opens the login page and logs in; returns the client holding the session.
async fn logged_in(app: &TestApp, email: &str) -> reqwest::Client {
    let client = browser();
    let csrf = login_form(app, &client).await;
    let response = post_login(app, &client, email, PASSWORD, Some(&csrf)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "login of {email}");
    client
}

async fn dashboard(app: &TestApp, client: &reqwest::Client, query: &str) -> (StatusCode, String) {
    let response = client
        .get(format!("{}/dashboard{query}", app.address))
        .send()
        .await
        .expect("dashboard");
    (response.status(), response.text().await.expect("html"))
}

async fn studio_with_staff(app: &TestApp, name: &str, email: &str) -> (String, i64) {
    let key = app.create_studio(name).await;
    let studio = domain::studio::studios::authenticate(&app.ctx.db, &key, app.ctx.clock.now())
        .await
        .expect("lookup")
        .expect("studio");
    domain::studio::staff::create_staff(
        &app.ctx.db,
        studio.id,
        email,
        PASSWORD,
        app.ctx.clock.now(),
    )
    .await
    .expect("staff");
    (key, studio.id)
}

async fn staff_login_refuses_bad_credentials_and_forged_forms(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    studio_with_staff(&app, "Golden Hour", "owner@golden.example").await;
    let client = browser();

    // Logged out, the dashboard sends visitors to the login page.
    let response = client
        .get(format!("{}/dashboard", app.address))
        .send()
        .await
        .expect("dashboard");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/dashboard/login");

    // A wrong password and an unknown email get the same answer.
    let csrf = login_form(&app, &client).await;
    let generic = "That email and password do not match an account.";
    for (email, password) in [
        ("owner@golden.example", "not the password"),
        ("nobody@golden.example", PASSWORD),
    ] {
        let response = post_login(&app, &client, email, password, Some(&csrf)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().get_all(SET_COOKIE).iter().all(|c| {
            !c.to_str()
                .unwrap_or_default()
                .starts_with("dashboard_session=")
        }));
        let html = response.text().await.expect("html");
        assert!(html.contains(generic), "{html}");
        assert!(!html.contains("nobody") || html.contains("value=\"nobody@golden.example\""));
    }

    // No CSRF token, a forged one, or a valid token without its cookie: 403.
    let response = post_login(&app, &client, "owner@golden.example", PASSWORD, None).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response
            .text()
            .await
            .expect("html")
            .contains("This form has expired")
    );
    let forged = "00".repeat(32);
    let response = post_login(
        &app,
        &client,
        "owner@golden.example",
        PASSWORD,
        Some(&forged),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let stranger = browser();
    let response = post_login(
        &app,
        &stranger,
        "owner@golden.example",
        PASSWORD,
        Some(&csrf),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        staff_session::Entity::find()
            .all(&app.ctx.db)
            .await
            .expect("sessions")
            .len(),
        0,
        "no refused login made a session"
    );

    // The right password: a session cookie with every protective flag.
    let response = post_login(&app, &client, "Owner@Golden.example", PASSWORD, Some(&csrf)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/dashboard");
    let cookie = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|c| c.to_str().ok())
        .find(|c| c.starts_with("dashboard_session="))
        .expect("session cookie")
        .to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/dashboard"), "{cookie}");
    assert!(cookie.contains("Max-Age=43200"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http here: {cookie}");
    let token = cookie
        .trim_start_matches("dashboard_session=")
        .split(';')
        .next()
        .expect("value");
    assert!(token.len() >= 43, "256 random bits");
    // Stored hashed, expiring in 12 hours.
    let sessions = staff_session::Entity::find()
        .all(&app.ctx.db)
        .await
        .expect("sessions");
    assert_eq!(sessions.len(), 1);
    assert_eq!(
        sessions[0].token_hash,
        domain::infra::secrets::hash_token(token)
    );
    assert_ne!(sessions[0].token_hash, token);
    let ttl = sessions[0].expires_at - chrono::Utc::now();
    assert!(ttl > chrono::Duration::hours(11) && ttl <= chrono::Duration::hours(12));

    let (status, html) = dashboard(&app, &client, "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Financial dashboard"));
    assert!(html.contains("owner@golden.example"));
    // Logged in, the login page sends staff to the dashboard.
    let response = client
        .get(format!("{}/dashboard/login", app.address))
        .send()
        .await
        .expect("login page");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    // An expired session is no session.
    let mut expired: staff_session::ActiveModel = sessions[0].clone().into();
    expired.expires_at = Set(chrono::Utc::now() - chrono::Duration::seconds(1));
    expired.update(&app.ctx.db).await.expect("expire");
    let (status, _) = dashboard(&app, &client, "").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

/// The history of `metrics.rs` (studio in New York), plus another studio's
/// large open invoice that must never show.
async fn seed_history(app: &TestApp) -> (i64, i64) {
    let (key, sid) = studio_with_staff(app, "Golden Hour", "owner@golden.example").await;
    let (other_key, other) = studio_with_staff(app, "Elsewhere", "staff@elsewhere.example").await;
    let studio = studio::Entity::find_by_id(sid)
        .one(&app.ctx.db)
        .await
        .expect("studio")
        .expect("studio");
    let mut ny: studio::ActiveModel = studio.into();
    ny.time_zone = Set("America/New_York".into());
    ny.update(&app.ctx.db).await.expect("tz");
    let cid: i64 = app
        .create_client(&key, "Ava Martinez", "ava@example.com", "INVOICE")
        .await
        .parse()
        .expect("id");
    let other_client: i64 = app
        .create_client(&other_key, "Zoe Other", "zoe@example.com", "INVOICE")
        .await
        .parse()
        .expect("id");
    use InvoiceStatus::*;
    let specs = [
        // A: paid 4 days after issue, emailed after 120 s.
        (
            "Wedding",
            "2026-02-01T10:00:00Z",
            "2026-02-01T10:00:30Z",
            "2026-02-15",
            Some("2026-02-01T10:02:00Z"),
            Some("2026-02-05T10:00:30Z"),
            Paid,
            100_000,
        ),
        // B: auto-pay after 60 s.
        (
            "",
            "2026-02-10T09:00:00Z",
            "2026-02-10T09:00:10Z",
            "2026-02-24",
            None,
            Some("2026-02-10T09:01:00Z"),
            Paid,
            50_000,
        ),
        // C: paid 10 days after issue.
        (
            "Portrait",
            "2026-02-03T12:00:00Z",
            "2026-02-03T12:00:05Z",
            "2026-02-17",
            Some("2026-02-03T12:10:00Z"),
            Some("2026-02-13T12:00:05Z"),
            Paid,
            20_000,
        ),
        // D: open, due on the period's last day: not overdue yet.
        (
            "Wedding",
            "2026-02-20T08:00:00Z",
            "2026-02-20T08:00:05Z",
            "2026-02-28",
            Some("2026-02-20T08:05:00Z"),
            None,
            Open,
            30_000,
        ),
        // E: issued in January, due Jan 15: 44 days overdue on Feb 28.
        (
            "",
            "2026-01-10T10:00:00Z",
            "2026-01-10T10:00:05Z",
            "2026-01-15",
            Some("2026-01-10T10:01:00Z"),
            None,
            Open,
            45_000,
        ),
        // F: void.
        (
            "",
            "2026-02-11T10:00:00Z",
            "2026-02-11T10:00:05Z",
            "2026-02-25",
            None,
            None,
            Void,
            99_000,
        ),
        // H: paid in January.
        (
            "Wedding",
            "2026-01-19T10:00:00Z",
            "2026-01-19T10:00:00Z",
            "2026-02-02",
            None,
            Some("2026-01-20T10:00:00Z"),
            Paid,
            70_000,
        ),
        // I: paid Feb 28, 20:00 in New York (March 1 in UTC).
        (
            "Wedding",
            "2026-02-25T09:59:00Z",
            "2026-02-25T10:00:00Z",
            "2026-03-11",
            None,
            Some("2026-03-01T01:00:00Z"),
            Paid,
            10_000,
        ),
    ];
    for (n, (package, completed, issued, due, emailed, paid, status, total)) in
        specs.into_iter().enumerate()
    {
        let id = insert(
            app,
            sid,
            cid,
            n + 1,
            Spec {
                package: (!package.is_empty()).then_some(package),
                completed,
                issued,
                due,
                emailed,
                paid,
                status,
                total,
            },
        )
        .await;
        if n == 3 {
            pay(
                app,
                sid,
                id,
                total,
                t("2026-02-21T10:00:00Z"),
                PaymentStatus::Failed,
            )
            .await;
        }
    }
    insert(
        app,
        other,
        other_client,
        1,
        Spec {
            package: Some("Wedding"),
            completed: "2026-02-02T10:00:00Z",
            issued: "2026-02-02T10:00:00Z",
            due: "2026-02-03",
            emailed: None,
            paid: None,
            status: Open,
            total: 1_000_000,
        },
    )
    .await;
    (sid, other)
}

/// The text of the element with `id` (up to its closing `</div>` pair is
/// enough for the cards: they hold no nested cards).
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("#{id} on the page"));
    let rest = &html[start..];
    let end = rest.find("class=\"card").unwrap_or(rest.len());
    &rest[..end]
}

const PERIOD: &str = "?from=2026-02-01&to=2026-02-28";

async fn the_dashboard_shows_the_figures_of_a_seeded_history_to_its_own_studio_only(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    seed_history(&app).await;
    let owner = logged_in(&app, "owner@golden.example").await;
    let (status, html) = dashboard(&app, &owner, PERIOD).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Golden Hour"));
    assert!(html.contains("February 1, 2026 – February 28, 2026"));

    // Collected: A + B + C in February, I on Feb 28 in New York.
    assert!(section(&html, "kpi-revenue").contains("USD 1,800.00"));
    // Outstanding: D (current) + E (overdue).
    let outstanding = section(&html, "kpi-outstanding");
    assert!(outstanding.contains("USD 750.00"), "{outstanding}");
    assert!(outstanding.contains("USD 450.00"), "{outstanding}");
    assert!(
        outstanding.contains(" overdue</span> in 1 invoice<"),
        "{outstanding}"
    );
    // Processing [60, 120, 300, 600, 313260] s: median 300 s, p90 313260 s.
    let processing = section(&html, "kpi-processing");
    assert!(processing.contains(">5 min<"), "{processing}");
    assert!(processing.contains("p90 3 d 15 h"), "{processing}");
    assert!(processing.contains("5 invoices"), "{processing}");
    // Collection [50 s, 3.625 d, 4 d, 10 d]: average 4.41 d, median 3.81 d.
    let collection = section(&html, "kpi-collection");
    assert!(collection.contains(">4.41 days<"), "{collection}");
    assert!(collection.contains("median 3.81 days"), "{collection}");
    assert!(collection.contains("4 paid"), "{collection}");
    // Completion: A B C I paid out of A B C D I.
    let completion = section(&html, "completion");
    assert!(completion.contains(">80%<"), "{completion}");
    assert!(
        completion.contains("stroke-dasharray=\"80 100\""),
        "{completion}"
    );
    assert!(
        completion.contains("<strong>4</strong> of <strong>5</strong>"),
        "{completion}"
    );
    // Revenue chart: February and March (UTC) bars with exact tooltips.
    assert!(
        html.contains("<title>Feb ’26: USD 1,700.00</title>"),
        "{html}"
    );
    assert!(
        html.contains("<title>Mar ’26: USD 100.00</title>"),
        "{html}"
    );
    // Aging on Feb 28.
    let aging = section(&html, "aging");
    assert!(
        aging.contains("<title>Not yet due: USD 300.00 1 invoice</title>"),
        "{aging}"
    );
    assert!(
        aging.contains("<title>31–60 days late: USD 450.00 1 invoice</title>"),
        "{aging}"
    );
    assert!(
        aging.contains("<title>1–30 days late: USD 0.00 0 invoices</title>"),
        "{aging}"
    );
    // Revenue by package, largest first.
    let packages = section(&html, "packages");
    let wedding = packages.find("Wedding: USD 1,100.00").expect("wedding");
    let none = packages.find("No package: USD 500.00").expect("no package");
    let portrait = packages.find("Portrait: USD 200.00").expect("portrait");
    assert!(wedding < none && none < portrait);
    // Shares of 1,800.00 rounded to add up to 100 % (61.1 / 27.8 / 11.1:
    // rounded down they would make 99 %).
    for share in [
        "Wedding: USD 1,100.00 61%",
        "No package: USD 500.00 28%",
        "Portrait: USD 200.00 11%",
    ] {
        assert!(packages.contains(share), "{share}: {packages}");
    }

    // Overdue on Feb 28: only E.
    let overdue = &html[html.find("id=\"overdue\"").expect("overdue table")..];
    let overdue = &overdue[..overdue.find("</table>").expect("end")];
    assert!(overdue.contains(
        "<td>M-1-5</td><td class=\"client\">Ava Martinez</td><td>Jan 15, 2026</td><td class=\"num late\">44</td><td class=\"num\">USD 450.00</td>"
    ), "{overdue}");
    assert_eq!(overdue.matches("<tr>").count(), 2, "header + E");
    // Recent: issued in the period, newest first, void included with its badge.
    let recent = &html[html.find("id=\"recent\"").expect("recent table")..];
    let recent = &recent[..recent.find("</table>").expect("end")];
    let order: Vec<usize> = ["M-1-8", "M-1-4", "M-1-6", "M-1-2", "M-1-3", "M-1-1"]
        .iter()
        .map(|n| {
            recent
                .find(&format!("<td>{n}</td>"))
                .unwrap_or_else(|| panic!("{n} in {recent}"))
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{recent}");
    assert!(!recent.contains("M-1-5") && !recent.contains("M-1-7"));
    assert!(recent.contains("<span class=\"badge VOID\">VOID</span>"));
    assert!(recent.contains("<span class=\"badge OPEN\">OPEN</span>"));
    assert!(recent.contains("<span class=\"badge PAID\">PAID</span>"));

    // Nothing of the other studio.
    assert!(!html.contains("M-2-1"));
    assert!(!html.contains("Zoe Other"));
    assert!(!html.contains("10,000.00"));

    // Its staff sees its own invoice and none of the first studio's.
    let other = logged_in(&app, "staff@elsewhere.example").await;
    let (status, html) = dashboard(&app, &other, PERIOD).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Elsewhere"));
    assert!(html.contains("M-2-1") && html.contains("Zoe Other"));
    assert!(section(&html, "kpi-outstanding").contains("USD 10,000.00"));
    assert!(!html.contains("M-1-"));
    assert!(!html.contains("Ava Martinez"));
    assert!(section(&html, "kpi-revenue").contains("USD 0.00"));

    // A period that does not parse gets a clear message.
    let (status, html) = dashboard(&app, &owner, "?from=2026-02-30&to=2026-01-01").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        html.contains("`2026-02-30` is not a date like 2026-01-31"),
        "{html}"
    );
    let (status, html) = dashboard(&app, &owner, "?from=2026-03-01&to=2026-02-01").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("the end date must not be before the start date"));
    // The default period (the last 12 months) renders too.
    let (status, _) = dashboard(&app, &owner, "").await;
    assert_eq!(status, StatusCode::OK);
}

async fn logging_out_ends_the_session_on_the_server(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    studio_with_staff(&app, "Golden Hour", "owner@golden.example").await;
    let client = logged_in(&app, "owner@golden.example").await;
    let (_, html) = dashboard(&app, &client, "").await;
    let csrf = hidden_csrf(&html);
    let sessions = staff_session::Entity::find()
        .all(&app.ctx.db)
        .await
        .expect("sessions")
        .len();
    assert_eq!(sessions, 1);

    // Logout without the session's CSRF token is refused and changes nothing.
    for forged in ["", "abcd"] {
        let response = client
            .post(format!("{}/dashboard/logout", app.address))
            .form(&[("csrf", forged)])
            .send()
            .await
            .expect("logout");
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    let (status, _) = dashboard(&app, &client, "").await;
    assert_eq!(status, StatusCode::OK);

    let raw = staff_session::Entity::find()
        .all(&app.ctx.db)
        .await
        .expect("sessions")[0]
        .token_hash
        .clone();

    let response = client
        .post(format!("{}/dashboard/logout", app.address))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("logout");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[LOCATION],
        "/dashboard/login?logged_out=1"
    );
    let cleared = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|c| c.to_str().ok())
        .find(|c| c.starts_with("dashboard_session="))
        .expect("cookie cleared")
        .to_string();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // The row is gone on the server: a copy of the old cookie is worthless.
    assert!(
        staff_session::Entity::find()
            .all(&app.ctx.db)
            .await
            .expect("sessions")
            .iter()
            .all(|s| s.token_hash != raw)
    );
    let (status, _) = dashboard(&app, &client, "").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let page = client
        .get(format!("{}/dashboard/login?logged_out=1", app.address))
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("html");
    assert!(page.contains("You are logged out."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_session_cookie_is_refused_after_logout() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    studio_with_staff(&app, "Golden Hour", "owner@golden.example").await;
    let client = browser();
    let csrf = login_form(&app, &client).await;
    let response = post_login(&app, &client, "owner@golden.example", PASSWORD, Some(&csrf)).await;
    let token = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|c| c.to_str().ok())
        .find_map(|c| c.strip_prefix("dashboard_session="))
        .and_then(|c| c.split(';').next())
        .expect("session cookie")
        .to_string();
    let (_, html) = dashboard(&app, &client, "").await;
    let response = client
        .post(format!("{}/dashboard/logout", app.address))
        .form(&[("csrf", hidden_csrf(&html))])
        .send()
        .await
        .expect("logout");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // An attacker who copied the cookie before the logout gets nothing.
    let replay = app
        .http
        .get(format!("{}/dashboard", app.address))
        .header("cookie", format!("dashboard_session={token}"))
        .send()
        .await
        .expect("replay");
    assert_eq!(replay.status(), StatusCode::SEE_OTHER);
    assert_eq!(replay.headers()[LOCATION], "/dashboard/login");
}

/// A staff login from `from` (through the trusted proxy's header) at `base`.
async fn post_login_from(
    base: &str,
    client: &reqwest::Client,
    from: &str,
    email: &str,
    password: &str,
    csrf: &str,
) -> StatusCode {
    client
        .post(format!("{base}/dashboard/login"))
        .header("x-forwarded-for", from)
        .form(&[("email", email), ("password", password), ("csrf", csrf)])
        .send()
        .await
        .expect("login")
        .status()
}

/// Counted in the database: an attacker's address is locked out after its
/// threshold on every api process, the owner from another address still
/// logs in until the (higher) per-account threshold, and another account
/// is not affected by that.
async fn failed_logins_are_limited_per_address_and_per_account(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| {
        s.http.trusted_proxies = "127.0.0.1".into();
        s.login_limits.per_address = 3;
        s.login_limits.per_staff_account = 5;
    })
    .await
    else {
        return;
    };
    let mut settings = (*app.ctx.settings).clone();
    settings.http.port = 0;
    settings.worker.in_process = Some(false);
    let second = api::Application::build(settings).await.expect("second api");
    let other = format!("http://127.0.0.1:{}", second.port());
    tokio::spawn(second.run_until_stopped());
    let (_, sid) = studio_with_staff(&app, "Golden Hour", "owner@golden.example").await;
    domain::studio::staff::create_staff(
        &app.ctx.db,
        sid,
        "second@golden.example",
        PASSWORD,
        app.ctx.clock.now(),
    )
    .await
    .expect("second staff");
    let client = browser();
    let csrf = login_form(&app, &client).await;
    let here = app.address.as_str();
    let owner = "owner@golden.example";
    let attacker = "203.0.113.7";
    for (base, email) in [
        (here, owner),
        (other.as_str(), owner),
        (here, "nobody@x.example"),
    ] {
        let status = post_login_from(base, &client, attacker, email, "wrong password", &csrf).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{base} {email}");
    }
    // The address is locked out on both processes, for every account, even
    // with the right password, with a clear page.
    for (base, email) in [(here, owner), (other.as_str(), "second@golden.example")] {
        let response = client
            .post(format!("{base}/dashboard/login"))
            .header("x-forwarded-for", attacker)
            .form(&[
                ("email", email),
                ("password", PASSWORD),
                ("csrf", csrf.as_str()),
            ])
            .send()
            .await
            .expect("login");
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let html = response.text().await.expect("html");
        assert!(html.contains("Too many failed attempts"), "{html}");
        assert!(html.contains("15 minutes"));
    }
    // The owner, from the office, logs in (2 failures of 5 on the account).
    let office = "198.51.100.2";
    assert_eq!(
        post_login_from(&other, &browser(), office, owner, PASSWORD, &csrf).await,
        StatusCode::FORBIDDEN,
        "a fresh browser has no nonce cookie: the CSRF check still comes first"
    );
    assert_eq!(
        post_login_from(here, &client, office, owner, PASSWORD, &csrf).await,
        StatusCode::SEE_OTHER
    );
    // Attackers from two more addresses bring the account to 5: then the
    // account is paused from everywhere, while another account is not.
    let client = browser();
    let csrf = login_form(&app, &client).await;
    for from in ["203.0.113.8", "203.0.113.8", "203.0.113.9"] {
        let status = post_login_from(here, &client, from, owner, "wrong", &csrf).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{from}");
    }
    assert_eq!(
        post_login_from(here, &client, office, owner, PASSWORD, &csrf).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        post_login_from(
            here,
            &client,
            "192.0.2.10",
            "second@golden.example",
            PASSWORD,
            &csrf
        )
        .await,
        StatusCode::SEE_OTHER
    );
    // The table holds no typed email addresses, only their hashes.
    let rows = entity::login_failure::Entity::find()
        .all(&app.ctx.db)
        .await
        .expect("rows");
    assert!(rows.iter().all(|r| !r.subject.contains('@')), "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cookie_is_secure_behind_https() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |s| {
        s.http.public_url = Some("https://studio.example".into());
    })
    .await
    else {
        return;
    };
    studio_with_staff(&app, "Golden Hour", "owner@golden.example").await;
    // No cookie store: a plain-http client would (rightly) not keep a
    // Secure cookie, so send the nonce by hand as a browser on https would.
    let client = &app.http;
    let page = client
        .get(format!("{}/dashboard/login", app.address))
        .send()
        .await
        .expect("login page");
    let nonce = page
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|c| c.to_str().ok())
        .find(|c| c.starts_with("dashboard_login_nonce="))
        .expect("nonce cookie")
        .to_string();
    assert!(nonce.contains("Secure"), "{nonce}");
    let value = nonce.split(';').next().expect("pair").to_string();
    let csrf = hidden_csrf(&page.text().await.expect("html"));
    let response = client
        .post(format!("{}/dashboard/login", app.address))
        .header("cookie", value)
        .form(&[
            ("email", "owner@golden.example"),
            ("password", PASSWORD),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|c| c.to_str().ok())
        .find(|c| c.starts_with("dashboard_session="))
        .expect("session cookie")
        .to_string();
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
}

/// The Chromium to drive: `CHROME` or `CHROMIUM`, else the first of the usual
/// names on `PATH`.
fn chromium() -> Option<PathBuf> {
    for var in ["CHROME", "CHROMIUM"] {
        if let Some(path) = std::env::var_os(var).filter(|p| !p.is_empty()) {
            return Some(PathBuf::from(path));
        }
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find_map(|dir| {
        ["chromium", "chromium-browser", "google-chrome"]
            .iter()
            .map(|name| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// Where test artifacts go: `<target dir>/test-artifacts`, never committed.
fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")));
    target.join("test-artifacts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_browser_logs_in_and_sees_the_dashboard() {
    use chromiumoxide::browser::{Browser, BrowserConfig};
    use chromiumoxide::handler::viewport::Viewport;
    use chromiumoxide::page::ScreenshotParams;
    use futures::StreamExt;

    let Some(binary) = chromium() else {
        let required = std::env::var("REQUIRE_SERVICES").is_ok_and(|v| !v.is_empty() && v != "0");
        assert!(
            !required,
            "Chromium is required (REQUIRE_SERVICES is set) but neither CHROME, CHROMIUM nor `chromium` on PATH was found; install it with `apt-get install chromium`"
        );
        eprintln!("skipping: no Chromium found (set CHROME or install `chromium`)");
        return;
    };
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    seed_history(&app).await;
    let profile = tempfile::tempdir().expect("profile dir");
    let config = BrowserConfig::builder()
        .chrome_executable(&binary)
        .no_sandbox()
        .user_data_dir(profile.path())
        .window_size(1280, 1000)
        .viewport(Viewport {
            width: 1280,
            height: 1000,
            device_scale_factor: Some(1.0),
            emulating_mobile: false,
            is_landscape: true,
            has_touch: false,
        })
        .arg("--disable-dev-shm-usage")
        .arg("--disable-gpu")
        .build()
        .expect("browser config");
    let (mut browser, mut handler) = Browser::launch(config)
        .await
        .unwrap_or_else(|e| panic!("launch {}: {e}", binary.display()));
    // Drive the CDP connection; an event this crate does not know is not fatal.
    let driver = tokio::spawn(async move { while handler.next().await.is_some() {} });

    let page = browser
        .new_page(format!("{}/dashboard", app.address))
        .await
        .expect("new page");
    // Logged out: redirected to the login form.
    let url = wait_for_url(&page, "/dashboard/login").await;
    assert!(url.ends_with("/dashboard/login"), "{url}");
    let dir = artifacts_dir();
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    page.save_screenshot(
        ScreenshotParams::builder().build(),
        dir.join("dashboard-login.png"),
    )
    .await
    .expect("login screenshot");
    page.find_element("#email")
        .await
        .expect("email field")
        .click()
        .await
        .expect("focus")
        .type_str("owner@golden.example")
        .await
        .expect("type");
    page.find_element("#password")
        .await
        .expect("password field")
        .click()
        .await
        .expect("focus")
        .type_str(PASSWORD)
        .await
        .expect("type");
    page.find_element("button[type=submit]")
        .await
        .expect("button")
        .click()
        .await
        .expect("submit");
    wait_for_url(&page, "/dashboard").await;
    page.goto(format!("{}/dashboard{PERIOD}", app.address))
        .await
        .expect("open the period");
    let url = wait_for_url(&page, PERIOD).await;
    assert!(url.ends_with(PERIOD), "{url}");
    let html = page.content().await.expect("content");
    assert!(html.contains("USD 1,800.00"), "{html}");
    assert!(html.contains("M-1-5"));

    // A year to look at for the screenshot (January to March have payments).
    let year = "?from=2025-03-01&to=2026-02-28";
    page.goto(format!("{}/dashboard{year}", app.address))
        .await
        .expect("open the year");
    wait_for_url(&page, year).await;
    let html = page.content().await.expect("content");
    assert!(html.contains("USD 2,500.00"), "{html}");

    let path = dir.join("dashboard.png");
    let png = page
        .save_screenshot(ScreenshotParams::builder().full_page(true).build(), &path)
        .await
        .expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    eprintln!("dashboard screenshot: {}", path.display());

    // The same page on a 390 px phone: nothing wider than the screen.
    use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
    page.execute(SetDeviceMetricsOverrideParams::new(390, 844, 1.0, true))
        .await
        .expect("a 390 px phone");
    page.reload().await.expect("reload");
    wait_for_url(&page, year).await;
    let width = page
        .evaluate("[window.innerWidth, document.documentElement.scrollWidth]")
        .await
        .expect("measure")
        .into_value::<Vec<i64>>()
        .expect("numbers");
    page.save_screenshot(
        ScreenshotParams::builder().full_page(true).build(),
        dir.join("dashboard-390.png"),
    )
    .await
    .expect("screenshot");
    assert_eq!(width, vec![390, 390], "[viewport, page] width on a phone");

    let _ = browser.close().await;
    let _ = browser.wait().await;
    driver.abort();
}

/// Waits (at most 20 s) until the page's URL ends with `suffix`.
async fn wait_for_url(page: &chromiumoxide::Page, suffix: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let url = page.url().await.ok().flatten().unwrap_or_default();
        let ready = page
            .evaluate("document.readyState")
            .await
            .ok()
            .and_then(|r| r.into_value::<String>().ok())
            .is_some_and(|s| s == "complete");
        if url.ends_with(suffix) && ready {
            return url;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the page stayed on {url} instead of …{suffix}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
