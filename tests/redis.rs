//! Replicas fanning out through a real `redis-server` (started per test on a
//! free loopback port, without persistence, and killed afterwards).
//!
//! Each replica is an in-process receiver whose sink is a `RedisSink`, plus a
//! `RedisSubscriber` feeding its local `BroadcastSink`: a subscription to that
//! broadcast stands for one WebSocket client of the replica. The last tests run
//! the dashboard example itself with real WebSocket clients.

use std::collections::HashSet;
use std::convert::Infallible;
use std::time::{Duration, Instant};

use alertmanager_webhook::payload::Webhook;
use alertmanager_webhook::redis::{RedisSink, RedisSubscriber};
use alertmanager_webhook::sink::BroadcastSink;
use alertmanager_webhook::{AlertReceiver, Event};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tower::ServiceExt;

// The example's code that this file does not use (e.g. the non-Redis router) is fine.
#[allow(dead_code)]
#[path = "../examples/dashboard/app.rs"]
mod app;
#[path = "support/redis_server.rs"]
mod redis_server;
use redis_server::RedisServer;

/// How long any wait may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(20);

fn fixture(prefix: &str) -> Vec<u8> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let path = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(prefix) && name.ends_with(".json")
        })
        .unwrap();
    std::fs::read(path).unwrap()
}

/// A notification with one firing alert per fingerprint.
fn body(fingerprints: &[&str]) -> Vec<u8> {
    let alerts: Vec<_> = fingerprints
        .iter()
        .map(|fp| {
            serde_json::json!({"status": "firing", "labels": {"alertname": "RedisTest", "severity": "warning"},
                "annotations": {"summary": fp}, "startsAt": "2026-01-17T12:22:56Z", "fingerprint": fp})
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({"groupKey": "g", "status": "firing",
        "receiver": "redis-test", "alerts": alerts}))
    .unwrap()
}

/// The JSON of every event a body yields, once per dedup key.
fn expected_json(bodies: &[&[u8]]) -> Vec<String> {
    let mut keys = HashSet::new();
    let mut out = Vec::new();
    for body in bodies {
        let hook = Webhook::from_slice(body).unwrap();
        for alert in &hook.alerts {
            let event = Event::new(&hook, alert);
            if keys.insert(event.dedup_key().to_owned()) {
                out.push(String::from_utf8(event.json().to_vec()).unwrap());
            }
        }
    }
    out.sort();
    out
}

/// Aborts the task on drop.
struct Task<T>(JoinHandle<T>);

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    PubSub,
    Stream,
}

#[derive(Clone, Copy)]
struct Options {
    mode: Mode,
    acknowledged: bool,
    dedup: bool,
}

struct Replica {
    receiver: AlertReceiver,
    sink: RedisSink,
    client: broadcast::Receiver<Event>,
    _subscriber: Task<Infallible>,
}

impl Replica {
    async fn start(url: &str, name: &str, o: Options) -> Replica {
        let mut sink = RedisSink::builder(url).timeout(Duration::from_millis(500));
        let mut subscriber = RedisSubscriber::builder(url);
        match o.mode {
            Mode::PubSub => {
                sink = sink.pubsub("alerts");
                subscriber = subscriber.pubsub("alerts");
            }
            Mode::Stream => {
                sink = sink.stream("alerts", 1000);
                subscriber = subscriber.stream("alerts", name);
            }
        }
        if o.dedup {
            sink = sink.dedup(Duration::from_secs(60));
        }
        let sink = sink.build().await.unwrap();
        let mut receiver = AlertReceiver::builder().sink(sink.clone());
        if o.acknowledged {
            receiver = receiver.acknowledged(Duration::from_secs(2));
        }
        let (tx, client) = broadcast::channel(1024);
        let subscriber = subscriber.build().await.unwrap();
        Replica {
            receiver: receiver.build(),
            sink,
            client,
            _subscriber: Task(tokio::spawn(subscriber.run(BroadcastSink::new(tx)))),
        }
    }

    async fn post(&self, body: &[u8]) -> http::Response<Full<Bytes>> {
        let request = Request::post("/api/webhooks/alerts")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::copy_from_slice(body)))
            .unwrap();
        self.receiver.clone().oneshot(request).await.unwrap()
    }

    /// The next event its client gets, within the deadline.
    async fn next(&mut self) -> Event {
        tokio::time::timeout(DEADLINE, self.client.recv())
            .await
            .expect("no event before the deadline")
            .unwrap()
    }

    /// Every event until (and without) the one with fingerprint `last`, sorted JSON.
    async fn until(&mut self, last: &str) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            let event = self.next().await;
            if event.fingerprint() == last {
                out.sort();
                return out;
            }
            out.push(String::from_utf8(event.json().to_vec()).unwrap());
        }
    }
}

async fn wait_until<F: std::future::Future<Output = bool>>(
    what: &str,
    mut done: impl FnMut() -> F,
) {
    let start = Instant::now();
    while !done().await {
        assert!(start.elapsed() < DEADLINE, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const BEST_EFFORT: Options = Options {
    mode: Mode::PubSub,
    acknowledged: false,
    dedup: false,
};

async fn a_to_b(mode: Mode) {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let o = Options {
        mode,
        ..BEST_EFFORT
    };
    let mut a = Replica::start(&redis.url(), "a", o).await;
    let mut b = Replica::start(&redis.url(), "b", o).await;
    let notification = fixture("13-");
    assert_eq!(a.post(&notification).await.status(), StatusCode::OK);
    a.post(&body(&["end"])).await;
    let expected = expected_json(&[&notification]);
    assert_eq!(expected.len(), 3);
    assert_eq!(b.until("end").await, expected, "{mode:?}: client of B");
    assert_eq!(a.until("end").await, expected, "{mode:?}: client of A");
}

#[tokio::test]
async fn pubsub_a_body_posted_to_a_reaches_a_client_of_b() {
    a_to_b(Mode::PubSub).await;
}

#[tokio::test]
async fn stream_a_body_posted_to_a_reaches_a_client_of_b() {
    a_to_b(Mode::Stream).await;
}

async fn ha_pair(mode: Mode) {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let o = Options {
        mode,
        acknowledged: true,
        dedup: true,
    };
    let mut a = Replica::start(&redis.url(), "a", o).await;
    let mut b = Replica::start(&redis.url(), "b", o).await;
    // 14 repeats two firing alerts of 13 and resolves a third: 4 distinct events.
    let (first, second) = (fixture("13-"), fixture("14-"));
    for body in [&first, &second] {
        let (to_a, to_b) = tokio::join!(a.post(body), b.post(body));
        assert_eq!(to_a.status(), 200);
        assert_eq!(to_b.status(), 200);
    }
    // Both answers came after both sinks finished: a duplicate would be published before this.
    assert_eq!(a.post(&body(&["end"])).await.status(), 200);
    let expected = expected_json(&[&first, &second]);
    assert_eq!(expected.len(), 4);
    assert_eq!(a.until("end").await, expected, "{mode:?}: client of A");
    assert_eq!(b.until("end").await, expected, "{mode:?}: client of B");
    assert_eq!(a.sink.duplicates() + b.sink.duplicates(), 12 - 4);
    let delivered = a.receiver.stats().delivered + b.receiver.stats().delivered;
    assert_eq!(delivered, 12 + 1, "duplicates count as delivered");
}

#[tokio::test]
async fn pubsub_an_ha_pair_yields_exactly_one_event_per_alert() {
    ha_pair(Mode::PubSub).await;
}

#[tokio::test]
async fn stream_an_ha_pair_yields_exactly_one_event_per_alert() {
    ha_pair(Mode::Stream).await;
}

async fn outage(mode: Mode) {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let best = Options {
        mode,
        ..BEST_EFFORT
    };
    let acked = Options {
        acknowledged: true,
        ..best
    };
    let mut a = Replica::start(&redis.url(), "a", best).await;
    let mut b = Replica::start(&redis.url(), "b", acked).await;
    a.post(&body(&["before"])).await;
    assert_eq!(b.next().await.fingerprint(), "before");

    redis.kill();
    let response = a.post(&body(&["down-1", "down-2"])).await;
    assert_eq!(response.status(), 200, "{mode:?}: best effort answers 200");
    let receiver = &a.receiver;
    wait_until("both events failed", || async move {
        receiver.stats().failed == 2
    })
    .await;
    let response = b.post(&body(&["down-3"])).await;
    assert_eq!(response.status(), 503, "{mode:?}: acknowledged answers 503");
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(b.receiver.stats().failed, 1);

    redis.restart();
    if let Mode::PubSub = mode {
        // Events published before the subscribers are back would be missed.
        let numsub = redis::cmd("PUBSUB").arg("NUMSUB").arg("alerts").clone();
        let (redis, numsub) = (&redis, &numsub);
        wait_until("both subscribers are back", || async move {
            redis.query::<(String, u32)>(numsub).await.1 == 2
        })
        .await;
    }
    // The acknowledged replica: Alertmanager would retry until 200.
    let (retry, acked) = (body(&["after-ack"]), &b);
    wait_until("an acknowledged post is accepted", || async {
        acked.post(&retry).await.status() == 200
    })
    .await;
    // The best-effort replica: its first post once Redis is back is delivered, though
    // its connection broke during the outage (the send notices, and sends again).
    let before = a.receiver.stats();
    let last = "after-best-effort".to_owned();
    a.post(&body(&[&last])).await;
    let receiver = &a.receiver;
    wait_until("the event was handled", || async move {
        let now = receiver.stats();
        now.delivered + now.failed > before.delivered + before.failed
    })
    .await;
    let after = a.receiver.stats();
    assert_eq!(
        (after.delivered, after.failed),
        (before.delivered + 1, before.failed),
        "{mode:?}: the first send after the outage"
    );
    // Every client gets both; a send that timed out after Redis took it may add more.
    for replica in [&mut a, &mut b] {
        let mut seen = HashSet::new();
        while !(seen.contains("after-ack") && seen.contains(last.as_str())) {
            seen.insert(replica.next().await.fingerprint().to_owned());
        }
    }
}

#[tokio::test]
async fn pubsub_delivery_survives_a_redis_restart() {
    outage(Mode::PubSub).await;
}

#[tokio::test]
async fn stream_delivery_survives_a_redis_restart() {
    outage(Mode::Stream).await;
}

#[tokio::test]
async fn stream_a_restarted_replica_receives_what_it_missed() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let o = Options {
        mode: Mode::Stream,
        acknowledged: true,
        dedup: false,
    };
    let a = Replica::start(&redis.url(), "a", o).await;
    let mut b = Replica::start(&redis.url(), "b", o).await;
    a.post(&body(&["seen"])).await;
    assert_eq!(b.next().await.fingerprint(), "seen");
    // Stop B once it has acknowledged what it saw.
    let pending = redis::cmd("XPENDING").arg("alerts").arg("b").clone();
    let (redis, pending) = (&redis, &pending);
    wait_until("B acknowledged", || async move {
        let summary: (u64, redis::Value, redis::Value, redis::Value) = redis.query(pending).await;
        summary.0 == 0
    })
    .await;
    drop(b);

    for fp in ["missed-1", "missed-2"] {
        assert_eq!(a.post(&body(&[fp])).await.status(), 200);
    }
    let mut b = Replica::start(&redis.url(), "b", o).await;
    assert_eq!(b.next().await.fingerprint(), "missed-1");
    assert_eq!(b.next().await.fingerprint(), "missed-2");
    a.post(&body(&["new"])).await;
    assert_eq!(b.next().await.fingerprint(), "new", "nothing is read twice");
}

#[tokio::test]
async fn building_without_redis_fails_instead_of_hanging() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    redis.kill();
    let sink = RedisSink::builder(redis.url())
        .timeout(Duration::from_millis(200))
        .build()
        .await;
    assert!(sink.is_err());
    let subscriber = RedisSubscriber::builder(redis.url())
        .timeout(Duration::from_millis(200))
        .build()
        .await;
    assert!(subscriber.is_err());
}

/// A TCP relay to `target` whose connections can be silenced: once `silence` is
/// called, the connections open then stay open but pass nothing either way
/// (as behind a dropped NAT entry); connections opened later relay normally.
struct Relay {
    port: u16,
    generation: std::sync::Arc<std::sync::atomic::AtomicU64>,
    _task: Task<()>,
}

impl Relay {
    /// A relay to `redis`.
    async fn to(redis: &RedisServer) -> Relay {
        let url = redis.url();
        let target = url.trim_start_matches("redis://").trim_end_matches('/');
        Relay::start(target.to_owned()).await
    }

    /// The URL of Redis through the relay.
    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    async fn start(target: String) -> Relay {
        use std::sync::atomic::Ordering::SeqCst;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let generation = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let current = generation.clone();
        let task = tokio::spawn(async move {
            // One direction: copies until the connection's generation is over, then goes quiet.
            async fn pipe(
                mut from: impl AsyncReadExt + Unpin,
                mut to: impl AsyncWriteExt + Unpin,
                born: u64,
                now: std::sync::Arc<std::sync::atomic::AtomicU64>,
            ) {
                let mut buf = vec![0; 64 << 10];
                while let Ok(n @ 1..) = from.read(&mut buf).await {
                    if now.load(SeqCst) != born {
                        std::future::pending::<()>().await;
                    }
                    if to.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            }
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(&target).await else {
                    continue;
                };
                let born = current.load(SeqCst);
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(pipe(client_read, server_write, born, current.clone()));
                tokio::spawn(pipe(server_read, client_write, born, current.clone()));
            }
        });
        Relay {
            port,
            generation,
            _task: Task(task),
        }
    }

    fn silence(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_replaces_a_connection_that_went_silent() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let relay = Relay::to(&redis).await;
    let sink = RedisSink::builder(relay.url())
        .pubsub("alerts")
        .timeout(Duration::from_millis(300))
        .build()
        .await
        .expect("connected through the relay");
    let receiver = AlertReceiver::builder()
        .sink(sink)
        .acknowledged(Duration::from_secs(2))
        .build();
    let post = |fingerprint: &'static str| {
        let receiver = receiver.clone();
        async move {
            let request = Request::post("/").body(Full::new(Bytes::from(body(&[fingerprint]))));
            let response = receiver.oneshot(request.expect("request")).await;
            response.expect("infallible").status()
        }
    };
    assert_eq!(post("before").await, StatusCode::OK);
    relay.silence();
    // The open connection now swallows everything: the sends time out (503), and
    // then go through a new connection.
    assert_eq!(post("silenced").await, StatusCode::SERVICE_UNAVAILABLE);
    let deadline = Instant::now() + DEADLINE;
    while post("after").await != StatusCode::OK {
        assert!(Instant::now() < deadline, "never delivered again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A replica whose subscriber reads through a relay that then goes silent gets
/// events again once it has found out and connected anew.
async fn a_subscriber_replaces_a_connection_that_went_silent(mode: Mode) {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let relay = Relay::to(&redis).await;
    let o = Options {
        mode,
        acknowledged: false,
        dedup: false,
    };
    let publisher = Replica::start(&redis.url(), "publisher", o).await;
    let mut listener = Replica::start(&relay.url(), "listener", o).await;
    publisher.post(&body(&["before"])).await;
    assert_eq!(listener.next().await.fingerprint(), "before");
    relay.silence();
    let deadline = Instant::now() + DEADLINE;
    loop {
        publisher.post(&body(&["after"])).await;
        let got = tokio::time::timeout(Duration::from_millis(500), listener.client.recv()).await;
        if got.is_ok_and(|event| event.is_ok_and(|e| e.fingerprint() == "after")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{mode:?}: nothing received after the silence"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_a_subscriber_replaces_a_connection_that_went_silent() {
    a_subscriber_replaces_a_connection_that_went_silent(Mode::PubSub).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_a_subscriber_replaces_a_connection_that_went_silent() {
    a_subscriber_replaces_a_connection_that_went_silent(Mode::Stream).await;
}

/// One replica of the dashboard example, served on a free loopback port.
struct Dashboard {
    router: axum::Router,
    addr: std::net::SocketAddr,
    sink: RedisSink,
    _server: Task<std::io::Result<()>>,
}

impl Dashboard {
    async fn start(url: &str, group: Option<&str>) -> Dashboard {
        let dashboard = app::Dashboard::new(None);
        let (sink, subscriber) = app::redis::connect(url, group).await.unwrap();
        if group.is_some() {
            dashboard.recall(url).await.unwrap();
        }
        let router = dashboard.router_through_redis(sink.clone(), subscriber);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let serve = axum::serve(listener, router.clone());
        Dashboard {
            router,
            addr,
            sink,
            _server: Task(tokio::spawn(async move { serve.await })),
        }
    }

    async fn post(&self, body: &[u8]) -> StatusCode {
        let request = Request::post(app::WEBHOOK_PATH)
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_vec()))
            .unwrap();
        self.router.clone().oneshot(request).await.unwrap().status()
    }

    /// A WebSocket client, once the server forwards events to it: the server reads
    /// (and so answers a ping) only after it subscribed and sent the firing alerts.
    async fn client(&self) -> WsClient {
        let (client, snapshot) = self.client_and_snapshot().await;
        assert_eq!(
            snapshot,
            [] as [String; 0],
            "a fresh dashboard has no firing alert"
        );
        client
    }

    /// A WebSocket client, and the firing alerts it got first.
    async fn client_and_snapshot(&self) -> (WsClient, Vec<String>) {
        use futures_util::SinkExt;
        let url = format!("ws://{}/ws", self.addr);
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        ws.send(Message::Ping(b"sync"[..].into())).await.unwrap();
        let mut client = WsClient(ws);
        let mut snapshot = Vec::new();
        while let Some(json) = client.frame().await {
            snapshot.push(json);
        }
        snapshot.sort();
        (client, snapshot)
    }
}

struct WsClient(
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
);

impl WsClient {
    /// The next text frame, or `None` for the pong to our ping.
    async fn frame(&mut self) -> Option<String> {
        use futures_util::StreamExt;
        loop {
            let message = tokio::time::timeout(DEADLINE, self.0.next())
                .await
                .expect("no frame before the deadline")
                .unwrap()
                .unwrap();
            match message {
                Message::Text(text) => return Some(text.as_str().to_owned()),
                Message::Pong(data) if data.as_ref() == b"sync" => return None,
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// Every event until (and without) the one with fingerprint `last`, sorted.
    async fn until(&mut self, last: &str) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            let json = self.frame().await.expect("an event");
            let value: serde_json::Value = serde_json::from_str(&json).unwrap();
            if value["data"]["fingerprint"] == last {
                out.sort();
                return out;
            }
            out.push(json);
        }
    }
}

async fn websocket_a_to_b(group: [Option<&str>; 2]) {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let a = Dashboard::start(&redis.url(), group[0]).await;
    let b = Dashboard::start(&redis.url(), group[1]).await;
    let mut client_of_b = b.client().await;
    let notification = fixture("13-");
    assert_eq!(a.post(&notification).await, 200);
    assert_eq!(a.post(&body(&["end"])).await, 200);
    assert_eq!(
        client_of_b.until("end").await,
        expected_json(&[&notification])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_stream_a_restarted_replica_shows_the_alerts_firing_before() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let a = Dashboard::start(&redis.url(), Some("a")).await;
    let mut client = a.client().await;
    assert_eq!(a.post(&fixture("13-")).await, 200);
    assert_eq!(a.post(&body(&["end"])).await, 200);
    client.until("end").await;
    // The same replica, restarted: its page starts with what was firing.
    drop((client, a));
    let a = Dashboard::start(&redis.url(), Some("a")).await;
    let (_client, snapshot) = a.client_and_snapshot().await;
    let mut got: Vec<String> = snapshot
        .iter()
        .map(|json| {
            serde_json::from_str::<serde_json::Value>(json).unwrap()["data"]["fingerprint"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let mut expected: Vec<String> = Webhook::from_slice(&fixture("13-"))
        .unwrap()
        .alerts
        .iter()
        .filter(|alert| alert.status == alertmanager_webhook::payload::Status::Firing)
        .map(|alert| alert.fingerprint.to_string())
        .chain(["end".to_owned()])
        .collect();
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_pubsub_a_body_posted_to_a_reaches_a_websocket_client_of_b() {
    websocket_a_to_b([None, None]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_stream_a_body_posted_to_a_reaches_a_websocket_client_of_b() {
    websocket_a_to_b([Some("a"), Some("b")]).await;
}

async fn websocket_ha_pair(group: [Option<&str>; 2]) {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let a = Dashboard::start(&redis.url(), group[0]).await;
    let b = Dashboard::start(&redis.url(), group[1]).await;
    let (mut client_of_a, mut client_of_b) = (a.client().await, b.client().await);
    let (first, second) = (fixture("13-"), fixture("14-"));
    for notification in [&first, &second] {
        let (to_a, to_b) = tokio::join!(a.post(notification), b.post(notification));
        assert_eq!((to_a, to_b), (StatusCode::OK, StatusCode::OK));
    }
    // Queued mode answers first: wait until both sinks handled all 12 alerts (4 distinct).
    let sinks = (&a.sink, &b.sink);
    wait_until("every duplicate was suppressed", || async move {
        sinks.0.duplicates() + sinks.1.duplicates() == 12 - 4
    })
    .await;
    assert_eq!(a.post(&body(&["end"])).await, 200);
    let expected = expected_json(&[&first, &second]);
    assert_eq!(client_of_a.until("end").await, expected);
    assert_eq!(client_of_b.until("end").await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_pubsub_an_ha_pair_yields_one_event_per_alert_at_each_websocket_client() {
    websocket_ha_pair([None, None]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_stream_an_ha_pair_yields_one_event_per_alert_at_each_websocket_client() {
    websocket_ha_pair([Some("a"), Some("b")]).await;
}
