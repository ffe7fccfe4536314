//! Delivery off the response path: a bounded queue drained by one worker.

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};

use crate::Event;
use crate::log::{TARGET, escaped};
use crate::metrics;
#[cfg(feature = "tokio")]
use crate::sink::SinkFuture;
use crate::sink::{DynSink, Sink, SinkError};

/// Counters shared by the receiver and its worker.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) delivered: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) duplicates: AtomicU64,
}

/// A snapshot of the receiver's delivery counters.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let receiver = alertmanager_webhook::AlertReceiver::builder().build();
/// let stats = receiver.stats();
/// assert_eq!((stats.delivered, stats.dropped, stats.failed, stats.queued), (0, 0, 0, 0));
/// assert_eq!(stats.in_flight, 0);
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Events the sink accepted.
    pub delivered: u64,
    /// Events never handed to a sink: the queue was full, or no sink was set.
    pub dropped: u64,
    /// Events not delivered: the sink refused one, panicked, or did not take
    /// it in time. In acknowledged mode the rest of a refused request's events
    /// are not offered and count here too, and so does a cancelled request's;
    /// a retried notification counts again.
    pub failed: u64,
    /// Alerts suppressed as duplicates by [`Dedup`](crate::Dedup).
    pub duplicates: u64,
    /// Events waiting in the queue now.
    pub queued: usize,
    /// Events the sink is taking from the queue now: 0 or 1.
    pub in_flight: usize,
}

/// Each bumps its counter and the matching [`metrics`](crate::metrics) counter.
impl Counters {
    pub(crate) fn delivered(&self, n: usize) {
        self.delivered.fetch_add(n as u64, Relaxed);
        metrics::delivered(n);
    }

    pub(crate) fn dropped(&self, n: usize) {
        self.dropped.fetch_add(n as u64, Relaxed);
        metrics::dropped(n);
    }

    pub(crate) fn failed(&self, n: usize) {
        self.failed.fetch_add(n as u64, Relaxed);
        metrics::failed(n);
    }

    /// Counts one delivery's outcome; a failure is logged, since that event is
    /// lost, with the alert's fingerprint and status when `event` is known.
    fn record(&self, outcome: Result<(), SinkError>, event: Option<&Event>) {
        match outcome {
            Ok(()) => self.delivered(1),
            Err(error) => {
                self.failed(1);
                let fingerprint = event.map(|e| escaped(e.fingerprint()));
                tracing::warn!(target: TARGET, %error, fingerprint = fingerprint.as_deref(),
                    status = event.map(|e| e.status().as_str()),
                    "sink failed to take an event; it is not retried");
            }
        }
    }

    pub(crate) fn duplicates(&self, n: usize) {
        self.duplicates.fetch_add(n as u64, Relaxed);
        metrics::duplicates(n);
    }
}

struct State {
    events: VecDeque<Event>,
    /// The worker holds an event it is delivering.
    busy: bool,
    waker: Option<Waker>,
    closed: bool,
}

/// The bounded queue between the service and the worker.
pub(crate) struct Queue {
    state: Mutex<State>,
    capacity: usize,
}

impl Queue {
    pub(crate) fn new(capacity: usize) -> Self {
        Queue {
            state: Mutex::new(State {
                events: VecDeque::new(),
                busy: false,
                waker: None,
                closed: false,
            }),
            capacity,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; recover the data if it ever did.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Enqueues what fits; returns how many events did not fit.
    pub(crate) fn push(&self, events: impl Iterator<Item = Event>) -> usize {
        let mut state = self.lock();
        let (before, mut lost) = (state.events.len(), 0);
        for event in events {
            if state.events.len() < self.capacity {
                state.events.push_back(event);
            } else {
                lost += 1;
            }
        }
        let pushed = state.events.len() - before;
        metrics::queued(pushed as isize);
        // Wake the worker only for work: a request whose events all went
        // straight to the sink must not cost a task wake-up.
        let waker = if pushed > 0 { state.waker.take() } else { None };
        drop(state);
        if let Some(w) = waker {
            w.wake();
        }
        lost
    }

    /// The worker is delivering an event.
    pub(crate) fn busy(&self) -> bool {
        self.lock().busy
    }

    /// Nothing is waiting or being delivered: an event handed over now keeps its order.
    pub(crate) fn is_idle(&self) -> bool {
        let state = self.lock();
        state.events.is_empty() && !state.busy
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().events.len()
    }

    /// Empties the queue; returns how many events it held.
    pub(crate) fn clear(&self) -> usize {
        let queued = {
            let mut state = self.lock();
            let queued = state.events.len();
            state.events.clear();
            queued
        };
        metrics::queued(-(queued as isize));
        queued
    }

    pub(crate) fn close(&self) {
        let waker = {
            let mut state = self.lock();
            state.closed = true;
            state.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    async fn next(&self) -> Option<Event> {
        poll_fn(|cx| {
            let mut state = self.lock();
            // The worker asks for the next event once it is done with the last one.
            state.busy = false;
            if let Some(event) = state.events.pop_front() {
                metrics::queued(-1);
                state.busy = true;
                return Poll::Ready(Some(event));
            }
            if state.closed {
                return Poll::Ready(None);
            }
            state.waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        // Events never delivered leave the gauge with the queue.
        metrics::queued(-(self.lock().events.len() as isize));
    }
}

/// Runs `fut`, turning a panic while polling it into an error.
pub(crate) async fn catch_panic<T>(fut: impl Future<Output = T>) -> Result<T, SinkError> {
    let mut fut = pin!(fut);
    poll_fn(
        |cx| match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err(SinkError::new("the sink panicked"))),
        },
    )
    .await
}

/// The receiver's handle on its sink: [`DynSink`] and a batch send.
pub(crate) trait SinkObject: DynSink {
    /// Sends `events` in order until one fails, counting in `sent` those the
    /// sink accepted: one allocation for the batch instead of one per event,
    /// and each event through [`Sink::try_send`] when the sink takes it at once.
    #[cfg(feature = "tokio")]
    fn send_all_boxed<'a>(&'a self, events: Vec<Event>, sent: &'a mut usize) -> SinkFuture<'a>;
}

impl<S: Sink> SinkObject for S {
    #[cfg(feature = "tokio")]
    fn send_all_boxed<'a>(&'a self, events: Vec<Event>, sent: &'a mut usize) -> SinkFuture<'a> {
        Box::pin(async move {
            for event in events {
                // A sink that takes the event at once needs no future for it.
                match self.try_send(event) {
                    Ok(outcome) => outcome?,
                    Err(event) => self.send(event).await?,
                }
                *sent += 1;
            }
            Ok(())
        })
    }
}

/// Sends `events` in order until one fails, catching panics in the sink;
/// `sent` counts those the sink accepted.
#[cfg(feature = "tokio")]
pub(crate) async fn send_all(
    sink: &dyn SinkObject,
    events: Vec<Event>,
    sent: &mut usize,
) -> Result<(), SinkError> {
    catch_panic(sink.send_all_boxed(events, sent)).await?
}

/// Sends one event, catching panics in the sink, and returns the outcome.
pub(crate) async fn send<S: DynSink + ?Sized>(sink: &S, event: Event) -> Result<(), SinkError> {
    let fut = catch_unwind(AssertUnwindSafe(|| sink.send_boxed(event)))
        .map_err(|_| SinkError::new("the sink panicked"))?;
    catch_panic(fut).await?
}

/// Drains the receiver's queue into its sink.
///
/// `Builder::build` (feature `tokio`) spawns it on tokio. With another
/// executor, get it from [`Builder::build_with_worker`](crate::Builder::build_with_worker)
/// and spawn [`run`](DeliveryWorker::run) yourself. It ends once every clone of
/// the receiver is dropped and the queue is empty.
///
/// ```
/// use alertmanager_webhook::{sink::NoSink, AlertReceiver};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (receiver, worker) = AlertReceiver::builder().sink(NoSink).build_with_worker();
/// let worker = worker.expect("a sink is set");
/// let handle = tokio::spawn(worker.run());
/// drop(receiver);
/// handle.await.unwrap();
/// # }
/// ```
#[must_use = "queued events are delivered only while `run` is polled"]
pub struct DeliveryWorker {
    pub(crate) queue: Arc<Queue>,
    pub(crate) sink: Arc<dyn SinkObject>,
    pub(crate) counters: Arc<Counters>,
}

impl fmt::Debug for DeliveryWorker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeliveryWorker")
            .field("queued", &self.queue.len())
            .finish_non_exhaustive()
    }
}

impl DeliveryWorker {
    /// Delivers events until the receiver is gone.
    ///
    /// ```no_run
    /// # use alertmanager_webhook::{sink::NoSink, AlertReceiver};
    /// # async fn f() {
    /// let (receiver, worker) = AlertReceiver::builder().sink(NoSink).build_with_worker();
    /// worker.unwrap().run().await;
    /// # }
    /// ```
    pub async fn run(self) {
        let _settles = LeftBehind(&self);
        while let Some(event) = self.queue.next().await {
            // A second handle on the same bytes, to name the alert if it is lost.
            let named = event.clone();
            self.counters
                .record(send(&*self.sink, event).await, Some(&named));
        }
    }
}

/// Settles what a worker leaves when it is dropped before its queue is drained
/// (its runtime shut down, its task aborted): the event it was delivering
/// counts as failed, the queued ones as dropped, and a WARN says so.
struct LeftBehind<'a>(&'a DeliveryWorker);

impl Drop for LeftBehind<'_> {
    fn drop(&mut self) {
        let queued = self.0.queue.clear();
        let in_flight = std::mem::take(&mut self.0.queue.lock().busy);
        if queued == 0 && !in_flight {
            return;
        }
        self.0.counters.dropped(queued);
        self.0.counters.failed(usize::from(in_flight));
        tracing::warn!(target: TARGET, queued, in_flight,
            "delivery stopped before the queue was empty: those events are lost");
    }
}

/// Hands a request's events to `sink` at once while it takes them without
/// waiting ([`Sink::try_send`]) and nothing is queued before them, and queues
/// the rest in order. Returns how many did not fit in the queue.
pub(crate) fn dispatch(
    queue: &Queue,
    sink: &dyn SinkObject,
    counters: &Counters,
    events: Vec<Event>,
) -> usize {
    let mut events = events.into_iter();
    if queue.is_idle() {
        for event in events.by_ref() {
            match catch_unwind(AssertUnwindSafe(|| sink.try_send_dyn(event))) {
                Ok(Ok(outcome)) => counters.record(outcome, None),
                Ok(Err(event)) => return queue.push(std::iter::once(event).chain(events)),
                Err(_) => counters.record(Err(SinkError::new("the sink panicked")), None),
            }
        }
    }
    queue.push(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Webhook;
    use std::sync::atomic::AtomicUsize;
    use std::task::{Context, Wake};

    struct CountWakes(AtomicUsize);

    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Relaxed);
        }
    }

    #[test]
    fn the_worker_is_woken_only_when_events_are_queued() {
        let queue = Queue::new(4);
        let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
        let waker = Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        let mut next = Box::pin(queue.next());
        assert!(next.as_mut().poll(&mut cx).is_pending());

        // What `dispatch` does when every event went straight to the sink.
        assert_eq!(queue.push(std::iter::empty()), 0);
        assert_eq!(wakes.0.load(Relaxed), 0, "woken with nothing to do");

        let body = br#"{"groupKey":"g","status":"firing","receiver":"r","alerts":[{"status":"firing","labels":{"alertname":"A"},"startsAt":"2026-01-17T12:22:56Z","fingerprint":"f"}]}"#;
        let hook = Webhook::from_slice(body).unwrap();
        let event = Event::new(&hook, &hook.alerts[0]);
        assert_eq!(queue.push(std::iter::once(event.clone())), 0);
        assert_eq!(wakes.0.load(Relaxed), 1);
        match next.as_mut().poll(&mut cx) {
            Poll::Ready(Some(got)) => assert_eq!(got.json(), event.json()),
            other => panic!("expected the event, got {:?}", other.map(|e| e.is_some())),
        }
    }
}
