//! One request to Stripe and its whole answer: authenticated, pinned to
//! our API version, with its idempotency key; a transport failure is
//! `Unavailable` (the request may or may not have reached Stripe).

use super::failures::transport_error;
use super::{STRIPE_API_VERSION, StripeGateway};
use crate::ports::gateway::GatewayError;
use reqwest::{Method, StatusCode, Url};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;

impl StripeGateway {
    /// Sends one request; any transport failure (connect, timeout, body) is
    /// `Unavailable`: the request may or may not have reached Stripe.
    pub(super) async fn send(
        &self,
        method: Method,
        segments: &[&str],
        form: Option<&[(&str, String)]>,
        idempotency_key: Option<&str>,
    ) -> Result<Response, GatewayError> {
        self.send_query(method, segments, &[], form, idempotency_key)
            .await
    }

    /// `send` with query parameters (`expand[]=...`).
    pub(super) async fn send_query(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        form: Option<&[(&str, String)]>,
        idempotency_key: Option<&str>,
    ) -> Result<Response, GatewayError> {
        let mut request = self.request(&self.base_url, method, segments, idempotency_key)?;
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(form) = form {
            request = request.form(form);
        }
        self.execute(request, &segments.join("/")).await
    }

    /// A request to `base` + `segments`, authenticated, pinned to our API
    /// version, with its idempotency key when it has one.
    pub(super) fn request(
        &self,
        base: &Url,
        method: Method,
        segments: &[&str],
        idempotency_key: Option<&str>,
    ) -> Result<reqwest::RequestBuilder, GatewayError> {
        let mut url = base.clone();
        url.path_segments_mut()
            .map_err(|()| GatewayError::Unsupported("the Stripe base URL cannot take a path"))?
            .pop_if_empty()
            .extend(segments);
        let mut request = self
            .http
            .request(method, url)
            .bearer_auth(self.secret_key.expose_secret())
            .header("Stripe-Version", STRIPE_API_VERSION)
            .timeout(self.timeout);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        Ok(request)
    }

    /// Sends a built request and reads its whole answer.
    pub(super) async fn execute(
        &self,
        request: reqwest::RequestBuilder,
        endpoint: &str,
    ) -> Result<Response, GatewayError> {
        let response = request
            .send()
            .await
            .map_err(|e| transport_error(endpoint, &e, self.timeout))?;
        let status = response.status();
        let request_id = response
            .headers()
            .get("request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let replayed = response
            .headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let body = response
            .text()
            .await
            .map_err(|e| transport_error(endpoint, &e, self.timeout))?;
        Ok(Response {
            status,
            body,
            request_id,
            replayed,
        })
    }
}

pub(super) struct Response {
    pub(super) status: StatusCode,
    pub(super) body: String,
    pub(super) request_id: Option<String>,
    /// `Idempotent-Replayed: true`: the stored answer of an earlier request
    /// with the same key, not the outcome of this one.
    pub(super) replayed: bool,
}

impl Response {
    /// Parses a 2xx body. An unreadable success body leaves the outcome
    /// unknown: `Unavailable`, so the caller retries and Stripe replays.
    pub(super) fn json<T: DeserializeOwned>(&self) -> Result<T, GatewayError> {
        serde_json::from_str(&self.body).map_err(|e| {
            GatewayError::Unavailable(format!(
                "unreadable Stripe response (HTTP {}, request {}): {e}",
                self.status.as_u16(),
                self.request_id.as_deref().unwrap_or("-")
            ))
        })
    }
}
