//! What the studio and its clients do during a chaos run, through the public
//! API only (GraphQL, the portal, the simulated hosted checkout page), with
//! the retries a real frontend and a real client would make when a request
//! is cut or refused.

use anyhow::{Context, anyhow, bail};
use futures::StreamExt;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// A client's kind, and so the end state of each of its sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Auto-pay with a good card: the invoice ends `PAID`, with a receipt.
    AutoPayGood,
    /// Auto-pay with a card that declines: `OPEN`, the invoice emailed.
    AutoPayDeclined,
    /// Invoice only, paid through the portal's hosted checkout: `PAID`.
    PortalPaid,
    /// Invoice only, left unpaid: `OPEN`, the invoice emailed.
    InvoiceOnly,
    /// Auto-pay with a good card, booked on a payment plan: the retainer's
    /// installment invoice charged at once, then completion nets it; both
    /// invoices end `PAID`.
    PlanAutoPay,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::AutoPayGood => "auto-pay (good card)",
            Kind::AutoPayDeclined => "auto-pay (declined card)",
            Kind::PortalPaid => "invoice, paid in the portal",
            Kind::InvoiceOnly => "invoice, unpaid",
            Kind::PlanAutoPay => "auto-pay on a payment plan",
        }
    }
}

#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub key: String,
}

impl Api {
    pub fn new(base: String, key: String) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(15))
            .build()?;
        Ok(Self { http, base, key })
    }

    /// One GraphQL call; an `errors` answer is an error (a cut request, an
    /// api restarting and a database away all end up here).
    pub async fn gql(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        let response = self
            .http
            .post(format!("{}/graphql", self.base))
            .bearer_auth(&self.key)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await.with_context(|| format!("{status}"))?;
        if let Some(errors) = body.get("errors") {
            bail!("GraphQL errors: {errors}");
        }
        Ok(body["data"].clone())
    }

    /// `gql`, retried every 300 ms until it answers or `deadline` passes.
    pub async fn gql_retry(
        &self,
        query: &str,
        variables: Value,
        deadline: Instant,
    ) -> anyhow::Result<Value> {
        loop {
            match self.gql(query, variables.clone()).await {
                Ok(data) => return Ok(data),
                Err(err) if Instant::now() > deadline => return Err(err),
                Err(_) => tokio::time::sleep(Duration::from_millis(300)).await,
            }
        }
    }
}

pub struct Plan {
    /// Session id (GraphQL) -> the kind of its client.
    pub sessions: Vec<(String, Kind)>,
}

fn id_of(data: &Value, path: &[&str]) -> anyhow::Result<String> {
    let mut v = data;
    for p in path {
        v = &v[*p];
    }
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("no {} in {data}", path.join(".")))
}

/// The studio's catalogue, its clients and their scheduled sessions (before
/// any fault, so a refused setup is a plain error).
pub async fn prepare(api: &Api, sessions: usize) -> anyhow::Result<Plan> {
    let deadline = Instant::now() + Duration::from_secs(120);
    api.gql_retry(
        "mutation { createTaxRate(input: { name: \"Sales tax\", percent: \"8.875\" }) { taxRate { id } } }",
        json!({}),
        deadline,
    )
    .await?;
    let data = api
        .gql_retry(
            "mutation { p: createPackage(input: { name: \"Portrait\", price: \"450.00\" }) { package { id } }
                        a: createAddOnService(input: { name: \"Extra look\", unitPrice: \"35.50\" }) { addOnService { id } } }",
            json!({}),
            deadline,
        )
        .await?;
    let package = id_of(&data, &["p", "package", "id"])?;
    let add_on = id_of(&data, &["a", "addOnService", "id"])?;
    let client_count = (sessions / 4).clamp(8, 60);
    let mut clients = Vec::with_capacity(client_count);
    for i in 0..client_count {
        // 2 in 5 auto-pay with a good card, 1 in 5 with a declining card,
        // 2 in 5 invoice only (half of their sessions paid in the portal).
        let (preference, card, kind) = match i % 5 {
            0 | 1 => ("AUTO_PAY", Some("pm_card_visa"), Kind::AutoPayGood),
            2 => (
                "AUTO_PAY",
                Some("pm_card_chargeDeclinedInsufficientFunds"),
                Kind::AutoPayDeclined,
            ),
            _ => ("INVOICE", None, Kind::InvoiceOnly),
        };
        let data = api
            .gql_retry(
                "mutation($i: CreateClientInput!) { createClient(input: $i) { client { id } userErrors { message } } }",
                json!({ "i": { "name": format!("Chaos Client {i}"), "email": format!("client{i}@chaos.test"), "paymentPreference": preference } }),
                deadline,
            )
            .await?;
        let client = id_of(&data, &["createClient", "client", "id"])?;
        if let Some(card) = card {
            let data = api
                .gql_retry(
                    "mutation($i: AttachPaymentMethodInput!) { attachPaymentMethod(input: $i) { userErrors { message } } }",
                    json!({ "i": { "clientId": client, "token": card } }),
                    deadline,
                )
                .await?;
            if data["attachPaymentMethod"]["userErrors"] != json!([]) {
                bail!("attach {card}: {data}");
            }
        }
        clients.push((client, kind));
    }
    let mut planned = Vec::with_capacity(sessions);
    for s in 0..sessions {
        let (client, kind) = &clients[s % client_count];
        let kind = match kind {
            Kind::InvoiceOnly if (s / client_count).is_multiple_of(2) => Kind::PortalPaid,
            Kind::AutoPayGood if (s / client_count).is_multiple_of(2) => Kind::PlanAutoPay,
            other => *other,
        };
        let data = api
            .gql_retry(
                "mutation($i: ScheduleSessionInput!) { scheduleSession(input: $i) { session { id } userErrors { field message } } }",
                json!({ "i": {
                    "clientId": client,
                    "packageId": package,
                    "title": format!("Session {s}"),
                    "scheduledAt": "2026-10-03T15:00:00Z",
                    "retainerPaid": "0",
                    "items": [ { "addOnServiceId": add_on, "quantity": (s % 3) + 1 } ]
                } }),
                deadline,
            )
            .await?;
        planned.push((id_of(&data, &["scheduleSession", "session", "id"])?, kind));
    }
    Ok(Plan { sessions: planned })
}

/// What the workload did, for the report.
#[derive(Default, Debug)]
pub struct Outcome {
    pub completed: Vec<(String, Kind)>,
    pub failures: Vec<String>,
    pub portal_payments: usize,
    pub request_retries: usize,
}

/// Completes every session (spread over `spread`, `concurrency` at a time)
/// and pays the portal-paid ones as their clients would, retrying through
/// faults until `deadline`.
pub async fn run(api: &Api, plan: &Plan, spread: Duration, deadline: Instant) -> Outcome {
    let concurrency = 8;
    let pause = spread / (plan.sessions.len().max(1) as u32) * concurrency as u32;
    let results: Vec<Result<(String, Kind, bool, usize), String>> =
        futures::stream::iter(plan.sessions.iter().cloned().enumerate())
            .map(|(n, (session, kind))| {
                let api = api.clone();
                async move {
                    // Start the first `concurrency` at once, then one per pause.
                    if n >= concurrency {
                        tokio::time::sleep(pause / concurrency as u32).await;
                    }
                    if kind == Kind::PlanAutoPay {
                        book_on_plan(&api, &session, deadline)
                            .await
                            .map_err(|e| format!("plan of {session}: {e:#}"))?;
                    }
                    let retries = complete(&api, &session, deadline)
                        .await
                        .map_err(|e| format!("complete {session}: {e:#}"))?;
                    let mut paid = false;
                    if kind == Kind::PortalPaid {
                        pay_in_portal(&api, &session, deadline)
                            .await
                            .map_err(|e| format!("portal payment of {session}: {e:#}"))?;
                        paid = true;
                    }
                    Ok((session, kind, paid, retries))
                }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
    let mut outcome = Outcome::default();
    for result in results {
        match result {
            Ok((session, kind, paid, retries)) => {
                outcome.completed.push((session, kind));
                outcome.portal_payments += usize::from(paid);
                outcome.request_retries += retries;
            }
            Err(err) => outcome.failures.push(err),
        }
    }
    outcome
}

/// `completeSession`, retried; a retry after a cut answer finds the session
/// already completed, which is success. Returns how many retries it took.
async fn complete(api: &Api, session: &str, deadline: Instant) -> anyhow::Result<usize> {
    let mut retries = 0;
    loop {
        let answer = api
            .gql(
                "mutation($id: ID!) { completeSession(id: $id) { session { status } userErrors { message code } } }",
                json!({ "id": session }),
            )
            .await;
        if let Ok(data) = &answer
            && data["completeSession"]["session"]["status"] == "COMPLETED"
        {
            return Ok(retries);
        }
        // Cut, refused or a user error: ask what the session's state is.
        if let Ok(data) = api
            .gql(
                "query($id: ID!) { session(id: $id) { status } }",
                json!({ "id": session }),
            )
            .await
            && data["session"]["status"] == "COMPLETED"
        {
            return Ok(retries);
        }
        if Instant::now() > deadline {
            bail!("still not completed; last answer: {answer:?}");
        }
        retries += 1;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Puts the session on a plan (40 % at booking, the rest next year) and
/// waits until the retainer is charged, as a studio would before the shoot.
/// A cut answer is asked again; an answer that the plan cannot be set again
/// (its retainer billed already) is success when the session has it.
async fn book_on_plan(api: &Api, session: &str, deadline: Instant) -> anyhow::Result<()> {
    let parts = json!([{ "percent": "40" }, { "dueDate": "2027-09-01" }]);
    loop {
        let set = api
            .gql(
                "mutation($i: SetPaymentPlanInput!) { setPaymentPlan(input: $i) { userErrors { code message } } }",
                json!({ "i": { "sessionId": session, "parts": parts } }),
            )
            .await;
        let status = api
            .gql(
                "query($id: ID!) { session(id: $id) { paymentPlan { parts { status } } } }",
                json!({ "id": session }),
            )
            .await;
        if let Ok(data) = &status {
            let first = &data["session"]["paymentPlan"]["parts"][0]["status"];
            if first == "PAID" {
                return Ok(());
            }
            if !first.is_null() && set.is_ok() {
                // Set: wait for the charge, without setting it again.
                return wait_retainer(api, session, deadline).await;
            }
        }
        if Instant::now() > deadline {
            bail!("plan not set; last answer: {set:?}");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn wait_retainer(api: &Api, session: &str, deadline: Instant) -> anyhow::Result<()> {
    loop {
        if let Ok(data) = api
            .gql(
                "query($id: ID!) { session(id: $id) { paymentPlan { parts { status } } } }",
                json!({ "id": session }),
            )
            .await
            && data["session"]["paymentPlan"]["parts"][0]["status"] == "PAID"
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the retainer was not charged before the deadline");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

struct InvoiceView {
    status: String,
    portal_url: Option<String>,
}

async fn invoice_of(api: &Api, session: &str) -> anyhow::Result<Option<InvoiceView>> {
    let data = api
        .gql(
            "query($id: ID!) { session(id: $id) { invoice { status portalUrl } } }",
            json!({ "id": session }),
        )
        .await?;
    let invoice = &data["session"]["invoice"];
    if invoice.is_null() {
        return Ok(None);
    }
    Ok(Some(InvoiceView {
        status: invoice["status"].as_str().unwrap_or_default().to_string(),
        portal_url: invoice["portalUrl"].as_str().map(str::to_string),
    }))
}

fn location(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The client opens the invoice's portal link, presses Pay, types a good
/// card on the hosted page and comes back, as a browser would; a cut step is
/// retried as a person would: the same hosted page again (never a second
/// payment page while one may have been paid), then the portal again.
async fn pay_in_portal(api: &Api, session: &str, deadline: Instant) -> anyhow::Result<()> {
    let mut hosted: Option<String> = None;
    loop {
        if Instant::now() > deadline {
            bail!("not paid before the deadline");
        }
        let invoice = match invoice_of(api, session).await {
            Ok(Some(invoice)) => invoice,
            Ok(None) | Err(_) => {
                tokio::time::sleep(Duration::from_millis(300)).await;
                continue;
            }
        };
        if invoice.status == "PAID" {
            return Ok(());
        }
        let Some(link) = invoice.portal_url else {
            tokio::time::sleep(Duration::from_millis(300)).await;
            continue;
        };
        if invoice.status != "OPEN" {
            bail!("invoice is {}", invoice.status);
        }
        let page = match hosted.clone() {
            Some(page) => page,
            None => match open_hosted_page(api, &link).await {
                Ok(page) => {
                    hosted = Some(page.clone());
                    page
                }
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    continue;
                }
            },
        };
        let paid = api
            .http
            .post(&page)
            .form(&[
                ("card_number", "4242424242424242"),
                ("exp", "12/34"),
                ("cvc", "123"),
            ])
            .send()
            .await;
        match paid {
            Ok(response) if response.status() == 303 => {
                // Back to the return page (it settles the payment at once);
                // if that is cut, the webhook settles it anyway.
                if let Some(back) = location(&response) {
                    let _ = api.http.get(back).send().await;
                }
                wait_paid(api, session, deadline).await?;
                return Ok(());
            }
            Ok(response) if response.status() == 410 => {
                // The page is closed: paid already (the answer was cut), or
                // expired; the invoice says which.
                hosted = None;
                if wait_paid(api, session, Instant::now() + Duration::from_secs(5))
                    .await
                    .is_ok()
                {
                    return Ok(());
                }
            }
            _ => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    }
}

async fn open_hosted_page(api: &Api, link: &str) -> anyhow::Result<String> {
    let html = api.http.get(link).send().await?.text().await?;
    let marker = "name=\"csrf\" value=\"";
    let start = html
        .find(marker)
        .map(|i| i + marker.len())
        .ok_or_else(|| anyhow!("no Pay form"))?;
    let csrf = html[start..].split('"').next().unwrap_or_default();
    let response = api
        .http
        .post(format!("{link}/checkout"))
        .form(&[("csrf", csrf)])
        .send()
        .await?;
    if response.status() != 303 {
        bail!("Pay answered {}", response.status());
    }
    location(&response).ok_or_else(|| anyhow!("no hosted page"))
}

async fn wait_paid(api: &Api, session: &str, deadline: Instant) -> anyhow::Result<()> {
    loop {
        if let Ok(Some(invoice)) = invoice_of(api, session).await
            && invoice.status == "PAID"
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("paid on the hosted page, but the invoice is not PAID");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Counts per kind, for the report.
pub fn by_kind(sessions: &[(String, Kind)]) -> BTreeMap<Kind, usize> {
    let mut counts = BTreeMap::new();
    for (_, kind) in sessions {
        *counts.entry(*kind).or_insert(0) += 1;
    }
    counts
}
