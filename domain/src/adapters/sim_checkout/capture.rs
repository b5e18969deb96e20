//! The capture of a held simulated session (one with a surcharge line):
//! its one charge, for the amount asked (at most what was authorized), is
//! made the first time and only then (`capture_{intent}`); asked again, it
//! answers what that charge took, as Stripe answers for a captured intent.

use super::db_err;
use crate::ports::gateway::{CaptureRequest, Captured, GatewayError};
use chrono::{DateTime, Utc};
use entity::{simulated_charge, simulated_checkout};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

pub(crate) async fn capture(
    db: &DatabaseConnection,
    request: &CaptureRequest,
    now: DateTime<Utc>,
) -> Result<Captured, GatewayError> {
    let Some(row) = simulated_checkout::Entity::find()
        .filter(simulated_checkout::Column::PaymentIntent.eq(request.intent.clone()))
        .filter(simulated_checkout::Column::Mode.eq("payment"))
        .one(db)
        .await
        .map_err(db_err)?
    else {
        return Err(GatewayError::InvalidPaymentMethod(format!(
            "no PaymentIntent {}",
            request.intent
        )));
    };
    let key = format!("capture_{}", request.intent);
    let amount = request.amount.minor.get();
    if row.surcharge_minor <= 0 || row.status != "complete" {
        return Ok(Captured::Lost {
            reason: format!("PaymentIntent {} is not held", request.intent),
        });
    }
    if amount <= 0 || amount > row.amount_minor {
        return Err(GatewayError::Unavailable(format!(
            "amount_to_capture {amount} is not within the {} authorized",
            row.amount_minor
        )));
    }
    let tx = crate::infra::db::begin_write(db).await.map_err(db_err)?;
    simulated_charge::Entity::insert(simulated_charge::ActiveModel {
        idempotency_key: Set(key.clone()),
        reference: Set(request.intent.clone()),
        token: Set(row.card_token.clone().unwrap_or_default()),
        amount_minor: Set(amount),
        currency: Set(row.currency.to_ascii_uppercase()),
        succeeded: Set(true),
        decline_code: Set(None),
        created_at: Set(now),
        refund_of: Set(None),
    })
    .on_conflict(
        OnConflict::column(simulated_charge::Column::IdempotencyKey)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&tx)
    .await
    .map_err(db_err)?;
    simulated_checkout::Entity::update_many()
        .col_expr(
            simulated_checkout::Column::PaymentStatus,
            Expr::value("paid"),
        )
        .col_expr(simulated_checkout::Column::UpdatedAt, Expr::value(now))
        .filter(simulated_checkout::Column::Id.eq(row.id.clone()))
        .exec(&tx)
        .await
        .map_err(db_err)?;
    let charge = simulated_charge::Entity::find_by_id(key)
        .one(&tx)
        .await
        .map_err(db_err)?
        .ok_or_else(|| GatewayError::Unavailable("capture vanished".into()))?;
    tx.commit().await.map_err(db_err)?;
    tracing::info!(intent = %request.intent, amount = charge.amount_minor, "simulated capture");
    Ok(Captured::Taken {
        amount: charge.amount_minor,
    })
}
