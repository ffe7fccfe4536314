//! A live "Infrastructure Alerts" page fed by the webhook receiver.
//!
//! ```text
//! cargo run --example dashboard                 # http://127.0.0.1:8000/
//! curl -XPOST -H 'Content-Type: application/json' \
//!      --data @tests/fixtures/01-am025-firing-single.json \
//!      http://127.0.0.1:8000/api/webhooks/alerts
//! ```
//!
//! - `GET /`: the page (plain HTML, embedded); it reconnects by itself.
//! - `GET /ws`: a WebSocket that first sends the alerts firing now, then every
//!   `infrastructure_alert` event, one JSON text frame each. A handshake whose `Origin` is
//!   not this server's (another site's page in the same browser) is refused with 403.
//!   A client more than 4096 events behind is closed (1013, reconnect: the page does), and
//!   one that takes no frame for 10 s is dropped; either way a WARN line says how many events
//!   it did not get, and their total is logged at shutdown.
//! - `POST /api/webhooks/alerts`: the receiver. With `WEBHOOK_BEARER_TOKEN` set it requires
//!   `Authorization: Bearer <token>` (an empty token is refused at startup); the page and the
//!   WebSocket stay open.
//! - `GET /metrics`: the receiver's Prometheus metrics, when built with `--features metrics`.
//!
//! Listen address: the first argument, else `LISTEN_ADDR`, else `127.0.0.1:8000`. Logs go to
//! stdout (`RUST_LOG`, default `info`; `NO_COLOR` honoured). Ctrl-C or SIGTERM shut down.
//!
//! Several replicas (feature `redis`): with `REDIS_URL` set (e.g. `redis://127.0.0.1:6379/`),
//! the receiver publishes every event to Redis, deduplicated across replicas, and the page's
//! clients get every event from Redis, whichever replica received it. Events go through the
//! pub/sub channel `alerts`; with `REDIS_GROUP` set too (this replica's name, the same across
//! its restarts), through the stream `alerts` instead, so that a restarted replica first
//! receives what it missed.
//!
//! ```text
//! cargo run --features redis --example dashboard -- 127.0.0.1:8001   # with REDIS_URL set
//! cargo run --features redis --example dashboard -- 127.0.0.1:8002   # the same Redis
//! ```

use std::time::Duration;

mod app;
#[path = "../common/mod.rs"]
mod common;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let _logs = common::init_tracing();
    let dashboard = app::Dashboard::new(common::bearer_from_env());
    let router = router(&dashboard).await;
    let listener = common::listen().await;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, path = app::WEBHOOK_PATH, "receiver listening; dashboard on http://{addr}/");
    // Without scrapes, histogram samples pile up until the next upkeep.
    #[cfg(feature = "metrics")]
    if let Some(handle) = app::prometheus() {
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
            loop {
                every.tick().await;
                handle.run_upkeep();
            }
        });
    }
    // On the examples' hyper loop: header and body read timeouts, which `axum::serve` lacks.
    let timeouts = common::Timeouts::from_env();
    common::serve(listener, router, timeouts, common::shutdown_signal()).await?;
    // Every request is answered: hand the sink what is queued, then send the WebSocket clients
    // what is queued for them, and close them. No alert answered 200 goes unmentioned.
    if let Some(receiver) = dashboard.receiver() {
        common::drain(&receiver).await;
    }
    dashboard.close_clients_within(Duration::from_secs(5)).await;
    tracing::info!(
        undelivered = dashboard.undelivered(),
        "events not sent to WebSocket clients that fell behind or got stuck"
    );
    Ok(())
}

/// The dashboard's routes: through Redis when `REDIS_URL` is set. Exits if Redis is unreachable.
#[cfg(feature = "redis")]
async fn router(dashboard: &app::Dashboard) -> axum::Router {
    let Some(url) = env("REDIS_URL") else {
        return dashboard.router();
    };
    let group = env("REDIS_GROUP");
    match app::redis::connect(&url, group.as_deref()).await {
        Ok((sink, subscriber)) => {
            if group.is_some() {
                match dashboard.recall(&url).await {
                    Ok(events) => tracing::info!(events, "firing alerts recalled from the stream"),
                    Err(error) => {
                        tracing::warn!(%error, "could not read the stream: the page starts empty")
                    }
                }
            }
            tracing::info!(
                channel = app::redis::CHANNEL,
                group,
                "publishing to and subscribed to Redis"
            );
            dashboard.router_through_redis(sink, subscriber)
        }
        Err(e) => {
            eprintln!("REDIS_URL: {e}");
            std::process::exit(1)
        }
    }
}

#[cfg(not(feature = "redis"))]
async fn router(dashboard: &app::Dashboard) -> axum::Router {
    if env("REDIS_URL").is_some() {
        eprintln!("REDIS_URL is set: build the example with `--features redis`");
        std::process::exit(2)
    }
    dashboard.router()
}

/// A non-empty environment variable.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}
