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

mod common;

use std::convert::Infallible;
use std::time::Duration;

use alertmanager_webhook::AlertReceiver;
use alertmanager_webhook::response::detail;
use alertmanager_webhook::sink::BroadcastSink;
use http::{Request, StatusCode};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tower::{ServiceBuilder, ServiceExt};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let _logs = common::init_tracing();
    let (tx, mut rx) = broadcast::channel::<alertmanager_webhook::Event>(1024);
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(event) => {
                    tracing::debug!(json = %String::from_utf8_lossy(event.json()), "event")
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::debug!(skipped = n, "event logger lagged")
                }
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    let receiver = ServiceBuilder::new()
        .option_layer(common::bearer_from_env().map(|auth| auth.layer()))
        .service(
            AlertReceiver::builder()
                .sink(BroadcastSink::new(tx))
                .build(),
        );

    let app = hyper::service::service_fn(move |request: Request<Incoming>| {
        let receiver = receiver.clone();
        async move {
            if request.uri().path() == common::PATH {
                receiver.oneshot(request).await
            } else {
                Ok::<_, Infallible>(detail(StatusCode::NOT_FOUND, "Not Found"))
            }
        }
    });

    let listener = TcpListener::bind(common::listen_addr()).await?;
    tracing::info!(addr = %listener.local_addr()?, path = common::PATH, "receiver listening");
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(common::shutdown_signal());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let conn = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(10))
                    .serve_connection(TokioIo::new(stream), app.clone());
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(error) = conn.await {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    tokio::select! {
        () = graceful.shutdown() => {},
        () = tokio::time::sleep(Duration::from_secs(10)) => tracing::warn!("connections still open after 10 s"),
    }
    Ok(())
}
