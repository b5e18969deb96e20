//! Disputes (chargebacks) and the evidence they are answered with
//! (`domain::billing::disputes`, `domain::followup::disputes`): the list,
//! the studio's click that sends reviewed evidence, and how the studio
//! answers disputes.

use super::common::{Caller, id, parse_id, payload_type};
use super::money::Money;
use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use domain::billing::disputes::{self, EvidenceStage as Stage};
use domain::followup::disputes::Evidence;
use entity::{dispute, studio};

/// Where a dispute's evidence stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "domain::billing::disputes::EvidenceStage")]
pub enum EvidenceStage {
    /// Being gathered (within moments of the dispute opening).
    Gathering,
    /// Gathered; waits for `submitDisputeEvidence` (the studio reviews
    /// evidence), or goes by itself two days before `evidenceDueBy`.
    AwaitingReview,
    /// On its way to the gateway.
    Sending,
    /// Sent to the gateway.
    Submitted,
    /// The dispute closed before any evidence went.
    NotSent,
}

/// A document sent with the evidence.
#[derive(SimpleObject)]
pub struct EvidenceDocument {
    /// The gateway's evidence field (`receipt`, `service_documentation`,
    /// `customer_communication`, `refund_policy`).
    pub field: String,
    /// The gateway's id of the uploaded file.
    pub file_id: String,
}

/// What the system gathered to answer a dispute.
#[derive(SimpleObject)]
pub struct DisputeEvidence {
    pub customer_name: String,
    pub customer_email_address: String,
    pub product_description: String,
    /// The day of the session, `YYYY-MM-DD`.
    pub service_date: String,
    /// The gallery's logins and downloads after the payment, one per line.
    pub access_activity_log: String,
    pub logins: i32,
    pub downloads: i32,
    /// The emails the client was sent about the session.
    pub emails: Vec<String>,
    pub refund_policy: Option<String>,
    pub summary: String,
    /// The documents sent (once sent): invoice, receipt, emails, policy.
    pub documents: Vec<EvidenceDocument>,
}

impl From<Evidence> for DisputeEvidence {
    fn from(e: Evidence) -> Self {
        Self {
            customer_name: e.customer_name,
            customer_email_address: e.customer_email_address,
            product_description: e.product_description,
            service_date: e.service_date,
            access_activity_log: e.access_activity_log,
            logins: i32::try_from(e.logins).unwrap_or(i32::MAX),
            downloads: i32::try_from(e.downloads).unwrap_or(i32::MAX),
            emails: e.emails,
            refund_policy: e.refund_policy,
            summary: e.summary,
            documents: e
                .files
                .into_iter()
                .map(|(field, file_id)| EvidenceDocument { field, file_id })
                .collect(),
        }
    }
}

/// A chargeback on one of the studio's card payments.
#[derive(SimpleObject)]
pub struct Dispute {
    pub id: ID,
    /// The gateway's id (`dp_...`).
    pub gateway_id: String,
    pub invoice_id: ID,
    pub payment_id: ID,
    pub amount: Money,
    /// The card network's reason (`fraudulent`, `product_not_received`...).
    pub reason: Option<String>,
    /// The gateway's status: `needs_response`, `under_review`, `won`, `lost`...
    pub status: String,
    /// The last moment the gateway takes evidence.
    pub evidence_due_by: Option<DateTime<Utc>>,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub evidence_stage: EvidenceStage,
    pub evidence_submitted_at: Option<DateTime<Utc>>,
    pub evidence: Option<DisputeEvidence>,
}

impl Dispute {
    fn new(d: dispute::Model, studio: &studio::Model) -> Self {
        Self {
            id: id(d.id),
            evidence_stage: Stage::of(&d, studio.review_dispute_evidence).into(),
            gateway_id: d.gateway_id,
            invoice_id: id(d.invoice_id),
            payment_id: id(d.payment_id),
            amount: Money::of(d.amount_minor, d.currency),
            reason: d.reason,
            status: d.status,
            evidence_due_by: d.evidence_due_by,
            opened_at: d.opened_at,
            closed_at: d.closed_at,
            evidence_submitted_at: d.evidence_submitted_at,
            evidence: d
                .evidence
                .as_deref()
                .and_then(|raw| serde_json::from_str::<Evidence>(raw).ok())
                .map(Into::into),
        }
    }
}

/// How the studio answers disputes.
#[derive(SimpleObject)]
pub struct DisputePolicy {
    /// Evidence waits for `submitDisputeEvidence` instead of going as soon
    /// as it is gathered.
    pub review_evidence: bool,
    /// Sent with the evidence as a document.
    pub refund_policy: Option<String>,
}

impl DisputePolicy {
    fn of(s: &studio::Model) -> Self {
        Self {
            review_evidence: s.review_dispute_evidence,
            refund_policy: s.refund_policy.clone(),
        }
    }
}

#[derive(Default)]
pub struct DisputesQuery;

#[Object]
impl DisputesQuery {
    /// The studio's disputes, newest first.
    async fn disputes(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50, validator(minimum = 1, maximum = 200))] first: i32,
    ) -> Result<Vec<Dispute>> {
        let caller = Caller::of(ctx)?;
        let limit = u64::try_from(first).unwrap_or(50);
        let rows = disputes::of_studio(caller.app, caller.studio_id(), limit).await?;
        Ok(rows
            .into_iter()
            .map(|d| Dispute::new(d, caller.studio))
            .collect())
    }

    async fn dispute_policy(&self, ctx: &Context<'_>) -> Result<DisputePolicy> {
        Ok(DisputePolicy::of(Caller::of(ctx)?.studio))
    }
}

#[derive(InputObject)]
pub struct SubmitDisputeEvidenceInput {
    pub dispute_id: ID,
}

#[derive(InputObject)]
pub struct SetDisputePolicyInput {
    pub review_evidence: Option<bool>,
    /// Plain text, at most 5,000 characters; empty clears it.
    pub refund_policy: Option<String>,
}

payload_type!(SubmitDisputeEvidencePayload, dispute, Dispute);
payload_type!(DisputePolicyPayload, policy, DisputePolicy);

#[derive(Default)]
pub struct DisputesMutation;

#[Object]
impl DisputesMutation {
    /// Sends a dispute's gathered evidence (a studio that reviews evidence;
    /// others' goes by itself). Sent once, however often asked; refused
    /// once the dispute is closed or its deadline passed.
    async fn submit_dispute_evidence(
        &self,
        ctx: &Context<'_>,
        input: SubmitDisputeEvidenceInput,
    ) -> Result<SubmitDisputeEvidencePayload> {
        let caller = Caller::of(ctx)?;
        let result = async {
            let dispute = parse_id(&input.dispute_id, "disputeId", "dispute")?;
            disputes::approve(caller.app, caller.studio_id(), dispute).await
        }
        .await;
        SubmitDisputeEvidencePayload::from_result(result.map(|d| Dispute::new(d, caller.studio)))
    }

    /// Whether evidence waits for the studio's review, and the refund
    /// policy sent with it.
    async fn set_dispute_policy(
        &self,
        ctx: &Context<'_>,
        input: SetDisputePolicyInput,
    ) -> Result<DisputePolicyPayload> {
        let caller = Caller::of(ctx)?;
        let result = disputes::set_policy(
            caller.app,
            caller.studio,
            input.review_evidence,
            input.refund_policy,
        )
        .await;
        DisputePolicyPayload::from_result(result.map(|s| DisputePolicy::of(&s)))
    }
}
