//! The dashboard's `/metrics`, scraped over HTTP after known traffic.
//!
//! A process has one global recorder, so this binary holds a single test: it sends
//! known requests to the dashboard and to two receivers built here, then checks the
//! exact values of every metric.

#[path = "../examples/dashboard/app.rs"]
mod app;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use alertmanager_webhook::auth::Auth;
use alertmanager_webhook::sink::{Sink, SinkError};
use alertmanager_webhook::{AlertReceiver, DRAIN_LIMIT, Dedup};
use bytes::Bytes;
use http_body_util::Full;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{Instant, sleep};
use tower::ServiceExt;

/// How long to wait for the delivery workers (a deadline, not an assertion).
const PATIENCE: Duration = Duration::from_secs(30);
const TOKEN: &str = "metrics-tok";

fn fixture(prefix: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let path = std::fs::read_dir(&dir)
        .expect("fixtures")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .find(|path| {
            let name = path.file_name().and_then(|f| f.to_str()).unwrap_or("");
            name.starts_with(prefix) && name.ends_with(".json")
        })
        .unwrap_or_else(|| panic!("no fixture {prefix}"));
    std::fs::read(path).expect("fixture")
}

/// One HTTP/1.1 exchange with `Connection: close`; returns the status and the body.
async fn http(addr: SocketAddr, head: &str, body: &[u8]) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("{head}\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    stream.write_all(body).await.expect("write body");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let response = String::from_utf8(response).expect("UTF-8 answer");
    let (head, body) = response.split_once("\r\n\r\n").expect("end of headers");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok());
    (status.expect("status"), body.to_owned())
}

async fn post(addr: SocketAddr, headers: &str, body: &[u8]) -> u16 {
    let head = format!(
        "POST {} HTTP/1.1\r\nContent-Length: {}{headers}",
        app::WEBHOOK_PATH,
        body.len()
    );
    http(addr, &head, body).await.0
}

async fn scrape(addr: SocketAddr) -> String {
    let (status, body) = http(addr, "GET /metrics HTTP/1.1", b"").await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The value of the series `name` with exactly `labels`, in the text exposition format.
fn value(scraped: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut wanted: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    wanted.sort();
    scraped
        .lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (series, number) = line.rsplit_once(' ')?;
            let (series_name, series_labels) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.strip_suffix('}')?),
                None => (series, ""),
            };
            let mut have: Vec<String> = series_labels
                .split(',')
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect();
            have.sort();
            (series_name == name && have == wanted).then(|| number.parse().ok())?
        })
}

/// Scrapes until `name` reaches `target`; returns that scrape.
async fn wait_for(addr: SocketAddr, name: &str, target: f64) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let scraped = scrape(addr).await;
        if value(&scraped, name, &[]) == Some(target) {
            return scraped;
        }
        assert!(
            Instant::now() < deadline,
            "{name} never reached {target}:\n{scraped}"
        );
        sleep(Duration::from_millis(20)).await;
    }
}

async fn oneshot(receiver: &AlertReceiver, body: Vec<u8>) -> u16 {
    let request = http::Request::post(app::WEBHOOK_PATH)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("request");
    let response = receiver.clone().oneshot(request).await.expect("infallible");
    response.status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_known_traffic() {
    let dashboard = app::Dashboard::new(Some(Auth::bearer(TOKEN).expect("token")));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let router = dashboard.router();
    tokio::spawn(async move { axum::serve(listener, router).await });

    // The dashboard: three notifications (5 alerts), then one request per refusal.
    let json = "\r\nContent-Type: application/json";
    let auth = format!("\r\nAuthorization: Bearer {TOKEN}");
    let ok = format!("{json}{auth}");
    for name in ["01", "02", "14"] {
        assert_eq!(post(addr, &ok, &fixture(name)).await, 200, "fixture {name}");
    }
    assert_eq!(post(addr, &ok, br#"{"alerts": 1}"#).await, 422);
    let text = format!("\r\nContent-Type: text/plain{auth}");
    assert_eq!(post(addr, &text, &fixture("01")).await, 415);
    let wrong = format!("{json}\r\nAuthorization: Bearer wrong");
    assert_eq!(post(addr, &wrong, &fixture("01")).await, 401);
    let get = format!("GET {} HTTP/1.1{auth}", app::WEBHOOK_PATH);
    assert_eq!(http(addr, &get, b"").await.0, 405);
    // Refused on the declared length, before any body byte is sent (a length within
    // DRAIN_LIMIT of the limit would be read and drained first).
    let declared = alertmanager_webhook::DEFAULT_BODY_LIMIT as u64 + DRAIN_LIMIT + 1;
    let big = format!(
        "POST {} HTTP/1.1\r\nContent-Length: {declared}{ok}",
        app::WEBHOOK_PATH
    );
    assert_eq!(http(addr, &big, b"").await.0, 413);
    wait_for(addr, "alertmanager_webhook_events_delivered_total", 5.0).await;

    // A receiver whose (asynchronous) sink fails, with dedup, its worker not started yet:
    // events wait in the queue.
    let (failing, worker) = AlertReceiver::builder()
        .sink(Failing)
        .dedup(Dedup::new())
        .build_with_worker();
    assert_eq!(oneshot(&failing, fixture("14")).await, 200);
    assert_eq!(oneshot(&failing, fixture("14")).await, 200);
    let scraped = scrape(addr).await;
    assert_eq!(
        value(&scraped, "alertmanager_webhook_queue_depth", &[]),
        Some(3.0),
        "{scraped}"
    );
    tokio::spawn(worker.expect("a worker").run());
    wait_for(addr, "alertmanager_webhook_events_failed_total", 3.0).await;
    // A receiver without a sink: its events are dropped.
    let sinkless = AlertReceiver::builder().build();
    assert_eq!(oneshot(&sinkless, fixture("01")).await, 200);

    let scraped = scrape(addr).await;
    let expect = |name: &str, labels: &[(&str, &str)], n: f64| {
        assert_eq!(
            value(&scraped, name, labels),
            Some(n),
            "{name} {labels:?}:\n{scraped}"
        );
    };
    for (code, n) in [
        ("200", 6.0),
        ("401", 1.0),
        ("405", 1.0),
        ("413", 1.0),
        ("415", 1.0),
        ("422", 1.0),
    ] {
        expect(
            "alertmanager_webhook_requests_total",
            &[("status", code)],
            n,
        );
    }
    let duration = "alertmanager_webhook_request_duration_seconds";
    expect(&format!("{duration}_count"), &[], 11.0);
    expect(&format!("{duration}_bucket"), &[("le", "+Inf")], 11.0);
    for (status, severity, n) in [
        // 01 (dashboard and sinkless), 02, and 14 (dashboard and twice the failing one).
        ("firing", "warning", 2.0),
        ("resolved", "critical", 1.0),
        ("firing", "info", 6.0),
        ("resolved", "info", 3.0),
    ] {
        expect(
            "alertmanager_webhook_alerts_total",
            &[("status", status), ("severity", severity)],
            n,
        );
    }
    expect("alertmanager_webhook_validation_failures_total", &[], 1.0);
    expect(
        "alertmanager_webhook_auth_failures_total",
        &[("layer", "auth")],
        1.0,
    );
    expect("alertmanager_webhook_body_too_large_total", &[], 1.0);
    expect("alertmanager_webhook_duplicates_total", &[], 3.0);
    expect("alertmanager_webhook_events_delivered_total", &[], 5.0);
    expect("alertmanager_webhook_events_failed_total", &[], 3.0);
    expect("alertmanager_webhook_events_dropped_total", &[], 1.0);
    expect("alertmanager_webhook_queue_depth", &[], 0.0);
    // Described once, with the configured buckets.
    assert!(scraped.contains(&format!("# TYPE {duration} histogram")));
    assert!(scraped.contains(
        "# HELP alertmanager_webhook_requests_total Webhook requests answered, by HTTP status code."
    ));
    dashboard.close_clients();
}

/// A sink that refuses every event, and only asynchronously, so events go through the queue.
struct Failing;

impl Sink for Failing {
    async fn send(&self, _: alertmanager_webhook::Event) -> Result<(), SinkError> {
        Err(SinkError::new("down"))
    }
}
