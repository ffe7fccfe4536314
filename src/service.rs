//! The receiver: a [`tower::Service`] for any `http::Request` body.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
#[cfg(feature = "tokio")]
use std::time::Duration;

use http::header::{
    ACCEPT_ENCODING, ALLOW, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue,
    TRANSFER_ENCODING,
};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body::Body;
use tower::Service;

#[cfg(feature = "tokio")]
use crate::Event;
use crate::body;
use crate::dedup::{self, Dedup, DedupCache};
use crate::delivery::{self, Counters, DeliveryWorker, Queue, SinkObject, Stats};
use crate::event::{EventWriter, Fields};
use crate::log::{self, TARGET, escaped};
use crate::metrics::{self, Timer};
use crate::payload::Webhook;
use crate::response::{self, ResponseBody, Summary, detail};
use crate::sink::{BoxError, Sink};
use crate::validation;

/// Receives Alertmanager webhook notifications.
///
/// Mount it at a path of your choice (it does not route). It answers every
/// request itself, so its error type is [`Infallible`]; cloning is cheap.
///
/// Before reading the body it refuses, each time with a JSON `{"detail": …}`:
/// a method other than `POST` or `PUT` (405, with `Allow`); a `Content-Type`
/// other than JSON, or more than one; a compressed body (a `Content-Encoding`
/// other than `identity`, or a `Transfer-Encoding` other than `chunked`), all
/// 415; a declared `Content-Length` over the body limit (413). To take
/// compressed bodies, put tower-http's `RequestDecompressionLayer` in front:
/// it decompresses and removes the header.
///
/// ```
/// use alertmanager_webhook::{sink::sink_fn, AlertReceiver};
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let receiver = AlertReceiver::builder()
///     .sink(sink_fn(|event| Ok(println!("{:?}", event))))
///     .build();
/// let body = r#"{"groupKey":"g","status":"firing","receiver":"hsi","alerts":[]}"#;
/// let request = http::Request::post("/api/webhooks/alerts")
///     .header("content-type", "application/json")
///     .body(http_body_util::Full::new(bytes::Bytes::from(body)))
///     .unwrap();
/// let response = receiver.oneshot(request).await.unwrap();
/// assert_eq!(response.status(), 200);
/// # }
/// ```
#[derive(Clone)]
pub struct AlertReceiver {
    inner: Arc<Inner>,
}

struct Inner {
    body_limit: usize,
    sink: Option<Arc<dyn SinkObject>>,
    /// `Some` when events go through the queue; `None` in acknowledged mode or without a sink.
    queue: Option<Arc<Queue>>,
    #[cfg(feature = "tokio")]
    ack_timeout: Option<Duration>,
    dedup: Option<DedupCache>,
    counters: Arc<Counters>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(queue) = &self.queue {
            queue.close();
        }
    }
}

impl fmt::Debug for AlertReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlertReceiver")
            .field("body_limit", &self.inner.body_limit)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// Configures an [`AlertReceiver`].
///
/// ```
/// use alertmanager_webhook::{sink::NoSink, AlertReceiver, Dedup};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let receiver = AlertReceiver::builder()
///     .sink(NoSink)
///     .body_limit(1 << 20)
///     .queue_capacity(4096)
///     .dedup(Dedup::new())
///     .build();
/// # }
/// ```
#[must_use]
pub struct Builder {
    body_limit: usize,
    sink: Option<Arc<dyn SinkObject>>,
    queue_capacity: usize,
    #[cfg(feature = "tokio")]
    ack_timeout: Option<Duration>,
    dedup: Option<Dedup>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("body_limit", &self.body_limit)
            .field("has_sink", &self.sink.is_some())
            .field("queue_capacity", &self.queue_capacity)
            .field("dedup", &self.dedup)
            .finish_non_exhaustive()
    }
}

/// The default body limit: 4 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 4 << 20;

/// The events of one notification may take this many times the body limit:
/// enough for the smallest alerts (an event is about 250 bytes besides its
/// values), far short of what a long receiver repeated in every event takes.
const EVENTS_PER_BODY: usize = 4;

/// The default capacity of the delivery queue, in events.
pub const DEFAULT_QUEUE_CAPACITY: usize = 4096;

impl AlertReceiver {
    /// Starts configuring a receiver.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let receiver = alertmanager_webhook::AlertReceiver::builder().build();
    /// # }
    /// ```
    pub fn builder() -> Builder {
        Builder {
            body_limit: DEFAULT_BODY_LIMIT,
            sink: None,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            #[cfg(feature = "tokio")]
            ack_timeout: None,
            dedup: None,
        }
    }

    /// The delivery counters right now.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let receiver = alertmanager_webhook::AlertReceiver::builder().build();
    /// assert_eq!(receiver.stats().dropped, 0);
    /// # }
    /// ```
    pub fn stats(&self) -> Stats {
        let c = &self.inner.counters;
        let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
        Stats {
            delivered: load(&c.delivered),
            dropped: load(&c.dropped),
            failed: load(&c.failed),
            duplicates: load(&c.duplicates),
            queued: self.inner.queue.as_ref().map_or(0, |q| q.len()),
            in_flight: self
                .inner
                .queue
                .as_ref()
                .map_or(0, |q| usize::from(q.busy())),
        }
    }

    /// Waits until the sink has been handed every queued event, at most
    /// `limit`, and returns the counters then. For a graceful shutdown: once
    /// the server has answered its last request, so that no alert it answered
    /// 200 for is lost with the process. Events still queued after `limit`
    /// are dropped, counted in [`Stats::dropped`] and logged at WARN; one that
    /// the sink is still taking is left to it ([`Stats::in_flight`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::time::Duration;
    /// let receiver = alertmanager_webhook::AlertReceiver::builder().build();
    /// let stats = receiver.drain(Duration::from_secs(5)).await;
    /// assert_eq!(stats.queued, 0);
    /// # }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn drain(&self, limit: Duration) -> Stats {
        if let Some(queue) = &self.inner.queue {
            let deadline = tokio::time::Instant::now() + limit;
            // Checked every 10 ms: this runs once, at shutdown.
            while !queue.is_idle() && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let dropped = queue.clear();
            let in_flight = queue.busy();
            if dropped > 0 || in_flight {
                self.inner.counters.dropped(dropped);
                tracing::warn!(target: TARGET, dropped, in_flight,
                    "the sink did not take every queued event within {limit:?}: {dropped} event(s) dropped");
            }
        }
        self.stats()
    }

    /// What the receiver does with a parsed notification (log, events, send,
    /// summary), without the body read and the parse. For `benches/handler.rs`
    /// (T3 measured directly); not a public API.
    #[cfg(feature = "bench")]
    #[doc(hidden)]
    pub async fn __process(&self, hook: &Webhook<'_>) -> Response<ResponseBody> {
        self.inner.answer(self.inner.process(hook)).await
    }
}

impl Builder {
    /// Where events go. Without a sink, alerts are logged and answered but no
    /// event is built; they count as dropped.
    ///
    /// ```
    /// # use alertmanager_webhook::{sink::NoSink, AlertReceiver};
    /// let builder = AlertReceiver::builder().sink(NoSink);
    /// ```
    pub fn sink(mut self, sink: impl Sink) -> Self {
        self.sink = Some(Arc::new(sink));
        self
    }

    /// The largest body accepted, in bytes (default [`DEFAULT_BODY_LIMIT`]).
    /// Larger bodies get 413, and no more than this is ever buffered.
    ///
    /// ```
    /// let builder = alertmanager_webhook::AlertReceiver::builder().body_limit(64 * 1024);
    /// ```
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// How many events may wait for the sink (default [`DEFAULT_QUEUE_CAPACITY`]).
    /// Events that do not fit are dropped, counted and logged; the answer is still 200.
    ///
    /// ```
    /// let builder = alertmanager_webhook::AlertReceiver::builder().queue_capacity(10_000);
    /// ```
    pub fn queue_capacity(mut self, events: usize) -> Self {
        self.queue_capacity = events;
        self
    }

    /// Acknowledged mode: each request waits, at most `timeout` in all, until
    /// the sink has accepted every event. If it cannot, the answer is 503 with
    /// `Retry-After`, so that Alertmanager retries. Needs a tokio runtime.
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = alertmanager_webhook::AlertReceiver::builder().acknowledged(Duration::from_secs(2));
    /// ```
    #[cfg(feature = "tokio")]
    pub fn acknowledged(mut self, timeout: Duration) -> Self {
        self.ack_timeout = Some(timeout);
        self
    }

    /// Suppresses alerts seen recently with the same fingerprint, status,
    /// `startsAt` and `endsAt`: they are answered (and counted as
    /// `duplicates`) but neither logged as new nor emitted.
    ///
    /// ```
    /// let builder = alertmanager_webhook::AlertReceiver::builder().dedup(alertmanager_webhook::Dedup::new());
    /// ```
    pub fn dedup(mut self, dedup: Dedup) -> Self {
        self.dedup = Some(dedup);
        self
    }

    /// Builds the receiver and spawns its delivery worker on the current tokio runtime.
    ///
    /// # Panics
    /// When a sink is set in the default (queued) mode and this is called
    /// outside a tokio runtime; use [`build_with_worker`](Self::build_with_worker) there.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let receiver = alertmanager_webhook::AlertReceiver::builder().build();
    /// # }
    /// ```
    #[cfg(feature = "tokio")]
    pub fn build(self) -> AlertReceiver {
        let (receiver, worker) = self.build_with_worker();
        if let Some(worker) = worker {
            tokio::spawn(worker.run());
        }
        receiver
    }

    /// Builds the receiver and hands back its delivery worker, if it needs one,
    /// for any executor to run.
    ///
    /// ```
    /// use alertmanager_webhook::{sink::NoSink, AlertReceiver};
    /// let (receiver, worker) = AlertReceiver::builder().sink(NoSink).build_with_worker();
    /// assert!(worker.is_some());
    /// ```
    #[must_use = "without its worker running, queued events are never delivered"]
    pub fn build_with_worker(self) -> (AlertReceiver, Option<DeliveryWorker>) {
        #[cfg(feature = "tokio")]
        let queued = self.ack_timeout.is_none();
        #[cfg(not(feature = "tokio"))]
        let queued = true;
        metrics::describe();
        let counters = Arc::new(Counters::default());
        let queue = match &self.sink {
            Some(_) if queued => Some(Arc::new(Queue::new(self.queue_capacity))),
            _ => None,
        };
        let worker = queue
            .as_ref()
            .zip(self.sink.as_ref())
            .map(|(q, s)| DeliveryWorker {
                queue: q.clone(),
                sink: s.clone(),
                counters: counters.clone(),
            });
        let inner = Inner {
            body_limit: self.body_limit,
            sink: self.sink,
            queue,
            #[cfg(feature = "tokio")]
            ack_timeout: self.ack_timeout,
            dedup: self.dedup.map(DedupCache::new),
            counters,
        };
        let receiver = AlertReceiver {
            inner: Arc::new(inner),
        };
        (receiver, worker)
    }
}

impl<B> Service<Request<B>> for AlertReceiver
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> ResponseFuture {
        let timer = Timer::start();
        let limit = self.inner.body_limit;
        let state = match check_head(request.method(), request.headers(), limit) {
            Err(refusal) => State::Ready(Some(refusal)),
            Ok(declared) => {
                let inner = self.inner.clone();
                // Only the body goes into the future: the head is dropped here.
                let body = request.into_body();
                State::Running(Box::pin(async move {
                    let body = match body::read(body, limit, declared).await {
                        Ok(body) => body,
                        Err(response) => return response,
                    };
                    // The parsed notification is dropped before any wait, so it
                    // takes no room in this future.
                    let processed = match validation::parse(&body) {
                        Ok(hook) => inner.process(&hook),
                        Err(errors) => {
                            metrics::validation_failure();
                            return response::json(
                                StatusCode::UNPROCESSABLE_ENTITY,
                                errors.to_json(),
                            );
                        }
                    };
                    inner.answer(processed).await
                }))
            }
        };
        ResponseFuture { state, timer }
    }
}

/// Method, content type, content coding and declared length, checked before
/// any body byte is read; gives the length `Content-Length` declares, or the
/// refusal.
///
/// The fields are found in one pass over the head, each name compared with
/// the few wanted: hashing each wanted name into the map instead cost four
/// times as much.
#[expect(
    clippy::result_large_err,
    reason = "the refusal is moved once, into the future's state"
)]
fn check_head(
    method: &Method,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Option<u64>, Response<ResponseBody>> {
    if method != Method::POST && method != Method::PUT {
        let mut response = detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST, PUT"));
        return Err(response);
    }
    let (mut content_type, mut types, mut length) = (None, 0, None);
    let (mut transfer_ok, mut coding_ok) = (true, true);
    for (name, value) in headers {
        if *name == CONTENT_TYPE {
            types += 1;
            content_type.get_or_insert(value);
        } else if *name == CONTENT_LENGTH {
            length.get_or_insert_with(|| body::length(value));
        } else if *name == TRANSFER_ENCODING {
            transfer_ok &= only(value, "chunked");
        } else if *name == CONTENT_ENCODING {
            coding_ok &= only(value, "identity");
        }
    }
    if content_type.is_some_and(|value| !is_json(value)) {
        return Err(detail(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported Media Type: send application/json",
        ));
    }
    if types > 1 {
        return Err(detail(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported Media Type: send one Content-Type, application/json",
        ));
    }
    if !transfer_ok {
        // RFC 9112, 6.1 says 501; a 4xx tells Alertmanager not to send it again.
        return Err(detail(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported Transfer-Encoding: send the body uncompressed",
        ));
    }
    if !coding_ok {
        // RFC 9110, 15.5.16: 415, with the codings that would have been accepted.
        let mut response = detail(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported Content-Encoding: send the body uncompressed",
        );
        response
            .headers_mut()
            .insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        return Err(response);
    }
    let declared = length.flatten();
    if body::declared_too_large(headers, declared, limit) {
        return Err(body::too_large(limit));
    }
    Ok(declared)
}

/// Whether the codings listed in `value` (of `Content-Encoding` or
/// `Transfer-Encoding`) are all `coding`, if there are any. With no other
/// `Content-Encoding` than `identity` the body is not compressed (a
/// decompression layer in front of the receiver removes the header); with no
/// other `Transfer-Encoding` than `chunked`, which the server has decoded, the
/// body is as sent.
fn only(value: &HeaderValue, coding: &str) -> bool {
    value.to_str().is_ok_and(|codings| {
        codings
            .split(',')
            .map(str::trim)
            .all(|c| c.is_empty() || c.eq_ignore_ascii_case(coding))
    })
}

/// Once a body is known to be too large, up to this many more bytes are read
/// and discarded. A client that is still sending can then read the 413;
/// closing a socket with unread data makes the kernel reset the connection,
/// and the client sees a broken pipe instead of the answer. Nothing is
/// buffered while draining.
///
/// The 413 goes out as soon as the body is known to be too large: at once when
/// `Content-Length` says so (the whole declared body, up to the limit plus
/// this, is then drained), or once a chunked body has gone over the limit (this
/// much more is drained). The drain runs in a task of its own (feature `tokio`,
/// on a tokio runtime; elsewhere the answer waits for it), so a client that
/// waits for the answer, or stalls, gets it. A request that declares more than
/// the limit and asks `Expect: 100-continue` (curl does for bodies over 1 MiB),
/// or more than the limit plus this, is answered 413 unread: its body is never
/// asked for.
pub const DRAIN_LIMIT: u64 = 32 << 20;

/// `application/json` or `application/*+json`, with any parameters.
fn is_json(value: &HeaderValue) -> bool {
    // Visible ASCII only, then looked at byte by byte: on values this short,
    // `str`'s char searches cost more than the rest of the check.
    let Ok(value) = value.to_str().map(str::as_bytes) else {
        return false;
    };
    let params = value.iter().position(|&b| b == b';');
    let essence = value[..params.unwrap_or(value.len())].trim_ascii();
    let Some(slash) = essence.iter().position(|&b| b == b'/') else {
        return false;
    };
    let (kind, sub) = (&essence[..slash], &essence[slash + 1..]);
    kind.eq_ignore_ascii_case(b"application")
        && (sub.eq_ignore_ascii_case(b"json")
            || (sub.len() > 5 && sub[sub.len() - 5..].eq_ignore_ascii_case(b"+json")))
}

/// What is left once a notification's alerts are logged and emitted.
enum Processed {
    /// Nothing: this is the answer.
    Answer(Response<ResponseBody>),
    /// Acknowledged mode: `answer` once the sink has accepted `events`.
    #[cfg(feature = "tokio")]
    Acknowledge {
        events: Vec<Event>,
        claimed: Vec<Box<str>>,
        answer: Response<ResponseBody>,
    },
}

impl Inner {
    /// Logs, deduplicates and emits the alerts of a valid notification.
    fn process(&self, hook: &Webhook<'_>) -> Processed {
        let notification = log::Notification::of(hook);
        if hook.truncated_alerts > 0 {
            log::truncated(&notification, hook.truncated_alerts);
        }
        let mut events = Vec::with_capacity(if self.sink.is_some() {
            hook.alerts.len()
        } else {
            0
        });
        // The hook came from `validation::parse`.
        let mut writer = self
            .sink
            .as_ref()
            .map(|_| EventWriter::new(hook, true, hook.alerts.len()));
        // Every event repeats the receiver: a long one in many alerts would take far more
        // memory than the body (64 KiB × 12,000 alerts: 750 MiB from a 0.9 MB body).
        let repeated = writer.as_ref().map_or(0, |w| w.repeated_len());
        let events_limit = self.body_limit.saturating_mul(EVENTS_PER_BODY);
        if repeated.saturating_mul(hook.alerts.len()) > events_limit {
            tracing::warn!(target: TARGET, alerts = hook.alerts.len(), receiver_bytes = hook.receiver.len(),
                "notification refused: its events would repeat the receiver past {events_limit} bytes");
            return Processed::Answer(body::over_limit(
                "Payload Too Large: the receiver, repeated in the event of each alert, would take more than",
                events_limit,
            ));
        }
        let mut claimed = Vec::new();
        let mut duplicates = 0;
        for alert in &hook.alerts {
            let fields = Fields::of(alert);
            metrics::alert(alert.status, fields.severity_index);
            if let Some(cache) = &self.dedup {
                let key = dedup::key(alert);
                if !cache.claim(&key) {
                    duplicates += 1;
                    tracing::debug!(target: TARGET, fingerprint = &*escaped(&alert.fingerprint),
                        status = alert.status.as_str(), "duplicate alert suppressed");
                    continue;
                }
                // Only acknowledged mode gives keys back, when its delivery fails.
                if self.queue.is_none() {
                    claimed.push(key);
                }
            }
            log::alert(&notification, alert, &fields);
            if let Some(writer) = &mut writer {
                events.push(writer.event(alert, &fields));
            }
        }
        self.counters.duplicates(duplicates);
        let accepted = hook.alerts.len() - duplicates;
        let answer = Summary {
            received: hook.alerts.len(),
            duplicates: self.dedup.as_ref().map(|_| duplicates),
            receiver: &hook.receiver,
        }
        .to_response();
        if let (Some(queue), Some(sink)) = (&self.queue, &self.sink) {
            let lost = delivery::dispatch(queue, &**sink, &self.counters, events);
            if lost > 0 {
                self.counters.dropped(lost);
                tracing::warn!(target: TARGET, lost, receiver = &*escaped(&hook.receiver),
                    "delivery queue full: {lost} event(s) dropped");
            }
        } else if self.sink.is_none() {
            self.counters.dropped(accepted);
            tracing::debug!(target: TARGET, accepted, "no sink configured: events not emitted");
        } else {
            #[cfg(feature = "tokio")]
            return Processed::Acknowledge {
                events,
                claimed,
                answer,
            };
        }
        Processed::Answer(answer)
    }

    /// The answer, once acknowledged mode has had the sink accept the events.
    ///
    /// The acknowledgement's future (a timer and the sends, 368 bytes) is
    /// boxed: held in place, it made every request's future larger than glibc
    /// serves from its per-thread cache (1,128 bytes against 1,032 for the
    /// `hyper` example's body type), which cost each request a slower
    /// allocation. Only acknowledged mode pays for the box.
    async fn answer(&self, processed: Processed) -> Response<ResponseBody> {
        match processed {
            Processed::Answer(answer) => answer,
            #[cfg(feature = "tokio")]
            Processed::Acknowledge {
                events,
                claimed,
                answer,
            } => Box::pin(self.acknowledge(events, &claimed))
                .await
                .unwrap_or(answer),
        }
    }

    /// Acknowledged mode: delivers in order under one deadline; on failure,
    /// forgets the dedup keys of what was not delivered and returns the 503.
    #[cfg(feature = "tokio")]
    async fn acknowledge(
        &self,
        events: Vec<Event>,
        claimed: &[Box<str>],
    ) -> Option<Response<ResponseBody>> {
        let (Some(sink), Some(timeout)) = (&self.sink, self.ack_timeout) else {
            return None;
        };
        let mut owed = Owed {
            inner: self,
            claimed,
            total: events.len(),
            done: 0,
            settled: false,
        };
        let outcome =
            tokio::time::timeout(timeout, delivery::send_all(&**sink, events, &mut owed.done))
                .await;
        let undelivered = owed.settle();
        let error = match outcome {
            Ok(Ok(())) => return None,
            Ok(Err(error)) => error.to_string(),
            Err(_) => format!("no answer within {timeout:?}"),
        };
        tracing::warn!(target: TARGET, %error, undelivered,
            "sink did not accept the events; answering 503 so that the sender retries");
        Some(response::retry_later(
            "The alert sink is unavailable; retry later",
        ))
    }
}

/// What acknowledged mode owes for one request's events: `done` of `total`
/// delivered so far. Settled once delivery ends; dropped unsettled when the
/// request itself is cancelled (the sender's timeout, a client gone, a shorter
/// timeout layer), it settles then and says so.
#[cfg(feature = "tokio")]
struct Owed<'a> {
    inner: &'a Inner,
    /// The events' dedup keys, in order, when dedup is on.
    claimed: &'a [Box<str>],
    total: usize,
    done: usize,
    settled: bool,
}

#[cfg(feature = "tokio")]
impl Owed<'_> {
    /// Counts the delivered events and the others as failed, and forgets the
    /// others' dedup keys so that a retry delivers them. Returns how many failed.
    fn settle(&mut self) -> usize {
        self.settled = true;
        let undelivered = self.total - self.done;
        self.inner.counters.delivered(self.done);
        self.inner.counters.failed(undelivered);
        if let Some(cache) = &self.inner.dedup {
            self.claimed[self.done..]
                .iter()
                .for_each(|key| cache.release(key));
        }
        undelivered
    }
}

#[cfg(feature = "tokio")]
impl Drop for Owed<'_> {
    fn drop(&mut self) {
        if !self.settled {
            let undelivered = self.settle();
            tracing::warn!(target: TARGET, undelivered,
                "request cancelled before the sink accepted its events; a retry delivers them");
        }
    }
}

/// The future of [`AlertReceiver`]'s answer.
///
/// A panic while handling the request becomes a 500 answer here, and the
/// answer is counted in the [`metrics`](crate::metrics) when it is ready.
pub struct ResponseFuture {
    state: State,
    timer: Timer,
}

enum State {
    Ready(Option<Response<ResponseBody>>),
    Running(Pin<Box<dyn Future<Output = Response<ResponseBody>> + Send>>),
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

fn internal_error() -> Response<ResponseBody> {
    detail(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
}

impl Future for ResponseFuture {
    type Output = Result<Response<ResponseBody>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let response = match &mut self.state {
            State::Ready(response) => response.take().unwrap_or_else(internal_error),
            State::Running(fut) => match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
                Ok(Poll::Pending) => return Poll::Pending,
                Ok(Poll::Ready(response)) => response,
                Err(_) => {
                    tracing::error!(target: TARGET, "panic while handling a webhook; answering 500");
                    internal_error()
                }
            },
        };
        self.state = State::Ready(None);
        self.timer.finish(response.status());
        Poll::Ready(Ok(response))
    }
}
