use domain::billing::payments::{self, AutoPay, Resolved};
use domain::{AppContext, DomainResult};

/// Auto-pay attempt `attempt` with the client's card as it is now; a first
/// decline falls back to the invoice email, later ones to a decline notice.
pub async fn run(
    ctx: &AppContext,
    invoice_id: i64,
    attempt: u32,
    request_id: Option<&str>,
) -> DomainResult<()> {
    match payments::auto_pay(ctx, invoice_id, attempt, request_id).await? {
        AutoPay::Paid | AutoPay::NothingDue => {}
        AutoPay::Declined {
            reason,
            retry_in_days,
        } => {
            tracing::info!(invoice_id, attempt, %reason, ?retry_in_days, "auto-pay declined")
        }
    }
    Ok(())
}

/// Settle a payment whose outcome was unknown (the portal's gateway call timed
/// out): retrieve its PaymentIntent and settle what it says.
pub async fn resolve(
    ctx: &AppContext,
    payment_id: i64,
    request_id: Option<&str>,
) -> DomainResult<()> {
    match payments::resolve_pending(ctx, payment_id, request_id).await? {
        Resolved::AlreadySettled => {}
        Resolved::Settled { status } => {
            tracing::info!(payment_id, status, "pending payment resolved")
        }
    }
    Ok(())
}
