use domain::workflow::outcome::Outcome;
use domain::{AppContext, followup::emails};

/// Email the invoice with its PDF and payment-portal link (again, for a resend).
pub async fn run(ctx: &AppContext, invoice_id: i64, resend: Option<&str>) -> Outcome {
    Outcome::of_sent(emails::send_invoice(ctx, invoice_id, resend).await)
}

/// Tell the client an auto-pay retry was declined, when the next one runs,
/// and how to pay now.
pub async fn decline_notice(ctx: &AppContext, invoice_id: i64, attempt: u32) -> Outcome {
    Outcome::of_sent(emails::send_decline_notice(ctx, invoice_id, attempt).await)
}
