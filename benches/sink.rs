//! One event broadcast to 1, 16 and 256 subscribers: the JSON is written once
//! and shared, so the cost per subscriber is a pointer clone, not a serialization.
//!
//! Group `broadcast_R` (R subscribers), per iteration: build the event of one
//! alert, send it, and have every subscriber receive it.
//!
//! - `shared`: one `Event::new`, sent once through `BroadcastSink`;
//! - `per_subscriber`: what serializing per client would cost: one `Event::new`
//!   and one send per subscriber (each subscriber on its own channel).

mod common;

use std::time::Duration;

use alertmanager_webhook::Event;
use alertmanager_webhook::payload::Webhook;
use alertmanager_webhook::sink::{BroadcastSink, Sink};
use common::Clock;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures_util::FutureExt;
use std::hint::black_box;
use tokio::sync::broadcast;

const SUBSCRIBERS: [usize; 3] = [1, 16, 256];

/// Sends without a runtime: `BroadcastSink::send` never waits.
fn send(sink: &BroadcastSink, event: Event) {
    let sent = sink.send(event).now_or_never();
    assert!(matches!(sent, Some(Ok(()))));
}

/// Receives one event on every subscriber; returns the total JSON length seen.
fn receive_all(subscribers: &mut [broadcast::Receiver<Event>]) -> usize {
    subscribers
        .iter_mut()
        .map(|rx| rx.try_recv().map_or(0, |e| e.json().len()))
        .sum()
}

fn sink(c: &mut Criterion<Clock>) {
    let body = common::body(1);
    let hook = Webhook::from_slice(&body).expect("a valid body");
    let alert = &hook.alerts[0];
    for r in SUBSCRIBERS {
        let (tx, _) = broadcast::channel(16);
        let shared = BroadcastSink::new(tx);
        let mut shared_rx: Vec<_> = (0..r).map(|_| shared.subscribe()).collect();
        let own: Vec<_> = (0..r)
            .map(|_| {
                let (tx, rx) = broadcast::channel(16);
                (BroadcastSink::new(tx), rx)
            })
            .collect();
        let (own_tx, mut own_rx): (Vec<_>, Vec<_>) = own.into_iter().unzip();

        // Sanity, not timing: every subscriber holds the very same bytes.
        send(&shared, Event::new(&hook, alert));
        let got: Vec<Event> = shared_rx
            .iter_mut()
            .map(|rx| rx.try_recv().unwrap())
            .collect();
        assert!(
            got.iter()
                .all(|e| e.json().as_ptr() == got[0].json().as_ptr())
        );

        let mut group = c.benchmark_group(format!("broadcast_{r}"));
        group.throughput(Throughput::Elements(r as u64));
        group.bench_function("shared", |b| {
            b.iter(|| {
                send(&shared, Event::new(black_box(&hook), black_box(alert)));
                receive_all(&mut shared_rx)
            })
        });
        group.bench_function("per_subscriber", |b| {
            b.iter(|| {
                for tx in &own_tx {
                    send(tx, Event::new(black_box(&hook), black_box(alert)));
                }
                receive_all(&mut own_rx)
            })
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .with_measurement(Clock::from_env())
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_secs(1));
    targets = sink
}
criterion_main!(benches);
