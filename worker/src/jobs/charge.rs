use domain::AppContext;
use domain::billing::payments::{self, AutoPay, Resolved};
use domain::workflow::outcome::Outcome;

/// Auto-pay attempt `attempt` with the client's card as it is now; a first
/// decline falls back to the invoice email, later ones to a decline notice.
/// A charge the gateway is still processing is looked at again later.
pub async fn run(
    ctx: &AppContext,
    invoice_id: i64,
    attempt: u32,
    payer: Option<i64>,
    request_id: Option<&str>,
) -> Outcome {
    let charged = match payer {
        Some(payer) => {
            domain::billing::payers::charge::share(ctx, invoice_id, payer, attempt, request_id)
                .await
        }
        None => payments::auto_pay(ctx, invoice_id, attempt, request_id).await,
    };
    match charged {
        Ok(AutoPay::Paid | AutoPay::NothingDue) => Outcome::Done,
        Ok(AutoPay::Processing { look_again_at }) => Outcome::Waiting(look_again_at),
        Ok(AutoPay::Declined {
            reason,
            retry_in_days,
        }) => {
            tracing::info!(invoice_id, attempt, %reason, ?retry_in_days, "auto-pay declined");
            Outcome::Done
        }
        Err(err) => Outcome::Retry(err),
    }
}

/// Settle a payment whose outcome was unknown (the portal's gateway call timed
/// out): retrieve its PaymentIntent and settle what it says.
pub async fn resolve(ctx: &AppContext, payment_id: i64, request_id: Option<&str>) -> Outcome {
    match payments::resolve_pending(ctx, payment_id, request_id).await {
        Ok(Resolved::AlreadySettled) => Outcome::Done,
        Ok(Resolved::Settled { status }) => {
            tracing::info!(payment_id, status, "pending payment resolved");
            Outcome::Done
        }
        Ok(Resolved::Processing { look_again_at }) => Outcome::Waiting(look_again_at),
        Err(err) => Outcome::Retry(err),
    }
}
