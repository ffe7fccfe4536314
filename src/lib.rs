//! Receive Prometheus Alertmanager webhook notifications with a [`tower::Service`].
//!
//! [`AlertReceiver`] takes an `http::Request` with any body, validates the
//! Alertmanager payload, logs every alert at a level set by its severity,
//! answers with a JSON summary, and emits one [`Event`] per alert into a
//! [`Sink`](sink::Sink) you choose. It does not route: mount it at a path in
//! axum, hyper, warp or anything else that speaks `tower`.
//!
//! ```
//! use alertmanager_webhook::{sink::BroadcastSink, AlertReceiver};
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let (tx, mut rx) = tokio::sync::broadcast::channel(1024);
//! let receiver = AlertReceiver::builder().sink(BroadcastSink::new(tx)).build();
//!
//! let body = std::fs::read("tests/fixtures/01-am025-firing-single.json").unwrap();
//! let request = http::Request::post("/api/webhooks/alerts")
//!     .header("content-type", "application/json")
//!     .body(http_body_util::Full::new(bytes::Bytes::from(body)))
//!     .unwrap();
//! let response = receiver.oneshot(request).await.unwrap();
//! assert_eq!(response.status(), 200);
//!
//! let event = rx.recv().await.unwrap();
//! assert_eq!(event.fingerprint(), "cacc988e0448cada");
//! # }
//! ```
//!
//! The modules follow the request: [`payload`] (the typed model), [`validation`]
//! (the 422 answers), [`log`] (the log policy), [`event`] (the emitted JSON),
//! [`sink`] (where events go), and the service with its [`Builder`]. Around it:
//! [`auth`] (shared secrets), [`metrics`] (feature `metrics`), `signature`
//! (feature `signature`: signed webhooks) and `redis` (feature `redis`: fan-out
//! and deduplication across replicas through Redis).
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod active;
pub mod auth;
mod body;
mod codec;
mod dedup;
mod delivery;
pub mod event;
pub mod log;
pub mod metrics;
mod parser;
pub mod payload;
#[cfg(feature = "redis")]
pub mod redis;
pub mod response;
mod service;
#[cfg(feature = "signature")]
pub mod signature;
pub mod sink;
mod swar;
pub mod validation;

pub use dedup::Dedup;
pub use delivery::{DeliveryWorker, Stats};
pub use event::Event;
pub use service::{
    AlertReceiver, Builder, DEFAULT_BODY_LIMIT, DEFAULT_QUEUE_CAPACITY, DRAIN_LIMIT, ResponseFuture,
};
