//! The simulated gateway's disputes: a charge of its test card
//! `pm_card_createDispute` is disputed as fraudulent [`DISPUTE_DELAY`]
//! after it succeeds (`charge.dispute.created`): the payment is recorded
//! first, and the client has time to use the gallery, as a real dispute
//! comes days or weeks later.
//! Evidence is taken once, like Stripe's: documents are "uploaded" (the
//! simulated gateway keeps no file; the id it returns is derived from the
//! upload's key, so the same key gives the same id), the submission is
//! stored on the dispute, and the dispute closes at once: `won` when the
//! evidence carries an access log (the client used what they paid for),
//! `lost` otherwise; `charge.dispute.closed` follows.

use super::sim_cards::DISPUTED_CARD;
use crate::adapters::sim_gateway::db_err;
use crate::ports::gateway::{DisputeState, EvidenceFile, EvidenceSubmission, GatewayError};
use crate::workflow::next::{self, Change};
use chrono::{DateTime, Duration, Utc};
use entity::{simulated_charge, simulated_dispute};
use sea_orm::{ActiveValue::Set, DatabaseConnection, DatabaseTransaction, EntityTrait};
use serde_json::{Value, json};

/// How long after the charge the simulated dispute opens.
pub const DISPUTE_DELAY: Duration = Duration::minutes(2);
/// How long the simulated dispute takes evidence (Stripe: about a week).
const RESPONSE_DAYS: i64 = 7;
/// The prefix of a simulated dispute's event keys (`dispute:{id}:{phase}`).
pub const EVENT_KEY_PREFIX: &str = "dispute:";

fn event_key(id: &str, phase: &str) -> String {
    format!("{EVENT_KEY_PREFIX}{id}:{phase}")
}

/// The charge a dispute opens on (PaymentIntent, amount, currency): a
/// successful charge of the disputed test card, when webhooks announce it.
pub fn disputed(
    charge: &simulated_charge::ActiveModel,
    webhooks: bool,
) -> Option<(String, i64, String)> {
    let succeeded = charge.succeeded.try_as_ref().copied() == Some(true);
    let refund = charge.refund_of.try_as_ref().is_some_and(Option::is_some);
    let token = charge.token.try_as_ref()?;
    (webhooks && succeeded && !refund && token == DISPUTED_CARD).then_some(())?;
    Some((
        charge.reference.try_as_ref()?.clone(),
        *charge.amount_minor.try_as_ref()?,
        charge.currency.try_as_ref()?.clone(),
    ))
}

/// Opens the dispute of `charge` (if any: [`disputed`]) in the
/// transaction that records the charge, with its `charge.dispute.created`
/// event's delivery, [`DISPUTE_DELAY`] later.
pub async fn open(
    tx: &DatabaseTransaction,
    charge: Option<(String, i64, String)>,
    now: DateTime<Utc>,
) -> Result<(), GatewayError> {
    let Some((charge, amount_minor, currency)) = charge else {
        return Ok(());
    };
    let id = format!("dp_sim_{}", uuid::Uuid::now_v7().simple());
    simulated_dispute::Entity::insert(simulated_dispute::ActiveModel {
        id: Set(id.clone()),
        charge_reference: Set(charge.clone()),
        amount_minor: Set(amount_minor),
        currency: Set(currency),
        status: Set("needs_response".into()),
        submission_count: Set(0),
        evidence: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(tx)
    .await
    .map_err(db_err)?;
    let change = Change::SimulatedEvent {
        key: event_key(&id, "created"),
        at: Some(now + DISPUTE_DELAY),
    };
    next::after(tx, change, None, now)
        .await
        .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
    tracing::info!(dispute = %id, %charge, "simulated dispute opened");
    Ok(())
}

/// The id of an uploaded document: derived from the upload's key.
pub fn upload(file: &EvidenceFile) -> Result<String, GatewayError> {
    use sha2::Digest;
    if file.bytes.is_empty() {
        return Err(GatewayError::Unavailable(format!(
            "the simulated gateway refused the empty file {}",
            file.filename
        )));
    }
    let digest = sha2::Sha256::digest(file.idempotency_key.as_bytes());
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    Ok(format!("file_sim_{hex}"))
}

fn state(row: &simulated_dispute::Model) -> DisputeState {
    DisputeState {
        status: row.status.clone(),
        submitted: row.submission_count > 0,
    }
}

pub async fn retrieve(db: &DatabaseConnection, id: &str) -> Result<DisputeState, GatewayError> {
    simulated_dispute::Entity::find_by_id(id.to_string())
        .one(db)
        .await
        .map_err(db_err)?
        .map(|row| state(&row))
        .ok_or_else(|| GatewayError::UnknownDispute(id.to_string()))
}

/// Takes the evidence once and closes the dispute on it.
pub async fn submit(
    db: &DatabaseConnection,
    submission: &EvidenceSubmission,
    now: DateTime<Utc>,
) -> Result<DisputeState, GatewayError> {
    use sea_orm::{ColumnTrait, QueryFilter, sea_query::Expr};
    let id = submission.dispute.as_str();
    let fields: serde_json::Map<String, Value> = submission
        .fields
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let used = fields
        .get("access_activity_log")
        .and_then(Value::as_str)
        .is_some_and(|log| !log.trim().is_empty());
    let outcome = if used { "won" } else { "lost" };
    let tx = crate::infra::db::begin_write(db).await.map_err(db_err)?;
    let taken = simulated_dispute::Entity::update_many()
        .col_expr(simulated_dispute::Column::Status, Expr::value(outcome))
        .col_expr(simulated_dispute::Column::SubmissionCount, Expr::value(1))
        .col_expr(
            simulated_dispute::Column::Evidence,
            Expr::value(Value::Object(fields).to_string()),
        )
        .col_expr(simulated_dispute::Column::UpdatedAt, Expr::value(now))
        .filter(simulated_dispute::Column::Id.eq(id))
        .filter(simulated_dispute::Column::SubmissionCount.eq(0))
        .exec(&tx)
        .await
        .map_err(db_err)?
        .rows_affected;
    if taken == 0 {
        let known = simulated_dispute::Entity::find_by_id(id.to_string())
            .one(&tx)
            .await
            .map_err(db_err)?;
        return Err(match known {
            None => GatewayError::UnknownDispute(id.to_string()),
            Some(_) => GatewayError::Unavailable(format!(
                "the simulated gateway refused evidence for dispute {id}: it took evidence already"
            )),
        });
    }
    let change = Change::SimulatedEvent {
        key: event_key(id, "closed"),
        at: None,
    };
    next::after(&tx, change, None, now)
        .await
        .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
    tx.commit().await.map_err(db_err)?;
    tracing::info!(dispute = %id, outcome, "simulated dispute evidence taken");
    Ok(DisputeState {
        status: outcome.into(),
        submitted: true,
    })
}

/// The Stripe-shaped `charge.dispute.{created,closed}` event of a
/// simulated dispute (key `dispute:{id}:{phase}`).
pub async fn event_for(db: &DatabaseConnection, key: &str) -> Result<Option<Value>, GatewayError> {
    let Some((id, phase)) = key
        .strip_prefix(EVENT_KEY_PREFIX)
        .and_then(|rest| rest.rsplit_once(':'))
    else {
        return Ok(None);
    };
    let Some(row) = simulated_dispute::Entity::find_by_id(id.to_string())
        .one(db)
        .await
        .map_err(db_err)?
    else {
        return Ok(None);
    };
    // Events of one object apply in the order they were created: the
    // closing one is at least a second after the opening one.
    let (status, at) = match phase {
        "created" => ("needs_response", row.created_at),
        _ => (
            row.status.as_str(),
            row.updated_at.max(row.created_at + Duration::seconds(1)),
        ),
    };
    Ok(Some(json!({
        "id": format!("evt_{id}_{phase}"),
        "object": "event",
        "api_version": crate::adapters::stripe::STRIPE_API_VERSION,
        "created": at.timestamp(),
        "livemode": false,
        "type": format!("charge.dispute.{phase}"),
        "data": { "object": {
            "id": row.id,
            "object": "dispute",
            "amount": row.amount_minor,
            "currency": row.currency.to_ascii_lowercase(),
            "payment_intent": row.charge_reference,
            "reason": "fraudulent",
            "status": status,
            "evidence_details": {
                "due_by": (row.created_at + Duration::days(RESPONSE_DAYS)).timestamp(),
                "submission_count": row.submission_count,
            },
        } },
    })))
}
