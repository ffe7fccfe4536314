//! The smallest runnable receiver, on hyper 1.
//!
//! ```sh
//! cargo run --example hyper                      # 127.0.0.1:8000
//! curl -XPOST -H 'content-type: application/json' \
//!   --data-binary @tests/fixtures/01-am025-firing-single.json \
//!   http://127.0.0.1:8000/api/webhooks/alerts
//! ```
//!
//! Events go to a broadcast channel and are logged at DEBUG (`RUST_LOG=debug`).
//! A client has `HEADER_READ_TIMEOUT_SECS` (default 10) to send each request
//! head and `BODY_READ_TIMEOUT_SECS` (default 10) to send the whole body.
//! At most 8 requests with a body over 64 KiB are read at once (one that waits
//! over 5 s for its turn gets 503 with `Retry-After`); smaller ones
//! never wait (`common::LARGE_AT_ONCE`).

mod common;

use std::future::ready;

use alertmanager_webhook::response::detail;
use alertmanager_webhook::sink::{BroadcastSink, Sink, SinkError};
use alertmanager_webhook::{AlertReceiver, Event};
use futures_util::future::Either;
use http::{Request, StatusCode};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::{Duration, Instant};
use tower::ServiceExt;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let _logs = common::init_tracing();
    let (tx, mut rx) = broadcast::channel::<Event>(1024);
    // Each event wakes the logger task: run it only when its DEBUG lines are wanted.
    // Otherwise nobody subscribes and each event is dropped as soon as it is sent
    // (a receiver that is never read would keep the last 1024).
    if tracing::enabled!(tracing::Level::DEBUG) {
        tokio::spawn(async move {
            // The channel keeps the last 1024 events: a burst larger than that
            // outruns this logger, which says how many it missed, summed over
            // a second at most (one line per lag floods the log under load).
            let (mut missed, mut report_at) = (0, Instant::now());
            loop {
                let received = if missed == 0 {
                    Some(rx.recv().await)
                } else {
                    tokio::time::timeout_at(report_at, rx.recv()).await.ok()
                };
                match received {
                    Some(Ok(event)) => {
                        tracing::debug!(json = %String::from_utf8_lossy(event.json()), "event")
                    }
                    Some(Err(RecvError::Lagged(n))) => missed += n,
                    Some(Err(RecvError::Closed)) => break,
                    None => {} // The second is up.
                }
                if missed > 0 && Instant::now() >= report_at {
                    lagged(std::mem::take(&mut missed));
                    report_at = Instant::now() + Duration::from_secs(1);
                }
            }
            if missed > 0 {
                lagged(missed);
            }
        });
    } else {
        drop(rx);
    }
    let builder = AlertReceiver::builder();
    let receiver = if std::env::var("EXAMPLE_SINK").as_deref() == Ok("stalled") {
        // For benches/soak.sh: a sink that never completes, to show that the queue stays bounded.
        builder.sink(Stalled).build()
    } else {
        builder.sink(BroadcastSink::new(tx)).build()
    };
    let stats = receiver.clone();
    let receiver = common::guarded(receiver);

    let app = tower::service_fn(move |request: Request<_>| {
        if request.uri().path() == common::PATH {
            Either::Left(receiver.clone().oneshot(request))
        } else {
            Either::Right(ready(Ok(detail(StatusCode::NOT_FOUND, "Not Found"))))
        }
    });

    let listener = common::listen().await;
    tracing::info!(addr = %listener.local_addr()?, path = common::PATH, "receiver listening");
    // The server loop, with the header and body read timeouts, is in `common::serve`.
    let timeouts = common::Timeouts::from_env();
    common::serve(listener, app, timeouts, common::shutdown_signal()).await?;
    common::drain(&stats).await;
    Ok(())
}

/// Logs that the event logger missed `n` events.
fn lagged(n: u64) {
    tracing::warn!(skipped = n, "event logger lagged: {n} event(s) not logged");
}

/// A sink that never completes a delivery.
struct Stalled;

impl Sink for Stalled {
    async fn send(&self, _: Event) -> Result<(), SinkError> {
        std::future::pending().await
    }
}
