//! A dispute answered with evidence: documents uploaded as files
//! (`POST /v1/files`, multipart, `purpose=dispute_evidence`, on
//! `files.stripe.com` when the API is Stripe's own), then the evidence
//! submitted in one request (`POST /v1/disputes/{id}` with `evidence[...]`
//! and `submit=true`), and the dispute read back (`GET /v1/disputes/{id}`)
//! to settle a submission whose answer was lost.

use super::failures::{Failure, classify, refused};
use super::{DEFAULT_BASE_URL, StripeGateway, is_stripe_id};
use crate::ports::gateway::{DisputeState, EvidenceFile, EvidenceSubmission, GatewayError};
use reqwest::{Method, Url};
use serde::Deserialize;

/// Where Stripe takes file uploads.
const FILES_BASE_URL: &str = "https://files.stripe.com";

#[derive(Deserialize)]
struct FileObject {
    id: String,
}

#[derive(Deserialize)]
struct DisputeObject {
    status: String,
    #[serde(default)]
    evidence_details: super::wire::EvidenceDetails,
}

impl From<DisputeObject> for DisputeState {
    fn from(dispute: DisputeObject) -> Self {
        Self {
            status: dispute.status,
            submitted: dispute.evidence_details.submission_count > 0,
        }
    }
}

impl StripeGateway {
    /// Stripe's file host, or the configured base (a test server) when the
    /// API is not Stripe's own.
    fn files_url(&self) -> Result<Url, GatewayError> {
        if self.base_url.as_str().trim_end_matches('/') == DEFAULT_BASE_URL {
            Url::parse(FILES_BASE_URL)
                .map_err(|_| GatewayError::Unsupported("the Stripe files URL is not a valid URL"))
        } else {
            Ok(self.base_url.clone())
        }
    }

    pub(super) async fn upload(&self, file: &EvidenceFile) -> Result<String, GatewayError> {
        let part = reqwest::multipart::Part::bytes(file.bytes.clone())
            .file_name(file.filename.clone())
            .mime_str("application/pdf")
            .map_err(|e| GatewayError::Unavailable(format!("cannot build the upload: {e}")))?;
        let form = reqwest::multipart::Form::new()
            .text("purpose", "dispute_evidence")
            .part("file", part);
        let request = self
            .request(
                &self.files_url()?,
                Method::POST,
                &["v1", "files"],
                Some(&file.idempotency_key),
            )?
            .multipart(form);
        let response = self.execute(request, "v1/files").await?;
        if !response.status.is_success() {
            return Err(refused(&response, "evidence upload"));
        }
        let uploaded: FileObject = response.json()?;
        tracing::info!(file = %uploaded.id, name = %file.filename, "stripe evidence file uploaded");
        Ok(uploaded.id)
    }

    pub(super) async fn submit(
        &self,
        submission: &EvidenceSubmission,
    ) -> Result<DisputeState, GatewayError> {
        let id = submission.dispute.as_str();
        if !is_stripe_id(id) {
            return Err(GatewayError::Unavailable(format!(
                "malformed dispute id {id}"
            )));
        }
        let mut form: Vec<(String, String)> = submission
            .fields
            .iter()
            .map(|(field, value)| (format!("evidence[{field}]"), value.clone()))
            .collect();
        form.push(("submit".into(), "true".into()));
        let form: Vec<(&str, String)> = form.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let response = self
            .send(
                Method::POST,
                &["v1", "disputes", id],
                Some(&form),
                Some(&submission.idempotency_key),
            )
            .await?;
        if !response.status.is_success() {
            return Err(unknown_or_refused(&response, id, "dispute evidence"));
        }
        let dispute: DisputeObject = response.json()?;
        tracing::info!(dispute = id, status = %dispute.status, "stripe dispute evidence submitted");
        Ok(dispute.into())
    }

    pub(super) async fn fetch_dispute(&self, id: &str) -> Result<DisputeState, GatewayError> {
        if !is_stripe_id(id) {
            return Err(GatewayError::Unavailable(format!(
                "malformed dispute id {id}"
            )));
        }
        let response = self
            .send(Method::GET, &["v1", "disputes", id], None, None)
            .await?;
        if !response.status.is_success() {
            return Err(unknown_or_refused(&response, id, "dispute"));
        }
        let dispute: DisputeObject = response.json()?;
        Ok(dispute.into())
    }
}

/// A dispute Stripe does not know (404), or a refusal as any other.
fn unknown_or_refused(response: &super::Response, id: &str, what: &str) -> GatewayError {
    match classify(response) {
        Failure::Missing { .. } => GatewayError::UnknownDispute(id.to_string()),
        _ => refused(response, what),
    }
}
