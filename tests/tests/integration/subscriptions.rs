//! Live updates over `graphql-transport-ws` with a real WebSocket client: in
//! the embedded mode through the in-process broadcast; in production from a
//! worker running as a separate OS process, through Redis pub/sub to the
//! api's subscribers.

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tests::{Backend, TestApp, spawn_app_with};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

on_both_backends!(
    subscribers_see_their_studios_invoices_and_payments_live,
    a_session_subscription_follows_each_part_of_its_plan,
);

/// A client connection, read continuously by its own task as a real client
/// (a browser) does: the server's pings are answered while the test waits
/// elsewhere (draining the worker can take longer than the server's 10 s
/// heartbeat timeout on a busy box), and what arrives waits in `incoming`.
struct Socket {
    outgoing: futures::stream::SplitSink<
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
        Message,
    >,
    incoming: tokio::sync::mpsc::UnboundedReceiver<Value>,
}

impl Socket {
    async fn send(&mut self, message: Value) {
        self.outgoing
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("send");
    }
}

async fn open(app: &TestApp, key: &str) -> Socket {
    let url = format!("{}/graphql/ws", app.address.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connect");
    let (outgoing, mut reader) = socket.split();
    let (tx, incoming) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let value = match reader.next().await {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).expect("json");
                    if value["type"] == "ping" {
                        continue;
                    }
                    value
                }
                Some(Ok(Message::Close(frame))) => {
                    json!({ "type": "closed", "frame": format!("{frame:?}") })
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => json!({ "type": "closed" }),
            };
            let closed = value["type"] == "closed";
            if tx.send(value).is_err() || closed {
                return;
            }
        }
    });
    let mut socket = Socket { outgoing, incoming };
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {key}") } });
    socket.send(init).await;
    socket
}

/// The next message within `wait` (`closed` once the connection is gone).
async fn receive(socket: &mut Socket, wait: Duration) -> Option<Value> {
    match tokio::time::timeout(wait, socket.incoming.recv()).await {
        Ok(Some(value)) => Some(value),
        Ok(None) => Some(json!({ "type": "closed" })),
        Err(_) => None,
    }
}

async fn subscribe(socket: &mut Socket, id: &str, query: &str, variables: Value) {
    let message = json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } });
    socket.send(message).await;
}

/// Waits until `n` subscriptions listen to the api's live events (each active
/// subscription holds one receiver of the broadcast).
async fn until_listening(app: &TestApp, n: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app.ctx.live.receiver_count() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "subscriptions did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The data of the next `next` message.
async fn next_data(socket: &mut Socket) -> Value {
    let message = receive(socket, Duration::from_secs(30))
        .await
        .expect("an event within 30 s");
    assert_eq!(message["type"], "next", "{message}");
    message["payload"]["data"].clone()
}

async fn subscribers_see_their_studios_invoices_and_payments_live(backend: Backend) {
    // Production topology for the Redis case: the worker is not in the api.
    let separate_worker = backend == Backend::Postgres;
    let Some(app) = spawn_app_with(backend, |s| s.worker.in_process = Some(!separate_worker)).await
    else {
        return;
    };
    // ...and runs as its own OS process, publishing through Redis.
    let worker = separate_worker.then(|| app.spawn_worker_process());
    let f = app.seed_studio("Golden Hour").await;
    let other = app.create_studio("Elsewhere").await;

    // A bad key is refused at connection_init.
    let mut refused = open(&app, "sk_studio_wrong").await;
    let answer = receive(&mut refused, Duration::from_secs(10))
        .await
        .expect("an answer");
    assert_ne!(answer["type"], "connection_ack", "{answer}");

    let mut studio_socket = open(&app, &f.key).await;
    assert_eq!(
        receive(&mut studio_socket, Duration::from_secs(10))
            .await
            .expect("ack")["type"],
        "connection_ack"
    );
    subscribe(&mut studio_socket, "events", "subscription { invoiceEvents { kind invoiceNumber invoiceStatus amountDue { minorUnits } } }", json!({})).await;
    let mut other_socket = open(&app, &other).await;
    assert_eq!(
        receive(&mut other_socket, Duration::from_secs(10))
            .await
            .expect("ack")["type"],
        "connection_ack"
    );
    subscribe(
        &mut other_socket,
        "events",
        "subscription { invoiceEvents { kind invoiceNumber } }",
        json!({}),
    )
    .await;
    until_listening(&app, 2).await;

    // The worker issues and charges Ava's invoice: both events arrive live.
    app.complete_session(&f.key, &f.auto_pay_session).await;
    let issued = next_data(&mut studio_socket).await;
    assert_eq!(
        issued["invoiceEvents"]["kind"], "INVOICE_ISSUED",
        "{issued}"
    );
    let paid = next_data(&mut studio_socket).await;
    assert_eq!(paid["invoiceEvents"]["kind"], "PAYMENT_SUCCEEDED", "{paid}");
    assert_eq!(paid["invoiceEvents"]["invoiceStatus"], "PAID");
    assert_eq!(paid["invoiceEvents"]["amountDue"]["minorUnits"], 0);
    app.drain().await;

    // Watch Noah's invoice, then he pays in the portal.
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    assert_eq!(
        next_data(&mut studio_socket).await["invoiceEvents"]["kind"],
        "INVOICE_ISSUED"
    );
    let invoice = app.invoice_of(&f.key, &f.invoice_session).await;
    subscribe(
        &mut studio_socket,
        "payments",
        "subscription($id: ID!) { paymentUpdates(invoiceId: $id) { status amount { formatted } invoiceStatus amountDue { minorUnits } } }",
        json!({ "id": invoice["id"] }),
    )
    .await;
    until_listening(&app, 3).await;
    let link = invoice["portalUrl"].as_str().expect("portal").to_string();
    let response = app.open_and_pay(&link, "4242424242424242").await;
    assert_eq!(response.status(), 303);
    // Both subscriptions on this socket see the payment, in either order.
    let mut seen = [
        next_data(&mut studio_socket).await,
        next_data(&mut studio_socket).await,
    ];
    seen.sort_by_key(|d| d.to_string());
    let update = seen
        .iter()
        .find(|d| d.get("paymentUpdates").is_some())
        .expect("a payment update");
    assert_eq!(
        update["paymentUpdates"],
        json!({ "status": "SUCCEEDED", "amount": { "formatted": "USD 3,291.82" }, "invoiceStatus": "PAID", "amountDue": { "minorUnits": 0 } })
    );
    assert!(
        seen.iter()
            .any(|d| d["invoiceEvents"]["kind"] == "PAYMENT_SUCCEEDED")
    );

    // The other studio saw none of it.
    assert!(
        receive(&mut other_socket, Duration::from_millis(500))
            .await
            .is_none(),
        "no foreign events"
    );
    // Nor can it watch a foreign invoice.
    subscribe(
        &mut other_socket,
        "spy",
        "subscription($id: ID!) { paymentUpdates(invoiceId: $id) { status } }",
        json!({ "id": invoice["id"] }),
    )
    .await;
    let denied = receive(&mut other_socket, Duration::from_secs(10))
        .await
        .expect("an answer");
    // async-graphql reports a resolver error as a `next` carrying `errors`.
    let code = match denied["type"].as_str() {
        Some("error") => denied["payload"][0]["extensions"]["code"].clone(),
        _ => denied["payload"]["errors"][0]["extensions"]["code"].clone(),
    };
    assert_eq!(code, "NOT_FOUND", "{denied}");
    assert_eq!(denied["payload"]["data"], Value::Null, "{denied}");
    app.drain().await;
    if let Some(worker) = worker {
        worker.kill();
    }
}

/// `paymentUpdates(sessionId:)` follows every invoice of a booking: Ava's
/// retainer charged when the plan is set, then her second part billed ahead
/// and paid by check, each named by its plan part; another session's payment
/// is not in the stream. Neither or both arguments are refused.
async fn a_session_subscription_follows_each_part_of_its_plan(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.worker.in_process = Some(true)).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let session = app
        .schedule_wedding_on(
            &f.key,
            &f.auto_pay_client,
            &f.package,
            &f.add_on,
            "0",
            "2027-06-12T15:00:00Z",
        )
        .await;
    let mut socket = open(&app, &f.key).await;
    assert_eq!(
        receive(&mut socket, Duration::from_secs(10))
            .await
            .expect("ack")["type"],
        "connection_ack"
    );
    subscribe(
        &mut socket,
        "booking",
        "subscription($id: ID!) { paymentUpdates(sessionId: $id) { sessionId planPartId status amount { minorUnits } invoiceStatus } }",
        json!({ "id": session }),
    )
    .await;
    until_listening(&app, 1).await;
    let set = app
        .gql(
            &f.key,
            "mutation($i: SetPaymentPlanInput!) { setPaymentPlan(input: $i) {
                paymentPlan { parts { id } } userErrors { code message } } }",
            json!({ "i": { "sessionId": session, "parts": [{}, { "dueDate": "2027-03-01" }] } }),
        )
        .await;
    assert_eq!(set["setPaymentPlan"]["userErrors"], json!([]), "{set}");
    let parts = set["setPaymentPlan"]["paymentPlan"]["parts"].clone();
    let retainer = next_data(&mut socket).await;
    assert_eq!(
        retainer["paymentUpdates"],
        json!({ "sessionId": session, "planPartId": parts[0]["id"], "status": "SUCCEEDED",
            "amount": { "minorUnits": 164_591 }, "invoiceStatus": "PAID" })
    );

    // Another session's payment is not in this stream.
    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.drain().await;
    assert!(
        receive(&mut socket, Duration::from_millis(500))
            .await
            .is_none(),
        "another session's payment"
    );

    let billed = app
        .gql(
            &f.key,
            "mutation($s: ID!) { billNextPlanPart(sessionId: $s) { invoice { id } userErrors { message } } }",
            json!({ "s": session }),
        )
        .await;
    let invoice = billed["billNextPlanPart"]["invoice"]["id"].clone();
    let paid = app
        .gql(
            &f.key,
            "mutation($i: RecordManualPaymentInput!) { recordManualPayment(input: $i) { userErrors { message } } }",
            json!({ "i": { "invoiceId": invoice, "amount": "1645.91", "method": "CHECK",
                "reference": "204", "idempotencyKey": "check-204" } }),
        )
        .await;
    assert_eq!(
        paid["recordManualPayment"]["userErrors"],
        json!([]),
        "{paid}"
    );
    let second = next_data(&mut socket).await;
    assert_eq!(
        second["paymentUpdates"]["planPartId"], parts[1]["id"],
        "{second}"
    );
    assert_eq!(second["paymentUpdates"]["status"], "SUCCEEDED", "{second}");

    subscribe(
        &mut socket,
        "neither",
        "subscription { paymentUpdates { status } }",
        json!({}),
    )
    .await;
    let refused = receive(&mut socket, Duration::from_secs(10))
        .await
        .expect("an answer");
    let code = match refused["type"].as_str() {
        Some("error") => refused["payload"][0]["extensions"]["code"].clone(),
        _ => refused["payload"]["errors"][0]["extensions"]["code"].clone(),
    };
    assert_eq!(code, "INVALID_INPUT", "{refused}");
    app.drain().await;
}
