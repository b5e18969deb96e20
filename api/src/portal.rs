//! The client's payment portal: `GET /pay/{token}` shows the invoice and a
//! Pay button; `POST /pay/{token}/checkout` (with the page's CSRF token)
//! opens the gateway's hosted checkout and answers 303 to it; `GET
//! /pay/{token}/return?session_id=...` is where the gateway sends the client
//! back. No card field is on these pages. `/sim-checkout/{id}` is the
//! simulated gateway's own hosted page (test cards typed there), the only
//! place a card number reaches this server, absent with Stripe configured.
//! Receipts are addressed by position (`/pay/{token}/receipt/{n}.pdf`),
//! never by a gateway id.

mod hosted;
mod pay;
use pay::sentence;
pub mod plan;
mod shares;
mod surcharge;
mod tips;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use domain::AppContext;
use domain::billing::documents::InvoiceDocument;
use domain::billing::portal;
use domain::infra::error::DomainError;
use domain::kernel::ids::{SessionId, StudioId};
use entity::enums::{CheckoutStatus, InvoiceStatus, PaymentStatus, RefundStatus};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

pub const STYLE_PAGE: &str = r#"
*{box-sizing:border-box}body{margin:0;background:#f4f1ec;font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif;color:#2b2b2b}
main{max-width:760px;margin:40px auto;padding:0 16px}.card{background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:32px;margin-bottom:20px}
.studio{font-family:Georgia,serif;letter-spacing:2px;text-transform:uppercase;color:#8a7560;font-size:13px}h1{font-family:Georgia,serif;font-weight:normal;margin:6px 0 4px}
.meta{color:#666;font-size:14px}.badge{display:inline-block;padding:3px 10px;border-radius:12px;font-size:12px;font-weight:600;letter-spacing:.5px}
.OPEN,.PARTIALLY_PAID{background:#fff4d6;color:#8a6100}.PAID{background:#dff3e4;color:#1d6b35}.VOID,.UNCOLLECTIBLE,.DRAFT{background:#eee;color:#555}
table{width:100%;border-collapse:collapse;margin-top:20px;font-size:15px}th{text-align:left;color:#8a7560;font-weight:600;font-size:12px;text-transform:uppercase;border-bottom:1px solid #e6e0d8;padding:8px 0}
td{padding:10px 0;border-bottom:1px solid #f0ebe4}.num{text-align:right;font-variant-numeric:tabular-nums}tfoot td{border:none;padding:4px 0}tfoot .total td{font-weight:700;font-size:17px;padding-top:10px}
label{display:block;font-size:13px;color:#555;margin:14px 0 6px}input{width:100%;padding:11px 12px;border:1px solid #d8d2ca;border-radius:6px;font-size:16px}
.row{display:flex;gap:12px}.row>div{flex:1}button{margin-top:20px;width:100%;padding:14px;border:0;border-radius:6px;background:#2b2b2b;color:#fff;font-size:16px;cursor:pointer}
.alert{padding:14px 16px;border-radius:6px;margin-bottom:16px}.error{background:#fdecea;color:#8a1f11}.success{background:#dff3e4;color:#1d6b35}
.hint{font-size:12px;color:#888;margin-top:14px}.hint code{background:#f4f1ec;padding:1px 4px;border-radius:3px}
label.check{display:flex;gap:8px;align-items:center;font-size:14px;color:#2b2b2b;margin-top:16px}label.check input{width:auto;margin:0}
.num,.amount,.nowrap{white-space:nowrap}h1 .nowrap{display:inline-block}.each{display:none}
.testmode{background:#fff4d6;color:#8a6100;font-size:13px;padding:8px 12px;border-radius:6px;margin-bottom:14px}a.button{display:block;text-align:center;margin-top:16px;padding:14px;border-radius:6px;background:#2b2b2b;color:#fff;text-decoration:none}
@media (max-width:480px){main{margin:16px auto;padding:0 10px}.card{padding:18px}table{font-size:14px}.row{flex-direction:column;gap:0}
table.lines,.lines thead,.lines tbody,.lines tfoot{display:block}.lines tr{display:flex;align-items:baseline;gap:12px}.lines tr>:first-child{flex:1;min-width:0}.lines .qty,.lines .unit{display:none}
.lines thead tr{border-bottom:1px solid #e6e0d8}.lines tbody tr{border-bottom:1px solid #f0ebe4}.lines th,.lines tbody td{border:none}.each{display:block;color:#777;font-size:13px;margin-top:2px;white-space:nowrap}}
"#;

tokio::task_local! {
    /// Whether the request being answered is served by a deployment on the
    /// simulated gateway (set by `test_mode_scope` for every request).
    static TEST_MODE: bool;
}

/// Middleware: every page built while answering a request knows whether
/// the simulated gateway is in use, for the banner of `page`.
pub async fn test_mode_scope(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let on = req
        .app_data::<web::Data<AppContext>>()
        .is_some_and(|app| app.settings.test_mode());
    TEST_MODE.scope(on, next.call(req)).await
}

/// The layout of every client page (portal, gallery, card setup, simulated
/// checkout). With the simulated gateway in use it opens with a "test mode"
/// banner, so that nobody takes its payments for real money.
pub fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) }
                style { (maud::PreEscaped(STYLE_PAGE)) }
            }
            body { main {
                (test_mode_banner())
                (body)
            } }
        }
    }
}

/// The "test mode" banner every page opens with (client pages and the
/// studio's dashboard) while the simulated gateway is in use; nothing otherwise.
pub fn test_mode_banner() -> Markup {
    let test_mode = TEST_MODE.try_with(|on| *on).unwrap_or(false);
    html! {
        @if test_mode {
            div.testmode #test-mode role="status" { strong { "Test mode" } ": payments here go through a simulated payment provider. No real money moves and no card is charged." }
        }
    }
}

fn not_found() -> HttpResponse {
    let body = page(
        "Payment link not found",
        html! {
            div.card {
                h1 { "This payment link is not valid" }
                p.meta { "Check that you opened the whole link from your invoice email, or ask the studio to send the invoice again." }
            }
        },
    );
    HttpResponse::NotFound()
        .content_type("text/html; charset=utf-8")
        .body(body.into_string())
}

fn expired(doc: &InvoiceDocument) -> HttpResponse {
    let body = page(
        "Payment link expired",
        html! {
            div.card {
                (domain::studio::studios::logo_html(&doc.studio))
                div.studio { (doc.studio.name) }
                h1 { "This link has expired" }
                p.meta { "Invoice " (doc.invoice.display_number()) " is settled and its payment link is no longer active. Nothing is due through this page." }
                p.meta { "If you need a copy of the invoice or a receipt, please contact " (doc.studio.name)
                    @if let Some(email) = &doc.studio.email { " at " a href=(format!("mailto:{email}")) { (email) } } "." }
            }
            div.card { (domain::studio::studios::contact_html(&doc.studio)) }
        },
    );
    HttpResponse::Gone()
        .content_type("text/html; charset=utf-8")
        .body(body.into_string())
}

/// Finds the invoice behind a link, or the page to show instead.
async fn open(app: &AppContext, token: &str) -> Result<InvoiceDocument, HttpResponse> {
    match portal::find(app, token).await {
        Ok(Some(doc)) if portal::expired(&doc, app.clock.now()) => Err(expired(&doc)),
        Ok(Some(doc)) => Ok(doc),
        Ok(None) => Err(not_found()),
        Err(err) => Err(server_error(err)),
    }
}

/// `GET /pay/{token}/invoice.pdf`: the invoice as a PDF.
pub async fn pdf(app: web::Data<AppContext>, token: web::Path<String>) -> HttpResponse {
    let doc = match open(&app, &token).await {
        Ok(doc) => doc,
        Err(page) => return page,
    };
    let portal = format!("{}/pay/{}", app.settings.public_url(), token.as_str());
    match doc.pdf(Some(portal)) {
        Ok(bytes) => HttpResponse::Ok()
            .content_type("application/pdf")
            .insert_header((
                "content-disposition",
                format!("inline; filename=\"{}.pdf\"", doc.invoice.display_number()),
            ))
            .insert_header(("cache-control", "private, no-store"))
            .body(bytes),
        Err(err) => server_error(err),
    }
}

/// `GET /pay/{token}/receipt/{n}.pdf`: the receipt of the invoice's n-th
/// successful payment (1-based), so the URL carries no internal id.
pub async fn receipt(
    app: web::Data<AppContext>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (token, file) = path.into_inner();
    let doc = match open(&app, &token).await {
        Ok(doc) => doc,
        Err(page) => return page,
    };
    let receipts = doc.receipts();
    let Some(payment) = file
        .strip_suffix(".pdf")
        .and_then(|n| n.parse::<usize>().ok())
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| receipts.get(i))
    else {
        return not_found();
    };
    match doc.receipt_pdf(payment) {
        Ok(bytes) => HttpResponse::Ok()
            .content_type("application/pdf")
            .insert_header((
                "content-disposition",
                format!(
                    "inline; filename=\"Receipt-{}.pdf\"",
                    doc.invoice.display_number()
                ),
            ))
            .insert_header(("cache-control", "private, no-store"))
            .body(bytes),
        Err(err) => server_error(err),
    }
}

fn server_error(err: DomainError) -> HttpResponse {
    tracing::error!(error = ?err, "portal error");
    let body = page(
        "Something went wrong",
        html! {
            div.card { h1 { "Something went wrong" } p.meta { "Nothing was charged. Please try again in a moment." } }
        },
    );
    HttpResponse::InternalServerError()
        .content_type("text/html; charset=utf-8")
        .body(body.into_string())
}

enum Notice<'a> {
    None,
    /// Back from checkout, the money confirmed.
    Paid,
    /// Back from checkout, the money not confirmed yet.
    Processing,
    /// The checkout session expired before it was paid.
    Expired,
    /// The request could not be carried out (form expired, nothing due...).
    Problem(&'a str),
}

/// `gallery`: the session's gallery link, if it has a gallery: shown on
/// every visit, not only on the return from checkout.
fn invoice_page(
    app: &AppContext,
    doc: &InvoiceDocument,
    token: &str,
    notice: Notice<'_>,
    extras: &Extras,
) -> Markup {
    let inv = &doc.invoice;
    let gallery = extras.gallery.as_deref();
    // While a payment is being confirmed, no second Pay button.
    let processing = matches!(notice, Notice::Processing)
        || doc.payments.iter().any(|p| {
            p.status == PaymentStatus::Pending
                && doc
                    .payer
                    .as_ref()
                    .is_none_or(|me| p.payer_id == Some(me.id))
        });
    page(
        &format!("Invoice {} — {}", inv.display_number(), doc.studio.name),
        html! {
            div.card {
                (domain::studio::studios::logo_html(&doc.studio))
                div.studio { (doc.studio.name) }
                h1 { "Invoice " span.nowrap { (inv.display_number()) } " " span class=(format!("badge {}", inv.status.as_str())) { (inv.status.as_str().replace('_', " ")) } }
                div.meta { "For " (doc.client.name) " · " (doc.session.title) }
                div.meta { "Issued " (inv.issued_at.format("%B %-d, %Y")) " · Due " strong { (doc.due_date()) } }
                table.lines {
                    thead { tr { th { "Item" } th.num.qty { "Qty" } th.num.unit { "Unit price" } th.num { "Amount" } } }
                    tbody {
                        @for line in &doc.lines {
                            tr {
                                // On phones the quantity and unit price go under the description.
                                td { (line.description) span.each { (line.quantity) " × " (doc.money(line.unit_price_minor)) } }
                                td.num.qty { (line.quantity) } td.num.unit { (doc.money(line.unit_price_minor)) } td.num { (doc.money(line.amount_minor)) }
                            }
                        }
                    }
                    tfoot {
                        @if let Some((label, amount)) = doc.discount_row() { tr { td colspan="3" { (label) } td.num { (amount) } } }
                        tr { td colspan="3" { "Subtotal" } td.num { (doc.money(inv.subtotal_minor)) } }
                        @for (label, amount) in doc.tax_lines() {
                            tr { td colspan="3" { (label) } td.num { (amount) } }
                        }
                        @for (label, amount) in doc.credit_rows() { tr { td colspan="3" { (label) } td.num { (amount) } } }
                        tr { td colspan="3" { "Total" } td.num { (doc.money(inv.total_minor)) } }
                        @if doc.payer.is_some() { (shares::rows(doc)) } @else {
                        @if inv.amount_paid_minor.is_positive() { tr { td colspan="3" { "Paid" } td.num { (doc.money(-inv.amount_paid_minor)) } } }
                        @if inv.amount_refunded_minor.is_positive() { tr { td colspan="3" { "Refunded" } td.num { (doc.money(inv.amount_refunded_minor)) } } }
                        tr.total { td colspan="3" { "Amount due" } td.num id="amount-due" { (doc.money(inv.amount_due_minor)) } } }
                        @if let Some((label, amount)) = doc.excess_row() { tr { td colspan="3" { (label) } td.num id="excess-credit" { (amount) } } }
                    }
                }
                @if let Some(note) = doc.tax_inclusive_note() { p.meta { (note) } }
            }
            p.meta { a href=(format!("/pay/{token}/invoice.pdf")) { "Download the invoice (PDF)" } }
            @if let Some(note) = &doc.credit_note {
                div.alert.error role="status" { "This invoice was voided"
                    @if let Some(r) = &inv.void_reason { " (" (r) ")" }
                    " and cancelled by credit note " (note.number) ". Nothing is due." }
            }
            @for r in doc.own_refunds().into_iter().filter(|r| r.status == RefundStatus::Succeeded) {
                div.alert.success { "Refunded " (doc.money(r.amount_minor)) " on " (r.updated_at.format("%B %-d, %Y")) "." }
            }
            @for (i, p) in doc.receipts().into_iter().enumerate() {
                div.alert.success { @if p.amount_minor.is_zero() { "Tip " } @else { "Paid " } (doc.money(doc.receipt_figure(p))) " on " (p.created_at.format("%B %-d, %Y"))
                    @if let Some(card) = domain::billing::documents::payment_card(p) { " with " (card) } ". "
                    a href=(format!("/pay/{token}/receipt/{}.pdf", i + 1)) { "Receipt (PDF)" } }
            }
            @match notice {
                Notice::Paid => div.alert.success role="status" id="checkout-paid" {
                    "Thank you! Your payment was received. A receipt is on its way to " (doc.addressee().1) "."
                    @if let Some(gallery) = gallery { " " a href=(gallery) { "Open your gallery" } }
                },
                Notice::Processing => div.alert.success role="status" id="checkout-processing" {
                    "Your payment is processing. This page shows it as paid once the payment provider confirms it; a receipt follows by email. There is no need to pay again."
                },
                Notice::Expired => div.alert.error role="status" { "That checkout session expired before it was paid; nothing was charged." },
                Notice::Problem(message) => div.alert.error role="alert" { (message) },
                Notice::None => {},
            }
            @if let Some(plan) = &extras.plan { (plan::card(app, token, doc, plan)) }
            @if let Some(gallery) = gallery {
                p.meta id="gallery-link" { "Your photos from “" (doc.session.title) "”: " a href=(gallery) { "Open your gallery" } }
            }
            (pay_card(app, doc, token, processing))
            div.card { (domain::studio::studios::contact_html(&doc.studio)) }
        },
    )
}

/// What the client can do about the invoice: wait for a payment being
/// confirmed, pay what is due, or nothing more (paid).
fn pay_card(app: &AppContext, doc: &InvoiceDocument, token: &str, processing: bool) -> Markup {
    let inv = &doc.invoice;
    let due = doc.due_now();
    let payable = domain::billing::payments::payable(inv) && due.is_positive();
    html! {
        @if processing {
            div.card { p { "A payment for this invoice is being processed. Reload this page in a minute to see the result." } }
        } @else if payable {
            div.card {
                h2 { "Pay " span.amount { (doc.money(due)) } }
                form method="post" action=(format!("/pay/{token}/checkout")) {
                    input type="hidden" name="csrf" value=(portal::csrf_token(app, token));
                    (crate::card_setup::save_card_choice(doc))
                    (tips::choices(doc))
                    (surcharge::disclosure(doc))
                    button type="submit" { "Pay " span.amount { (doc.money(due)) } }
                }
                p.hint { "You pay on our payment provider's secure page; your card number never reaches " (doc.studio.name) "." }
            }
        } @else if doc.payer.is_some() {
            div.card { p #share-paid { "Your share is paid. Thank you!" } }
        } @else if inv.status == InvoiceStatus::Paid {
            div.card { p { "This invoice is paid in full. Thank you!" } }
        }
    }
}

/// An HTML page as an answer (the portal's and the card-setup page's).
pub(crate) fn html_response(status: StatusCode, body: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body.into_string())
}

/// The 303 to a hosted page (the gateway's Checkout), never cached.
pub(crate) fn redirect_to(url: String) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("location", url))
        .insert_header(("cache-control", "no-store"))
        .finish()
}

/// A form's action refused with user errors: `on_state` for
/// `INVALID_STATE`, 422 otherwise, and the messages to show.
pub(crate) fn refusal(errors: &[domain::UserError], on_state: StatusCode) -> (StatusCode, String) {
    let status = if errors
        .iter()
        .any(|e| e.code == domain::ErrorCode::InvalidState)
    {
        on_state
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let message = errors
        .iter()
        .map(|e| e.message.clone())
        .collect::<Vec<_>>()
        .join("; ");
    (status, message)
}

pub async fn show(app: web::Data<AppContext>, token: web::Path<String>) -> HttpResponse {
    match open(&app, &token).await {
        Ok(doc) => match extras_of(&app, &doc).await {
            Ok(extras) => html_response(
                StatusCode::OK,
                invoice_page(&app, &doc, &token, Notice::None, &extras),
            ),
            Err(err) => server_error(err),
        },
        Err(page) => page,
    }
}

/// What the invoice page shows besides the invoice: the gallery's own
/// unguessable link, once the session has a gallery, and the booking's
/// payment plan, if it has one.
struct Extras {
    gallery: Option<String>,
    plan: Option<domain::studio::plans::Plan>,
}

async fn extras_of(app: &AppContext, doc: &InvoiceDocument) -> Result<Extras, DomainError> {
    let (studio, session) = (
        StudioId::new(doc.invoice.studio_id),
        SessionId::new(doc.session.id),
    );
    // The gallery is the client's (its credentials go to them only).
    let gallery = match doc.payer {
        Some(_) => None,
        None => domain::followup::gallery::link_for_session(app, studio, session).await?,
    };
    Ok(Extras {
        gallery,
        // A payer's link pays their share; the plan is the client's.
        plan: match doc.payer {
            Some(_) => None,
            None => domain::studio::plans::plan_of(&app.db, studio.get(), session).await?,
        },
    })
}

/// Re-reads the invoice, so the page shows the current state with a notice.
async fn reshow(
    app: &AppContext,
    token: &str,
    status: StatusCode,
    notice: Notice<'_>,
) -> HttpResponse {
    match portal::find(app, token).await {
        Ok(Some(fresh)) => match extras_of(app, &fresh).await {
            Ok(extras) => html_response(status, invoice_page(app, &fresh, token, notice, &extras)),
            Err(err) => server_error(err),
        },
        Ok(None) => not_found(),
        Err(err) => server_error(err),
    }
}

/// The query the gateway sends the client back with (portal and card
/// setup).
#[derive(Deserialize)]
pub struct Returned {
    session_id: Option<String>,
}

impl Returned {
    /// The session id, if it is there and of a sane length (it is looked
    /// up at the gateway, never trusted).
    pub(crate) fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref().filter(|s| s.len() <= 255)
    }
}

/// `GET /pay/{token}/return?session_id=...`: the gateway sent the client
/// back. The session is looked at (never trusted from the URL) and settled
/// through the same writer as the webhooks; the page says "processing"
/// until the money is confirmed, then "paid".
pub async fn returned(
    app: web::Data<AppContext>,
    token: web::Path<String>,
    query: web::Query<Returned>,
) -> HttpResponse {
    let doc = match open(&app, &token).await {
        Ok(doc) => doc,
        Err(page) => return page,
    };
    let Some(session_id) = query.session_id() else {
        return reshow(&app, &token, StatusCode::OK, Notice::None).await;
    };
    let row = match domain::billing::checkout::returned(&app, doc.invoice.id, session_id).await {
        Ok(row) => row,
        Err(err) => return server_error(err),
    };
    let notice = match row.map(|r| r.status) {
        Some(CheckoutStatus::Complete) => Notice::Paid,
        Some(CheckoutStatus::Expired) => Notice::Expired,
        Some(CheckoutStatus::Mismatch | CheckoutStatus::Failed) => Notice::Problem(
            "We could not confirm this payment automatically. The studio has been notified and will contact you; please do not pay again.",
        ),
        Some(_) => Notice::Processing,
        None => Notice::None,
    };
    reshow(&app, &token, StatusCode::OK, notice).await
}

/// The portal's routes, and the simulated gateway's hosted page.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/pay/{token}", web::get().to(show))
        .route("/pay/{token}/checkout", web::post().to(pay::checkout))
        .configure(plan::routes)
        .route("/pay/{token}/tip", web::get().to(tips::page))
        .route("/pay/{token}/tip", web::post().to(tips::add))
        .route("/pay/{token}/return", web::get().to(returned))
        .route("/pay/{token}/invoice.pdf", web::get().to(pdf))
        .route("/pay/{token}/receipt/{file}", web::get().to(receipt))
        .route("/sim-checkout/{id}", web::get().to(hosted::page))
        .route("/sim-checkout/{id}", web::post().to(hosted::pay));
}
