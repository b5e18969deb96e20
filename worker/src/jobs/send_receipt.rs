use domain::AppContext;
use domain::workflow::outcome::Outcome;

/// Email the receipt of a successful payment.
pub async fn run(ctx: &AppContext, payment_id: i64) -> Outcome {
    Outcome::of_sent(domain::followup::receipts::send_receipt(ctx, payment_id).await)
}

/// Email the confirmation of a refund, with its credit note.
pub async fn refund(ctx: &AppContext, refund_id: i64) -> Outcome {
    Outcome::of_sent(
        domain::followup::refund_emails::send_refund_confirmation(ctx, refund_id).await,
    )
}
