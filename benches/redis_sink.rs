//! Alerts per second through the Redis sink, next to the in-process broadcast sink.
//!
//! `cargo bench --features redis --bench redis_sink` starts its own `redis-server`
//! (loopback, no persistence, killed at the end) and measures, in one run:
//!
//! - `sink.send`: events awaited one at a time (the delivery worker's pattern),
//!   and 64 at a time (concurrent senders sharing the multiplexed connection);
//! - end to end: notifications of 100 alerts posted to an `AlertReceiver`
//!   (queued mode) until a client of the local broadcast has every event, the
//!   Redis path going receiver -> RedisSink -> Redis -> RedisSubscriber ->
//!   broadcast, as one replica of a scaled-out deployment does.
//!
//! Without `--bench` (e.g. under `cargo test --all-targets`) it runs a few
//! hundred events only, as a smoke test.

#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use alertmanager_webhook::payload::Webhook;
use alertmanager_webhook::redis::{RedisSink, RedisSubscriber};
use alertmanager_webhook::sink::{BroadcastSink, Sink};
use alertmanager_webhook::{AlertReceiver, Event};
use bytes::Bytes;
use futures_util::stream::{FuturesUnordered, StreamExt};
use http_body_util::Full;
use tokio::sync::broadcast;
use tower::ServiceExt;

#[path = "../tests/support/redis_server.rs"]
mod redis_server;

const PER_BODY: usize = 100;

/// Notifications of `PER_BODY` alerts with unique fingerprints, `total` alerts in all.
fn bodies(total: usize, tag: &str) -> Vec<Bytes> {
    (0..total / PER_BODY)
        .map(|b| {
            let alerts: Vec<_> = (0..PER_BODY)
                .map(|i| {
                    serde_json::json!({"status": "firing",
                    "labels": {"alertname": "BenchAlert", "severity": "warning", "component": "gpu"},
                    "annotations": {"summary": "GPU 0 temperature above 90C", "description": "bench"},
                    "startsAt": "2026-01-17T12:22:56.068Z", "fingerprint": format!("{tag}-{b}-{i}")})
                })
                .collect();
            let hook = serde_json::json!({"version": "4", "groupKey": "bench", "status": "firing",
                "receiver": "bench", "alerts": alerts});
            Bytes::from(serde_json::to_vec(&hook).unwrap())
        })
        .collect()
}

fn events(bodies: &[Bytes]) -> Vec<Event> {
    bodies
        .iter()
        .flat_map(|body| {
            let hook = Webhook::from_slice(body).unwrap();
            hook.alerts
                .iter()
                .map(|a| Event::new(&hook, a))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn report(name: &str, alerts: usize, elapsed: Duration) -> f64 {
    let rate = alerts as f64 / elapsed.as_secs_f64();
    let micros = elapsed.as_secs_f64() * 1e6 / alerts as f64;
    println!("{name:<44} {rate:>10.0} alerts/s  {micros:>7.2} us/alert");
    rate
}

async fn sequential(sink: &impl Sink, events: &[Event]) -> Duration {
    let start = Instant::now();
    for event in events {
        sink.send(event.clone()).await.unwrap();
    }
    start.elapsed()
}

async fn concurrent(sink: &impl Sink, events: &[Event], width: usize) -> Duration {
    let start = Instant::now();
    let mut pending = FuturesUnordered::new();
    for event in events {
        pending.push(sink.send(event.clone()));
        if pending.len() == width {
            pending.next().await.unwrap().unwrap();
        }
    }
    while let Some(sent) = pending.next().await {
        sent.unwrap();
    }
    start.elapsed()
}

/// Posts every body to a receiver with `sink`, until `client` has every event.
async fn end_to_end(
    sink: impl Sink,
    bodies: &[Bytes],
    mut client: broadcast::Receiver<Event>,
) -> Duration {
    let total = bodies.len() * PER_BODY;
    let receiver = AlertReceiver::builder()
        .sink(sink)
        .queue_capacity(total)
        .build();
    let start = Instant::now();
    for body in bodies {
        let request = http::Request::post("/")
            .header("content-type", "application/json")
            .body(Full::new(body.clone()))
            .unwrap();
        let response = receiver.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), 200);
    }
    for _ in 0..total {
        client.recv().await.unwrap();
    }
    let elapsed = start.elapsed();
    assert_eq!(receiver.stats().delivered, total as u64);
    elapsed
}

fn broadcast_sink(capacity: usize) -> (BroadcastSink, broadcast::Receiver<Event>) {
    let (tx, rx) = broadcast::channel(capacity);
    (BroadcastSink::new(tx), rx)
}

async fn redis_sink(url: &str, stream: bool, dedup: bool) -> RedisSink {
    let mut builder = RedisSink::builder(url).timeout(Duration::from_secs(5));
    if stream {
        builder = builder.stream("bench", 100_000);
    }
    if dedup {
        builder = builder.dedup(Duration::from_secs(600));
    }
    builder.build().await.unwrap()
}

/// A subscriber of `url` feeding a fresh broadcast; returns its client.
async fn subscribed(url: &str, total: usize) -> broadcast::Receiver<Event> {
    let (local, client) = broadcast_sink(total);
    let subscriber = RedisSubscriber::builder(url).build().await.unwrap();
    tokio::spawn(subscriber.run(local));
    client
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let total = if full { 50_000 } else { 300 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(total));
}

async fn run(total: usize) {
    let all = bodies(total, "e");
    let local_events = events(&all);
    println!("{total} alerts, {PER_BODY} per notification");

    let (sink, _client) = broadcast_sink(total);
    let local = report(
        "BroadcastSink send, one at a time",
        total,
        sequential(&sink, &local_events).await,
    );
    let (sink, client) = broadcast_sink(total);
    let local_e2e = report(
        "receiver -> BroadcastSink -> client",
        total,
        end_to_end(sink, &all, client).await,
    );

    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let url = server.url();
    let mut pubsub = 0.0;
    for (name, stream, dedup) in [
        ("pubsub", false, false),
        ("stream", true, false),
        ("pubsub+dedup", false, true),
        ("stream+dedup", true, true),
    ] {
        let sink = redis_sink(&url, stream, dedup).await;
        let unique = |tag: &str| events(&bodies(total, &format!("{name}-{tag}")));
        let rate = report(
            &format!("RedisSink({name}) send, one at a time"),
            total,
            sequential(&sink, &unique("seq")).await,
        );
        if name == "pubsub" {
            pubsub = rate;
        }
        report(
            &format!("RedisSink({name}) send, 64 at a time"),
            total,
            concurrent(&sink, &unique("par"), 64).await,
        );
    }
    let client = subscribed(&url, total).await;
    let sink = redis_sink(&url, false, false).await;
    let redis_e2e = report(
        "receiver -> RedisSink -> Redis -> subscriber",
        total,
        end_to_end(sink, &bodies(total, "e2e"), client).await,
    );
    let per = |rate: f64| 1e6 / rate;
    println!(
        "cost per alert: send {:.2} us (broadcast {:.2} us); end to end {:.2} us (broadcast {:.2} us)",
        per(pubsub),
        per(local),
        per(redis_e2e),
        per(local_e2e),
    );
    drop(server);
}
