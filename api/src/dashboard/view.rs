//! The dashboard's pages, server-rendered with maud; charts are inline SVG
//! whose coordinates are computed in integers (and `Decimal` for the rate).
//! Every amount shown in words is `domain::kernel::money::Money`'s display.

use crate::portal::STYLE_PAGE;
use domain::UserError;
use domain::kernel::money::{Currency, Minor};
use domain::read::dashboard::{Dashboard, InvoiceRow};
use domain::read::metrics::AgingBucket;
use domain::workflow::failing_steps::StepState;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use rust_decimal::Decimal;

const STYLE_DASHBOARD: &str = r#"
main.wide{max-width:1180px;margin:0 auto;padding:0 24px 48px}
.topbar{background:#2b2b2b;color:#f4f1ec;margin-bottom:28px}.topbar .inner{max-width:1180px;margin:0 auto;padding:14px 24px;display:flex;align-items:center;gap:16px}
.topbar .brand{font-family:Georgia,serif;letter-spacing:2px;text-transform:uppercase;font-size:14px}.topbar .sub{color:#b9ab9a;font-size:13px}
.topbar .spacer{flex:1}.topbar .who{color:#b9ab9a;font-size:13px}.topbar form{margin:0}
.topbar button{margin:0;width:auto;padding:7px 14px;background:transparent;border:1px solid #6b625a;color:#f4f1ec;font-size:13px;border-radius:5px}
.head{display:flex;align-items:flex-end;justify-content:space-between;gap:20px;flex-wrap:wrap;margin-bottom:18px}
.head h1{font-size:30px;margin:0}.head .meta{margin-top:4px}
form.period{display:flex;align-items:flex-end;gap:10px;margin:0}form.period label{margin:0 0 4px;font-size:12px}
form.period input{width:150px;padding:7px 8px;font-size:14px}form.period button{width:auto;margin:0;padding:8px 16px;font-size:14px}
.quick{font-size:13px;margin-top:6px;text-align:right}.quick a{color:#8a7560;margin-left:10px}
.grid{display:grid;gap:18px}.cards{grid-template-columns:repeat(4,1fr)}.two{grid-template-columns:3fr 2fr}.halves{grid-template-columns:1fr 1fr}
.card{padding:22px 24px;margin:0}.kpi .label{color:#8a7560;font-size:12px;font-weight:600;text-transform:uppercase;letter-spacing:.6px}
.kpi .value{font-size:26px;font-weight:600;margin:8px 0 4px;font-variant-numeric:tabular-nums;white-space:nowrap}
.kpi .detail{color:#777;font-size:13px}.kpi .value.warn{color:#a33a1f}
.section{margin-top:18px}h2{font-family:Georgia,serif;font-weight:normal;font-size:19px;margin:0 0 4px}.card .meta{margin:0 0 12px}
svg{display:block;width:100%;height:auto}svg text{font-family:inherit;font-size:13px;fill:#7a6f66}svg .value{fill:#2b2b2b;font-weight:600}
svg .big{font-size:26px;font-weight:700;fill:#2b2b2b}svg .small{font-size:12px;fill:#8a7560}
.ringwrap{display:flex;align-items:center;gap:24px;margin-top:18px}.ringwrap svg{width:168px;flex:none}.ringwrap .facts div{margin:6px 0;font-size:15px}.ringwrap .facts .meta{font-size:13px;margin-top:14px}
table.list{margin-top:4px;font-size:14px}table.list td,table.list th{padding:9px 8px}table.list th:first-child,table.list td:first-child{padding-left:0}
table.list tr:last-child td{border-bottom:none}table.list td{white-space:nowrap}table.list td.client{white-space:normal;width:30%}.late{color:#a33a1f;font-weight:600}.empty{color:#888;font-size:14px;padding:18px 0}
.badge{font-size:11px}.more{font-size:13px;color:#777;margin-top:8px}
#needs-attention{margin:0 0 18px;border-left:4px solid #a33a1f}#needs-attention form{margin:0}#needs-attention button{width:auto;margin:0;padding:6px 12px;font-size:13px}
.login{max-width:420px;margin:8vh auto 0}.login .studio{margin-bottom:8px}.alert.info{background:#eef3f8;color:#234a6b}
@media (max-width:900px){.cards{grid-template-columns:repeat(2,1fr)}.two,.halves{grid-template-columns:1fr}}
@media (max-width:600px){.grid>*{min-width:0}main.wide{padding:0 10px 32px}.topbar{margin-bottom:18px}.topbar .inner{padding:10px 12px;flex-wrap:wrap;gap:8px 12px}
.card{padding:16px}.kpi .value{font-size:21px}.head h1{font-size:25px}.head>div{min-width:0;max-width:100%}.quick{text-align:left}.quick a{margin:0 10px 0 0}
form.period{flex-wrap:wrap}form.period input{width:140px}.ringwrap{flex-wrap:wrap;justify-content:center}
table.list{display:block;overflow-x:auto;font-size:13px}table.list td,table.list th{padding:8px 5px}}
"#;

fn page(title: &str, top: Option<(&str, &str)>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) }
                style { (PreEscaped(STYLE_PAGE)) (PreEscaped(STYLE_DASHBOARD)) }
            }
            body {
                @if let Some((email, csrf)) = top {
                    div.topbar { div.inner {
                        span.brand { "Studio dashboard" }
                        span.spacer {}
                        span.who { "Signed in as " (email) }
                        form method="post" action="/dashboard/logout" {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" { "Log out" }
                        }
                    } }
                }
                main.wide { (crate::portal::test_mode_banner()) (body) }
            }
        }
    }
}

pub enum Notice<'a> {
    Info(&'a str),
    Error(&'a str),
}

pub fn login_page(email: &str, csrf: &str, notice: Option<Notice<'_>>) -> Markup {
    page(
        "Log in — Studio dashboard",
        None,
        html! {
            div.card.login {
                div.studio { "Studio dashboard" }
                h1 { "Log in" }
                p.meta { "Revenue, receivables and what is overdue, at a glance." }
                @match notice {
                    Some(Notice::Error(m)) => div.alert.error role="alert" { (m) },
                    Some(Notice::Info(m)) => div.alert.info role="status" { (m) },
                    None => {},
                }
                form method="post" action="/dashboard/login" {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="email" { "Email" }
                    input id="email" name="email" type="email" value=(email) autocomplete="username" required autofocus;
                    label for="password" { "Password" }
                    input id="password" name="password" type="password" autocomplete="current-password" required;
                    button type="submit" { "Log in" }
                }
            }
        },
    )
}

pub fn message_page(title: &str, message: &str) -> Markup {
    page(
        title,
        None,
        html! {
            div.card.login {
                div.studio { "Studio dashboard" }
                h1 { (title) }
                p.meta { (message) }
                p { a href="/dashboard" { "Back to the dashboard" } }
            }
        },
    )
}

pub fn bad_period(
    email: &str,
    csrf: &str,
    from: Option<&str>,
    to: Option<&str>,
    problems: &[UserError],
) -> Markup {
    page(
        "Financial dashboard",
        Some((email, csrf)),
        html! {
            div.card {
                h1 { "That period cannot be shown" }
                @for p in problems { div.alert.error role="alert" { (p.message) } }
                (period_form(from.unwrap_or(""), to.unwrap_or("")))
                p.meta { a href="/dashboard" { "Show the last 12 months" } }
            }
        },
    )
}

fn period_form(from: &str, to: &str) -> Markup {
    html! {
        form.period method="get" action="/dashboard" {
            div { label for="from" { "From" } input id="from" name="from" type="date" value=(from); }
            div { label for="to" { "To" } input id="to" name="to" type="date" value=(to); }
            button type="submit" { "Show" }
        }
    }
}

fn long_date(d: chrono::NaiveDate) -> String {
    d.format("%B %-d, %Y").to_string()
}

fn short_date(d: chrono::NaiveDate) -> String {
    d.format("%b %-d, %Y").to_string()
}

/// `340` -> `340 ms`, `1250` -> `1.3 s`, longer ones as `duration`: the
/// key metric is often under a second, which whole seconds showed as `0 s`.
pub fn duration_ms(ms: i64) -> String {
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        // Tenths of a second, rounded half up, in integers.
        let tenths = (ms + 50) / 100;
        format!("{}.{} s", tenths / 10, tenths % 10)
    } else {
        duration((ms + 500) / 1_000)
    }
}

/// `300` -> `5 min`, `313260` -> `3 d 15 h`: durations a person reads.
pub fn duration(seconds: i64) -> String {
    let (d, h, m) = (
        seconds / 86_400,
        seconds % 86_400 / 3_600,
        seconds % 3_600 / 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{seconds} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// A ratio 0..=1 as a percentage with at most one decimal: `0.8` -> `80%`.
pub fn percent(rate: Decimal) -> String {
    let p = (rate * Decimal::ONE_HUNDRED)
        .round_dp_with_strategy(1, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        .normalize();
    format!("{p}%")
}

/// Axis labels: whole major units, shortened (`1.7k`, `12k`, `1.2M`);
/// amounts under 10 major units keep their decimals (`2.5`).
fn compact(minor: i64, currency: Currency) -> String {
    let unit = 10_i64.pow(currency.exponent());
    if minor < 10 * unit {
        let exact = currency.to_decimal(Minor::new(minor));
        return exact.normalize().to_string();
    }
    let major = minor / unit;
    let short = |unit: i64, suffix: &str| {
        let (whole, tenth) = (major / unit, major % unit * 10 / unit);
        if whole >= 10 || tenth == 0 {
            format!("{whole}{suffix}")
        } else {
            format!("{whole}.{tenth}{suffix}")
        }
    };
    if major >= 1_000_000 {
        short(1_000_000, "M")
    } else if major >= 1_000 {
        short(1_000, "k")
    } else {
        major.to_string()
    }
}

/// A round axis step (1, 2 or 5 times a power of ten) so that four steps
/// cover `max`.
fn axis_step(max: i64) -> i64 {
    let quarter = (max + 3) / 4;
    let mut power = 1_i64;
    while power.saturating_mul(10) <= quarter {
        power = power.saturating_mul(10);
    }
    [1, 2, 5, 10]
        .iter()
        .map(|m| power.saturating_mul(*m))
        .find(|s| *s >= quarter)
        .unwrap_or(quarter)
        .max(1)
}

/// `value * length / max` without overflow, in whole SVG units.
fn scale(value: i64, length: i64, max: i64) -> i64 {
    if max <= 0 {
        return 0;
    }
    i64::try_from(i128::from(value.max(0)) * i128::from(length) / i128::from(max)).unwrap_or(length)
}

fn month_label(key: &str, first: bool) -> String {
    let month = key
        .get(5..7)
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(1);
    const NAMES: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let name = NAMES.get(month.saturating_sub(1)).copied().unwrap_or("?");
    if first || month == 1 {
        format!("{name} ’{}", key.get(2..4).unwrap_or(""))
    } else {
        name.to_string()
    }
}

fn revenue_chart(data: &Dashboard) -> Markup {
    const W: i64 = 720;
    const H: i64 = 250;
    const LEFT: i64 = 52;
    const TOP: i64 = 22;
    const BOTTOM: i64 = 30;
    let plot_w = W - LEFT - 8;
    let plot_h = H - TOP - BOTTOM;
    let months = &data.revenue_by_month;
    let n = i64::try_from(months.len()).unwrap_or(1).max(1);
    let max = months.iter().map(|(_, a)| *a).max().unwrap_or(0);
    let step = axis_step(max);
    let axis_max = step * 4;
    let slot = plot_w / n;
    let bar = (slot * 62 / 100).clamp(2, 64);
    // With many months, label every other (or third) one.
    let every = usize::try_from(n / 13 + 1).unwrap_or(1);
    let show_values = n <= 18;
    if max <= 0 {
        return html! { p.empty { "No payments were received in this period." } };
    }
    html! {
        svg viewBox=(format!("0 0 {W} {H}")) role="img" aria-label="Revenue by month" {
            @for i in 0..=4_i64 {
                @let y = TOP + plot_h - scale(step * i, plot_h, axis_max);
                line x1=(LEFT) x2=(W - 8) y1=(y) y2=(y) stroke=(if i == 0 { "#cfc6bb" } else { "#eee8e1" }) stroke-width="1" {}
                text x=(LEFT - 8) y=(y + 4) text-anchor="end" { (compact(step * i, data.currency)) }
            }
            @for (i, (key, amount)) in months.iter().enumerate() {
                @let i = i64::try_from(i).unwrap_or(0);
                @let h = scale(*amount, plot_h, axis_max);
                @let x = LEFT + slot * i + (slot - bar) / 2;
                @let y = TOP + plot_h - h;
                g {
                    title { (month_label(key, true)) ": " (data.money(*amount)) }
                    rect x=(x) y=(y) width=(bar) height=(h.max(if *amount > 0 { 1 } else { 0 })) rx="3" fill="#b08d5b" {}
                    @if show_values && *amount > 0 {
                        text.value x=(x + bar / 2) y=(y - 6) text-anchor="middle" { (compact(*amount, data.currency)) }
                    }
                    @if usize::try_from(i).unwrap_or(0) % every == 0 {
                        text x=(x + bar / 2) y=(H - 10) text-anchor="middle" { (month_label(key, i == 0)) }
                    }
                }
            }
        }
    }
}

fn aging_label(bucket: &str) -> String {
    match bucket {
        "current" => "Not yet due".into(),
        "90+" => "Over 90 days".into(),
        other => format!("{} days late", other.replace('-', "–")),
    }
}

/// Horizontal bars: one row per (label, amount, note).
fn hbars(rows: &[(String, i64, String)], colors: &[&str], data: &Dashboard) -> Markup {
    const W: i64 = 520;
    const ROW: i64 = 36;
    const LABEL: i64 = 124;
    const RIGHT: i64 = 196;
    let n = i64::try_from(rows.len()).unwrap_or(0);
    let h = (n * ROW).max(ROW);
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0);
    let length = W - LABEL - RIGHT;
    html! {
        svg viewBox=(format!("0 0 {W} {h}")) role="img" {
            @for (i, (label, amount, note)) in rows.iter().enumerate() {
                @let y = i64::try_from(i).unwrap_or(0) * ROW;
                @let len = scale(*amount, length, max);
                @let color = colors.get(i % colors.len().max(1)).copied().unwrap_or("#b08d5b");
                g {
                    title { (label) ": " (data.money(*amount)) " " (note) }
                    text x="0" y=(y + 21) { (label) }
                    rect x=(LABEL) y=(y + 8) width=(length) height="18" rx="4" fill="#f4f1ec" {}
                    rect x=(LABEL) y=(y + 8) width=(len.max(if *amount > 0 { 2 } else { 0 })) height="18" rx="4" fill=(color) {}
                    text.value x=(W - RIGHT + 10) y=(y + 21) { (data.money(*amount)) }
                    text.small x=(W) y=(y + 21) text-anchor="end" { (note) }
                }
            }
        }
    }
}

fn aging_chart(data: &Dashboard, aging: &[AgingBucket]) -> Markup {
    let rows: Vec<(String, i64, String)> = aging
        .iter()
        .map(|b| {
            let note = match b.count {
                1 => "1 invoice".to_string(),
                n => format!("{n} invoices"),
            };
            (aging_label(b.label), b.amount_minor.get(), note)
        })
        .collect();
    hbars(
        &rows,
        &["#7fa886", "#e0b34c", "#d98a3d", "#c8612e", "#a33a1f"],
        data,
    )
}

fn completion_ring(rate: Option<Decimal>) -> Markup {
    // `pathLength="100"` lets the arc be the percentage itself.
    let arc = rate
        .map(|r| {
            (r * Decimal::ONE_HUNDRED)
                .round_dp(2)
                .normalize()
                .to_string()
        })
        .unwrap_or_else(|| "0".into());
    html! {
        svg viewBox="0 0 140 140" role="img" aria-label="Payment completion rate" {
            circle cx="70" cy="70" r="56" fill="none" stroke="#f0ebe4" stroke-width="14" {}
            circle cx="70" cy="70" r="56" fill="none" stroke="#1d6b35" stroke-width="14" pathLength="100"
                stroke-dasharray=(format!("{arc} 100")) stroke-linecap="butt" transform="rotate(-90 70 70)" {}
            text.big x="70" y="78" text-anchor="middle" { (rate.map(percent).unwrap_or_else(|| "—".into())) }
            text.small x="70" y="98" text-anchor="middle" { "paid" }
        }
    }
}

fn status_badge(row: &InvoiceRow) -> Markup {
    let status = row.status.as_str();
    html! { span class=(format!("badge {status}")) { (status.replace('_', " ")) } }
}

fn overdue_table(data: &Dashboard) -> Markup {
    html! {
        @if data.overdue.is_empty() {
            p.empty { "Nothing is overdue. Every open invoice is within its payment terms." }
        } @else {
            table.list id="overdue" {
                thead { tr { th { "Invoice" } th { "Client" } th { "Due" } th.num { "Days overdue" } th.num { "Amount due" } } }
                tbody {
                    @for row in &data.overdue {
                        tr {
                            td { (row.number) }
                            td.client { (row.client_name) }
                            td { (short_date(row.due_date)) }
                            td.num.late { (row.days_overdue) }
                            td.num { (row.amount_due) }
                        }
                    }
                }
            }
            @if data.overdue_count > data.overdue.len() as u64 {
                p.more { "The " (data.overdue.len()) " most overdue of " (data.overdue_count) " are shown." }
            }
        }
    }
}

/// The attempts a step made: "3 attempts since Dec 4, 16:01 UTC".
fn attempts_made(attempts: i32, since: chrono::DateTime<chrono::Utc>) -> String {
    let count = match attempts {
        1 => "1 attempt".to_string(),
        n => format!("{n} attempts"),
    };
    format!("{count} since {}", since.format("%b %-d, %H:%M UTC"))
}

/// Steps that keep failing, each with a Retry button (a CSRF-checked POST).
fn needs_attention(data: &Dashboard, csrf: &str) -> Markup {
    html! {
        div.card.section id="needs-attention" {
            h2 { "Needs attention" }
            p.meta { "Steps that failed and are retried automatically with growing pauses. Retry one now once its cause is fixed." }
            table.list {
                thead { tr { th { "Step" } th { "Session" } th { "Attempts" } th { "Problem" } th { "Next try" } th {} } }
                tbody {
                    @for step in &data.needs_attention {
                        tr {
                            td { (step.kind.replace('_', " ")) }
                            td.client { (step.session_title.as_deref().unwrap_or("—")) }
                            td.attempts { (attempts_made(step.attempts, step.created_at)) }
                            td.client.late title=(step.last_error) { (step.problem) }
                            td { @match (step.state, step.next_retry_at) {
                                (StepState::GaveUp, _) => "gave up",
                                (StepState::Running, _) => "running",
                                (_, Some(at)) => (at.format("%b %-d, %H:%M UTC")),
                                (_, None) => "soon",
                            } }
                            td { @if step.state != StepState::Running {
                                form method="post" action=(format!("/dashboard/steps/{}/retry", step.id)) {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button type="submit" { "Retry now" }
                                }
                            } }
                        }
                    }
                }
            }
        }
    }
}

fn recent_table(data: &Dashboard) -> Markup {
    html! {
        @if data.recent.is_empty() {
            p.empty { "No invoices were issued in this period." }
        } @else {
            table.list id="recent" {
                thead { tr { th { "Invoice" } th { "Client" } th { "Issued" } th { "Status" } th.num { "Total" } th.num { "Amount due" } } }
                tbody {
                    @for row in &data.recent {
                        tr {
                            td { (row.number) }
                            td.client { (row.client_name) }
                            td { (short_date(row.issued_on)) }
                            td { (status_badge(row)) }
                            td.num { (row.total) }
                            td.num { (row.amount_due) }
                        }
                    }
                }
            }
        }
    }
}

pub fn dashboard_page(data: &Dashboard, email: &str, csrf: &str) -> Markup {
    let m = &data.metrics;
    let period = data.period;
    // Display totals of stored amounts: saturating, so a page always renders.
    let revenue: i64 = data
        .revenue_by_month
        .iter()
        .fold(0_i64, |acc, (_, a)| acc.saturating_add(*a));
    let overdue_amount: i64 = m
        .aging
        .iter()
        .filter(|b| b.label != "current")
        .fold(0_i64, |acc, b| acc.saturating_add(b.amount_minor.get()));
    let overdue = m.aging.iter().filter(|b| b.label != "current");
    let overdue_count: i64 = overdue.map(|b| b.count).sum();
    let today = data.today;
    let year_start = today.with_ordinal(1).unwrap_or(today);
    // Shares rounded to add up to 100 % (`Dashboard::package_shares`).
    let shares = data.package_shares();
    let packages: Vec<(String, i64, String)> = m
        .revenue_by_package
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let share = shares.get(i).map(|s| format!("{s}%")).unwrap_or_default();
            (r.key.clone(), r.amount_minor, share)
        })
        .collect();
    page(
        &format!("Dashboard — {}", data.studio_name),
        Some((email, csrf)),
        html! {
            div.head {
                div {
                    div.studio { (data.studio_name) }
                    h1 { "Financial dashboard" }
                    div.meta { (long_date(period.from)) " – " (long_date(period.to)) }
                }
                div {
                    (period_form(&period.from.to_string(), &period.to.to_string()))
                    div.quick {
                        a href="/dashboard" { "Last 12 months" }
                        a href=(format!("/dashboard?from={year_start}&to={today}")) { "Year to date" }
                        a href=(format!("/dashboard?from={}&to={today}", today - chrono::Duration::days(29))) { "Last 30 days" }
                    }
                }
            }
            @if !data.needs_attention.is_empty() { (needs_attention(data, csrf)) } (super::disputes::section(data, csrf))
            div.grid.cards {
                div.card.kpi id="kpi-revenue" {
                    div.label { "Collected" }
                    div.value { (data.money(revenue)) }
                    div.detail { "Payments in the period, net of refunds" }
                    @if !m.on_top.is_zero() { div.detail #kpi-on-top { "On top: tips " strong #kpi-tips { (data.money(m.on_top.tip.get())) } " · card surcharges " strong #kpi-surcharges { (data.money(m.on_top.surcharge.get())) } } }
                }
                div.card.kpi id="kpi-outstanding" {
                    div.label { "Outstanding" }
                    div.value { (data.money(m.outstanding_minor.get())) }
                    div.detail {
                        @if overdue_amount > 0 { span.late { (data.money(overdue_amount)) " overdue" } " in " (overdue_count) " invoice" @if overdue_count != 1 { "s" } }
                        @else { "Nothing overdue" }
                    }
                }
                div.card.kpi id="kpi-processing" {
                    div.label { "Invoice processing time" }
                    div.value { @match m.processing.p50_ms { Some(ms) => (duration_ms(ms)), None => "—" } }
                    div.detail { "median · p90 "
                        @match m.processing.p90_ms { Some(ms) => (duration_ms(ms)), None => "—" }
                        " · " (m.processing.count) " invoices" }
                }
                div.card.kpi id="kpi-collection" {
                    div.label { "Days to collection" }
                    div.value { @match m.collection.average_days { Some(d) => { (d) " days" } None => { "—" } } }
                    div.detail { "average · median "
                        @match m.collection.median_days { Some(d) => { (d) " days" } None => { "—" } }
                        " · " (m.collection.count) " paid" }
                }
            }
            div.grid.two.section {
                div.card {
                    h2 { "Revenue by month" }
                    p.meta { "Payments received, " (data.currency.code()) }
                    (revenue_chart(data))
                }
                div.card id="completion" {
                    h2 { "Payment completion rate" }
                    p.meta { "Invoices issued in the period that are paid" }
                    div.ringwrap {
                        (completion_ring(m.payment_completion_rate))
                        div.facts {
                            div { strong { (m.invoices_paid) } " of " strong { (m.invoices_issued) } " invoices paid" }
                            div { strong { (m.invoices_issued - m.invoices_paid) } " not paid yet" }
                            div.meta { "Void invoices are not counted." }
                        }
                    }
                }
            }
            div.grid.halves.section {
                div.card id="aging" {
                    h2 { "Receivables aging" }
                    p.meta { "What open invoices owe, by days past due on " (long_date(data.as_of)) }
                    (aging_chart(data, &m.aging))
                }
                div.card id="packages" {
                    h2 { "Revenue by package" }
                    p.meta { "Share of payments received" }
                    @if packages.is_empty() { p.empty { "No payments in this period." } }
                    @else { (hbars(&packages, &["#b08d5b", "#8a7560", "#c9a97c", "#6e6259", "#d8c3a5"], data)) }
                }
            }
            div.grid.section {
                div.card {
                    h2 { "Overdue invoices" }
                    p.meta { "Open and past due on " (long_date(data.as_of)) ", most overdue first" }
                    (overdue_table(data))
                }
                div.card {
                    h2 { "Recent invoices" }
                    p.meta { "The latest issued in the period" }
                    (recent_table(data))
                }
            }
            @if !data.credits_owed.is_empty() {
                div.card.section id="credits-owed" {
                    h2 { "Credits owed to clients" }
                    p.meta { "Retainers above an invoice's total, to pay back (studio setting: owed back)" }
                    table.list {
                        thead { tr { th { "Invoice" } th { "Client" } th.num { "Owed" } th { "Repaid" } } }
                        tbody {
                            @for row in &data.credits_owed {
                                tr {
                                    td { (row.number) } td.client { (row.client_name) } td.num { (row.amount) }
                                    td {
                                        @match &row.repaid {
                                            Some((on, reference)) => { "Repaid " (on) " (" (reference) ")" }
                                            None => { "Not yet" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

use chrono::Datelike;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_person_would_say_them() {
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration_ms(0), "0 ms");
        assert_eq!(duration_ms(340), "340 ms");
        assert_eq!(duration_ms(1_250), "1.3 s");
        assert_eq!(duration_ms(59_960), "60.0 s");
        assert_eq!(duration_ms(300_000), "5 min");
        assert_eq!(duration(300), "5 min");
        assert_eq!(duration(3_600), "1 h");
        assert_eq!(duration(5_400), "1 h 30 min");
        assert_eq!(duration(313_260), "3 d 15 h");
        assert_eq!(duration(172_800), "2 d");
    }

    #[test]
    fn percentages_and_axis_labels_are_exact() {
        assert_eq!(percent(Decimal::new(8, 1)), "80%");
        assert_eq!(percent(Decimal::new(6667, 4)), "66.7%");
        assert_eq!(percent(Decimal::ONE), "100%");
        let usd = Currency::parse("USD").unwrap();
        assert_eq!(compact(170_000, usd), "1.7k");
        assert_eq!(compact(1_200_000, usd), "12k");
        assert_eq!(compact(50_000, usd), "500");
        assert_eq!(compact(250, usd), "2.5");
        assert_eq!(compact(0, usd), "0");
        assert_eq!(compact(250_000_000, usd), "2.5M");
        assert_eq!(axis_step(170_000), 50_000);
        assert_eq!(axis_step(0), 1);
        assert_eq!(axis_step(100), 50);
        assert_eq!(scale(50, 200, 100), 100);
        assert_eq!(scale(i64::MAX, 200, i64::MAX), 200);
    }
}
