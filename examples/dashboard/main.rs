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
//!
//! Listen address: the first argument, else `LISTEN_ADDR`, else `127.0.0.1:8000`. Logs go to
//! stdout (`RUST_LOG`, default `info`; `NO_COLOR` honoured). Ctrl-C or SIGTERM shut down.

mod app;

use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_ansi(!no_color)
        .with_writer(std::io::stdout)
        .init();

    let address = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("LISTEN_ADDR").ok())
        .unwrap_or_else(|| "127.0.0.1:8000".to_owned());
    let token = std::env::var("WEBHOOK_BEARER_TOKEN")
        .ok()
        .filter(|token| !token.is_empty());
    let dashboard = app::Dashboard::new(token);
    let listener = tokio::net::TcpListener::bind(&address).await?;
    let local = listener.local_addr()?;
    tracing::info!(
        "dashboard on http://{local}/ , receiver at http://{local}{}",
        app::WEBHOOK_PATH
    );
    let router = dashboard.router();
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            tracing::info!("shutting down");
            dashboard.close_clients();
        })
        .await
}

/// Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
