//! A local Stripe-shaped server (wiremock) with Stripe's memory: it keeps
//! PaymentIntents, their charges and refunds, and idempotency keys the way
//! Stripe does, so tests can show what happens when an answer is lost.
//!
//! - The first answer under an `Idempotency-Key` is stored, **500s
//!   included**, and replayed for every later request with that key (with
//!   `Idempotent-Replayed: true`); the same key with other parameters (or
//!   another endpoint) gets Stripe's `400 idempotency_error`.
//! - Keys are forgotten 24 hours after they were first used, on the
//!   server's own clock, which only [`StripeServer::advance_hours`] moves:
//!   after that, the same key is a new request (and could charge again).
//! - [`StripeServer::fail_next`] makes the next call of an operation answer
//!   500, either having done nothing or **after the work took effect** (the
//!   intent is charged, the refund made, but the answer is a 500).
//! - Every request is checked for what Stripe requires (the secret key as a
//!   bearer token, the pinned `Stripe-Version`, form bodies, an
//!   `Idempotency-Key` on every POST and none on a GET);
//!   [`StripeServer::violations`] lists what was wrong.
//!
//! Endpoints: `GET /v1/payment_methods/{id}`, `POST /v1/payment_intents`,
//! `POST /v1/payment_intents/{id}/confirm`, `GET /v1/payment_intents/{id}`,
//! `GET /v1/payment_intents/search?query=metadata['idempotency_key']:'…'`,
//! `POST /v1/setup_intents` (a card check, `confirm=true`),
//! `POST /v1/refunds`, `GET /v1/refunds?payment_intent=…`,
//! `GET /v1/refunds/{id}`, `POST /v1/customers`, `GET /v1/customers?email=…`,
//! `GET /v1/customers/search?query=metadata['client_id']:'…'`,
//! `POST /v1/checkout/sessions` (`mode=payment` or `setup`),
//! `GET /v1/checkout/sessions?customer=…&created[gte]=…&starting_after=…`
//! (newest first, `limit` honoured, metadata returned but not filterable,
//! as Stripe's), `GET /v1/checkout/sessions/{id}`,
//! `POST /v1/checkout/sessions/{id}/expire`,
//! `POST /v1/payment_intents/{id}/capture` (`amount_to_capture`; a second
//! capture is refused as Stripe refuses it), `POST /v1/files` (multipart,
//! `purpose` and `file`), `POST /v1/disputes/{id}` (`evidence[...]`, each
//! a known evidence field, a document's a file uploaded with
//! `purpose=dispute_evidence`; `submit=true` submits once, a dispute under
//! review refuses more) and `GET /v1/disputes/{id}`; a dispute exists once
//! [`StripeServer::add_dispute`] opens it. `GET /v1/payment_intents/{id}`
//! honours `expand[]=payment_method`. A session created with
//! `payment_intent_data[capture_method]=manual` is held when
//! [`StripeServer::authorize_session`] pays it.

use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// An operation whose next call can be made to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    CreateIntent,
    ConfirmIntent,
    CreateRefund,
    CreateCustomer,
    /// `POST /v1/checkout/sessions`, either mode.
    CreateCheckout,
    /// `POST /v1/payment_intents/{id}/capture`.
    Capture,
    /// `POST /v1/disputes/{id}` (evidence).
    SubmitEvidence,
}

/// How the next call of an operation fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Answers 500 having done nothing.
    Before,
    /// Does the work (charges, refunds, creates), then answers 500.
    After,
}

/// Seconds since the epoch at which the server's clock starts.
const EPOCH: i64 = 1_790_000_000;
const DAY: i64 = 24 * 3600;

struct Stored {
    endpoint: String,
    params: Vec<(String, String)>,
    status: u16,
    body: Value,
    first_used: i64,
}

#[derive(Default)]
struct State {
    now: i64,
    next_id: u64,
    keys: HashMap<String, Stored>,
    payment_methods: HashMap<String, Value>,
    /// Payment method -> (code, decline_code, message) of its decline.
    declines: HashMap<String, (String, String, String)>,
    intents: BTreeMap<String, Value>,
    refunds: BTreeMap<String, Value>,
    customers: BTreeMap<String, Value>,
    sessions: BTreeMap<String, Value>,
    disputes: BTreeMap<String, Value>,
    /// Uploaded files, with their bytes.
    files: BTreeMap<String, (Value, Vec<u8>)>,
    /// Sessions created with `payment_intent_data[capture_method]=manual`.
    held: std::collections::HashSet<String>,
    failures: Vec<(Op, Failure)>,
    violations: Vec<String>,
    secret_key: String,
}

pub struct StripeServer {
    pub server: MockServer,
    state: Arc<Mutex<State>>,
}

impl StripeServer {
    /// Starts the server; requests must carry `Bearer {secret_key}`.
    pub async fn start(secret_key: &str) -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            secret_key: secret_key.to_string(),
            ..State::default()
        }));
        Mock::given(wiremock::matchers::any())
            .respond_with(Responder(state.clone()))
            .mount(&server)
            .await;
        Self { server, state }
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens a dispute (`needs_response`) on PaymentIntent `payment_intent`,
    /// taking evidence until `due_by` (unix seconds); returns the dispute
    /// object, as a `charge.dispute.created` event carries it.
    pub fn add_dispute(&self, id: &str, payment_intent: &str, amount: i64, due_by: i64) -> Value {
        let dispute = json!({
            "id": id, "object": "dispute", "amount": amount, "currency": "usd",
            "payment_intent": payment_intent, "reason": "product_not_received",
            "status": "needs_response", "evidence": {},
            "evidence_details": { "due_by": due_by, "submission_count": 0, "has_evidence": false },
        });
        self.state()
            .disputes
            .insert(id.to_string(), dispute.clone());
        dispute
    }

    /// A dispute as the server holds it now.
    pub fn dispute(&self, id: &str) -> Option<Value> {
        self.state().disputes.get(id).cloned()
    }

    /// Every uploaded file object, with its bytes.
    pub fn files(&self) -> Vec<(Value, Vec<u8>)> {
        self.state().files.values().cloned().collect()
    }

    /// A credit card payment method, saved on `customer` when given.
    pub fn add_card(&self, id: &str, customer: Option<&str>, brand: &str, last4: &str) {
        self.add_funded_card(id, customer, brand, last4, "credit");
    }

    /// A card payment method of the given `funding` (`credit`, `debit`,
    /// `prepaid`, `unknown`), saved on `customer` when given.
    pub fn add_funded_card(
        &self,
        id: &str,
        customer: Option<&str>,
        brand: &str,
        last4: &str,
        funding: &str,
    ) {
        self.state().payment_methods.insert(
            id.to_string(),
            json!({ "id": id, "object": "payment_method", "type": "card", "customer": customer,
                    "card": { "brand": brand, "last4": last4, "exp_month": 12, "exp_year": 2034,
                              "funding": funding } }),
        );
    }

    /// The client pays session `id` with `payment_method` on Stripe's page:
    /// a PaymentIntent for the session's `amount_total`, held
    /// (`requires_capture`, nothing received) when the session was created
    /// for manual capture, else succeeded; the session is `complete`
    /// (`unpaid` while held). Returns the session, for the
    /// `checkout.session.completed` event.
    pub fn authorize_session(&self, id: &str, payment_method: &str) -> Value {
        let mut state = self.state();
        let held = state.held.contains(id);
        let pi = state.id("pi");
        let session = state.sessions.get(id).cloned().expect("a session");
        let amount = session["amount_total"].as_i64().expect("an amount");
        let intent = json!({
            "id": pi, "object": "payment_intent", "amount": amount,
            "currency": session["currency"], "customer": session["customer"],
            "payment_method": payment_method,
            "capture_method": if held { "manual" } else { "automatic" },
            "status": if held { "requires_capture" } else { "succeeded" },
            "amount_capturable": if held { amount } else { 0 },
            "amount_received": if held { 0 } else { amount },
            "metadata": session["metadata"],
        });
        state.intents.insert(pi.clone(), intent);
        let session = state.sessions.get_mut(id).expect("a session");
        session["status"] = json!("complete");
        session["payment_status"] = json!(if held { "unpaid" } else { "paid" });
        session["payment_intent"] = json!(pi);
        session["url"] = Value::Null;
        session.clone()
    }

    /// Charging `payment_method` is declined with `decline_code`.
    pub fn decline_card(&self, payment_method: &str, decline_code: &str) {
        self.state().declines.insert(
            payment_method.to_string(),
            (
                "card_declined".to_string(),
                decline_code.to_string(),
                "Your card was declined.".to_string(),
            ),
        );
    }

    /// The next call of `op` fails with a 500 (stored under its key).
    pub fn fail_next(&self, op: Op, failure: Failure) {
        self.state().failures.push((op, failure));
    }

    /// Moves the server's clock; keys first used 24 hours ago or more are
    /// forgotten, as Stripe prunes them.
    pub fn advance_hours(&self, hours: i64) {
        let mut state = self.state();
        state.now += hours * 3600;
        let now = state.now;
        state.keys.retain(|_, stored| now - stored.first_used < DAY);
    }

    /// Whether the server still remembers `key`.
    pub fn remembers(&self, key: &str) -> bool {
        self.state().keys.contains_key(key)
    }

    /// Every PaymentIntent, in creation order.
    pub fn intents(&self) -> Vec<Value> {
        let mut all: Vec<Value> = self.state().intents.values().cloned().collect();
        all.sort_by_key(|i| i["created"].as_i64());
        all
    }

    /// How many charges took money (succeeded intents).
    pub fn charges(&self) -> usize {
        self.state()
            .intents
            .values()
            .filter(|i| i["status"] == "succeeded")
            .count()
    }

    /// Every Customer created, in creation order.
    pub fn customers(&self) -> Vec<Value> {
        self.state().customers.values().cloned().collect()
    }

    /// Every Checkout Session created (both modes), in creation order.
    pub fn checkout_sessions(&self) -> Vec<Value> {
        self.state().sessions.values().cloned().collect()
    }

    /// Every refund made.
    pub fn refunds(&self) -> Vec<Value> {
        self.state().refunds.values().cloned().collect()
    }

    /// What the requests did wrong (empty when all were well-formed).
    pub fn violations(&self) -> Vec<String> {
        self.state().violations.clone()
    }

    /// Every request received, in order, as (method, path, idempotency key).
    pub async fn calls(&self) -> Vec<(String, String, Option<String>)> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|r| {
                (
                    r.method.to_string(),
                    r.url.path().to_string(),
                    r.headers
                        .get("idempotency-key")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string),
                )
            })
            .collect()
    }

    /// The form of every request with idempotency key `key`.
    pub async fn forms_with_key(&self, key: &str) -> Vec<BTreeMap<String, String>> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| {
                r.headers
                    .get("idempotency-key")
                    .and_then(|v| v.to_str().ok())
                    == Some(key)
            })
            .map(|r| form(&r.body).into_iter().collect())
            .collect()
    }
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).unwrap_or_default()
}

fn error(status: u16, kind: &str, code: &str, message: &str) -> (u16, Value) {
    (
        status,
        json!({ "error": { "type": kind, "code": code, "message": message } }),
    )
}

fn list(data: Vec<Value>) -> (u16, Value) {
    (
        200,
        json!({ "object": "list", "data": data, "has_more": false }),
    )
}

/// `metadata[k]=v` form fields as a metadata object.
fn metadata_of(params: &[(String, String)], prefix: &str) -> serde_json::Map<String, Value> {
    params
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix(prefix)
                .and_then(|k| k.strip_suffix(']'))
                .map(|k| (k.to_string(), Value::String(v.clone())))
        })
        .collect()
}

fn missing(what: &str) -> (u16, Value) {
    error(
        404,
        "invalid_request_error",
        "resource_missing",
        &format!("No such {what}"),
    )
}

struct Responder(Arc<Mutex<State>>);

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.0.lock().unwrap_or_else(|p| p.into_inner());
        state.check(request);
        let method = request.method.to_string();
        let path = request.url.path().to_string();
        let params = if path == "/v1/files" {
            // A multipart body's boundary differs on every try: its parts
            // are the parameters.
            multipart_parts(request)
                .into_iter()
                .map(|p| (p.name, format!("{:?}:{:?}", p.filename, p.bytes)))
                .collect()
        } else {
            form(&request.body)
        };
        let key = request
            .headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let endpoint = format!("{method} {path}");
        if method == "POST"
            && let Some(key) = &key
            && let Some(stored) = state.keys.get(key)
        {
            if stored.endpoint != endpoint || stored.params != params {
                let (status, body) = error(
                    400,
                    "idempotency_error",
                    "idempotency_key_in_use",
                    "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                );
                return ResponseTemplate::new(status).set_body_json(body);
            }
            return ResponseTemplate::new(stored.status)
                .insert_header("Idempotent-Replayed", "true")
                .set_body_json(stored.body.clone());
        }
        let (status, body) = state.route(&method, &path, request, &params);
        if method == "POST"
            && let Some(key) = key
        {
            let first_used = state.now;
            state.keys.insert(
                key,
                Stored {
                    endpoint,
                    params,
                    status,
                    body: body.clone(),
                    first_used,
                },
            );
        }
        ResponseTemplate::new(status).set_body_json(body)
    }
}

impl State {
    fn check(&mut self, request: &Request) {
        let header = |name: &str| {
            request
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let what = format!("{} {}", request.method, request.url.path());
        if header("authorization") != Some(format!("Bearer {}", self.secret_key)) {
            self.violations
                .push(format!("{what}: no `Authorization: Bearer <secret key>`"));
        }
        if header("stripe-version").as_deref() != Some(domain::adapters::stripe::STRIPE_API_VERSION)
        {
            self.violations.push(format!(
                "{what}: Stripe-Version is {:?}",
                header("stripe-version")
            ));
        }
        let post = request.method.as_str() == "POST";
        if post && header("idempotency-key").is_none_or(|k| k.is_empty()) {
            self.violations
                .push(format!("{what}: a POST without Idempotency-Key"));
        }
        if !post && header("idempotency-key").is_some() {
            self.violations
                .push(format!("{what}: an Idempotency-Key on a read"));
        }
        let multipart =
            header("content-type").is_some_and(|t| t.starts_with("multipart/form-data; boundary="));
        if post && request.url.path() == "/v1/files" {
            if !multipart {
                self.violations.push(format!(
                    "{what}: content-type {:?} (a file goes as multipart/form-data)",
                    header("content-type")
                ));
            }
        } else if post
            && !request.body.is_empty()
            && header("content-type").as_deref() != Some("application/x-www-form-urlencoded")
        {
            self.violations
                .push(format!("{what}: content-type {:?}", header("content-type")));
        }
    }

    fn take_failure(&mut self, op: Op) -> Option<Failure> {
        let at = self.failures.iter().position(|(o, _)| *o == op)?;
        Some(self.failures.remove(at).1)
    }

    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}_test{:04}", self.next_id)
    }

    fn route(
        &mut self,
        method: &str,
        path: &str,
        request: &Request,
        params: &[(String, String)],
    ) -> (u16, Value) {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let query: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
        match (method, segments.as_slice()) {
            ("GET", ["v1", "payment_methods", id]) => match self.payment_methods.get(*id) {
                Some(pm) => (200, pm.clone()),
                None => missing("payment_method"),
            },
            ("POST", ["v1", "payment_intents"]) => self.create_intent(params),
            ("GET", ["v1", "payment_intents", "search"]) => {
                self.search_intents(query.get("query").map(String::as_str).unwrap_or(""))
            }
            ("POST", ["v1", "payment_intents", id, "confirm"]) => self.confirm_intent(id),
            ("POST", ["v1", "payment_intents", id, "capture"]) => self.capture_intent(id, params),
            ("GET", ["v1", "payment_intents", id]) => match self.intents.get(*id) {
                Some(intent) => {
                    let mut intent = intent.clone();
                    if query.get("expand[]").map(String::as_str) == Some("payment_method") {
                        let pm = intent["payment_method"].as_str().unwrap_or_default();
                        if let Some(object) = self.payment_methods.get(pm) {
                            intent["payment_method"] = object.clone();
                        }
                    }
                    (200, intent)
                }
                None => missing("payment_intent"),
            },
            ("POST", ["v1", "setup_intents"]) => self.create_setup_intent(params),
            ("POST", ["v1", "refunds"]) => self.create_refund(params),
            ("GET", ["v1", "refunds"]) => {
                let of = query.get("payment_intent").cloned().unwrap_or_default();
                let data: Vec<Value> = self
                    .refunds
                    .values()
                    .filter(|r| r["payment_intent"] == of.as_str())
                    .cloned()
                    .collect();
                (
                    200,
                    json!({ "object": "list", "data": data, "has_more": false }),
                )
            }
            ("GET", ["v1", "refunds", id]) => match self.refunds.get(*id) {
                Some(refund) => (200, refund.clone()),
                None => missing("refund"),
            },
            ("POST", ["v1", "customers"]) => self.create_customer(params),
            ("GET", ["v1", "customers"]) => {
                let email = query.get("email").cloned();
                let data: Vec<Value> = self
                    .customers
                    .values()
                    .rev()
                    .filter(|c| email.is_none() || c["email"].as_str() == email.as_deref())
                    .cloned()
                    .collect();
                list(data)
            }
            ("GET", ["v1", "customers", "search"]) => {
                let q = query.get("query").cloned().unwrap_or_default();
                let Some(client) = q
                    .strip_prefix("metadata['client_id']:'")
                    .and_then(|rest| rest.strip_suffix('\''))
                else {
                    return error(
                        400,
                        "invalid_request_error",
                        "",
                        &format!("unsupported query {q}"),
                    );
                };
                let data: Vec<Value> = self
                    .customers
                    .values()
                    .filter(|c| c["metadata"]["client_id"] == client)
                    .cloned()
                    .collect();
                (
                    200,
                    json!({ "object": "search_result", "data": data, "has_more": false }),
                )
            }
            ("POST", ["v1", "files"]) => self.create_file(request),
            ("POST", ["v1", "disputes", id]) => self.update_dispute(id, params),
            ("GET", ["v1", "disputes", id]) => match self.disputes.get(*id) {
                Some(dispute) => (200, dispute.clone()),
                None => missing("dispute"),
            },
            ("POST", ["v1", "checkout", "sessions"]) => self.create_session(params),
            ("GET", ["v1", "checkout", "sessions"]) => self.list_sessions(&query),
            ("GET", ["v1", "checkout", "sessions", id]) => match self.sessions.get(*id) {
                Some(session) => (200, session.clone()),
                None => missing("checkout.session"),
            },
            ("POST", ["v1", "checkout", "sessions", id, "expire"]) => {
                match self.sessions.get_mut(*id) {
                    Some(session) if session["status"] == "open" => {
                        session["status"] = json!("expired");
                        session["url"] = Value::Null;
                        (200, session.clone())
                    }
                    Some(_) => error(
                        400,
                        "invalid_request_error",
                        "checkout_session_not_open",
                        "Only open Checkout Sessions can be expired.",
                    ),
                    None => missing("checkout.session"),
                }
            }
            _ => missing(path),
        }
    }

    /// `POST /v1/files`: a multipart upload of `purpose` and `file`.
    fn create_file(&mut self, request: &Request) -> (u16, Value) {
        let parts = multipart_parts(request);
        let purpose = parts
            .iter()
            .find(|p| p.name == "purpose")
            .map(|p| String::from_utf8_lossy(&p.bytes).to_string());
        let Some(file) = parts
            .iter()
            .find(|p| p.name == "file" && p.filename.is_some())
        else {
            return error(
                400,
                "invalid_request_error",
                "parameter_missing",
                "Missing required param: file.",
            );
        };
        if purpose.as_deref() != Some("dispute_evidence") {
            self.violations
                .push(format!("POST /v1/files: purpose {purpose:?}"));
        }
        let id = self.id("file");
        let object = json!({
            "id": id, "object": "file", "purpose": purpose, "filename": file.filename,
            "size": file.bytes.len(), "type": file.content_type,
        });
        self.files.insert(id, (object.clone(), file.bytes.clone()));
        (200, object)
    }

    /// `POST /v1/disputes/{id}`: evidence, submitted at once (`submit`
    /// defaults to true, as Stripe's); a dispute that took evidence
    /// already, or is closed, refuses it.
    fn update_dispute(&mut self, id: &str, params: &[(String, String)]) -> (u16, Value) {
        const TEXT: [&str; 7] = [
            "access_activity_log",
            "customer_email_address",
            "customer_name",
            "customer_purchase_ip",
            "product_description",
            "service_date",
            "uncategorized_text",
        ];
        const FILES: [&str; 4] = [
            "customer_communication",
            "receipt",
            "refund_policy",
            "service_documentation",
        ];
        if !self.disputes.contains_key(id) {
            return missing("dispute");
        }
        let failure = self.take_failure(Op::SubmitEvidence);
        if failure == Some(Failure::Before) {
            return self.server_error();
        }
        let mut evidence = serde_json::Map::new();
        for (key, value) in params {
            if key == "submit" {
                continue;
            }
            let Some(field) = key
                .strip_prefix("evidence[")
                .and_then(|k| k.strip_suffix(']'))
            else {
                self.violations
                    .push(format!("POST /v1/disputes/{id}: unknown parameter {key}"));
                continue;
            };
            if FILES.contains(&field) {
                let uploaded = self.files.get(value).map(|(f, _)| f["purpose"].clone());
                if uploaded != Some(json!("dispute_evidence")) {
                    self.violations.push(format!(
                        "POST /v1/disputes/{id}: evidence[{field}] is not an evidence file: {value}"
                    ));
                }
            } else if !TEXT.contains(&field) {
                self.violations.push(format!(
                    "POST /v1/disputes/{id}: unknown evidence field {field}"
                ));
            }
            evidence.insert(field.to_string(), Value::String(value.clone()));
        }
        let submit = params
            .iter()
            .find(|(k, _)| k == "submit")
            .is_none_or(|(_, v)| v == "true");
        let Some(dispute) = self.disputes.get_mut(id) else {
            return missing("dispute");
        };
        let open = matches!(
            dispute["status"].as_str(),
            Some("needs_response" | "warning_needs_response")
        );
        if !open {
            return error(
                400,
                "invalid_request_error",
                "",
                "This dispute is already under review or closed; its evidence can no longer be updated.",
            );
        }
        dispute["evidence"] = Value::Object(evidence);
        dispute["evidence_details"]["has_evidence"] = json!(true);
        if submit {
            let count = dispute["evidence_details"]["submission_count"]
                .as_i64()
                .unwrap_or(0);
            dispute["evidence_details"]["submission_count"] = json!(count + 1);
            dispute["status"] = json!("under_review");
        }
        let answer = dispute.clone();
        if failure == Some(Failure::After) {
            return self.server_error();
        }
        (200, answer)
    }

    fn server_error(&self) -> (u16, Value) {
        error(
            500,
            "api_error",
            "",
            "An unknown error occurred while processing your request.",
        )
    }

    /// A SetupIntent confirmed at once (`confirm=true`, as a card check
    /// sends it): `succeeded`, or Stripe's 402 `card_error` with the
    /// intent as `setup_intent` for a card set to decline. Without
    /// `confirm` it stays `requires_confirmation`.
    fn create_setup_intent(&mut self, params: &[(String, String)]) -> (u16, Value) {
        let get = |k: &str| {
            params
                .iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.clone())
        };
        let pm = get("payment_method").unwrap_or_default();
        if !self.payment_methods.contains_key(&pm) {
            return missing("payment_method");
        }
        let metadata: serde_json::Map<String, Value> = params
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix("metadata[")
                    .and_then(|k| k.strip_suffix(']'))
                    .map(|k| (k.to_string(), Value::String(v.clone())))
            })
            .collect();
        let id = self.id("seti");
        let mut intent = json!({
            "id": id, "object": "setup_intent", "customer": get("customer"),
            "payment_method": pm, "usage": get("usage"),
            "status": "requires_confirmation", "metadata": metadata,
        });
        if get("confirm").as_deref() != Some("true") {
            return (200, intent);
        }
        if let Some((code, decline, message)) = self.declines.get(&pm).cloned() {
            let error = json!({ "type": "card_error", "code": code, "decline_code": decline,
                                "message": message });
            intent["status"] = json!("requires_payment_method");
            intent["last_setup_error"] = error.clone();
            let mut body = json!({ "error": error });
            body["error"]["setup_intent"] = intent;
            return (402, body);
        }
        intent["status"] = json!("succeeded");
        (200, intent)
    }

    fn create_intent(&mut self, params: &[(String, String)]) -> (u16, Value) {
        let failure = self.take_failure(Op::CreateIntent);
        if failure == Some(Failure::Before) {
            return self.server_error();
        }
        let get = |k: &str| {
            params
                .iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.clone())
        };
        let Some(amount) = get("amount").and_then(|a| a.parse::<i64>().ok()) else {
            return error(400, "invalid_request_error", "parameter_missing", "amount");
        };
        let pm = get("payment_method").unwrap_or_default();
        if !self.payment_methods.contains_key(&pm) {
            return missing("payment_method");
        }
        let metadata: serde_json::Map<String, Value> = params
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix("metadata[")
                    .and_then(|k| k.strip_suffix(']'))
                    .map(|k| (k.to_string(), Value::String(v.clone())))
            })
            .collect();
        let id = self.id("pi");
        let intent = json!({
            "id": id, "object": "payment_intent", "amount": amount,
            "currency": get("currency"), "customer": get("customer"),
            "payment_method": pm, "description": get("description"),
            "status": "requires_confirmation", "metadata": metadata,
            "created": EPOCH + self.now + i64::try_from(self.next_id).unwrap_or(0),
        });
        self.intents.insert(id.clone(), intent.clone());
        if get("confirm").as_deref() == Some("true") {
            return self.confirm_intent(&id);
        }
        if failure == Some(Failure::After) {
            return self.server_error();
        }
        (200, intent)
    }

    fn confirm_intent(&mut self, id: &str) -> (u16, Value) {
        let failure = self.take_failure(Op::ConfirmIntent);
        if failure == Some(Failure::Before) {
            return self.server_error();
        }
        let Some(intent) = self.intents.get(id).cloned() else {
            return missing("payment_intent");
        };
        if !matches!(
            intent["status"].as_str(),
            Some("requires_confirmation" | "requires_payment_method")
        ) {
            return (
                400,
                json!({ "error": { "type": "invalid_request_error",
                    "code": "payment_intent_unexpected_state",
                    "message": format!("This PaymentIntent's status is {}.", intent["status"]),
                    "payment_intent": intent } }),
            );
        }
        let pm = intent["payment_method"].as_str().unwrap_or("").to_string();
        let mut updated = intent.clone();
        let answer = if let Some((code, decline, message)) = self.declines.get(&pm).cloned() {
            let error = json!({ "type": "card_error", "code": code, "decline_code": decline,
                                "message": message });
            updated["status"] = json!("requires_payment_method");
            updated["last_payment_error"] = error.clone();
            let mut body = json!({ "error": error });
            body["error"]["payment_intent"] = updated.clone();
            (402, body)
        } else {
            updated["status"] = json!("succeeded");
            updated["latest_charge"] = json!(format!("ch_{}", id.trim_start_matches("pi_")));
            (200, updated.clone())
        };
        self.intents.insert(id.to_string(), updated);
        if failure == Some(Failure::After) {
            return self.server_error();
        }
        answer
    }

    /// Captures a held intent once (`amount_to_capture`, at most what was
    /// authorized; the rest released); anything else is refused with
    /// Stripe's `payment_intent_unexpected_state`.
    fn capture_intent(&mut self, id: &str, params: &[(String, String)]) -> (u16, Value) {
        let failure = self.take_failure(Op::Capture);
        if failure == Some(Failure::Before) {
            return self.server_error();
        }
        let Some(intent) = self.intents.get(id).cloned() else {
            return missing("payment_intent");
        };
        let capturable = intent["amount_capturable"].as_i64().unwrap_or(0);
        let amount = params
            .iter()
            .find(|(k, _)| k == "amount_to_capture")
            .and_then(|(_, v)| v.parse::<i64>().ok())
            .unwrap_or(capturable);
        if intent["status"] != "requires_capture" || amount <= 0 || amount > capturable {
            return (
                400,
                json!({ "error": { "type": "invalid_request_error",
                    "code": "payment_intent_unexpected_state",
                    "message": format!("This PaymentIntent could not be captured because it has a status of {}.", intent["status"]),
                    "payment_intent": intent } }),
            );
        }
        let mut captured = intent;
        captured["status"] = json!("succeeded");
        captured["amount_received"] = json!(amount);
        captured["amount_capturable"] = json!(0);
        captured["latest_charge"] = json!(format!("ch_{}", id.trim_start_matches("pi_")));
        self.intents.insert(id.to_string(), captured.clone());
        for session in self.sessions.values_mut() {
            if session["payment_intent"] == id {
                session["payment_status"] = json!("paid");
            }
        }
        if failure == Some(Failure::After) {
            return self.server_error();
        }
        (200, captured)
    }

    fn search_intents(&self, query: &str) -> (u16, Value) {
        let Some(key) = query
            .strip_prefix("metadata['idempotency_key']:'")
            .and_then(|rest| rest.strip_suffix('\''))
        else {
            return error(
                400,
                "invalid_request_error",
                "",
                &format!("unsupported query {query}"),
            );
        };
        let data: Vec<Value> = self
            .intents
            .values()
            .filter(|i| i["metadata"]["idempotency_key"] == key)
            .cloned()
            .collect();
        (
            200,
            json!({ "object": "search_result", "data": data, "has_more": false }),
        )
    }

    fn create_customer(&mut self, params: &[(String, String)]) -> (u16, Value) {
        let failure = self.take_failure(Op::CreateCustomer);
        if failure == Some(Failure::Before) {
            return self.server_error();
        }
        let get = |k: &str| {
            params
                .iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.clone())
        };
        let id = self.id("cus");
        let customer = json!({
            "id": id, "object": "customer", "name": get("name"), "email": get("email"),
            "metadata": metadata_of(params, "metadata["), "created": EPOCH + self.now,
        });
        self.customers.insert(id, customer.clone());
        if failure == Some(Failure::After) {
            return self.server_error();
        }
        (200, customer)
    }

    fn create_session(&mut self, params: &[(String, String)]) -> (u16, Value) {
        let failure = self.take_failure(Op::CreateCheckout);
        if failure == Some(Failure::Before) {
            return self.server_error();
        }
        let get = |k: &str| {
            params
                .iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.clone())
        };
        let mode = get("mode").unwrap_or_default();
        if mode != "payment" && mode != "setup" {
            return error(400, "invalid_request_error", "parameter_missing", "mode");
        }
        let customer = get("customer");
        if let Some(customer) = &customer
            && !self.customers.contains_key(customer)
        {
            return missing("customer");
        }
        // Every line (the invoice's money, a "Gratuity"), as Stripe sums them.
        let lines: Vec<Value> = (0..)
            .map_while(|i| {
                let amount = get(&format!("line_items[{i}][price_data][unit_amount]"))?;
                let name = get(&format!("line_items[{i}][price_data][product_data][name]"));
                Some(json!({ "description": name, "amount_total": amount.parse::<i64>().ok() }))
            })
            .collect();
        let amount = (!lines.is_empty()).then(|| {
            lines
                .iter()
                .filter_map(|l| l["amount_total"].as_i64())
                .sum::<i64>()
        });
        let currency = get("line_items[0][price_data][currency]").or_else(|| get("currency"));
        let id = self.id("cs");
        if get("payment_intent_data[capture_method]").as_deref() == Some("manual") {
            self.held.insert(id.clone());
        }
        // Real time (the domain lists sessions created since an attempt's
        // reservation), moved by `advance_hours`; `seq` orders ties.
        let created = chrono::Utc::now().timestamp() + self.now;
        let session = json!({
            "id": id, "object": "checkout.session", "mode": mode,
            "url": format!("https://checkout.stripe.test/c/pay/{id}"),
            "status": "open", "payment_status": "unpaid",
            "amount_total": if mode == "payment" { json!(amount) } else { Value::Null },
            "line_items": { "object": "list", "data": lines },
            "currency": currency, "customer": customer,
            "client_reference_id": get("client_reference_id"),
            "metadata": metadata_of(params, "metadata["),
            "payment_intent": Value::Null, "setup_intent": Value::Null,
            "expires_at": get("expires_at").and_then(|e| e.parse::<i64>().ok()),
            "created": created, "seq": self.next_id,
        });
        self.sessions.insert(id, session.clone());
        if failure == Some(Failure::After) {
            return self.server_error();
        }
        (200, session)
    }

    /// Newest first; `customer`, `created[gte]`, `starting_after`, `limit`.
    fn list_sessions(&self, query: &HashMap<String, String>) -> (u16, Value) {
        let limit = query
            .get("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or(10)
            .clamp(1, 100);
        let since = query
            .get("created[gte]")
            .and_then(|c| c.parse::<i64>().ok())
            .unwrap_or(i64::MIN);
        let mut all: Vec<&Value> = self
            .sessions
            .values()
            .filter(|s| {
                query
                    .get("customer")
                    .is_none_or(|c| s["customer"].as_str() == Some(c.as_str()))
            })
            .filter(|s| s["created"].as_i64().unwrap_or(0) >= since)
            .collect();
        all.sort_by_key(|s| std::cmp::Reverse(s["seq"].as_u64()));
        if let Some(after) = query.get("starting_after") {
            let Some(at) = all.iter().position(|s| s["id"] == after.as_str()) else {
                return missing("checkout.session");
            };
            all.drain(..=at);
        }
        let has_more = all.len() > limit;
        let data: Vec<Value> = all.into_iter().take(limit).cloned().collect();
        (
            200,
            json!({ "object": "list", "data": data, "has_more": has_more }),
        )
    }

    fn create_refund(&mut self, params: &[(String, String)]) -> (u16, Value) {
        let failure = self.take_failure(Op::CreateRefund);
        if failure == Some(Failure::Before) {
            return self.server_error();
        }
        let get = |k: &str| {
            params
                .iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.clone())
        };
        let of = get("payment_intent").unwrap_or_default();
        let Some(intent) = self.intents.get(&of).cloned() else {
            return missing("payment_intent");
        };
        if intent["status"] != "succeeded" {
            return error(
                400,
                "invalid_request_error",
                "charge_not_refundable",
                "This PaymentIntent has no successful charge to refund.",
            );
        }
        // What the intent received (a held one: what its capture took).
        let paid = intent["amount_received"]
            .as_i64()
            .or_else(|| intent["amount"].as_i64())
            .unwrap_or(0);
        let refunded: i64 = self
            .refunds
            .values()
            .filter(|r| r["payment_intent"] == of.as_str())
            .filter_map(|r| r["amount"].as_i64())
            .sum();
        let amount = get("amount")
            .and_then(|a| a.parse::<i64>().ok())
            .unwrap_or(paid - refunded);
        if amount <= 0 || refunded + amount > paid {
            return error(
                400,
                "invalid_request_error",
                "amount_too_large",
                "Refund amount is greater than the unrefunded amount.",
            );
        }
        let metadata: serde_json::Map<String, Value> = params
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix("metadata[")
                    .and_then(|k| k.strip_suffix(']'))
                    .map(|k| (k.to_string(), Value::String(v.clone())))
            })
            .collect();
        let id = self.id("re");
        let refund = json!({
            "id": id, "object": "refund", "amount": amount, "currency": intent["currency"],
            "payment_intent": of, "status": "succeeded", "metadata": metadata,
            "created": EPOCH + self.now,
        });
        self.refunds.insert(id, refund.clone());
        if failure == Some(Failure::After) {
            return self.server_error();
        }
        (200, refund)
    }
}

/// One part of a multipart body.
struct Part {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    bytes: Vec<u8>,
}

/// The parts of a `multipart/form-data` request (empty when it is none).
fn multipart_parts(request: &Request) -> Vec<Part> {
    let Some(boundary) = request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.split_once("boundary="))
        .map(|(_, b)| format!("--{}", b.trim_matches('"')))
    else {
        return Vec::new();
    };
    let body = &request.body;
    let delimiter = boundary.as_bytes();
    let starts: Vec<usize> = body
        .windows(delimiter.len())
        .enumerate()
        .filter(|(_, w)| *w == delimiter)
        .map(|(i, _)| i)
        .collect();
    starts
        .windows(2)
        .filter_map(|pair| {
            let chunk = body.get(pair[0] + delimiter.len()..pair[1])?;
            let chunk = chunk.strip_prefix(b"\r\n")?;
            let split = chunk.windows(4).position(|w| w == b"\r\n\r\n")?;
            let head = String::from_utf8_lossy(&chunk[..split]).to_string();
            let bytes = chunk[split + 4..].strip_suffix(b"\r\n")?.to_vec();
            let attribute = |name: &str| {
                head.split(';')
                    .map(str::trim)
                    .find_map(|a| a.strip_prefix(&format!("{name}=\"")))
                    .and_then(|a| a.split('"').next())
                    .map(str::to_string)
            };
            let content_type = head
                .lines()
                .find_map(|l| {
                    l.strip_prefix("Content-Type: ")
                        .or_else(|| l.strip_prefix("content-type: "))
                })
                .map(|t| t.trim().to_string());
            Some(Part {
                name: attribute("name")?,
                filename: attribute("filename"),
                content_type,
                bytes,
            })
        })
        .collect()
}
