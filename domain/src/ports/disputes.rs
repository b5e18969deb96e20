//! What answering a dispute sends through the gateway port
//! ([`PaymentGateway::upload_evidence`], `submit_evidence`,
//! `retrieve_dispute`).
//!
//! [`PaymentGateway::upload_evidence`]: crate::ports::gateway::PaymentGateway::upload_evidence

/// A document sent as a dispute's evidence (Stripe: a file uploaded with
/// `purpose=dispute_evidence`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceFile {
    /// `dispute_{dp}_{field}_{digest}`: the same document is uploaded once;
    /// a changed one is a new file.
    pub idempotency_key: String,
    pub filename: String,
    /// A PDF.
    pub bytes: Vec<u8>,
}

/// The evidence of one dispute, submitted to the card network at once
/// (Stripe: `POST /v1/disputes/{id}` with `evidence[...]` and `submit=true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceSubmission {
    /// `dp_...`
    pub dispute: String,
    /// `dispute_{dp}_evidence_{attempt}`: a new attempt only after looking
    /// showed that nothing was submitted.
    pub idempotency_key: String,
    /// `(field, value)`: Stripe's evidence field names; a document's value
    /// is the id [`PaymentGateway::upload_evidence`] returned.
    pub fields: Vec<(String, String)>,
}

/// A dispute as the gateway reports it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisputeState {
    /// `needs_response`, `under_review`, `won`, `lost`, `warning_*`...
    pub status: String,
    /// Evidence was submitted already (Stripe: `evidence_details.submission_count > 0`).
    pub submitted: bool,
}
