//! Receive Prometheus Alertmanager webhook notifications with a `tower::Service`.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod payload;
pub mod validation;
