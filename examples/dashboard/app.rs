//! The dashboard's routes: the webhook receiver, the page, the WebSocket and, with the
//! `metrics` feature, `/metrics` for Prometheus.
//!
//! Kept apart from `main.rs` so that tests can serve it in-process.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alertmanager_webhook::active::ActiveAlerts;
use alertmanager_webhook::auth::Auth;
use alertmanager_webhook::response::detail;
use alertmanager_webhook::sink::{Sink, sink_fn};
use alertmanager_webhook::{AlertReceiver, Event};
use axum::Router;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
#[cfg(feature = "metrics")]
use axum::http::header;
use axum::http::header::{ALLOW, HOST, ORIGIN};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
#[cfg(feature = "metrics")]
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::sync::{broadcast, watch};
use tokio::time::{Instant, MissedTickBehavior, interval_at, timeout};
use tower::ServiceBuilder;

/// Where the receiver is mounted.
pub const WEBHOOK_PATH: &str = "/api/webhooks/alerts";
/// The page, embedded at compile time: no build step.
const PAGE: &str = include_str!("index.html");
/// Most firing alerts remembered for clients that connect late.
const ACTIVE_CAPACITY: usize = 1000;
/// Most bytes of their events remembered: a few large alerts cannot fill the memory.
const ACTIVE_BYTES: usize = 16 << 20;
/// Events buffered per WebSocket client: room for a notification of this many
/// alerts, whose events come all at once. A client that falls further behind
/// is closed (1013, try again later) and resyncs when it reconnects.
const CHANNEL_CAPACITY: usize = 4096;
/// A send that takes longer than this means the client is stuck: drop it
/// ([`Dashboard::with_send_timeout`] changes it).
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a ping checks that a quiet client is still there.
const PING_INTERVAL: Duration = Duration::from_secs(20);
/// A client that has sent nothing (not even a pong) for this long is gone.
const IDLE_LIMIT: Duration = Duration::from_secs(60);

/// The dashboard's shared state: the live event channel and the firing alerts.
#[derive(Clone)]
pub struct Dashboard {
    events: broadcast::Sender<Event>,
    active: Arc<ActiveAlerts>,
    auth: Option<Auth>,
    closing: Arc<watch::Sender<bool>>,
    send_timeout: Duration,
    /// Events that connected clients did not get: they fell behind or got stuck.
    undelivered: Arc<AtomicU64>,
    /// The receiver the routes were last built with, to drain at shutdown.
    receiver: Arc<Mutex<Option<AlertReceiver>>>,
}

impl Dashboard {
    /// A dashboard; with `auth`, the receiver requires that credential.
    pub fn new(auth: Option<Auth>) -> Self {
        Self::with_capacity(auth, CHANNEL_CAPACITY)
    }

    /// The same, buffering `events` events per WebSocket client.
    pub fn with_capacity(auth: Option<Auth>, events: usize) -> Self {
        Dashboard {
            events: broadcast::channel(events).0,
            active: Arc::new(ActiveAlerts::new(ACTIVE_CAPACITY).with_max_bytes(ACTIVE_BYTES)),
            auth,
            closing: Arc::new(watch::channel(false).0),
            send_timeout: SEND_TIMEOUT,
            undelivered: Arc::default(),
            receiver: Arc::default(),
        }
    }

    /// The same, dropping a client that takes longer than `limit` to take a frame.
    #[allow(dead_code)] // For tests/dashboard.rs; the example keeps `SEND_TIMEOUT`.
    pub fn with_send_timeout(mut self, limit: Duration) -> Self {
        self.send_timeout = limit;
        self
    }

    /// How many events connected clients did not get because they fell behind
    /// or got stuck (each such client is closed, and a WARN line says how many
    /// it missed). Clients that leave are not counted.
    #[allow(dead_code)] // Unused where a test includes this file without `main.rs`.
    pub fn undelivered(&self) -> u64 {
        self.undelivered.load(Ordering::Relaxed)
    }

    /// Counts and logs the events a client will not get, `lost` and every one
    /// still waiting in its queue.
    fn lost(&self, events: &mut broadcast::Receiver<Event>, mut lost: u64, why: &str) {
        loop {
            match events.try_recv() {
                Ok(_) => lost += 1,
                Err(broadcast::error::TryRecvError::Lagged(n)) => lost += n,
                Err(_) => break,
            }
        }
        self.undelivered.fetch_add(lost, Ordering::Relaxed);
        tracing::warn!(
            lost,
            "WebSocket client {why}: {lost} event(s) not sent to it"
        );
    }

    /// The routes. Must be called inside a tokio runtime (the receiver spawns its worker).
    pub fn router(&self) -> Router {
        self.router_with(self.local_sink())
    }

    /// Shows events on this dashboard: records the firing alerts, then broadcasts each event
    /// to the WebSocket clients.
    pub fn local_sink(&self) -> impl Sink + use<> {
        // The store is updated before the event is broadcast: a client subscribes before it
        // reads the snapshot, so it never misses an event (it may see one twice).
        let active = self.active.clone();
        let events = self.events.clone();
        sink_fn(move |event: Event| {
            active.record(&event);
            // No client connected is not an error.
            let _ = events.send(event);
            Ok(())
        })
    }

    /// The routes, with the receiver emitting into `sink` instead of [`local_sink`](Self::local_sink).
    fn router_with(&self, sink: impl Sink) -> Router {
        // Installed before the receiver is built, so that its metrics get described.
        #[cfg(feature = "metrics")]
        let prometheus = prometheus();
        let receiver = AlertReceiver::builder().sink(sink).build();
        *self.receiver.lock().unwrap_or_else(|e| e.into_inner()) = Some(receiver.clone());
        let receiver = ServiceBuilder::new()
            .option_layer(self.auth.clone().map(Auth::layer))
            .service(receiver);
        let router = Router::new();
        #[cfg(feature = "metrics")]
        let router = match prometheus {
            Some(handle) => router.route("/metrics", get(|| async { scrape(handle) })),
            None => router,
        };
        router
            .route("/", get(|| async { Html(PAGE) }))
            .route("/ws", get(websocket))
            .with_state(self.clone())
            .route_service(WEBHOOK_PATH, receiver)
            .fallback(|| async { detail(StatusCode::NOT_FOUND, "Not Found") })
            .method_not_allowed_fallback(|| async {
                detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
            })
    }

    /// Asks every WebSocket client to close: each is sent what is queued for it first.
    pub fn close_clients(&self) {
        self.closing.send_replace(true);
    }

    /// The receiver of the routes, to drain at shutdown before the clients are closed.
    #[allow(dead_code)] // Unused where a test includes this file without `main.rs`.
    pub fn receiver(&self) -> Option<AlertReceiver> {
        self.receiver
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// For a graceful shutdown, once the server has answered its last request and the
    /// receiver has been drained: closes every WebSocket client after sending it what is
    /// queued for it, and waits for them, at most `limit`. Events that clients still open
    /// then did not get are counted (once each) and logged.
    #[allow(dead_code)] // Unused where a test includes this file without `main.rs`.
    pub async fn close_clients_within(&self, limit: Duration) {
        self.close_clients();
        if timeout(limit, self.closing.closed()).await.is_err() {
            let left = self.events.len() as u64;
            self.undelivered.fetch_add(left, Ordering::Relaxed);
            tracing::warn!(
                left,
                "WebSocket clients still open after {limit:?}: {left} event(s) not sent to them"
            );
        }
    }
}

/// The process's Prometheus recorder, installed on first use (a process has one global
/// recorder); `None` if another recorder was installed first.
#[cfg(feature = "metrics")]
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    use alertmanager_webhook::metrics::{REQUEST_DURATION_BUCKETS, REQUEST_DURATION_SECONDS};
    static HANDLE: std::sync::OnceLock<Option<PrometheusHandle>> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let matcher = Matcher::Full(REQUEST_DURATION_SECONDS.to_owned());
            PrometheusBuilder::new()
                .set_buckets_for_metric(matcher, &REQUEST_DURATION_BUCKETS)
                .and_then(PrometheusBuilder::install_recorder)
                .map_err(|error| tracing::warn!(%error, "no Prometheus recorder: /metrics is off"))
                .ok()
        })
        .as_ref()
}

/// `GET /metrics`: the Prometheus text exposition format.
#[cfg(feature = "metrics")]
fn scrape(handle: &PrometheusHandle) -> Response {
    let content_type = "text/plain; version=0.0.4; charset=utf-8";
    ([(header::CONTENT_TYPE, content_type)], handle.render()).into_response()
}

/// One replica of several behind a load balancer, fanning out through Redis (feature `redis`):
/// the receiver publishes each event to Redis, deduplicated across replicas (an HA
/// Alertmanager pair notifies every replica it reaches), and a subscriber feeds every event
/// in Redis, whichever replica received it, to this dashboard's clients.
#[cfg(feature = "redis")]
#[cfg_attr(test, allow(dead_code))] // tests/dashboard.rs includes this file, without Redis.
pub mod redis {
    use std::time::Duration;

    use alertmanager_webhook::redis::{RedisSink, RedisSubscriber, stream_history};
    use alertmanager_webhook::sink::BoxError;
    use axum::Router;

    use super::Dashboard;

    /// The pub/sub channel, or the stream, that the replicas share.
    pub const CHANNEL: &str = "alerts";
    /// About how many events the stream keeps for replicas that were away.
    const STREAM_LENGTH: usize = 10_000;
    /// How long an alert already published is not published again.
    const DEDUP_TTL: Duration = Duration::from_secs(300);

    /// Connects to the Redis at `url`. With `group` (this replica's name, stable across its
    /// restarts) events go through a stream, and a restarted replica first receives what it
    /// missed; without, through pub/sub.
    pub async fn connect(
        url: &str,
        group: Option<&str>,
    ) -> Result<(RedisSink, RedisSubscriber), BoxError> {
        let (sink, subscriber) = (RedisSink::builder(url), RedisSubscriber::builder(url));
        let (sink, subscriber) = match group {
            Some(group) => (
                sink.stream(CHANNEL, STREAM_LENGTH),
                subscriber.stream(CHANNEL, group),
            ),
            None => (sink.pubsub(CHANNEL), subscriber.pubsub(CHANNEL)),
        };
        Ok((
            sink.dedup(DEDUP_TTL).build().await?,
            subscriber.build().await?,
        ))
    }

    impl Dashboard {
        /// In stream mode, before [`router_through_redis`](Self::router_through_redis): the
        /// alerts firing now, as the stream still has them, so that a restarted replica's page
        /// starts with them too (its consumer group then hands it only what it missed).
        /// Returns how many events it read.
        pub async fn recall(&self, url: &str) -> Result<usize, BoxError> {
            let events = stream_history(url, CHANNEL, Duration::from_secs(5)).await?;
            for event in &events {
                self.active.record(event);
            }
            Ok(events.len())
        }

        /// The routes, with the receiver publishing to Redis through `sink` and `subscriber`
        /// (spawned here) feeding this dashboard. Must be called inside a tokio runtime.
        pub fn router_through_redis(&self, sink: RedisSink, subscriber: RedisSubscriber) -> Router {
            tokio::spawn(subscriber.run(self.local_sink()));
            self.router_with(sink)
        }
    }
}

/// `GET /ws`; a request that is not a WebSocket handshake gets axum's refusal as JSON.
///
/// A browser lets any page open a WebSocket to any address, with its own origin in
/// `Origin`: a handshake from another origin than the page's is refused (403), so that
/// a page on another site cannot read the alerts. Clients that are not browsers send
/// no `Origin` and are let in.
async fn websocket(
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    headers: HeaderMap,
    State(dashboard): State<Dashboard>,
) -> Response {
    if !same_origin(&headers) {
        return detail(StatusCode::FORBIDDEN, "Cross-origin WebSocket refused").into_response();
    }
    match ws {
        // Clients only listen; a large message from one is not welcome.
        Ok(ws) => ws
            .max_message_size(64 * 1024)
            .on_upgrade(move |socket| client(socket, dashboard)),
        Err(refusal) => {
            let mut answer = detail(refusal.status(), &refusal.body_text());
            if answer.status() == StatusCode::METHOD_NOT_ALLOWED {
                answer
                    .headers_mut()
                    .insert(ALLOW, HeaderValue::from_static("GET"));
            }
            answer.into_response()
        }
    }
}

/// No `Origin` (not a browser), or a single `Origin` whose host and port are the
/// request's `Host` or, behind a reverse proxy that rewrites `Host`, the first
/// `X-Forwarded-Host` (a page can set neither on a WebSocket handshake). The
/// scheme's default port (`:80`, `:443`) may be written or left out.
fn same_origin(headers: &HeaderMap) -> bool {
    let mut origins = headers.get_all(ORIGIN).iter();
    let Some(origin) = origins.next() else {
        return true;
    };
    // Two of either header are ambiguous.
    if origins.next().is_some() || headers.get_all(HOST).iter().nth(1).is_some() {
        return false;
    }
    let Some((scheme, authority)) = origin.to_str().ok().and_then(|o| o.split_once("://")) else {
        return false;
    };
    let port = match scheme.to_ascii_lowercase().as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => return false,
    };
    let bare = |a: &str| a.strip_suffix(port).unwrap_or(a).to_ascii_lowercase();
    let origin = bare(authority);
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    let forwarded = headers
        .get(HeaderName::from_static("x-forwarded-host"))
        .and_then(|h| h.to_str().ok()?.split(',').next())
        .map(str::trim);
    !origin.is_empty()
        && [host, forwarded]
            .into_iter()
            .flatten()
            .any(|h| bare(h) == origin)
}

/// One WebSocket client: the firing alerts first, then every event as it comes.
async fn client(mut socket: WebSocket, dashboard: Dashboard) {
    // Subscribe before the snapshot so that nothing falls between the two.
    let mut events = dashboard.events.subscribe();
    let mut closing = dashboard.closing.subscribe();
    let limit = dashboard.send_timeout;
    // A client that takes no frame for `limit` is dropped without a Close (it would not take
    // that either): the event on its way and those queued for it are lost to it. One that
    // left loses nothing.
    let give_up = |failed: Failed, events: &mut broadcast::Receiver<Event>, on_its_way: u64| {
        if let Failed::Stuck = failed {
            let why = format!("took no frame for {limit:?}; dropping it");
            dashboard.lost(events, on_its_way, &why);
        }
    };
    for message in dashboard.active.snapshot().into_iter().filter_map(text) {
        if let Err(failed) = send(&mut socket, message, limit).await {
            return give_up(failed, &mut events, 0);
        }
    }
    // The first ping after a quiet interval, not at once: a client that has stopped reading
    // would answer it later, and a Pong sent to a connection already dropped resets it,
    // discarding the frames still in the kernel on their way to the client.
    let mut ping = interval_at(Instant::now() + PING_INTERVAL, PING_INTERVAL);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    while !*closing.borrow_and_update() {
        tokio::select! {
            event = events.recv() => match event {
                Ok(event) => {
                    if let Err(failed) = forward(&mut socket, &event, limit).await {
                        return give_up(failed, &mut events, 1);
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    // Its view now has a hole: close, so that it reconnects and starts
                    // again from the firing alerts (the page does so by itself).
                    let close = CloseFrame {
                        code: close_code::AGAIN,
                        reason: Utf8Bytes::from_static("fell behind the events: reconnect"),
                    };
                    close_with(socket, Some(close), limit).await;
                    // Counted once it is closed: what it missed, and all that came since.
                    return dashboard.lost(&mut events, missed, "fell behind; closed it so that it resyncs");
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) => {
                    // Reading on sends the Close that answers it.
                    let _ = timeout(limit, socket.recv()).await;
                    return;
                }
                Some(Err(_)) | None => return,
                Some(Ok(_)) => last_heard = Instant::now(),
            },
            _ = ping.tick() => {
                if last_heard.elapsed() > IDLE_LIMIT {
                    tracing::debug!("WebSocket client went quiet; closing");
                    return;
                }
                if let Err(failed) = send(&mut socket, Message::Ping(Default::default()), limit).await {
                    return give_up(failed, &mut events, 0);
                }
            },
            _ = closing.changed() => break,
        }
    }
    // Closing: the server has answered its last request, so what is queued is all there is.
    loop {
        match events.try_recv() {
            Ok(event) => {
                if let Err(failed) = forward(&mut socket, &event, limit).await {
                    return give_up(failed, &mut events, 1);
                }
            }
            Err(broadcast::error::TryRecvError::Lagged(missed)) => {
                dashboard.lost(&mut events, missed, "fell behind at shutdown");
                break;
            }
            Err(_) => break,
        }
    }
    close_with(socket, None, limit).await;
}

/// Sends a Close and waits (at most `limit`) for the client's: closing the
/// connection before that could reset it under frames still unread.
async fn close_with(mut socket: WebSocket, frame: Option<CloseFrame>, limit: Duration) {
    if send(&mut socket, Message::Close(frame), limit)
        .await
        .is_err()
    {
        return;
    }
    let _ = timeout(limit, async {
        while let Some(Ok(message)) = socket.recv().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

/// An event's JSON as a text frame. Events are serde_json output, so `None`
/// (not UTF-8) does not happen; such an event would be skipped.
fn text(json: bytes::Bytes) -> Option<Message> {
    Utf8Bytes::try_from(json).ok().map(Message::Text)
}

/// Sends one event as a text frame.
async fn forward(socket: &mut WebSocket, event: &Event, limit: Duration) -> Result<(), Failed> {
    match text(event.json_bytes()) {
        Some(message) => send(socket, message, limit).await,
        None => Ok(()),
    }
}

/// Why a frame did not reach a client.
enum Failed {
    /// The connection is closed or broken: the client left.
    Gone,
    /// The frame was not taken in time: the client stopped reading.
    Stuck,
}

/// Sends one frame, waiting at most `limit`.
async fn send(socket: &mut WebSocket, message: Message, limit: Duration) -> Result<(), Failed> {
    match timeout(limit, socket.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(Failed::Gone),
        Err(_) => Err(Failed::Stuck),
    }
}
