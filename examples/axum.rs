//! The receiver mounted in axum 0.8, next to an ordinary route.
//!
//! ```sh
//! cargo run --example axum -- 127.0.0.1:8000
//! ```

mod common;

use alertmanager_webhook::AlertReceiver;
use alertmanager_webhook::response::detail;
use alertmanager_webhook::sink::sink_fn;
use axum::Router;
use axum::routing::get;
use http::StatusCode;
use tower::ServiceBuilder;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let _logs = common::init_tracing();
    let receiver = AlertReceiver::builder()
        .sink(sink_fn(|event| {
            tracing::debug!(json = %String::from_utf8_lossy(event.json()), "event");
            Ok(())
        }))
        .build();
    let receiver = ServiceBuilder::new()
        .option_layer(common::bearer_from_env().map(|auth| auth.layer()))
        .service(receiver);
    let app = Router::new()
        .route_service(common::PATH, receiver)
        .route("/healthz", get(|| async { "ok" }))
        .fallback(|| async { detail(StatusCode::NOT_FOUND, "Not Found") });

    let listener = tokio::net::TcpListener::bind(common::listen_addr()).await?;
    tracing::info!(addr = %listener.local_addr()?, path = common::PATH, "receiver listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(common::shutdown_signal())
        .await
}
