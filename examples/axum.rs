//! The receiver mounted in axum 0.8, next to an ordinary route.
//!
//! ```sh
//! cargo run --example axum -- 127.0.0.1:8000
//! ```
//!
//! `axum::serve` has no header-read timeout, so the router runs on the
//! examples' hyper loop (`common::serve`), which bounds how long a client may
//! take to send its head and its body (`HEADER_READ_TIMEOUT_SECS`,
//! `BODY_READ_TIMEOUT_SECS`) and reads at most 8 bodies over 64 KiB at once.

mod common;

use alertmanager_webhook::AlertReceiver;
use alertmanager_webhook::response::detail;
use axum::Router;
use axum::routing::get;
use http::StatusCode;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let _logs = common::init_tracing();
    let receiver = AlertReceiver::builder().sink(common::debug_sink()).build();
    let drained = receiver.clone();
    let receiver = common::guarded(receiver);
    let app = Router::new()
        .route_service(common::PATH, receiver)
        .route("/healthz", get(|| async { "ok" }))
        .fallback(|| async { detail(StatusCode::NOT_FOUND, "Not Found") })
        .method_not_allowed_fallback(|| async {
            detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
        });

    let listener = common::listen().await;
    tracing::info!(addr = %listener.local_addr()?, path = common::PATH, "receiver listening");
    let timeouts = common::Timeouts::from_env();
    common::serve(listener, app, timeouts, common::shutdown_signal()).await?;
    common::drain(&drained).await;
    Ok(())
}
