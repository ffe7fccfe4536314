//! Where events go: the [`Sink`] trait and the built-in sinks.
//!
//! Implement [`Sink`] with an `async fn`:
//!
//! ```
//! use alertmanager_webhook::sink::{Sink, SinkError};
//! use alertmanager_webhook::Event;
//!
//! struct Stdout;
//!
//! impl Sink for Stdout {
//!     async fn send(&self, event: Event) -> Result<(), SinkError> {
//!         println!("{}", String::from_utf8_lossy(event.json()));
//!         Ok(())
//!     }
//! }
//! ```
//!
//! Built in: [`NoSink`], [`sink_fn`], [`FanOut`], and with the `tokio` feature
//! `BroadcastSink` and `MpscSink`. [`BoxSink`] is the type-erased form.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::Event;

/// The error type of [`tower`]-style boxed errors.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// A sink could not take an event.
///
/// ```
/// use alertmanager_webhook::sink::SinkError;
/// let err = SinkError::new("redis is down");
/// assert_eq!(err.to_string(), "redis is down");
/// ```
#[derive(Debug)]
pub struct SinkError(BoxError);

impl SinkError {
    /// Wraps any error or message.
    ///
    /// ```
    /// use alertmanager_webhook::sink::SinkError;
    /// let err = SinkError::new(std::io::Error::other("closed"));
    /// assert_eq!(err.to_string(), "closed");
    /// ```
    pub fn new(error: impl Into<BoxError>) -> Self {
        SinkError(error.into())
    }
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl StdError for SinkError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

/// Receives every event the receiver emits.
///
/// `send` is awaited by the delivery worker (or, in acknowledged mode, by the
/// request itself, under a timeout). An error or a panic counts the event as
/// failed; the service keeps running.
///
/// ```
/// use alertmanager_webhook::sink::{Sink, SinkError};
/// use alertmanager_webhook::Event;
/// use std::sync::Mutex;
///
/// #[derive(Default)]
/// struct Recorder(Mutex<Vec<Event>>);
///
/// impl Sink for Recorder {
///     async fn send(&self, event: Event) -> Result<(), SinkError> {
///         self.0.lock().map_err(|_| SinkError::new("poisoned"))?.push(event);
///         Ok(())
///     }
/// }
/// ```
pub trait Sink: Send + Sync + 'static {
    /// Accepts one event; resolves once it is delivered or has failed.
    fn send(&self, event: Event) -> impl Future<Output = Result<(), SinkError>> + Send;

    /// Takes `event` at once, if this sink can without waiting (a channel
    /// send, a closure): `Ok` with the outcome. `Err` hands the event back, and
    /// it goes to [`send`](Sink::send) (through the delivery queue in the
    /// default mode); that is the default. `Ok(Err(_))` is a failure, as if
    /// `send` had returned it: a sink that is only busy hands the event back.
    ///
    /// In the default mode the receiver tries this first whenever nothing is
    /// waiting in its queue, so such sinks get each event on the request's own
    /// thread, with no task woken and no queue to overflow. In acknowledged
    /// mode it tries this first for each event, and awaits `send` only for
    /// those handed back.
    ///
    /// ```
    /// use alertmanager_webhook::sink::{Sink, SinkError};
    /// use alertmanager_webhook::Event;
    ///
    /// struct Counter(std::sync::atomic::AtomicUsize);
    ///
    /// impl Sink for Counter {
    ///     async fn send(&self, event: Event) -> Result<(), SinkError> {
    ///         self.try_send(event).unwrap_or(Ok(()))
    ///     }
    ///     fn try_send(&self, _: Event) -> Result<Result<(), SinkError>, Event> {
    ///         self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    ///         Ok(Ok(()))
    ///     }
    /// }
    /// ```
    fn try_send(&self, event: Event) -> Result<Result<(), SinkError>, Event> {
        Err(event)
    }
}

/// A boxed future of a [`DynSink`].
pub type SinkFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SinkError>> + Send + 'a>>;

/// The object-safe form of [`Sink`], implemented for every `Sink`.
///
/// ```
/// use alertmanager_webhook::sink::{BoxSink, NoSink};
/// let sinks: Vec<BoxSink> = vec![Box::new(NoSink), Box::new(NoSink)];
/// assert_eq!(sinks.len(), 2);
/// ```
pub trait DynSink: Send + Sync + 'static {
    /// [`Sink::send`], boxed.
    fn send_boxed(&self, event: Event) -> SinkFuture<'_>;

    /// [`Sink::try_send`].
    fn try_send_dyn(&self, event: Event) -> Result<Result<(), SinkError>, Event>;
}

impl<S: Sink> DynSink for S {
    fn send_boxed(&self, event: Event) -> SinkFuture<'_> {
        Box::pin(self.send(event))
    }

    fn try_send_dyn(&self, event: Event) -> Result<Result<(), SinkError>, Event> {
        self.try_send(event)
    }
}

/// A type-erased sink.
pub type BoxSink = Box<dyn DynSink>;

impl Sink for BoxSink {
    fn send(&self, event: Event) -> impl Future<Output = Result<(), SinkError>> + Send {
        (**self).send_boxed(event)
    }

    fn try_send(&self, event: Event) -> Result<Result<(), SinkError>, Event> {
        (**self).try_send_dyn(event)
    }
}

impl Sink for Arc<dyn DynSink> {
    fn send(&self, event: Event) -> impl Future<Output = Result<(), SinkError>> + Send {
        (**self).send_boxed(event)
    }

    fn try_send(&self, event: Event) -> Result<Result<(), SinkError>, Event> {
        (**self).try_send_dyn(event)
    }
}

impl<S: Sink> Sink for Arc<S> {
    fn send(&self, event: Event) -> impl Future<Output = Result<(), SinkError>> + Send {
        (**self).send(event)
    }

    fn try_send(&self, event: Event) -> Result<Result<(), SinkError>, Event> {
        (**self).try_send(event)
    }
}

/// Accepts and discards every event (they count as delivered).
///
/// Without any sink configured the receiver builds no events at all and counts
/// them as dropped; use `NoSink` where a sink type is required.
///
/// ```
/// use alertmanager_webhook::{sink::NoSink, AlertReceiver};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let receiver = AlertReceiver::builder().sink(NoSink).build();
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct NoSink;

impl Sink for NoSink {
    async fn send(&self, _event: Event) -> Result<(), SinkError> {
        Ok(())
    }

    fn try_send(&self, _event: Event) -> Result<Result<(), SinkError>, Event> {
        Ok(Ok(()))
    }
}

/// A sink made of a synchronous closure; see [`sink_fn`].
#[derive(Clone)]
pub struct FnSink<F>(F);

/// Makes a sink of a closure that handles one event synchronously.
///
/// ```
/// use alertmanager_webhook::sink::sink_fn;
/// let sink = sink_fn(|event| {
///     tracing::debug!(json = %String::from_utf8_lossy(event.json()), "event");
///     Ok(())
/// });
/// ```
pub fn sink_fn<F>(f: F) -> FnSink<F>
where
    F: Fn(Event) -> Result<(), SinkError> + Send + Sync + 'static,
{
    FnSink(f)
}

impl<F> Sink for FnSink<F>
where
    F: Fn(Event) -> Result<(), SinkError> + Send + Sync + 'static,
{
    fn send(&self, event: Event) -> impl Future<Output = Result<(), SinkError>> + Send {
        std::future::ready((self.0)(event))
    }

    fn try_send(&self, event: Event) -> Result<Result<(), SinkError>, Event> {
        Ok((self.0)(event))
    }
}

/// Sends every event to several sinks in turn.
///
/// Each sink gets every event, even when an earlier one failed or panicked;
/// the result is the first error, if any (a panic counts as an error).
///
/// ```
/// use alertmanager_webhook::sink::{sink_fn, FanOut, NoSink};
/// let sink = FanOut::new().with(NoSink).with(sink_fn(|_| Ok(())));
/// ```
#[derive(Default)]
pub struct FanOut(Vec<BoxSink>);

impl FanOut {
    /// An empty fan-out.
    ///
    /// ```
    /// let sink = alertmanager_webhook::sink::FanOut::new();
    /// ```
    pub fn new() -> Self {
        FanOut(Vec::new())
    }

    /// Adds a sink.
    ///
    /// ```
    /// use alertmanager_webhook::sink::{FanOut, NoSink};
    /// let sink = FanOut::new().with(NoSink);
    /// ```
    pub fn with(mut self, sink: impl Sink) -> Self {
        self.0.push(Box::new(sink));
        self
    }
}

impl Sink for FanOut {
    async fn send(&self, event: Event) -> Result<(), SinkError> {
        let mut result = Ok(());
        for sink in &self.0 {
            let sent = crate::delivery::send(&**sink, event.clone()).await;
            if result.is_ok() {
                result = sent;
            }
        }
        result
    }
}

#[cfg(feature = "tokio")]
pub use self::channels::{BroadcastSink, MpscSink};

#[cfg(feature = "tokio")]
mod channels {
    use super::{Sink, SinkError};
    use crate::Event;
    use tokio::sync::{broadcast, mpsc};

    /// Broadcasts every event to all subscribers of a `tokio::sync::broadcast` channel.
    ///
    /// Subscribers share one copy of each event's JSON. Sending never waits; a
    /// slow subscriber lags and skips events instead of holding others back.
    /// With no subscriber the event counts as delivered (to nobody).
    ///
    /// ```
    /// use alertmanager_webhook::sink::BroadcastSink;
    /// let (tx, mut rx) = tokio::sync::broadcast::channel(1024);
    /// let sink = BroadcastSink::new(tx);
    /// ```
    #[derive(Clone, Debug)]
    pub struct BroadcastSink(broadcast::Sender<Event>);

    impl BroadcastSink {
        /// Wraps the sending half of a broadcast channel.
        ///
        /// ```
        /// let (tx, _rx) = tokio::sync::broadcast::channel(16);
        /// let sink = alertmanager_webhook::sink::BroadcastSink::new(tx);
        /// ```
        pub fn new(sender: broadcast::Sender<Event>) -> Self {
            BroadcastSink(sender)
        }

        /// A new receiver of the channel.
        ///
        /// ```
        /// let (tx, _rx) = tokio::sync::broadcast::channel(16);
        /// let sink = alertmanager_webhook::sink::BroadcastSink::new(tx);
        /// let rx = sink.subscribe();
        /// ```
        pub fn subscribe(&self) -> broadcast::Receiver<Event> {
            self.0.subscribe()
        }
    }

    impl Sink for BroadcastSink {
        async fn send(&self, event: Event) -> Result<(), SinkError> {
            self.try_send(event).unwrap_or(Ok(()))
        }

        fn try_send(&self, event: Event) -> Result<Result<(), SinkError>, Event> {
            // An error here only means that nobody is subscribed right now.
            let _ = self.0.send(event);
            Ok(Ok(()))
        }
    }

    /// Sends every event into a bounded `tokio::sync::mpsc` channel, waiting for room.
    ///
    /// The wait happens in the delivery worker (or under the acknowledged-mode
    /// timeout), never in the answer. A closed channel is an error.
    ///
    /// ```
    /// use alertmanager_webhook::sink::MpscSink;
    /// let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    /// let sink = MpscSink::new(tx);
    /// ```
    #[derive(Clone, Debug)]
    pub struct MpscSink(mpsc::Sender<Event>);

    impl MpscSink {
        /// Wraps the sending half of an mpsc channel.
        ///
        /// ```
        /// let (tx, _rx) = tokio::sync::mpsc::channel(16);
        /// let sink = alertmanager_webhook::sink::MpscSink::new(tx);
        /// ```
        pub fn new(sender: mpsc::Sender<Event>) -> Self {
            MpscSink(sender)
        }
    }

    impl Sink for MpscSink {
        async fn send(&self, event: Event) -> Result<(), SinkError> {
            self.0
                .send(event)
                .await
                .map_err(|_| SinkError::new("the mpsc receiver was dropped"))
        }

        fn try_send(&self, event: Event) -> Result<Result<(), SinkError>, Event> {
            match self.0.try_send(event) {
                Ok(()) => Ok(Ok(())),
                // No room now: the queue keeps it and `send` waits for room.
                Err(mpsc::error::TrySendError::Full(event)) => Err(event),
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    Ok(Err(SinkError::new("the mpsc receiver was dropped")))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use futures_util::FutureExt;

    use super::*;

    struct Panicking;

    impl Sink for Panicking {
        async fn send(&self, _: Event) -> Result<(), SinkError> {
            panic!("sink exploded")
        }
    }

    #[test]
    fn fan_out_reaches_every_sink_past_a_panicking_one() {
        let got = Arc::new(Mutex::new(0));
        let seen = got.clone();
        let sink = FanOut::new().with(Panicking).with(sink_fn(move |_| {
            *seen.lock().unwrap() += 1;
            Ok(())
        }));
        let json = r#"{"type":"infrastructure_alert","data":{"status":"firing","fingerprint":"f","started_at":"2026-01-17T12:22:56Z"}}"#;
        let event = Event::from_json(json).unwrap();
        let result = sink
            .send(event)
            .now_or_never()
            .expect("no await in these sinks");
        assert_eq!(result.unwrap_err().to_string(), "the sink panicked");
        assert_eq!(*got.lock().unwrap(), 1);
    }
}
