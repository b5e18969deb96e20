use super::Step;
use domain::{AppContext, DomainResult, emails};

/// Email the invoice with its payment-portal link.
pub async fn run(ctx: &AppContext, invoice_id: i64) -> DomainResult<Step> {
    emails::send_invoice(ctx, invoice_id).await?;
    Ok(Step::Done)
}
