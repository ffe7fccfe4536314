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
//!   `infrastructure_alert` event, one JSON text frame each.
//! - `POST /api/webhooks/alerts`: the receiver. With `WEBHOOK_BEARER_TOKEN` set (non-empty) it
//!   requires `Authorization: Bearer <token>`; the page and the WebSocket stay open.
//! - `GET /metrics`: the receiver's Prometheus metrics, when built with `--features metrics`.
//!
//! Listen address: the first argument, else `LISTEN_ADDR`, else `127.0.0.1:8000`. Logs go to
//! stdout (`RUST_LOG`, default `info`; `NO_COLOR` honoured). Ctrl-C or SIGTERM shut down.

mod app;
#[path = "../common/mod.rs"]
mod common;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    common::init_tracing();
    let dashboard = app::Dashboard::new(common::bearer_from_env());
    let listener = tokio::net::TcpListener::bind(common::listen_addr()).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, path = app::WEBHOOK_PATH, "receiver listening; dashboard on http://{addr}/");
    let router = dashboard.router();
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
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            common::shutdown_signal().await;
            dashboard.close_clients();
        })
        .await
}
