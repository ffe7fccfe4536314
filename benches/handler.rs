//! The receiver in process: parse and whole handler against a scan of the same bytes.
//!
//! Every group `alerts_N` (N = 1, 10, 100, 1000 alerts) measures, on the same body:
//!
//! - `scan`: `serde_json::from_slice::<IgnoredAny>`, the floor every ratio is taken against;
//! - `parse`: `validation::parse`, the typed and validated parse, the `Webhook`
//!   dropped (T1 = parse ÷ scan);
//! - `serde`: the same typed parse by serde_json alone, without the crate's
//!   hand-written parser in front (for comparison);
//! - `ack`: the whole request through `AlertReceiver::oneshot` in acknowledged
//!   mode with a `BroadcastSink`: parse, validation, one log call per alert (no
//!   subscriber installed), the event JSON, the send (done by the request itself,
//!   no task woken) and the summary (T2 = ack ÷ scan; (ack − parse) ÷ N is a
//!   second, noisier form of T3);
//! - `paired`: the request as in `ack` less the parse alone, each request
//!   timed right after a parse of the same body (T3 = paired ÷ N, free of
//!   the drift between the `ack` and `parse` runs);
//! - `work`: what `ack` does after the parse (log calls, event JSON, send,
//!   summary) on the already parsed body: T3 measured directly (work ÷ N),
//!   not as the difference of two larger timings;
//! - `queued`: the same as `ack` in the default queued mode, timed until the delivery
//!   worker has sent every event, so that its share (queue, wake, sends) counts too;
//! - `log`: the per-alert log calls alone on an already parsed body, with no
//!   subscriber installed (the level disabled); against the same id built with
//!   logging compiled out it gives T4.
//!
//! The channel's one subscriber keeps up: it takes the events between timed
//! stretches (after every request from 256 alerts up), so freeing them is its
//! cost, not the handler's, and the handler's memory stays warm as in a server
//! whose clients keep up.
//!
//! Built with `--features tracing/max_level_off` the logging is compiled out;
//! the same ids then give T4's reference (see `benches/ratios.sh`). With
//! `BENCH_CLOCK=cpu` the clock is the thread's CPU time. Nothing here asserts
//! on time; the setup only checks that the answers are right.

mod common;

use std::hint::black_box;
use std::time::Duration;

use alertmanager_webhook::payload::Webhook;
use alertmanager_webhook::sink::BroadcastSink;
use alertmanager_webhook::{AlertReceiver, Event, validation};
use bytes::Bytes;
use common::Clock;
use criterion::measurement::Measurement;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::Request;
use http_body_util::Full;
use serde::de::IgnoredAny;
use tokio::runtime::Runtime;
use tokio::sync::broadcast;
use tower::ServiceExt;

/// Alerts sent between two drains of the subscriber.
const DRAIN_EVERY: usize = 256;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime")
}

/// A receiver with a broadcast sink, and the channel's subscriber.
fn receiver(rt: &Runtime, acknowledged: bool) -> (AlertReceiver, broadcast::Receiver<Event>) {
    let _guard = rt.enter();
    let (tx, rx) = broadcast::channel(4 * DRAIN_EVERY.max(1000));
    let builder = AlertReceiver::builder()
        .sink(BroadcastSink::new(tx))
        .queue_capacity(1 << 16);
    let builder = if acknowledged {
        builder.acknowledged(Duration::from_secs(5))
    } else {
        builder
    };
    (builder.build(), rx)
}

async fn answer(receiver: &AlertReceiver, body: &Bytes) -> http::StatusCode {
    match receiver.clone().oneshot(common::request(body)).await {
        Ok(response) => response.status(),
        Err(never) => match never {},
    }
}

/// Waits until the delivery worker has taken `total` events in all.
async fn delivered(receiver: &AlertReceiver, total: u64) {
    while receiver.stats().delivered < total {
        tokio::task::yield_now().await;
    }
}

/// Takes every waiting event; returns how many there were.
fn drain(rx: &mut broadcast::Receiver<Event>) -> usize {
    let mut n = 0;
    while rx.try_recv().is_ok() {
        n += 1;
    }
    n
}

/// One receiver under test, with its subscriber and the body it is sent.
struct Target<'a> {
    rt: &'a Runtime,
    receiver: AlertReceiver,
    rx: broadcast::Receiver<Event>,
    body: &'a Bytes,
    alerts: usize,
}

impl Target<'_> {
    /// Times `iters` runs in stretches of [`DRAIN_EVERY`] alerts, draining the
    /// subscriber between stretches. The input of each run is made by `prepare`
    /// before the clock starts.
    fn timed<I>(
        &mut self,
        clock: &Clock,
        iters: u64,
        prepare: impl Fn() -> I,
        mut run: impl FnMut(&Runtime, &AlertReceiver, I),
    ) -> Duration {
        let per_stretch = (DRAIN_EVERY / self.alerts).max(1) as u64;
        let mut total = Duration::ZERO;
        let mut left = iters;
        while left > 0 {
            let n = left.min(per_stretch);
            left -= n;
            let inputs: Vec<_> = (0..n).map(|_| prepare()).collect();
            let start = clock.start();
            for input in inputs {
                run(self.rt, &self.receiver, input);
            }
            total += clock.end(start);
            let events = drain(&mut self.rx);
            assert_eq!(
                events,
                n as usize * self.alerts,
                "every event reaches the subscriber"
            );
        }
        total
    }

    /// T3 paired: times `iters` requests and, just before each, the parse of
    /// the same body alone; returns the sum of (request − parse). Each
    /// difference is taken between two runs a moment apart, so a burst of load
    /// that slows one stretch cancels out, unlike the difference of the `ack`
    /// and `parse` medians, which are measured seconds apart. The clock's own
    /// cost is in both terms and cancels too.
    fn paired(&mut self, clock: &Clock, iters: u64) -> Duration {
        let (mut requests, mut parses) = (Duration::ZERO, Duration::ZERO);
        let body = self.body;
        self.each_request(clock, iters, |rt, receiver, request| {
            let start = clock.start();
            black_box(validation::parse(black_box(body)).is_ok());
            parses += clock.end(start);
            let start = clock.start();
            black_box(rt.block_on(receiver.clone().oneshot(request)).is_ok());
            requests += clock.end(start);
        });
        requests.saturating_sub(parses)
    }

    /// Times `iters` requests; after each, inside the time, waits until the
    /// worker has delivered `wait()` events in all.
    fn requests(&mut self, clock: &Clock, iters: u64, wait: &mut dyn FnMut() -> u64) -> Duration {
        self.each_request(clock, iters, |rt, receiver, request| {
            rt.block_on(async {
                black_box(receiver.clone().oneshot(request).await.is_ok());
                delivered(receiver, wait()).await;
            })
        })
    }

    /// [`timed`](Target::timed) with a fresh request of the body as each run's input.
    fn each_request(
        &mut self,
        clock: &Clock,
        iters: u64,
        run: impl FnMut(&Runtime, &AlertReceiver, Request<Full<Bytes>>),
    ) -> Duration {
        let body = self.body;
        self.timed(clock, iters, || common::request(body), run)
    }
}

fn handler(c: &mut Criterion<Clock>) {
    let rt = runtime();
    let clock = Clock::from_env();
    for n in common::SIZES {
        let body = Bytes::from(common::body(n));
        let (ack, ack_rx) = receiver(&rt, true);
        let (queued, queued_rx) = receiver(&rt, false);
        let mut ack = Target {
            rt: &rt,
            receiver: ack,
            rx: ack_rx,
            body: &body,
            alerts: n,
        };
        let mut queued = Target {
            rt: &rt,
            receiver: queued,
            rx: queued_rx,
            body: &body,
            alerts: n,
        };
        // Sanity, not timing: the body is valid and both modes answer 200 and deliver.
        assert_eq!(
            validation::parse(&body).map(|h| h.alerts.len()).ok(),
            Some(n)
        );
        assert_eq!(rt.block_on(answer(&ack.receiver, &body)), 200);
        assert_eq!(
            (ack.receiver.stats().delivered, drain(&mut ack.rx)),
            (n as u64, n)
        );
        let mut sent = n as u64;
        rt.block_on(async {
            assert_eq!(answer(&queued.receiver, &body).await, 200);
            delivered(&queued.receiver, sent).await;
        });
        assert_eq!(drain(&mut queued.rx), n);

        let mut group = c.benchmark_group(format!("alerts_{n}"));
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function("scan", |b| {
            b.iter(|| serde_json::from_slice::<IgnoredAny>(black_box(&body)))
        });
        group.bench_function("parse", |b| {
            b.iter(|| validation::parse(black_box(&body)).is_ok())
        });
        // The typed parse as it was before `parser`: serde_json alone.
        group.bench_function("serde", |b| {
            b.iter(|| {
                std::str::from_utf8(black_box(&body))
                    .is_ok_and(|text| serde_json::from_str::<Webhook<'_>>(text).is_ok())
            })
        });
        let hook = validation::parse(&body).expect("a valid body");
        group.bench_function("log", |b| {
            b.iter(|| alertmanager_webhook::log::__log_alerts(black_box(&hook)))
        });
        group.bench_function("ack", |b| {
            b.iter_custom(|iters| ack.requests(&clock, iters, &mut || 0))
        });
        group.bench_function("paired", |b| {
            b.iter_custom(|iters| ack.paired(&clock, iters))
        });
        group.bench_function("work", |b| {
            b.iter_custom(|iters| {
                ack.timed(
                    &clock,
                    iters,
                    || (),
                    |rt, receiver, ()| {
                        black_box(rt.block_on(receiver.__process(black_box(&hook))).status());
                    },
                )
            })
        });
        group.bench_function("queued", |b| {
            b.iter_custom(|iters| {
                queued.requests(&clock, iters, &mut || {
                    sent += n as u64;
                    sent
                })
            })
        });
        group.finish();
        let (a, q) = (ack.receiver.stats(), queued.receiver.stats());
        assert_eq!((a.failed, a.dropped, q.failed, q.dropped), (0, 0, 0, 0));
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .with_measurement(Clock::from_env())
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    targets = handler
}
criterion_main!(benches);
