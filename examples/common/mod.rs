//! What every example shares: listen address, logging, shutdown, the bearer
//! token, and a hyper server loop with client timeouts.
#![allow(dead_code)]

use std::cell::RefCell;
use std::future::Future;
use std::io::ErrorKind::{ConnectionAborted, ConnectionReset};
use std::io::{BufWriter, Write};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker, ready};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alertmanager_webhook::AlertReceiver;
use alertmanager_webhook::auth::{Auth, RequireAuth};
use alertmanager_webhook::log::{Escaped, TARGET};
use alertmanager_webhook::sink::{Sink, sink_fn};
use futures_util::task::AtomicWaker;
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::ServiceBuilder;
use tower::util::Either;
use tower::{BoxError, Service, ServiceExt};
use tracing::field::{Field, Visit};
use tracing::{Level, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields, format};
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::registry::LookupSpan;

/// Where the receiver is mounted.
pub const PATH: &str = "/api/webhooks/alerts";

/// Listens on the first argument, else `LISTEN_ADDR`, else `127.0.0.1:8000`
/// (a name such as `localhost:8000` is resolved). When it cannot, exits with a
/// message that names the address.
pub async fn listen() -> TcpListener {
    let raw = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("LISTEN_ADDR").ok())
        .unwrap_or_else(|| "127.0.0.1:8000".to_owned());
    match TcpListener::bind(raw.as_str()).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cannot listen on {raw:?}: {e}");
            std::process::exit(2)
        }
    }
}

/// Logs to stdout, filtered by `RUST_LOG` (default `info`), without colour when `NO_COLOR` is set.
///
/// Lines collect in a 64 KiB buffer written out when full and every 100 ms: one `write` per
/// batch instead of one per alert, and no thread woken per line. Keep the returned guard alive
/// until the end of `main`: dropping it writes out what is left.
pub fn init_tracing() -> LogGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let out = Arc::new(Stdout(Mutex::new(BufWriter::with_capacity(
        64 << 10,
        std::io::stdout(),
    ))));
    let flusher = out.clone();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(100));
            let _ = (&*flusher).flush();
        }
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(!no_color)
        // The receiver escapes every control character in its messages and
        // string fields (`log::Escaped`), and `PlainFields` in every other
        // value, so the subscriber's own pass over each message, char by
        // char, is redundant here: a third of the cost of a line.
        // Keep it on if other code logs untrusted text in its messages.
        .with_ansi_sanitization(false)
        // Fields as `name=value`, the default layout, without the default's
        // per-field styling calls; string fields unquoted, without going
        // through `core::fmt`; every value escaped.
        .fmt_fields(PlainFields)
        .event_format(Lines(format().with_timer(UtcMicros)))
        // Each line borrows the buffer (`&Stdout`): no reference count touched.
        .with_writer(out.clone())
        .init();
    LogGuard(out)
}

/// The default layout, `{time} {LEVEL} {target}: {message} {fields}`, put
/// together with plain string writes for the receiver's own lines when they
/// are uncoloured and outside any span. Every other line goes to the default
/// formatter (`.0`), with [`PlainFields`]: the same layout.
struct Lines(format::Format<format::Full, UtcMicros>);

impl<S, N> FormatEvent<S, N> for Lines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        if w.has_ansi_escapes() || meta.target() != TARGET || ctx.event_scope().is_some() {
            return self.0.format_event(ctx, w, event);
        }
        // The line is put together in a `String` of this thread's, then written
        // whole: a write through `Writer` costs a dynamic call, and a line has
        // about 30 pieces. (A field whose `Debug` logs finds the string taken.)
        let level = match *meta.level() {
            Level::ERROR => " ERROR ",
            Level::WARN => "  WARN ",
            Level::INFO => "  INFO ",
            Level::DEBUG => " DEBUG ",
            _ => " TRACE ",
        };
        let written = LINE.with(|line| {
            let mut line = line.try_borrow_mut().ok()?;
            line.clear();
            let mut result = UtcMicros.write_to(&mut *line);
            for piece in [level, TARGET, ": "] {
                line.push_str(piece);
            }
            // The receiver's strings come escaped (`log::alert`): written as they are.
            let mut fields = PlainVisitor::new(&mut *line, true);
            event.record(&mut fields);
            result = result.and(fields.result);
            line.push('\n');
            result = result.and_then(|()| w.write_str(&line));
            if line.capacity() > 64 << 10 {
                *line = String::new();
            }
            Some(result)
        });
        written.unwrap_or_else(|| self.0.format_event(ctx, w, event))
    }
}

thread_local! {
    /// The line [`Lines`] is putting together.
    static LINE: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Fields as `message name=value name=value`, as the default formatter lays
/// them out uncoloured. A string field (the receiver records its fields as
/// `&str`) is written unquoted, any other value by its `Debug`, each with its
/// control characters escaped ([`Escaped`]), so one line stays one line.
struct PlainFields;

impl<'w> FormatFields<'w> for PlainFields {
    fn format_fields<R: RecordFields>(&self, w: format::Writer<'w>, fields: R) -> std::fmt::Result {
        let mut visitor = PlainVisitor::new(w, false);
        fields.record(&mut visitor);
        visitor.result
    }
}

struct PlainVisitor<W> {
    w: W,
    result: std::fmt::Result,
    first: bool,
    /// Whether string values come escaped, as the receiver's do.
    escaped: bool,
}

impl<W: std::fmt::Write> PlainVisitor<W> {
    fn new(w: W, escaped: bool) -> Self {
        PlainVisitor {
            w,
            result: Ok(()),
            first: true,
            escaped,
        }
    }

    fn write(&mut self, field: &Field, value: impl FnOnce(&mut W) -> std::fmt::Result) {
        if self.result.is_err() {
            return;
        }
        let w = &mut self.w;
        if !std::mem::take(&mut self.first) {
            self.result = w.write_char(' ');
        }
        if field.name() != "message" {
            self.result = self.result.and_then(|()| w.write_str(field.name()));
            self.result = self.result.and_then(|()| w.write_char('='));
        }
        self.result = self.result.and_then(|()| value(w));
    }
}

impl<W: std::fmt::Write> Visit for PlainVisitor<W> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.escaped {
            self.write(field, |w| w.write_str(value));
        } else {
            self.write(field, |w| Escaped(value).write_to(w));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.write(field, |w| {
            std::fmt::Write::write_fmt(&mut Escaping(w), format_args!("{value:?}"))
        });
    }
}

/// Escapes what is written through it (an error's text, another crate's message).
struct Escaping<'w, W>(&'w mut W);

impl<W: std::fmt::Write> std::fmt::Write for Escaping<'_, W> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        Escaped(s).write_to(self.0)
    }
}

/// The default format's timestamp (`2026-01-17T12:22:56.068123Z`, UTC), written
/// digit by digit: the default's formatting calls cost as much as two fields.
/// Each thread keeps the text up to the second, made again when the second changes.
struct UtcMicros;

thread_local! {
    /// The second, and its text up to the fraction (`2026-01-17T12:22:56.`).
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

impl FormatTime for UtcMicros {
    fn format_time(&self, w: &mut format::Writer<'_>) -> std::fmt::Result {
        self.write_to(w)
    }
}

impl UtcMicros {
    fn write_to<W: std::fmt::Write + ?Sized>(&self, w: &mut W) -> std::fmt::Result {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        SECOND.with_borrow_mut(|(second, text)| {
            if *second != now.as_secs() {
                *second = now.as_secs();
                *text = date_time(now.as_secs());
            }
            w.write_str(text)
        })?;
        let mut micros = *b"000000Z";
        digits(&mut micros[..6], u64::from(now.subsec_micros()));
        w.write_str(std::str::from_utf8(&micros).map_err(|_| std::fmt::Error)?)
    }
}

/// `2026-01-17T12:22:56.` for a count of seconds since 1970-01-01 UTC.
fn date_time(secs: u64) -> String {
    let (days, secs) = (secs / 86_400, secs % 86_400);
    // The civil date of a day count since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let (era, doe) = (z / 146_097, z % 146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = era * 400 + yoe + u64::from(month <= 2);
    let mut buf = *b"0000-00-00T00:00:00.";
    let fields = [
        (0..4, year),
        (5..7, month),
        (8..10, doy - (153 * mp + 2) / 5 + 1),
        (11..13, secs / 3600),
        (14..16, secs / 60 % 60),
        (17..19, secs % 60),
    ];
    for (at, value) in fields {
        digits(&mut buf[at], value);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// Writes `value`'s last `out.len()` decimal digits into `out`.
fn digits(out: &mut [u8], mut value: u64) {
    for digit in out.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Shared, buffered stdout for the log lines.
pub struct Stdout(Mutex<BufWriter<std::io::Stdout>>);

impl Write for &Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut out = self.0.lock().unwrap_or_else(|e| e.into_inner());
        out.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).flush()
    }
}

/// Writes out the buffered log lines when dropped.
pub struct LogGuard(Arc<Stdout>);

impl Drop for LogGuard {
    fn drop(&mut self) {
        let _ = (&*self.0).flush();
    }
}

/// A sink that logs each event's JSON at DEBUG (`RUST_LOG=debug`).
pub fn debug_sink() -> impl Sink {
    sink_fn(|event| {
        tracing::debug!(json = %String::from_utf8_lossy(event.json()), "event");
        Ok(())
    })
}

/// After the server's graceful shutdown (its last request answered): waits, at most 5 s, for
/// the sink to take every event still queued, then logs the delivery counters. Without it,
/// events queued for a slow sink would end with the process, after their alerts got a 200.
pub async fn drain(receiver: &AlertReceiver) {
    let s = receiver.drain(Duration::from_secs(5)).await;
    tracing::info!(
        delivered = s.delivered,
        dropped = s.dropped,
        queued = s.queued,
        in_flight = s.in_flight,
        failed = s.failed,
        duplicates = s.duplicates,
        "receiver stats at shutdown"
    );
}

/// `service` behind the `WEBHOOK_BEARER_TOKEN` check when that variable is set.
pub fn guarded<S>(service: S) -> Either<RequireAuth<S>, S> {
    ServiceBuilder::new()
        .option_layer(bearer_from_env().map(Auth::layer))
        .service(service)
}

/// `WEBHOOK_BEARER_TOKEN`, if set, as the credential every request must carry.
pub fn bearer_from_env() -> Option<Auth> {
    let token = std::env::var("WEBHOOK_BEARER_TOKEN").ok()?;
    match Auth::bearer(token) {
        Ok(auth) => Some(auth),
        Err(e) => {
            eprintln!("WEBHOOK_BEARER_TOKEN: {e}");
            std::process::exit(2)
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

/// How long a client may take to send a request, so that a slow or stalled
/// client (slowloris) cannot hold a connection forever.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// For each request head, counted from when the connection opened or its
    /// previous answer was ready (an idle keep-alive connection too); then the
    /// connection is closed, unanswered ([`HeadClock`]).
    pub header: Duration,
    /// For the whole body, counted from when the head arrived; then reading
    /// the body fails and the receiver answers 503 (retry later).
    pub body: Duration,
}

impl Timeouts {
    /// `HEADER_READ_TIMEOUT_SECS` and `BODY_READ_TIMEOUT_SECS` (whole seconds, 1 to 86400), 10 s each by default.
    pub fn from_env() -> Self {
        Timeouts {
            header: secs_from_env("HEADER_READ_TIMEOUT_SECS", 10),
            body: secs_from_env("BODY_READ_TIMEOUT_SECS", 10),
        }
    }
}

fn secs_from_env(name: &str, default: u64) -> Duration {
    let Ok(raw) = std::env::var(name) else {
        return Duration::from_secs(default);
    };
    // Up to a day: a deadline is an `Instant` plus this, which must not overflow.
    match raw.parse::<u64>() {
        Ok(secs) if (1..=86_400).contains(&secs) => Duration::from_secs(secs),
        _ => {
            eprintln!("{name}: expected a number of seconds from 1 to 86400, got {raw:?}");
            std::process::exit(2)
        }
    }
}

/// A request body that fails once `deadline` has passed, however slowly it trickles in.
///
/// (tower-http's `TimeoutBody` restarts its clock at every frame, so one byte
/// a second would hold it open forever.)
///
/// The deadline is checked whenever the body has to wait for the client. Its
/// timer is made the first time that happens: a small body that came with its
/// head, as almost every notification does, never touches the timer wheel.
pub struct DeadlineBody<B> {
    body: B,
    timeout: Duration,
    /// Set once the body may be read: at once, or when its turn comes.
    deadline: Option<tokio::time::Instant>,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    turn: Option<Turn>,
}

/// A large body's turn (see [`LARGE_AT_ONCE`]), asked for when the body is
/// first read, so that a request refused on its head alone (405, 415, 401,
/// 404, a declared 413) never waits for one. The permit goes to `held`, which
/// the request's answer keeps until it is ready. `asking` gives `None` when no
/// turn came within [`TURN_WAIT`].
struct Turn {
    asking: Pin<Box<dyn Future<Output = Option<OwnedSemaphorePermit>> + Send + Sync>>,
    held: Arc<Mutex<Option<OwnedSemaphorePermit>>>,
}

impl<B> DeadlineBody<B> {
    /// `body`, readable for `timeout` from now.
    pub fn new(body: B, timeout: Duration) -> Self {
        DeadlineBody {
            body,
            timeout,
            deadline: Some(tokio::time::Instant::now() + timeout),
            timer: None,
            turn: None,
        }
    }

    /// `body`, readable for `timeout` from when it gets one of `turns`, which
    /// then stays in `held`.
    fn in_turn(
        body: B,
        timeout: Duration,
        turns: Arc<Semaphore>,
        held: Arc<Mutex<Option<OwnedSemaphorePermit>>>,
    ) -> Self {
        let asking = Box::pin(async move {
            let turn = tokio::time::timeout(TURN_WAIT, turns.acquire_owned()).await;
            turn.ok().and_then(Result::ok)
        });
        DeadlineBody {
            body,
            timeout,
            deadline: None,
            timer: None,
            turn: Some(Turn { asking, held }),
        }
    }
}

impl<B> Body for DeadlineBody<B>
where
    B: Body + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, BoxError>>> {
        let this = &mut *self;
        if let Some(turn) = &mut this.turn {
            let permit = ready!(turn.asking.as_mut().poll(cx));
            let Some(permit) = permit else {
                // Failed for good: later polls find the deadline passed.
                this.turn = None;
                this.timer = Some(Box::pin(tokio::time::sleep_until(
                    tokio::time::Instant::now(),
                )));
                // The receiver answers a body that failed to arrive with 503 and `Retry-After`.
                let busy = "no turn to read a large body: too many at once";
                return Poll::Ready(Some(Err(busy.into())));
            };
            *turn.held.lock().unwrap_or_else(|e| e.into_inner()) = Some(permit);
            this.turn = None;
            this.deadline = Some(tokio::time::Instant::now() + this.timeout);
        }
        let late = || Poll::Ready(Some(Err("the request body did not arrive in time".into())));
        if let Some(timer) = &mut this.timer {
            if timer.as_mut().poll(cx).is_ready() {
                return late();
            }
        }
        if let Poll::Ready(frame) = Pin::new(&mut this.body).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if let (None, Some(deadline)) = (&this.timer, this.deadline) {
            let timer = this
                .timer
                .insert(Box::pin(tokio::time::sleep_until(deadline)));
            if timer.as_mut().poll(cx).is_ready() {
                return late();
            }
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// When a connection started to wait for its next request head: when it
/// opened, then each time an answer is ready. The header read timeout counts
/// from there. One timer per connection, set again only when it fires early,
/// instead of one made, registered and removed per request (hyper's
/// `header_read_timeout`, which cost the `hyper` example 630 of its 42,061
/// instructions per 1-alert request).
pub struct HeadClock {
    start: tokio::time::Instant,
    /// Milliseconds from `start` to when the wait began, or [`HeadClock::BUSY`].
    since: AtomicU64,
}

impl HeadClock {
    /// A request is being answered: no head is awaited.
    const BUSY: u64 = u64::MAX;

    /// A clock for a connection that opens now and waits for its first head.
    pub fn new() -> Self {
        HeadClock {
            start: tokio::time::Instant::now(),
            since: AtomicU64::new(0),
        }
    }

    /// A request head has arrived.
    pub fn busy(&self) {
        self.since.store(Self::BUSY, Ordering::Relaxed);
    }

    /// The answer is ready: the next head is awaited from now.
    pub fn waiting(&self) {
        let since = self.start.elapsed().as_millis() as u64;
        self.since.store(since, Ordering::Relaxed);
    }

    /// Resolves once the connection has waited `timeout` for a head.
    pub async fn expired(&self, timeout: Duration) {
        let mut check = self.start + timeout;
        loop {
            tokio::time::sleep_until(check).await;
            check = match self.since.load(Ordering::Relaxed) {
                // Answering: look again a whole timeout later.
                Self::BUSY => tokio::time::Instant::now() + timeout,
                since => self.start + Duration::from_millis(since) + timeout,
            };
            if check <= tokio::time::Instant::now() {
                return;
            }
        }
    }
}

/// Why a connection stops before it ends by itself.
enum Stop {
    /// No request head within the header read timeout ([`HeadClock`]).
    Expired,
    /// The server is shutting down.
    Stopping,
}

/// `conn`'s output (`Ok`), unless `guard` resolves first (`Err`).
///
/// Unlike a `select!`, which polls every branch at every wake, `guard` is
/// polled at the start and then only when its own waker has fired, never on
/// the connection's reads and writes. Polled at each of those, a timer and
/// the shutdown signal cost the `hyper` example 850 of its 41,200 instructions
/// per 1-alert request.
struct Until<C, G> {
    conn: C,
    guard: G,
    signal: Arc<GuardSignal>,
    /// `signal` as a waker, for polling `guard`.
    waker: Waker,
}

/// Set when `guard`'s waker fires; wakes the connection's task in turn.
struct GuardSignal {
    fired: AtomicBool,
    task: AtomicWaker,
}

impl Wake for GuardSignal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.fired.store(true, Ordering::Release);
        self.task.wake();
    }
}

impl<C, G> Until<C, G> {
    /// Runs `conn` until it ends or `guard` resolves.
    fn new(conn: C, guard: G) -> Self {
        let signal = Arc::new(GuardSignal {
            // So that the first poll polls `guard` too.
            fired: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        let waker = Waker::from(signal.clone());
        Until {
            conn,
            guard,
            signal,
            waker,
        }
    }
}

impl<C: Future + Unpin, G: Future + Unpin> Future for Until<C, G> {
    type Output = Result<C::Output, G::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.signal.task.register(cx.waker());
        if this.signal.fired.swap(false, Ordering::AcqRel) {
            let mut guard_cx = Context::from_waker(&this.waker);
            if let Poll::Ready(stop) = Pin::new(&mut this.guard).poll(&mut guard_cx) {
                return Poll::Ready(Err(stop));
            }
        }
        Pin::new(&mut this.conn).poll(cx).map(Ok)
    }
}

/// A connection whose own error answers are JSON.
///
/// hyper answers a request it cannot parse (bad framing: 400; a URI over
/// 64 KiB: 414; headers over `max_buf_size`: 431) by itself, before any
/// service sees it, with an empty body and no hook to change that: a head of
/// `HTTP/1.x 4xx`, then `connection: close` (absent after an HTTP/1.0
/// keep-alive exchange), `content-length: 0` and `date`, nothing else. This
/// writes such answers with the body `{"detail":"<reason phrase>"}` instead.
/// Every service behind [`serve`] gives its own 4xx answers a content type, so
/// none of them has that shape (a bodiless one to a `HEAD` must stay so).
pub struct JsonErrors<T> {
    io: T,
    /// The rewritten answer, and how much of it is written.
    rewritten: Option<(Vec<u8>, usize)>,
}

impl<T> JsonErrors<T> {
    /// Wraps a connection.
    pub fn new(io: T) -> Self {
        JsonErrors {
            io,
            rewritten: None,
        }
    }
}

/// `head` as JSON, if it is one of hyper's own bodiless error answers.
fn json_error(head: &[u8]) -> Option<Vec<u8>> {
    let (version, rest) = head.split_at_checked(9)?;
    if !matches!(version, b"HTTP/1.1 " | b"HTTP/1.0 ") || rest.first() != Some(&b'4') {
        return None;
    }
    let (status_line, headers) = std::str::from_utf8(rest).ok()?.split_once("\r\n")?;
    let date = headers
        .strip_prefix("connection: close\r\n")
        .unwrap_or(headers);
    let date = date.strip_prefix("content-length: 0\r\ndate: ")?;
    // One line, the date, and the blank line that ends the head.
    if !date.ends_with("\r\n\r\n") || date.find("\r\n") != Some(date.len() - 4) {
        return None;
    }
    // `431 Request Header Fields Too Large`: the reason phrase after the code.
    let body = format!(r#"{{"detail":"{}"}}"#, status_line.get(4..)?);
    let length = format!(
        "content-type: application/json\r\ncontent-length: {}\r\n",
        body.len()
    );
    let headers = headers.replacen("content-length: 0\r\n", &length, 1);
    Some(
        [
            version,
            status_line.as_bytes(),
            b"\r\n",
            headers.as_bytes(),
            body.as_bytes(),
        ]
        .concat(),
    )
}

impl<T: tokio::io::AsyncWrite + Unpin> JsonErrors<T> {
    /// Writes the rest of the rewritten answer; then the `consumed` bytes
    /// hyper gave count as written.
    fn poll_rewritten(
        &mut self,
        cx: &mut Context<'_>,
        consumed: usize,
    ) -> Poll<std::io::Result<usize>> {
        if let Some((answer, written)) = &mut self.rewritten {
            while *written < answer.len() {
                let n = ready!(Pin::new(&mut self.io).poll_write(cx, &answer[*written..]))?;
                if n == 0 {
                    return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
                }
                *written += n;
            }
        }
        self.rewritten = None;
        Poll::Ready(Ok(consumed))
    }
}

impl<T: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for JsonErrors<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for JsonErrors<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.rewritten.is_none() {
            match json_error(buf) {
                Some(answer) => self.rewritten = Some((answer, 0)),
                None => return Pin::new(&mut self.io).poll_write(cx, buf),
            }
        }
        self.poll_rewritten(cx, buf.len())
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        // hyper writes a bodiless answer as one slice: `poll_write` looks at it.
        let mut written = bufs.iter().filter(|b| !b.is_empty());
        match (written.next(), written.next()) {
            (Some(one), None) => self.poll_write(cx, one),
            _ => Pin::new(&mut self.io).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// How many requests with a body over [`LARGE_BODY`] bytes, or of unknown
/// length, are read and answered at once; the others wait, their bytes still in
/// the kernel's socket buffers. Smaller requests never wait. With 32 clients
/// each sending 1000-alert (0.6 MB) notifications this halves the peak RSS.
/// A client holds its turn at most `BODY_READ_TIMEOUT_SECS` (the body deadline
/// starts with the turn), so slow clients can delay large notifications, never
/// small ones. A large body that gets no turn within [`TURN_WAIT`] is answered
/// 503 with `Retry-After`, well before a sender would give up waiting.
pub const LARGE_AT_ONCE: usize = 8;

/// See [`LARGE_AT_ONCE`].
pub const TURN_WAIT: Duration = Duration::from_secs(5);

/// See [`LARGE_AT_ONCE`].
pub const LARGE_BODY: u64 = 64 << 10;

/// Serves `service` over HTTP/1.1 until `shutdown` resolves, then lets open
/// connections finish for up to 10 s. Each request body is a [`DeadlineBody`],
/// whose clock starts once the request may be read (see [`LARGE_AT_ONCE`]).
/// A request head may take more than 64 KiB (`max_buf_size`), as hyper checks
/// that limit between reads: a 112 KiB head sent at once passed in one test,
/// a 300 KiB one got 431. What hyper refuses by itself is answered in JSON
/// too ([`JsonErrors`]).
pub async fn serve<S, B>(
    listener: TcpListener,
    service: S,
    timeouts: Timeouts,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    S: Service<Request<DeadlineBody<Incoming>>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let turns = Arc::new(Semaphore::new(LARGE_AT_ONCE));
    // One connection's service: `service`, with each body a `DeadlineBody`,
    // keeping `clock` told whether the connection waits for a request head.
    let app = move |clock: Arc<HeadClock>| {
        let (service, turns) = (service.clone(), turns.clone());
        hyper::service::service_fn(move |request: Request<Incoming>| {
            clock.busy();
            let service = service.clone();
            let large = request
                .body()
                .size_hint()
                .upper()
                .is_none_or(|n| n > LARGE_BODY);
            let held: Option<Arc<Mutex<_>>> = large.then(Arc::default);
            let request = request.map(|body| match &held {
                Some(held) => {
                    DeadlineBody::in_turn(body, timeouts.body, turns.clone(), held.clone())
                }
                None => DeadlineBody::new(body, timeouts.body),
            });
            let clock = clock.clone();
            async move {
                // The body's turn, if it took one, is kept until the answer is ready.
                let _turn = held;
                let answer = service.oneshot(request).await;
                clock.waiting();
                answer
            }
        })
    };
    // Each connection task ends its connection gracefully once `stop` changes.
    let (stop, stopping) = tokio::sync::watch::channel(());
    let mut connections = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    // One connection that failed before it was accepted: nothing to do.
                    Err(e) if matches!(e.kind(), ConnectionAborted | ConnectionReset) => continue,
                    // Out of file descriptors, or the like: wait instead of spinning.
                    Err(error) => {
                        tracing::warn!(%error, "cannot accept connections; trying again in 1 s");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                let clock = Arc::new(HeadClock::new());
                let conn = http1::Builder::new()
                    .max_buf_size(64 << 10)
                    // Answers are a few hundred bytes: one copy into one buffer and
                    // one `write` cost less than a vectored write of head and body
                    // (1-alert request, `hyper` example, callgrind: 38,259 -> 37,887).
                    .writev(false)
                    // A client may shut its side once its request is sent
                    // (`nc -N`): answer it, instead of dropping the request.
                    .half_close(true)
                    .serve_connection(TokioIo::new(JsonErrors::new(stream)), app(clock.clone()))
                    .with_upgrades();
                let mut stopping = stopping.clone();
                connections.spawn(async move {
                    let mut conn = std::pin::pin!(conn);
                    let guard = std::pin::pin!(async {
                        tokio::select! {
                            () = clock.expired(timeouts.header) => Stop::Expired,
                            _ = stopping.changed() => Stop::Stopping,
                        }
                    });
                    let until = Until::new(conn.as_mut(), guard).await;
                    let ended = match until {
                        Ok(ended) => ended,
                        // Dropping the connection closes it, unanswered.
                        Err(Stop::Expired) => return,
                        Err(Stop::Stopping) => {
                            conn.as_mut().graceful_shutdown();
                            conn.await
                        }
                    };
                    if let Err(error) = ended {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = &mut shutdown => break,
        }
    }
    // No new connections: the kernel refuses them from now on.
    drop(listener);
    let _ = stop.send(());
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(10), drained)
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            "connections still open after 10 s: closing them"
        );
    }
    Ok(())
}
