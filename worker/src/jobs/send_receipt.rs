use domain::{AppContext, DomainResult, followup::emails};

/// Email the receipt of a successful payment.
pub async fn run(ctx: &AppContext, payment_id: i64) -> DomainResult<()> {
    emails::send_receipt(ctx, payment_id).await?;
    Ok(())
}

/// Email the confirmation of a refund, with its credit note.
pub async fn refund(ctx: &AppContext, refund_id: i64) -> DomainResult<()> {
    emails::send_refund_confirmation(ctx, refund_id).await?;
    Ok(())
}
