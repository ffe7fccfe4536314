//! The dashboard example, served in-process: WebSocket clients and a headless Chromium.

#[path = "../examples/dashboard/app.rs"]
mod app;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use alertmanager_webhook::auth::Auth;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::time::{Instant, timeout, timeout_at};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

/// How long to wait for something that should happen promptly (a deadline, not an assertion).
const PATIENCE: Duration = Duration::from_secs(30);

/// The dashboard on 127.0.0.1:0, on its own runtime; dropping it stops everything.
struct Server {
    runtime: tokio::runtime::Runtime,
    dashboard: app::Dashboard,
    addr: SocketAddr,
}

impl Server {
    fn start(bearer_token: Option<&str>) -> Server {
        Server::with_capacity(bearer_token, None)
    }

    /// With `Some(n)`, the dashboard buffers `n` events per client instead of its default.
    fn with_capacity(bearer_token: Option<&str>, events: Option<usize>) -> Server {
        let auth = bearer_token.map(|t| Auth::bearer(t).expect("a non-empty token"));
        let dashboard = match events {
            Some(n) => app::Dashboard::with_capacity(auth, n),
            None => app::Dashboard::new(auth),
        };
        Server::serve(dashboard, None)
    }

    /// Serves `dashboard`; with `Some(bytes)`, each connection's kernel send buffer
    /// is that size (inherited from the listening socket) instead of growing.
    fn serve(dashboard: app::Dashboard, send_buffer: Option<u32>) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let addr = runtime.block_on(async {
            let socket = tokio::net::TcpSocket::new_v4().expect("socket");
            if let Some(bytes) = send_buffer {
                socket.set_send_buffer_size(bytes).expect("SO_SNDBUF");
            }
            socket
                .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
                .expect("bind");
            let listener = socket.listen(1024).expect("listen");
            let addr = listener.local_addr().expect("local addr");
            let router = dashboard.router();
            tokio::spawn(async move { axum::serve(listener, router).await });
            addr
        });
        Server {
            runtime,
            dashboard,
            addr,
        }
    }

    /// POSTs a fixture to the receiver; returns the status and the body.
    fn post_fixture(&self, name: &str) -> (u16, Value) {
        let body = std::fs::read(fixture(name)).expect("fixture");
        let (status, body) = http(self.addr, "POST", app::WEBHOOK_PATH, &[], Some(&body));
        (status, serde_json::from_slice(&body).expect("JSON answer"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.dashboard.close_clients();
        // The runtime is dropped next, which stops the server and its tasks.
    }
}

fn fixture(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    std::fs::read_dir(&dir)
        .expect("fixtures directory")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .find(|path| {
            let file = path.file_name().and_then(|f| f.to_str()).unwrap_or("");
            file.starts_with(name) && file.ends_with(".json")
        })
        .unwrap_or_else(|| panic!("no fixture {name}"))
}

/// A minimal blocking HTTP/1.1 client (`Connection: close`); returns status and body.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("write");
    stream
        .write_all(body.unwrap_or_default())
        .expect("write body");
    // Read until the body is complete: chromedriver answers `Connection: close` but may keep
    // the connection open.
    let mut response = Vec::new();
    let mut buffer = [0; 16 * 1024];
    let (split, head) = loop {
        if let Some(split) = response.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|n| n.trim().parse::<usize>().ok());
            let body = &response[split + 4..];
            let done = match length {
                Some(length) => body.len() >= length,
                None if head.contains("transfer-encoding: chunked") => body.ends_with(b"0\r\n\r\n"),
                None => false,
            };
            if done {
                break (split, head);
            }
        }
        let read = stream.read(&mut buffer).expect("read");
        if read == 0 {
            let split = response
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .expect("end of headers");
            break (
                split,
                String::from_utf8_lossy(&response[..split]).to_ascii_lowercase(),
            );
        }
        response.extend_from_slice(&buffer[..read]);
    };
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let mut body = response[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(mut input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = input
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size");
        let size_text = String::from_utf8_lossy(&input[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .expect("chunk size");
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&input[line_end + 2..line_end + 2 + size]);
        input = &input[line_end + 4 + size..];
    }
}

type Client = WebSocketStream<tokio::net::TcpStream>;

/// Connects a WebSocket client and returns once the server is forwarding events to it,
/// together with the frames it sent first (the firing alerts).
///
/// The server reads from the socket (and so answers a ping) only after it has subscribed
/// and sent the snapshot, so the pong marks the end of the snapshot.
async fn connect(addr: SocketAddr) -> (Client, Vec<Value>) {
    match try_connect(addr).await {
        Ok(connected) => connected,
        Err(code) => panic!("closed ({code}) while connecting"),
    }
}

/// Connects `socket` to the dashboard's WebSocket and sends a ping: the server reads, and so
/// answers it, only once it has subscribed and sent the firing alerts.
async fn handshake(addr: SocketAddr, socket: tokio::net::TcpSocket) -> Client {
    let stream = socket.connect(addr).await.expect("connect");
    let (mut client, _) = tokio_tungstenite::client_async(format!("ws://{addr}/ws"), stream)
        .await
        .expect("WebSocket handshake");
    client
        .send(Message::Ping(b"sync"[..].into()))
        .await
        .expect("ping");
    client
}

/// Connects and reads the snapshot (up to the answer to a sync ping); the Close
/// code if the server closes first.
async fn try_connect(addr: SocketAddr) -> Result<(Client, Vec<Value>), u16> {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    let mut client = handshake(addr, socket).await;
    let mut snapshot = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    loop {
        match next_frame(&mut client, deadline).await {
            Frame::Text(event) => snapshot.push(event),
            Frame::Pong => return Ok((client, snapshot)),
            Frame::Close(code) => return Err(code),
        }
    }
}

enum Frame {
    Text(Value),
    Pong,
    /// A Close frame, with its code.
    Close(u16),
}

async fn next_frame(client: &mut Client, deadline: Instant) -> Frame {
    loop {
        let message = timeout_at(deadline, client.next())
            .await
            .expect("a frame before the deadline")
            .expect("connection open")
            .expect("valid frame");
        match message {
            Message::Text(text) => {
                return Frame::Text(serde_json::from_str(text.as_str()).expect("JSON frame"));
            }
            Message::Pong(data) if data.as_ref() == b"sync" => return Frame::Pong,
            Message::Close(frame) => return Frame::Close(frame.map_or(1005, |f| f.code.into())),
            // The server's heartbeat pings are answered by tungstenite.
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

async fn next_event(client: &mut Client) -> Value {
    match next_frame(client, Instant::now() + PATIENCE).await {
        Frame::Text(event) => event,
        Frame::Pong => panic!("unexpected pong"),
        Frame::Close(code) => panic!("unexpected close ({code})"),
    }
}

/// The contract's event for an alert of the fixtures (all sent to receiver `basic`), from
/// alertname, status, severity, component, summary, description, started_at and fingerprint.
fn event(fields: [&str; 8]) -> Value {
    let [
        alertname,
        status,
        severity,
        component,
        summary,
        description,
        started_at,
        fingerprint,
    ] = fields;
    json!({"type": "infrastructure_alert", "data": {
        "alertname": alertname, "status": status, "severity": severity, "component": component,
        "summary": summary, "description": description, "started_at": started_at,
        "fingerprint": fingerprint, "receiver": "basic",
    }})
}

/// The contract's fields of an event (extra fields are allowed and ignored).
fn contract_fields(event: &Value) -> Value {
    let mut data = serde_json::Map::new();
    for key in [
        "alertname",
        "status",
        "severity",
        "component",
        "summary",
        "description",
        "started_at",
        "fingerprint",
        "receiver",
    ] {
        data.insert(key.into(), event["data"][key].clone());
    }
    json!({"type": event["type"], "data": data})
}

#[test]
fn websocket_clients_get_each_event_once_and_late_clients_the_firing_set() {
    let server = Server::start(None);
    let basic_firing = event([
        "BasicFiring",
        "firing",
        "warning",
        "gpu",
        "GPU hot",
        "GPU 0 temperature above 90C",
        "2026-11-27T12:09:02.343274945Z",
        "cacc988e0448cada",
    ]);
    let explicit_resolve = event([
        "ExplicitResolve",
        "resolved",
        "critical",
        "unknown",
        "will be resolved explicitly",
        "",
        "2026-11-27T12:09:02.343274945Z",
        "46484bb52949a19c",
    ]);
    let mixed = |status, summary, started_at, fingerprint| {
        event([
            "Mixed",
            status,
            "info",
            "unknown",
            summary,
            "",
            started_at,
            fingerprint,
        ])
    };
    let m1 = mixed(
        "firing",
        "line1\nline2 \"quoted\" <b>&amp;</b>",
        "2026-11-27T14:05:05.271188+02:00",
        "bb33632c1a51dd5f",
    );
    let m2 = mixed(
        "resolved",
        "",
        "2026-11-27T12:10:08.477978Z",
        "d7f7514dcdda2f34",
    );
    let m3 = mixed(
        "firing",
        "",
        "2026-11-27T12:12:05.271188Z",
        "ec48b382ff0ad75f",
    );

    server.runtime.block_on(async {
        let (mut first, snapshot) = connect(server.addr).await;
        assert!(snapshot.is_empty(), "nothing fires yet: {snapshot:?}");

        // The posts block this thread only; the server runs on the runtime's workers.
        for (name, alerts) in [("01", 1), ("02", 1), ("14", 3)] {
            let (status, answer) = server.post_fixture(name);
            assert_eq!(status, 200, "fixture {name}: {answer}");
            assert_eq!(answer["received"], alerts, "fixture {name}: {answer}");
        }
        let mut received = Vec::new();
        for _ in 0..5 {
            received.push(contract_fields(&next_event(&mut first).await));
        }
        assert_eq!(
            received,
            [
                basic_firing.clone(),
                explicit_resolve,
                m1.clone(),
                m2,
                m3.clone()
            ]
        );

        // A late client first gets the alerts firing now, in arrival order.
        let (mut second, snapshot) = connect(server.addr).await;
        let snapshot: Vec<Value> = snapshot.iter().map(contract_fields).collect();
        assert_eq!(snapshot, [basic_firing, m1.clone(), m3.clone()]);

        // Both now get the next event, and nothing came in between: each alert was sent once.
        let (status, _) = server.post_fixture("03");
        assert_eq!(status, 200);
        for client in [&mut first, &mut second] {
            let next = next_event(client).await;
            assert_eq!(next["data"]["fingerprint"], "cacc988e0448cada");
            assert_eq!(next["data"]["status"], "resolved");
        }

        // The resolved alert has left the firing set.
        let (_third, snapshot) = connect(server.addr).await;
        let snapshot: Vec<Value> = snapshot.iter().map(contract_fields).collect();
        assert_eq!(snapshot, [m1, m3]);
    });
}

/// A notification of `n` firing alerts to receiver `load`, fingerprints `load0`, `load1`, …,
/// each with a description of 3,000 characters.
fn load(n: usize) -> String {
    let alerts: Vec<Value> = (0..n)
        .map(|i| {
            json!({"status": "firing", "startsAt": "2026-11-27T12:00:00Z",
                   "fingerprint": format!("load{i}"),
                   "annotations": {"description": "x".repeat(3000)}})
        })
        .collect();
    json!({"groupKey": "g", "status": "firing", "receiver": "load", "alerts": alerts}).to_string()
}

#[test]
fn a_client_that_falls_behind_is_closed_and_does_not_hold_up_the_others() {
    // 64 events per client, so that falling behind is sure to happen.
    let server = Server::with_capacity(None, Some(64));
    // Five posts of a thousand 3 KB alerts: far more than the sockets and the channel buffer.
    let load = load(1000);
    let addr = server.addr;
    server.runtime.block_on(async {
        let (mut stalled, _) = connect(addr).await;
        let (mut reader, _) = connect(addr).await;
        let posts = tokio::task::spawn_blocking(move || {
            for _ in 0..5 {
                let (status, _) = http(addr, "POST", app::WEBHOOK_PATH, &[], Some(load.as_bytes()));
                assert_eq!(status, 200);
            }
            let body = std::fs::read(fixture("01")).expect("fixture");
            let (status, _) = http(addr, "POST", app::WEBHOOK_PATH, &[], Some(&body));
            assert_eq!(status, 200);
        });
        // The reader gets every event in order, or, once it falls behind, is closed with
        // 1013 (try again later); reconnected, it starts again from the firing alerts.
        // Either way it reaches the last alert.
        let last = |event: &Value| event["data"]["fingerprint"] == "cacc988e0448cada";
        let mut in_order = Some(0);
        loop {
            match next_frame(&mut reader, Instant::now() + PATIENCE).await {
                Frame::Text(event) if last(&event) => break,
                Frame::Text(event) => {
                    assert_eq!(event["data"]["receiver"], "load");
                    if let Some(i) = in_order {
                        assert_eq!(event["data"]["fingerprint"], format!("load{i}"));
                        in_order = Some((i + 1) % 1000);
                    }
                }
                Frame::Close(code) => {
                    assert_eq!(code, 1013);
                    // Reconnect until a snapshot comes through whole.
                    let (client, snapshot) = loop {
                        match try_connect(addr).await {
                            Ok(connected) => break connected,
                            Err(code) => assert_eq!(code, 1013),
                        }
                    };
                    reader = client;
                    if snapshot.iter().any(last) {
                        break;
                    }
                    in_order = None;
                }
                Frame::Pong => panic!("unexpected pong"),
            }
        }
        posts.await.expect("posts");
        // The client that did not read fell more than 64 events behind: once it reads, it
        // gets what was already on its way, then a Close, 1013.
        loop {
            match next_frame(&mut stalled, Instant::now() + PATIENCE).await {
                Frame::Text(event) => assert_eq!(event["data"]["receiver"], "load"),
                Frame::Close(code) => break assert_eq!(code, 1013),
                Frame::Pong => panic!("unexpected pong"),
            }
        }
    });
}

/// A WebSocket client with a small receive buffer that the server forwards events to (it
/// has answered a ping), and that reads nothing until the test reads from it.
async fn reading_nothing(addr: SocketAddr) -> Client {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4 << 10).expect("SO_RCVBUF");
    let mut client = handshake(addr, socket).await;
    let first = timeout(PATIENCE, client.next()).await.expect("the pong");
    assert!(matches!(first, Some(Ok(Message::Pong(_)))), "{first:?}");
    client
}

/// Posts `load(n)` and checks the 200.
async fn post_load(addr: SocketAddr, n: usize) {
    let load = load(n);
    let (status, _) = tokio::task::spawn_blocking(move || {
        http(addr, "POST", app::WEBHOOK_PATH, &[], Some(load.as_bytes()))
    })
    .await
    .expect("post");
    assert_eq!(status, 200);
}

#[test]
fn what_a_client_closed_for_falling_behind_did_not_get_is_counted_up_to_its_close() {
    // 64 events per client: a client that reads nothing for a while falls behind.
    let server = Server::serve(app::Dashboard::with_capacity(None, 64), Some(16 << 10));
    let addr = server.addr;
    server.runtime.block_on(async {
        let mut client = reading_nothing(addr).await;
        post_load(addr, 300).await;
        let mut got = 0;
        loop {
            match timeout(PATIENCE, client.next()).await.expect("a frame") {
                Some(Ok(Message::Text(_))) => got += 1,
                Some(Ok(Message::Close(Some(frame)))) => {
                    break assert_eq!(u16::from(frame.code), 1013);
                }
                other => panic!("unexpected {other:?} after {got} events"),
            }
        }
        // Sent while the server waits for the client's answer to its Close: missed too.
        post_load(addr, 20).await;
        assert!(
            timeout(PATIENCE, client.next())
                .await
                .expect("the end")
                .is_none()
        );
        let deadline = Instant::now() + PATIENCE;
        while server.dashboard.undelivered() == 0 {
            assert!(Instant::now() < deadline, "never counted");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(got + server.dashboard.undelivered(), 320, "got {got}");
    });
}

#[test]
fn at_shutdown_a_client_gets_what_is_queued_for_it_then_a_close() {
    // Small buffers (as below): most of the events are still queued when the close comes.
    let server = Server::serve(app::Dashboard::new(None), Some(16 << 10));
    let (addr, sent) = (server.addr, 300);
    server.runtime.block_on(async {
        let mut client = reading_nothing(addr).await;
        post_load(addr, sent).await;
        let dashboard = server.dashboard.clone();
        let closed = tokio::spawn(async move { dashboard.close_clients_within(PATIENCE).await });
        let mut got = 0;
        loop {
            match timeout(PATIENCE, client.next()).await.expect("a frame") {
                Some(Ok(Message::Text(text))) => {
                    let event: Value = serde_json::from_str(text.as_str()).expect("JSON frame");
                    assert_eq!(event["data"]["fingerprint"], format!("load{got}"));
                    got += 1;
                }
                Some(Ok(Message::Close(_))) => break,
                other => panic!("unexpected {other:?} after {got} events"),
            }
        }
        assert_eq!(
            got, sent,
            "every event queued for the client, then the Close"
        );
        // Reading on answers the Close, which the server waits for.
        assert!(
            timeout(PATIENCE, client.next())
                .await
                .expect("the end")
                .is_none()
        );
        timeout(PATIENCE, closed)
            .await
            .expect("the wait ends")
            .expect("task");
        assert_eq!(server.dashboard.undelivered(), 0);
    });
}

#[test]
fn a_client_that_stops_reading_is_dropped_and_what_it_missed_is_counted() {
    // Small kernel buffers on both sides, so that a client that reads nothing holds up
    // its sends after some 50 kB of its 1 MB of events, whatever the machine's TCP limits.
    let limit = Duration::from_secs(3);
    let dashboard = app::Dashboard::new(None).with_send_timeout(limit);
    let server = Server::serve(dashboard, Some(16 << 10));
    let (addr, sent) = (server.addr, 300);
    server.runtime.block_on(async {
        let mut stuck = reading_nothing(addr).await;
        let deadline = Instant::now() + PATIENCE;
        // The post is answered at once all the same.
        post_load(addr, sent).await;
        assert_eq!(
            server.dashboard.undelivered(),
            0,
            "the post took longer than the send timeout: the count below would miss events"
        );
        // After `limit` without progress the server drops the client and counts what it
        // did not send: the event on its way and those queued for it.
        while server.dashboard.undelivered() == 0 {
            assert!(
                Instant::now() < deadline,
                "the stuck client was never dropped"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let lost = server.dashboard.undelivered();
        // What the client gets when it reads again: the first events, in order, whole,
        // then the end of the connection (no Close: it was stuck).
        let mut got = 0;
        loop {
            match timeout_at(deadline, stuck.next())
                .await
                .expect("the end of the stream")
            {
                Some(Ok(Message::Text(text))) => {
                    let event: Value = serde_json::from_str(text.as_str()).expect("JSON frame");
                    assert_eq!(event["data"]["fingerprint"], format!("load{got}"));
                    got += 1;
                }
                Some(Ok(Message::Ping(_))) => {}
                Some(Ok(other)) => panic!("unexpected frame {other:?}"),
                Some(Err(_)) | None => break,
            }
        }
        assert!(lost > 0 && got > 0, "got {got}, lost {lost}");
        assert_eq!(
            got + lost,
            sent as u64,
            "every event either sent or counted"
        );
    });
}

#[test]
fn page_routes_and_bearer_token() {
    let server = Server::start(Some("s3cret"));
    let (status, page) = http(server.addr, "GET", "/", &[], None);
    assert_eq!(status, 200);
    let page = String::from_utf8(page).expect("UTF-8 page");
    assert!(page.contains("<title>Infrastructure Alerts</title>"));

    let (status, body) = http(server.addr, "GET", "/nowhere", &[], None);
    assert_eq!(status, 404);
    assert_eq!(body, br#"{"detail":"Not Found"}"#);

    let body = std::fs::read(fixture("01")).expect("fixture");
    for auth in [
        None,
        Some("Bearer wrong!"),
        Some("Bearer s3cre"),
        Some("Basic s3cret"),
    ] {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
        let (status, answer) = http(
            server.addr,
            "POST",
            app::WEBHOOK_PATH,
            &headers,
            Some(&body),
        );
        assert_eq!(status, 401, "{auth:?}");
        assert_eq!(answer, br#"{"detail":"Not authenticated"}"#);
    }
    let headers = [("Authorization", "Bearer s3cret")];
    let (status, answer) = http(
        server.addr,
        "POST",
        app::WEBHOOK_PATH,
        &headers,
        Some(&body),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
}

#[test]
fn websocket_handshakes_from_another_origin_are_refused() {
    use tokio_tungstenite::tungstenite::{Error, client::IntoClientRequest};
    let server = Server::start(None);
    let addr = server.addr;
    server.runtime.block_on(async {
        for (origin, forwarded, want) in [
            // Not a browser: no `Origin`.
            (None, None, 101),
            // The page's own origin.
            (Some(format!("http://{addr}")), None, 101),
            (Some("http://evil.example".to_owned()), None, 403),
            (Some(format!("http://{addr}.evil.example")), None, 403),
            (Some(format!("ws://{addr}")), None, 403),
            (Some("null".to_owned()), None, 403),
            // Behind a reverse proxy that rewrites `Host`.
            (
                Some("https://alerts.example".into()),
                Some("alerts.example"),
                101,
            ),
            (
                Some("https://evil.example".into()),
                Some("alerts.example"),
                403,
            ),
            // Scheme case, a default port written on one side only, a proxy chain.
            (
                Some("HTTPS://Alerts.Example".into()),
                Some("alerts.example:443"),
                101,
            ),
            (
                Some("https://alerts.example:443".into()),
                Some("alerts.example"),
                101,
            ),
            (
                Some("https://alerts.example".into()),
                Some("alerts.example:80"),
                403,
            ),
            (
                Some("https://alerts.example".into()),
                Some("alerts.example, inner"),
                101,
            ),
            // Two origins, the second another site's: ambiguous.
            (
                Some(format!("http://{addr}|http://evil.example")),
                None,
                403,
            ),
        ] {
            let mut request = format!("ws://{addr}/ws")
                .into_client_request()
                .expect("request");
            let headers = request.headers_mut();
            for origin in origin.iter().flat_map(|o| o.split('|')) {
                headers.append("origin", origin.parse().expect("header value"));
            }
            if let Some(forwarded) = forwarded {
                headers.insert("x-forwarded-host", forwarded.parse().expect("header value"));
            }
            let (status, body) = match tokio_tungstenite::connect_async(request).await {
                Ok((_, response)) => (response.status().as_u16(), None),
                Err(Error::Http(response)) => {
                    let body = response.body().clone().unwrap_or_default();
                    (response.status().as_u16(), Some(body))
                }
                Err(e) => panic!("{origin:?}: {e}"),
            };
            assert_eq!(status, want, "{origin:?}");
            if want == 403 {
                assert_eq!(
                    body.as_deref(),
                    Some(&br#"{"detail":"Cross-origin WebSocket refused"}"#[..]),
                    "{origin:?}"
                );
            }
        }
    });
}

/// Finds a program by path or on `PATH`. Missing: fail under `CI=true`, else skip.
fn program(candidates: &[&str]) -> Option<PathBuf> {
    let found = candidates.iter().find_map(|name| {
        let path = Path::new(name);
        if path.is_absolute() {
            return path.is_file().then(|| path.to_owned());
        }
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        let message =
            format!("none of {candidates:?} is installed (Debian: chromium, chromium-driver)");
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
        eprintln!("skipping: {message}");
    }
    found
}

/// Chromedriver with one headless Chromium session; dropping it ends both.
struct Browser {
    driver: Child,
    port: u16,
    session: String,
    profile: PathBuf,
}

impl Browser {
    fn start(chromedriver: &Path, chromium: &Path) -> Browser {
        let mut driver = Command::new(chromedriver)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let mut lines = BufReader::new(driver.stdout.take().expect("stdout")).lines();
        let port = lines.by_ref().map_while(Result::ok).find_map(|line| {
            line.split("started successfully on port ")
                .nth(1)
                .and_then(|rest| rest.trim_end_matches('.').trim().parse().ok())
        });
        // Keep draining its output so that it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        let profile = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "chromium-profile-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let mut browser = Browser {
            driver,
            port: port.unwrap_or(0),
            session: String::new(),
            profile,
        };
        assert_ne!(browser.port, 0, "chromedriver did not report its port");
        let _ = std::fs::remove_dir_all(&browser.profile);
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,720",
            &format!("--user-data-dir={}", browser.profile.display()),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
        }}});
        let answer = browser.command("POST", "/session", Some(capabilities));
        browser.session = answer["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"))
            .to_owned();
        browser
    }

    /// One WebDriver command; returns its `value`, panicking on a WebDriver error.
    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, answer) = self.try_command(method, path, body);
        assert_eq!(status, 200, "{method} {path}: {answer}");
        answer
    }

    fn try_command(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let path = if path.starts_with("/session/") || path == "/session" {
            path.to_owned()
        } else {
            format!("/session/{}{path}", self.session)
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let body = body.map(|b| b.to_string().into_bytes());
        let (status, answer) = http(addr, method, &path, &[], body.as_deref());
        let answer: Value = serde_json::from_slice(&answer).expect("WebDriver JSON");
        (status, answer["value"].clone())
    }

    /// The text of the first element matching `xpath`, once there is one.
    fn wait_for_text(&self, xpath: &str, wanted: &str) {
        let deadline = std::time::Instant::now() + PATIENCE;
        let mut last = String::new();
        while std::time::Instant::now() < deadline {
            let (status, found) = self.try_command(
                "POST",
                "/element",
                Some(json!({"using": "xpath", "value": xpath})),
            );
            if status == 200 {
                let id = found
                    .as_object()
                    .and_then(|o| o.values().next())
                    .and_then(Value::as_str)
                    .expect("element reference");
                let (status, text) = self.try_command("GET", &format!("/element/{id}/text"), None);
                if status == 200 {
                    last = text.as_str().unwrap_or("").to_owned();
                    if last.eq_ignore_ascii_case(wanted) {
                        return;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{xpath}: wanted {wanted:?}, last saw {last:?}");
    }

    fn screenshot(&self, file: &Path) {
        let png = self.command("GET", "/screenshot", None);
        let png = base64_decode(png.as_str().expect("base64 screenshot"));
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        std::fs::create_dir_all(file.parent().expect("directory")).expect("output directory");
        std::fs::write(file, png).expect("write screenshot");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            // Closes Chromium; chromedriver is killed next whatever happens.
            let _ = self.try_command("DELETE", "", None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        kill_leftovers(&self.profile);
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Kills, by process id, any Chromium process still running with our own profile directory.
fn kill_leftovers(profile: &Path) {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    let marker = format!("--user-data-dir={}", profile.display());
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if cmdline
            .split(|&b| b == 0)
            .any(|arg| arg == marker.as_bytes())
        {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        }
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let digits: Vec<u8> = text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .map(value)
        .collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let bits = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &d)| acc | u32::from(d) << (18 - 6 * i));
        out.extend_from_slice(&bits.to_be_bytes()[1..chunk.len()]);
    }
    out
}

#[test]
fn base64_decoder() {
    assert_eq!(base64_decode("aGVsbG8gd29ybGQ="), b"hello world");
    assert_eq!(base64_decode("YQ=="), b"a");
    assert_eq!(base64_decode("YWJj"), b"abc");
}

#[test]
fn headless_chromium_shows_alerts_live() {
    let Some(chromedriver) = program(&["chromedriver", "/usr/lib/chromium/chromedriver"]) else {
        return;
    };
    let Some(chromium) = program(&["chromium", "chromium-browser", "google-chrome"]) else {
        return;
    };
    let server = Server::start(None);
    let browser = Browser::start(&chromedriver, &chromium);
    browser.command(
        "POST",
        "/url",
        Some(json!({"url": format!("http://{}/", server.addr)})),
    );
    assert_eq!(
        browser.command("GET", "/title", None),
        "Infrastructure Alerts"
    );
    browser.wait_for_text("//*[@id='connection']", "live");

    let status_of = |name: &str| {
        format!(
            "//table[@id='alerts']/tbody/tr[td[@class='alertname']='{name}']/td[@class='status']"
        )
    };
    assert_eq!(server.post_fixture("01").0, 200);
    browser.wait_for_text(&status_of("BasicFiring"), "firing");
    assert_eq!(server.post_fixture("02").0, 200);
    browser.wait_for_text(&status_of("ExplicitResolve"), "resolved");

    // A mixed group: markup in a summary is shown as text, and BasicFiring keeps one row.
    assert_eq!(server.post_fixture("14").0, 200);
    browser.wait_for_text(
        "//tr[@data-fingerprint='bb33632c1a51dd5f']/td[@class='summary']",
        "line1\nline2 \"quoted\" <b>&amp;</b>",
    );
    browser.wait_for_text("//*[@id='counts']", "3 firing, 2 resolved");
    browser.wait_for_text(&status_of("BasicFiring"), "firing");

    // BasicFiring resolves: its row changes, no row is added.
    assert_eq!(server.post_fixture("03").0, 200);
    browser.wait_for_text(&status_of("BasicFiring"), "resolved");
    browser.wait_for_text("//*[@id='counts']", "2 firing, 3 resolved");
    let rows = browser.command(
        "POST",
        "/elements",
        Some(json!({"using": "xpath", "value": "//table[@id='alerts']/tbody/tr"})),
    );
    assert_eq!(rows.as_array().map(Vec::len), Some(5));

    let file = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target directory")
        .join("test-output/dashboard.png");
    browser.screenshot(&file);
    eprintln!("screenshot: {}", file.display());
}
