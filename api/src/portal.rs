//! The client's payment portal: `GET /pay/{token}` shows the invoice,
//! `POST /pay/{token}` pays it with a test card through the gateway.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use domain::AppContext;
use domain::documents::InvoiceDocument;
use domain::error::DomainError;
use domain::gateway::{GatewayError, test_card_numbers};
use domain::portal::{self, PortalPayment};
use domain::secrets::random_token;
use entity::enums::{InvoiceStatus, PaymentStatus, RefundStatus};
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
"#;

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
            body { main { (body) } }
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
                div.studio { (doc.studio.name) }
                h1 { "This link has expired" }
                p.meta { "Invoice " (doc.invoice.display_number()) " is settled and its payment link is no longer active. Nothing is due through this page." }
                p.meta { "If you need a copy of the invoice or a receipt, please contact " (doc.studio.name)
                    @if let Some(email) = &doc.studio.email { " at " a href=(format!("mailto:{email}")) { (email) } } "." }
            }
        },
    );
    HttpResponse::Gone()
        .content_type("text/html; charset=utf-8")
        .body(body.into_string())
}

/// Finds the invoice behind a link, or the page to show instead.
async fn open(app: &AppContext, token: &str) -> Result<InvoiceDocument, HttpResponse> {
    match portal::find(app, token).await {
        Ok(Some(doc)) if portal::expired(&doc, chrono::Utc::now()) => Err(expired(&doc)),
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
    Paid,
    /// The card was declined: nothing was charged.
    Declined(&'a str),
    /// The request could not be carried out (form expired, unknown card...).
    Problem(&'a str),
    /// The gateway's answer was lost; the attempt is settled in the background.
    Unconfirmed,
}

fn invoice_page(doc: &InvoiceDocument, token: &str, notice: Notice<'_>) -> Markup {
    let inv = &doc.invoice;
    let payable = domain::payments::payable(inv);
    let processing = doc
        .payments
        .iter()
        .any(|p| p.status == PaymentStatus::Pending);
    page(
        &format!("Invoice {} — {}", inv.display_number(), doc.studio.name),
        html! {
            div.card {
                div.studio { (doc.studio.name) }
                h1 { "Invoice " (inv.display_number()) " " span class=(format!("badge {}", inv.status.as_str())) { (inv.status.as_str().replace('_', " ")) } }
                div.meta { "For " (doc.client.name) " · " (doc.session.title) }
                div.meta { "Issued " (inv.issued_at.format("%B %-d, %Y")) " · Due " strong { (doc.due_date()) } }
                table {
                    thead { tr { th { "Item" } th.num { "Qty" } th.num { "Unit price" } th.num { "Amount" } } }
                    tbody {
                        @for line in &doc.lines {
                            tr { td { (line.description) } td.num { (line.quantity) } td.num { (doc.money(line.unit_price_minor)) } td.num { (doc.money(line.amount_minor)) } }
                        }
                    }
                    tfoot {
                        tr { td colspan="3" { "Subtotal" } td.num { (doc.money(inv.subtotal_minor)) } }
                        @for (label, amount) in doc.tax_lines() {
                            tr { td colspan="3" { (label) } td.num { (amount) } }
                        }
                        @if inv.credit_minor > 0 { tr { td colspan="3" { "Retainer paid" } td.num { "−" (doc.money(inv.credit_minor)) } } }
                        tr { td colspan="3" { "Total" } td.num { (doc.money(inv.total_minor)) } }
                        @if inv.amount_paid_minor > 0 { tr { td colspan="3" { "Paid" } td.num { "−" (doc.money(inv.amount_paid_minor)) } } }
                        @if inv.amount_refunded_minor > 0 { tr { td colspan="3" { "Refunded" } td.num { (doc.money(inv.amount_refunded_minor)) } } }
                        tr.total { td colspan="3" { "Amount due" } td.num id="amount-due" { (doc.money(inv.amount_due_minor)) } }
                    }
                }
            }
            p.meta { a href=(format!("/pay/{token}/invoice.pdf")) { "Download the invoice (PDF)" } }
            @if let Some(note) = &doc.credit_note {
                div.alert.error role="status" { "This invoice was voided"
                    @if let Some(r) = &inv.void_reason { " (" (r) ")" }
                    " and cancelled by credit note " (note.number) ". Nothing is due." }
            }
            @for r in doc.refunds.iter().filter(|r| r.status == RefundStatus::Succeeded) {
                div.alert.success { "Refunded " (doc.money(r.amount_minor)) " on " (r.updated_at.format("%B %-d, %Y")) "." }
            }
            @for (i, p) in doc.receipts().into_iter().enumerate() {
                div.alert.success { "Paid " (doc.money(p.amount_minor)) " on " (p.created_at.format("%B %-d, %Y"))
                    @if let Some(l) = &p.card_last4 { " with card ending in " (l) } ". "
                    a href=(format!("/pay/{token}/receipt/{}.pdf", i + 1)) { "Receipt (PDF)" } }
            }
            @match notice {
                Notice::Paid => div.alert.success role="status" { "Thank you! Your payment was received. A receipt is on its way to " (doc.client.email) "." },
                Notice::Declined(message) => div.alert.error role="alert" { (message) " Your invoice is still open: nothing was charged." },
            Notice::Problem(message) => div.alert.error role="alert" { (message) },
            Notice::Unconfirmed => div.alert.error role="status" {
                "We could not confirm your payment with the card network yet. If it went through, a receipt is on its way by email within minutes: there is no need to pay again."
            },
                Notice::None => {},
            }
            @if processing {
            div.card { p { "A payment for this invoice is being processed. Reload this page in a minute to see the result." } }
        } @else if payable {
                div.card {
                    h2 { "Pay " (doc.money(inv.amount_due_minor)) }
                    form method="post" {
                        input type="hidden" name="attempt" value=(random_token());
                        label for="card_number" { "Card number" }
                        input id="card_number" name="card_number" inputmode="numeric" autocomplete="cc-number" placeholder="4242 4242 4242 4242" required;
                        div.row {
                            div { label for="exp" { "Expiry" } input id="exp" name="exp" placeholder="12 / 34" autocomplete="cc-exp"; }
                            div { label for="cvc" { "CVC" } input id="cvc" name="cvc" placeholder="123" autocomplete="cc-csc"; }
                        }
                        @if doc.client.payment_preference == entity::enums::PaymentPreference::AutoPay {
                            label.check { input type="checkbox" name="keep_card" value="1" checked; " Use this card for my future automatic payments" }
                        }
                        button type="submit" { "Pay " (doc.money(inv.amount_due_minor)) }
                    }
                    p.hint { "Test mode. Cards: "
                        @for (number, outcome) in test_card_numbers() { code { (number) } " (" (outcome) ") " } }
                }
            } @else if inv.status == InvoiceStatus::Paid {
                div.card { p { "This invoice is paid in full. Thank you!" } }
            }
        },
    )
}

fn html_response(status: StatusCode, body: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body.into_string())
}

#[derive(Deserialize)]
pub struct Shown {
    paid: Option<String>,
}

pub async fn show(
    app: web::Data<AppContext>,
    token: web::Path<String>,
    query: web::Query<Shown>,
) -> HttpResponse {
    match open(&app, &token).await {
        Ok(doc) => {
            let notice = if query.paid.is_some() && doc.invoice.status == InvoiceStatus::Paid {
                Notice::Paid
            } else {
                Notice::None
            };
            html_response(StatusCode::OK, invoice_page(&doc, &token, notice))
        }
        Err(page) => page,
    }
}

#[derive(Deserialize)]
pub struct PayForm {
    card_number: String,
    attempt: String,
    /// Checked: an auto-pay client keeps this card for future payments.
    keep_card: Option<String>,
}

/// Re-reads the invoice after an attempt, so the page shows its outcome and history.
async fn reshow(
    app: &AppContext,
    token: &str,
    status: StatusCode,
    notice: Notice<'_>,
) -> HttpResponse {
    match portal::find(app, token).await {
        Ok(Some(fresh)) => html_response(status, invoice_page(&fresh, token, notice)),
        Ok(None) => not_found(),
        Err(err) => server_error(err),
    }
}

pub async fn pay(
    app: web::Data<AppContext>,
    token: web::Path<String>,
    form: web::Form<PayForm>,
) -> HttpResponse {
    let doc = match open(&app, &token).await {
        Ok(doc) => doc,
        Err(page) => return page,
    };
    let reshow = |status, notice| reshow(&app, &token, status, notice);
    let keep_card = form.keep_card.is_some();
    match portal::pay(&app, &doc, &form.card_number, &form.attempt, keep_card).await {
        Ok(PortalPayment::Paid) | Ok(PortalPayment::NothingDue) => HttpResponse::SeeOther()
            .insert_header(("location", format!("/pay/{}?paid=1", token.as_str())))
            .finish(),
        Ok(PortalPayment::Declined(message)) => {
            reshow(StatusCode::PAYMENT_REQUIRED, Notice::Declined(&message)).await
        }
        Err(DomainError::User(errors)) => {
            let status = if errors
                .iter()
                .any(|e| e.code == domain::ErrorCode::InvalidState)
            {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let message = errors
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; ");
            let mut message = format!("{}.", message.trim_end_matches('.'));
            if let Some(first) = message.get(..1) {
                message = format!(
                    "{}{}",
                    first.to_uppercase(),
                    message.get(1..).unwrap_or_default()
                );
            }
            reshow(status, Notice::Problem(&message)).await
        }
        Err(DomainError::Internal(err)) if err.downcast_ref::<GatewayError>().is_some() => {
            tracing::warn!(error = %err, "portal charge outcome unknown; a job will settle it");
            reshow(StatusCode::ACCEPTED, Notice::Unconfirmed).await
        }
        Err(err) => server_error(err),
    }
}
