//! Metrics through the [`metrics`](https://docs.rs/metrics) facade (feature `metrics`).
//!
//! With the feature on, the receiver and its layers record to whatever recorder
//! is installed (for example `metrics-exporter-prometheus`); without it, or
//! without a recorder, recording costs nothing. The names follow the Prometheus
//! conventions:
//!
//! | name | kind | labels |
//! | --- | --- | --- |
//! | [`alertmanager_webhook_requests_total`](REQUESTS_TOTAL) | counter | `status`: the HTTP status code |
//! | [`alertmanager_webhook_request_duration_seconds`](REQUEST_DURATION_SECONDS) | histogram | |
//! | [`alertmanager_webhook_alerts_total`](ALERTS_TOTAL) | counter | `status` (`firing`, `resolved`), `severity` (`info`, `warning`, `high`, `critical`) |
//! | [`alertmanager_webhook_validation_failures_total`](VALIDATION_FAILURES_TOTAL) | counter | |
//! | [`alertmanager_webhook_auth_failures_total`](AUTH_FAILURES_TOTAL) | counter | `layer`: `auth` or `signature` |
//! | [`alertmanager_webhook_body_too_large_total`](BODY_TOO_LARGE_TOTAL) | counter | |
//! | [`alertmanager_webhook_duplicates_total`](DUPLICATES_TOTAL) | counter | |
//! | [`alertmanager_webhook_events_delivered_total`](EVENTS_DELIVERED_TOTAL) | counter | |
//! | [`alertmanager_webhook_events_dropped_total`](EVENTS_DROPPED_TOTAL) | counter | |
//! | [`alertmanager_webhook_events_failed_total`](EVENTS_FAILED_TOTAL) | counter | |
//! | [`alertmanager_webhook_queue_depth`](QUEUE_DEPTH) | gauge | |
//!
//! Every request is counted once, by whichever part answered it: the receiver
//! (including its early 405/415/413 refusals and the 500 of a panic), or an
//! [`auth`](crate::auth) or `signature` layer that refused it. Severities are
//! normalised like the event's [`severity`](crate::event::severity), so label
//! values stay few. Label values are static: recording allocates nothing.
//!
//! ```
//! use alertmanager_webhook::metrics::{REQUESTS_TOTAL, REQUEST_DURATION_BUCKETS};
//! assert_eq!(REQUESTS_TOTAL, "alertmanager_webhook_requests_total");
//! assert!(REQUEST_DURATION_BUCKETS.is_sorted());
//! ```
#![cfg_attr(not(feature = "metrics"), allow(unused_variables))]

#[cfg(feature = "metrics")]
use ::metrics::{Key, Label, Level, Metadata, Unit, counter, gauge, histogram};
use http::StatusCode;

use crate::payload::Status;

/// Requests answered, by HTTP status code (label `status`).
pub const REQUESTS_TOTAL: &str = "alertmanager_webhook_requests_total";
/// Time from the call to the answer, in seconds.
pub const REQUEST_DURATION_SECONDS: &str = "alertmanager_webhook_request_duration_seconds";
/// Alerts in valid notifications (duplicates included), by `status` and `severity`.
pub const ALERTS_TOTAL: &str = "alertmanager_webhook_alerts_total";
/// Notifications answered with 422.
pub const VALIDATION_FAILURES_TOTAL: &str = "alertmanager_webhook_validation_failures_total";
/// Requests refused for missing or wrong credentials or signatures (label `layer`).
pub const AUTH_FAILURES_TOTAL: &str = "alertmanager_webhook_auth_failures_total";
/// Requests refused with 413.
pub const BODY_TOO_LARGE_TOTAL: &str = "alertmanager_webhook_body_too_large_total";
/// Alerts suppressed by the receiver's [`Dedup`](crate::Dedup). The cross-replica
/// deduplication of `redis::RedisSink` is counted by the sink (`RedisSink::duplicates`),
/// and its events as delivered: they did reach Redis, through another replica.
pub const DUPLICATES_TOTAL: &str = "alertmanager_webhook_duplicates_total";
/// Events the sink accepted.
pub const EVENTS_DELIVERED_TOTAL: &str = "alertmanager_webhook_events_delivered_total";
/// Events never handed to a sink: the queue was full, or no sink was set.
pub const EVENTS_DROPPED_TOTAL: &str = "alertmanager_webhook_events_dropped_total";
/// Events the sink refused, panicked on, or did not take in time.
pub const EVENTS_FAILED_TOTAL: &str = "alertmanager_webhook_events_failed_total";
/// Events waiting in the delivery queues now.
pub const QUEUE_DEPTH: &str = "alertmanager_webhook_queue_depth";

/// Bucket bounds, in seconds, suited to [`REQUEST_DURATION_SECONDS`]; an exporter
/// may use them, for example with `PrometheusBuilder::set_buckets_for_metric`.
pub const REQUEST_DURATION_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Describes every metric to the recorder installed now.
///
/// `Builder::build` (feature `tokio`) calls it; call it yourself if you
/// install a recorder after building the receiver. Without the `metrics`
/// feature it does nothing.
///
/// ```
/// alertmanager_webhook::metrics::describe();
/// ```
pub fn describe() {
    #[cfg(feature = "metrics")]
    {
        use ::metrics::{describe_counter, describe_gauge, describe_histogram};
        describe_counter!(
            REQUESTS_TOTAL,
            "Webhook requests answered, by HTTP status code."
        );
        describe_histogram!(
            REQUEST_DURATION_SECONDS,
            Unit::Seconds,
            "Time to answer a webhook request."
        );
        describe_counter!(ALERTS_TOTAL, "Alerts received, by status and severity.");
        describe_counter!(VALIDATION_FAILURES_TOTAL, "Notifications refused with 422.");
        describe_counter!(AUTH_FAILURES_TOTAL, "Requests refused with 401.");
        describe_counter!(BODY_TOO_LARGE_TOTAL, "Requests refused with 413.");
        describe_counter!(
            DUPLICATES_TOTAL,
            "Alerts suppressed as duplicates by the receiver's Dedup."
        );
        describe_counter!(EVENTS_DELIVERED_TOTAL, "Events the sink accepted.");
        describe_counter!(EVENTS_DROPPED_TOTAL, "Events never handed to a sink.");
        describe_counter!(EVENTS_FAILED_TOTAL, "Events the sink did not accept.");
        describe_gauge!(QUEUE_DEPTH, "Events waiting for the sink.");
    }
}

/// Static labels for the status codes this crate answers with, so that
/// counting a request allocates nothing; any other code gets an owned label.
macro_rules! status_labels {
    ($($code:literal),*) => {
        #[cfg(feature = "metrics")]
        const CODES: [u16; [$($code),*].len()] = [$($code),*];
        #[cfg(feature = "metrics")]
        static CODE_LABELS: [[Label; 1]; CODES.len()] =
            [$([Label::from_static_parts("status", stringify!($code))]),*];
    };
}
status_labels!(200, 400, 401, 405, 413, 415, 422, 500, 503);

#[cfg(feature = "metrics")]
static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

#[cfg(feature = "metrics")]
const fn alert_labels(status: &'static str, severity: &'static str) -> [Label; 2] {
    [
        Label::from_static_parts("status", status),
        Label::from_static_parts("severity", severity),
    ]
}

/// Firing then resolved, each by [`SEVERITIES`](crate::event::SEVERITIES) in order.
#[cfg(feature = "metrics")]
static ALERT_LABELS: [[Label; 2]; 8] = {
    use crate::event::SEVERITIES as S;
    [
        alert_labels("firing", S[0]),
        alert_labels("firing", S[1]),
        alert_labels("firing", S[2]),
        alert_labels("firing", S[3]),
        alert_labels("resolved", S[0]),
        alert_labels("resolved", S[1]),
        alert_labels("resolved", S[2]),
        alert_labels("resolved", S[3]),
    ]
};

#[cfg(feature = "metrics")]
fn count(key: &Key, n: u64) {
    ::metrics::with_recorder(|r| r.register_counter(key, &METADATA).increment(n));
}

/// Measures one request from its call to its answer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timer {
    #[cfg(feature = "metrics")]
    start: std::time::Instant,
}

impl Timer {
    pub(crate) fn start() -> Timer {
        Timer {
            #[cfg(feature = "metrics")]
            start: std::time::Instant::now(),
        }
    }

    /// Counts the request under its answer's status and records its duration.
    pub(crate) fn finish(self, status: StatusCode) {
        #[cfg(feature = "metrics")]
        {
            histogram!(REQUEST_DURATION_SECONDS).record(self.start.elapsed().as_secs_f64());
            match CODES.iter().position(|&c| c == status.as_u16()) {
                Some(i) => count(&Key::from_static_labels(REQUESTS_TOTAL, &CODE_LABELS[i]), 1),
                None => {
                    counter!(REQUESTS_TOTAL, "status" => status.as_str().to_owned()).increment(1)
                }
            }
        }
    }
}

/// One alert of a valid notification, with the index of the event's
/// [`severity`](crate::event::severity) in `SEVERITIES` (one of the known ones, else `info`).
pub(crate) fn alert(status: Status, severity_index: usize) {
    #[cfg(feature = "metrics")]
    {
        let row = match status {
            Status::Firing => 0,
            Status::Resolved => 4,
        };
        count(
            &Key::from_static_labels(ALERTS_TOTAL, &ALERT_LABELS[row + severity_index]),
            1,
        );
    }
}

pub(crate) fn validation_failure() {
    #[cfg(feature = "metrics")]
    counter!(VALIDATION_FAILURES_TOTAL).increment(1);
}

/// A 401 from the [`auth`](crate::auth) layer.
pub(crate) fn auth_failure() {
    #[cfg(feature = "metrics")]
    counter!(AUTH_FAILURES_TOTAL, "layer" => "auth").increment(1);
}

/// A 401 from the signature layer.
#[cfg(feature = "signature")]
pub(crate) fn signature_failure() {
    #[cfg(feature = "metrics")]
    counter!(AUTH_FAILURES_TOTAL, "layer" => "signature").increment(1);
}

pub(crate) fn body_too_large() {
    #[cfg(feature = "metrics")]
    counter!(BODY_TOO_LARGE_TOTAL).increment(1);
}

pub(crate) fn duplicates(n: usize) {
    #[cfg(feature = "metrics")]
    counter!(DUPLICATES_TOTAL).increment(n as u64);
}

pub(crate) fn delivered(n: usize) {
    #[cfg(feature = "metrics")]
    counter!(EVENTS_DELIVERED_TOTAL).increment(n as u64);
}

pub(crate) fn dropped(n: usize) {
    #[cfg(feature = "metrics")]
    counter!(EVENTS_DROPPED_TOTAL).increment(n as u64);
}

pub(crate) fn failed(n: usize) {
    #[cfg(feature = "metrics")]
    counter!(EVENTS_FAILED_TOTAL).increment(n as u64);
}

/// Events entered (positive) or left (negative) a delivery queue.
pub(crate) fn queued(delta: isize) {
    #[cfg(feature = "metrics")]
    gauge!(QUEUE_DEPTH).increment(delta as f64);
}

#[cfg(all(test, feature = "metrics"))]
mod tests {
    use super::*;

    #[test]
    fn static_labels_match_their_codes_and_severities() {
        for (code, labels) in CODES.iter().zip(&CODE_LABELS) {
            assert_eq!(labels[0].value(), code.to_string());
            assert!(StatusCode::from_u16(*code).is_ok());
        }
        for (i, labels) in ALERT_LABELS.iter().enumerate() {
            let status = if i < 4 { "firing" } else { "resolved" };
            assert_eq!(labels[0].value(), status);
            assert_eq!(labels[1].value(), crate::event::SEVERITIES[i % 4]);
        }
    }
}
