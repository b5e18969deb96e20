//! The WebSocket transport of `/graphql/ws`: async-graphql's own protocol
//! machinery (`http::WebSocket`, both `graphql-transport-ws` and legacy
//! `graphql-ws`) driven by an actix actor, as `async-graphql-actix-web` does,
//! with one difference: a refused `connection_init` closes with
//! `4403: Forbidden`, as graphql-transport-ws specifies (the library closes
//! with 1002, "protocol error", which clients treat as a bug, not as a
//! wrong key).

use super::ApiSchema;
use actix::{
    Actor, ActorContext, ActorFutureExt, ActorStreamExt, AsyncContext, ContextFutureSpawner,
    StreamHandler, WrapFuture, WrapStream,
};
use actix_http::ws::Item;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_actors::ws::{
    self, CloseCode, CloseReason, Message, ProtocolError, WebsocketContext,
};
use async_graphql::Data;
use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, WebSocket, WebSocketProtocols, WsMessage};
use futures::future::BoxFuture;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// graphql-transport-ws: the `connection_init` was refused (access control).
pub const CLOSE_FORBIDDEN: u16 = 4403;

const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// Checks a `connection_init` payload; an error refuses the connection.
pub type OnInit =
    Box<dyn FnOnce(serde_json::Value) -> BoxFuture<'static, async_graphql::Result<Data>> + Send>;

/// Upgrades the request and serves the GraphQL WebSocket protocol on it.
pub fn start(
    schema: ApiSchema,
    request: &HttpRequest,
    payload: web::Payload,
    on_init: OnInit,
) -> actix_web::Result<HttpResponse> {
    let protocol = request
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|value| value.to_str().ok())
        .and_then(|protocols| {
            protocols
                .split(',')
                .find_map(|p| WebSocketProtocols::from_str(p.trim()).ok())
        })
        .ok_or_else(|| {
            actix_web::error::ErrorBadRequest(
                "Sec-WebSocket-Protocol must be graphql-transport-ws or graphql-ws",
            )
        })?;
    let session = Session {
        schema,
        protocol,
        on_init: Some(on_init),
        refused: Arc::new(AtomicBool::new(false)),
        messages: None,
        last_heartbeat: Instant::now(),
        continuation: Vec::new(),
    };
    ws::WsResponseBuilder::new(session, request, payload)
        .protocols(&ALL_WEBSOCKET_PROTOCOLS)
        .start()
}

struct Session {
    schema: ApiSchema,
    protocol: WebSocketProtocols,
    on_init: Option<OnInit>,
    /// Set when `on_init` refused the connection, so its close gets 4403.
    refused: Arc<AtomicBool>,
    messages: Option<async_channel::Sender<Vec<u8>>>,
    last_heartbeat: Instant,
    continuation: Vec<u8>,
}

impl Actor for Session {
    type Context = WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(HEARTBEAT_INTERVAL, |session, ctx| {
            if Instant::now().duration_since(session.last_heartbeat) > CLIENT_TIMEOUT {
                ctx.stop();
            }
            ctx.ping(b"");
        });
        let (tx, rx) = async_channel::unbounded();
        let refused = self.refused.clone();
        let on_init = self.on_init.take();
        let protocol = self.protocol;
        let check = move |payload: serde_json::Value| async move {
            let Some(on_init) = on_init else {
                return Ok(Data::default());
            };
            let result = on_init(payload).await;
            if result.is_err() {
                refused.store(true, Ordering::SeqCst);
            }
            result
        };
        let refused = self.refused.clone();
        WebSocket::new(self.schema.clone(), rx, protocol)
            .on_connection_init(check)
            .into_actor(self)
            .map(move |message, _session, ctx| match message {
                WsMessage::Text(text) => ctx.text(text),
                WsMessage::Close(_, _)
                    if protocol == WebSocketProtocols::GraphQLWS
                        && refused.load(Ordering::SeqCst) =>
                {
                    ctx.close(Some(CloseReason {
                        code: CloseCode::Other(CLOSE_FORBIDDEN),
                        description: Some("Forbidden".into()),
                    }))
                }
                WsMessage::Close(code, message) => ctx.close(Some(CloseReason {
                    code: code.into(),
                    description: Some(message),
                })),
            })
            .finish()
            .spawn(ctx);
        self.messages = Some(tx);
    }
}

impl StreamHandler<Result<Message, ProtocolError>> for Session {
    fn handle(&mut self, message: Result<Message, ProtocolError>, ctx: &mut Self::Context) {
        let Ok(message) = message else {
            ctx.stop();
            return;
        };
        // Any frame shows the client is there, not only an answered ping.
        self.last_heartbeat = Instant::now();
        let bytes = match message {
            Message::Ping(payload) => {
                ctx.pong(&payload);
                None
            }
            Message::Pong(_) => None,
            Message::Continuation(item) => match item {
                Item::FirstText(bytes) | Item::FirstBinary(bytes) => {
                    self.continuation = bytes.to_vec();
                    None
                }
                Item::Continue(bytes) => {
                    self.continuation.extend_from_slice(&bytes);
                    None
                }
                Item::Last(bytes) => {
                    self.continuation.extend_from_slice(&bytes);
                    Some(std::mem::take(&mut self.continuation))
                }
            },
            Message::Text(text) => Some(text.into_bytes().to_vec()),
            Message::Binary(bytes) => Some(bytes.to_vec()),
            Message::Close(_) => {
                ctx.stop();
                None
            }
            Message::Nop => None,
        };
        let (Some(bytes), Some(sender)) = (bytes, self.messages.clone()) else {
            return;
        };
        async move { sender.send(bytes).await }
            .into_actor(self)
            .map(|sent, _session, ctx| {
                if sent.is_err() {
                    ctx.stop();
                }
            })
            .spawn(ctx);
    }
}
