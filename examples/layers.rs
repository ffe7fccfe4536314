//! The receiver behind the usual tower layers, in axum.
//!
//! ```sh
//! cargo run --example layers -- 127.0.0.1:8000
//! ```
//!
//! Outermost first:
//! 1. `TraceLayer`: a span per request, refusals included.
//! 2. `HandleErrorLayer`: tower's errors (`Overloaded`, `Elapsed`) become
//!    **503** JSON. Never 429: Alertmanager drops alerts on any 4xx and
//!    retries 5xx.
//! 3. `load_shed` + `concurrency_limit`: when the limit is reached, refuse at
//!    once (503) instead of queueing while Alertmanager's 10 s timeout runs.
//! 4. The auth layer: credentials are checked before anything else about the
//!    request, its size too.
//! 5. `map_response(json_errors)`: tower-http answers 413 and 503 with plain or
//!    empty bodies; give them the contract's `{"detail": ...}` (the 413 with
//!    the receiver's own text).
//! 6. tower-http `RequestBodyLimitLayer` (a hard ceiling above the receiver's
//!    own limit) and `TimeoutLayer` (set to 503, not its default 408), then the
//!    receiver (which also enforces its own body limit).

mod common;

use std::time::Duration;

use alertmanager_webhook::AlertReceiver;
use alertmanager_webhook::auth::Auth;
use alertmanager_webhook::response::detail;
use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::CONTENT_TYPE;
use tower::{BoxError, ServiceBuilder};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Limits of the stack.
pub struct Limits {
    /// Requests handled at once; more are refused with 503.
    pub concurrency: usize,
    /// The longest a request may take before it gets 503.
    pub timeout: Duration,
    /// The receiver's body limit, in bytes. tower-http's limit sits
    /// `DRAIN_LIMIT` above it as a hard ceiling: tower-http refuses unread,
    /// while the receiver drains a slightly too large body so that a client
    /// still sending it can read its 413.
    pub body: usize,
}

/// Tower's errors as HTTP answers: everything a retry may fix is a 503.
async fn tower_error(error: BoxError) -> Response {
    let text = if error.is::<tower::load_shed::error::Overloaded>() {
        "Overloaded; retry later"
    } else if error.is::<tower::timeout::error::Elapsed>() {
        "Timed out; retry later"
    } else {
        tracing::error!(%error, "unexpected error from the service stack");
        "Service unavailable; retry later"
    };
    let mut response = detail(StatusCode::SERVICE_UNAVAILABLE, text).into_response();
    response.headers_mut().insert(
        http::header::RETRY_AFTER,
        http::HeaderValue::from_static("5"),
    );
    response
}

/// Gives error answers that are not JSON yet the contract's `{"detail": ...}`
/// body; a 413 gets the receiver's text for its `limit`.
fn json_errors<B>(response: http::Response<B>, limit: usize) -> Response
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if status.is_success() || is_json {
        return response.map(axum::body::Body::new);
    }
    // The only plain 503 here is the timeout layer's: a retry may fix it, as `tower_error` says.
    let retry = status == StatusCode::SERVICE_UNAVAILABLE;
    let text = match status {
        StatusCode::SERVICE_UNAVAILABLE => "Timed out; retry later".to_owned(),
        StatusCode::PAYLOAD_TOO_LARGE => {
            format!("Request body too large: the limit is {limit} bytes")
        }
        _ => status.canonical_reason().unwrap_or("Error").to_owned(),
    };
    let mut fixed = detail(status, &text).into_response();
    if retry && !response.headers().contains_key(http::header::RETRY_AFTER) {
        fixed.headers_mut().insert(
            http::header::RETRY_AFTER,
            http::HeaderValue::from_static("5"),
        );
    }
    for (name, value) in response.headers() {
        if name != CONTENT_TYPE && name != http::header::CONTENT_LENGTH {
            fixed.headers_mut().insert(name, value.clone());
        }
    }
    fixed
}

/// The routes: the receiver at [`common::PATH`] behind the layers, 404 elsewhere.
pub fn app(receiver: AlertReceiver, auth: Option<Auth>, limits: &Limits) -> Router {
    let limit = limits.body;
    let stack = ServiceBuilder::new()
        .layer(TraceLayer::new_for_http())
        .layer(HandleErrorLayer::new(tower_error))
        .load_shed()
        .concurrency_limit(limits.concurrency)
        .option_layer(auth.map(Auth::layer))
        .map_response(move |response| json_errors(response, limit))
        .layer(RequestBodyLimitLayer::new(
            limits.body + alertmanager_webhook::DRAIN_LIMIT as usize,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            limits.timeout,
        ))
        .service(receiver);
    Router::new()
        .route_service(common::PATH, stack)
        .fallback(|| async { detail(StatusCode::NOT_FOUND, "Not Found") })
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let _logs = common::init_tracing();
    let limits = Limits {
        concurrency: 64,
        timeout: Duration::from_secs(5),
        body: alertmanager_webhook::DEFAULT_BODY_LIMIT,
    };
    let receiver = AlertReceiver::builder()
        .body_limit(limits.body)
        .sink(common::debug_sink())
        .build();
    let app = app(receiver.clone(), common::bearer_from_env(), &limits);
    let listener = common::listen().await;
    tracing::info!(addr = %listener.local_addr()?, path = common::PATH, "receiver listening");
    // On the examples' hyper loop: header and body read timeouts, which `axum::serve` lacks.
    let timeouts = common::Timeouts::from_env();
    common::serve(listener, app, timeouts, common::shutdown_signal()).await?;
    common::drain(&receiver).await;
    Ok(())
}
