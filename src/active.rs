//! A small store of the alerts that are firing now, bounded in alerts and in bytes.
//!
//! A sink can keep an [`ActiveAlerts`] up to date so that a client that connects late (a
//! dashboard's WebSocket, say) first receives the alerts that are currently firing.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use bytes::Bytes;

use crate::Event;
use crate::payload::Status;

/// The latest event JSON of each firing alert, keyed by fingerprint, in arrival order.
///
/// - A firing notification inserts the alert, or replaces its JSON and makes it the newest.
/// - A resolved notification removes the alert, also one whose firing was never seen.
/// - At most `capacity` alerts are kept, and at most [`max_bytes`](Self::max_bytes) bytes
///   of JSON and fingerprints (64 MiB unless [`with_max_bytes`](Self::with_max_bytes)
///   says otherwise): beyond either, the oldest are evicted.
///
/// It is thread-safe (a `std::sync::Mutex` held only for short map updates); share it with an
/// `Arc`.
///
/// ```
/// use alertmanager_webhook::active::ActiveAlerts;
/// use alertmanager_webhook::payload::Status;
/// use bytes::Bytes;
///
/// let active = ActiveAlerts::new(2);
/// active.update("a", Status::Firing, Bytes::from_static(b"{\"a\":1}"));
/// active.update("b", Status::Firing, Bytes::from_static(b"{\"b\":1}"));
/// active.update("c", Status::Firing, Bytes::from_static(b"{\"c\":1}")); // evicts "a"
/// active.update("b", Status::Resolved, Bytes::from_static(b"{\"b\":2}"));
/// assert_eq!(active.snapshot(), vec![Bytes::from_static(b"{\"c\":1}")]);
/// ```
#[derive(Debug)]
pub struct ActiveAlerts {
    capacity: usize,
    max_bytes: usize,
    inner: Mutex<Inner>,
}

/// The default byte bound of an [`ActiveAlerts`]: 64 MiB.
pub const DEFAULT_MAX_BYTES: usize = 64 << 20;

#[derive(Debug, Default)]
struct Inner {
    /// Arrival counter: the sequence number of the next insert.
    next: u64,
    /// Fingerprint -> (sequence number, latest event JSON).
    alerts: HashMap<String, (u64, Bytes)>,
    /// Sequence number -> fingerprint, oldest first.
    order: BTreeMap<u64, String>,
    /// What the entries take: each JSON, and each fingerprint twice.
    bytes: usize,
}

/// What one entry counts against [`ActiveAlerts::max_bytes`].
fn size(fingerprint: &str, json: &Bytes) -> usize {
    2 * fingerprint.len() + json.len()
}

impl ActiveAlerts {
    /// An empty store that keeps at most `capacity` firing alerts (0 keeps none).
    ///
    /// ```
    /// let active = alertmanager_webhook::active::ActiveAlerts::new(1000);
    /// assert!(active.is_empty());
    /// assert_eq!(active.capacity(), 1000);
    /// ```
    pub fn new(capacity: usize) -> Self {
        ActiveAlerts {
            capacity,
            max_bytes: DEFAULT_MAX_BYTES,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The same store, keeping at most `bytes` bytes of event JSON and fingerprints: a
    /// sender of very large alerts cannot make it hold `capacity` times the body limit.
    /// An alert larger than that alone is not kept.
    ///
    /// ```
    /// use alertmanager_webhook::active::ActiveAlerts;
    ///
    /// let active = ActiveAlerts::new(1000).with_max_bytes(10);
    /// active.firing("a", "1234".into()); // 2 + 4 bytes
    /// active.firing("b", "1234".into()); // 12 in all: evicts "a"
    /// assert_eq!(active.snapshot(), ["1234"]);
    /// assert_eq!(active.max_bytes(), 10);
    /// ```
    pub fn with_max_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// The most bytes of event JSON and fingerprints kept at once.
    ///
    /// ```
    /// use alertmanager_webhook::active::{ActiveAlerts, DEFAULT_MAX_BYTES};
    /// assert_eq!(ActiveAlerts::new(3).max_bytes(), DEFAULT_MAX_BYTES);
    /// ```
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// The most alerts kept at once.
    ///
    /// ```
    /// assert_eq!(alertmanager_webhook::active::ActiveAlerts::new(3).capacity(), 3);
    /// ```
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Records an event: keeps its JSON while the alert fires, forgets the alert once resolved.
    ///
    /// A firing event's JSON is copied, so that the store does not keep alive
    /// the allocation it shares with the other events of its notification
    /// (see [`Event::json`]).
    ///
    /// ```
    /// use alertmanager_webhook::{active::ActiveAlerts, payload::Webhook, Event};
    ///
    /// let body = br#"{"groupKey":"g","status":"firing","receiver":"r","alerts":[
    ///     {"status":"firing","startsAt":"2026-01-17T12:22:56Z","fingerprint":"f1"},
    ///     {"status":"resolved","startsAt":"2026-01-17T12:22:56Z","fingerprint":"f2"}]}"#;
    /// let hook = Webhook::from_slice(body).unwrap();
    /// let active = ActiveAlerts::new(10);
    /// for alert in &hook.alerts {
    ///     active.record(&Event::new(&hook, alert));
    /// }
    /// assert_eq!(active.snapshot(), [Event::new(&hook, &hook.alerts[0]).json()]);
    /// ```
    pub fn record(&self, event: &Event) {
        let json = match event.status() {
            Status::Firing => Bytes::copy_from_slice(event.json()),
            Status::Resolved => Bytes::new(),
        };
        self.update(event.fingerprint(), event.status(), json);
    }

    /// Records one alert's notification: [`firing`](Self::firing) or
    /// [`resolved`](Self::resolved) by `status`.
    ///
    /// ```
    /// use alertmanager_webhook::{active::ActiveAlerts, payload::Status};
    ///
    /// let active = ActiveAlerts::new(10);
    /// active.update("fp", Status::Firing, "{}".into());
    /// assert_eq!(active.len(), 1);
    /// active.update("fp", Status::Resolved, "{}".into());
    /// assert!(active.is_empty());
    /// ```
    pub fn update(&self, fingerprint: &str, status: Status, json: Bytes) {
        match status {
            Status::Firing => self.firing(fingerprint, json),
            Status::Resolved => {
                self.resolved(fingerprint);
            }
        }
    }

    /// Stores `json` as the alert's latest event and makes it the newest; evicts the oldest
    /// alerts beyond the capacity.
    ///
    /// ```
    /// use alertmanager_webhook::active::ActiveAlerts;
    ///
    /// let active = ActiveAlerts::new(10);
    /// active.firing("a", "1".into());
    /// active.firing("b", "2".into());
    /// active.firing("a", "3".into()); // replaces "a" and moves it last
    /// assert_eq!(active.snapshot(), ["2", "3"]);
    /// ```
    pub fn firing(&self, fingerprint: &str, json: Bytes) {
        let mut inner = self.lock();
        let seq = inner.next;
        inner.next += 1;
        inner.bytes += size(fingerprint, &json);
        match inner.alerts.get_mut(fingerprint) {
            Some(entry) => {
                let (old, old_json) = std::mem::replace(entry, (seq, json));
                inner.bytes -= size(fingerprint, &old_json);
                if let Some(key) = inner.order.remove(&old) {
                    inner.order.insert(seq, key);
                }
            }
            None => {
                inner.alerts.insert(fingerprint.to_owned(), (seq, json));
                inner.order.insert(seq, fingerprint.to_owned());
            }
        }
        while inner.alerts.len() > self.capacity || inner.bytes > self.max_bytes {
            match inner.order.pop_first() {
                Some((_, oldest)) => {
                    if let Some((_, json)) = inner.alerts.remove(&oldest) {
                        inner.bytes -= size(&oldest, &json);
                    }
                }
                None => break,
            }
        }
    }

    /// Removes the alert; returns whether it was stored. Resolving an unknown alert is fine.
    ///
    /// ```
    /// use alertmanager_webhook::active::ActiveAlerts;
    ///
    /// let active = ActiveAlerts::new(10);
    /// assert!(!active.resolved("never-seen"));
    /// active.firing("fp", "{}".into());
    /// assert!(active.resolved("fp"));
    /// ```
    pub fn resolved(&self, fingerprint: &str) -> bool {
        let mut inner = self.lock();
        match inner.alerts.remove(fingerprint) {
            Some((seq, json)) => {
                inner.order.remove(&seq);
                inner.bytes -= size(fingerprint, &json);
                true
            }
            None => false,
        }
    }

    /// The stored event JSON of every firing alert, oldest first.
    ///
    /// ```
    /// use alertmanager_webhook::active::ActiveAlerts;
    ///
    /// let active = ActiveAlerts::new(10);
    /// active.firing("x", "first".into());
    /// active.firing("y", "second".into());
    /// assert_eq!(active.snapshot(), ["first", "second"]);
    /// ```
    pub fn snapshot(&self) -> Vec<Bytes> {
        let inner = self.lock();
        inner
            .order
            .values()
            .filter_map(|key| inner.alerts.get(key).map(|(_, json)| json.clone()))
            .collect()
    }

    /// How many alerts are stored.
    ///
    /// ```
    /// let active = alertmanager_webhook::active::ActiveAlerts::new(10);
    /// active.firing("fp", "{}".into());
    /// assert_eq!(active.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.lock().alerts.len()
    }

    /// Whether no alert is stored.
    ///
    /// ```
    /// assert!(alertmanager_webhook::active::ActiveAlerts::new(10).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every update leaves the maps consistent before it can panic, so a poisoned lock is
        // still usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_byte_count_follows_every_change_and_stays_under_the_bound() {
        let active = ActiveAlerts::new(50).with_max_bytes(4_000);
        for i in 0..2_000u32 {
            let fp = format!("fp{}", i % 70);
            let json = Bytes::from(vec![b'x'; (i as usize * 37) % 900]);
            match i % 5 {
                0 => drop(active.resolved(&fp)),
                _ => active.firing(&fp, json),
            }
            let inner = active.lock();
            let sum: usize = inner
                .alerts
                .iter()
                .map(|(fp, (_, json))| size(fp, json))
                .sum();
            assert_eq!(inner.bytes, sum, "after step {i}");
            assert!(
                inner.bytes <= 4_000 && inner.alerts.len() <= 50,
                "after step {i}"
            );
            assert_eq!(inner.order.len(), inner.alerts.len());
        }
        // One alert larger than the bound is not kept.
        active.firing("huge", Bytes::from(vec![b'x'; 5_000]));
        assert!(!active.snapshot().iter().any(|json| json.len() == 5_000));
    }

    fn fire(active: &ActiveAlerts, fp: &str, json: &'static str) {
        active.update(fp, Status::Firing, Bytes::from_static(json.as_bytes()));
    }

    #[test]
    fn keeps_a_copy_of_a_firing_event() {
        let body = br#"{"groupKey":"g","status":"firing","receiver":"r","alerts":[{"status":"firing","startsAt":"2026-01-17T12:22:56Z","fingerprint":"f"}]}"#;
        let hook = crate::payload::Webhook::from_slice(body).unwrap();
        let event = Event::new(&hook, &hook.alerts[0]);
        let active = ActiveAlerts::new(4);
        active.record(&event);
        let kept = active.snapshot();
        assert_eq!(kept, [event.json()]);
        assert_ne!(kept[0].as_ptr(), event.json().as_ptr());
    }

    #[test]
    fn keeps_arrival_order_and_latest_json() {
        let active = ActiveAlerts::new(10);
        fire(&active, "a", "a1");
        fire(&active, "b", "b1");
        fire(&active, "c", "c1");
        fire(&active, "b", "b2");
        assert_eq!(active.snapshot(), ["a1", "c1", "b2"]);
        assert_eq!(active.len(), 3);
    }

    #[test]
    fn resolved_removes_and_unknown_resolved_is_ignored() {
        let active = ActiveAlerts::new(10);
        fire(&active, "a", "a1");
        fire(&active, "b", "b1");
        active.update("zzz", Status::Resolved, Bytes::new());
        assert_eq!(active.snapshot(), ["a1", "b1"]);
        active.update("a", Status::Resolved, Bytes::new());
        assert_eq!(active.snapshot(), ["b1"]);
        // Firing again after resolution comes back as the newest.
        fire(&active, "a", "a2");
        assert_eq!(active.snapshot(), ["b1", "a2"]);
    }

    #[test]
    fn evicts_oldest_when_full() {
        let active = ActiveAlerts::new(3);
        for (fp, json) in [("1", "j1"), ("2", "j2"), ("3", "j3")] {
            fire(&active, fp, json);
        }
        // Refreshing "1" makes "2" the oldest.
        fire(&active, "1", "j1b");
        fire(&active, "4", "j4");
        assert_eq!(active.snapshot(), ["j3", "j1b", "j4"]);
        for i in 0..1000 {
            active.firing(&format!("bulk{i}"), Bytes::new());
        }
        assert_eq!(active.len(), 3);
        let inner = active.lock();
        assert_eq!(inner.order.len(), 3);
        assert!(inner.order.values().all(|k| inner.alerts.contains_key(k)));
    }

    #[test]
    fn zero_capacity_keeps_nothing() {
        let active = ActiveAlerts::new(0);
        fire(&active, "a", "a1");
        assert!(active.is_empty());
        assert!(active.snapshot().is_empty());
    }

    #[test]
    fn shared_between_threads() {
        let active = std::sync::Arc::new(ActiveAlerts::new(1000));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let active = active.clone();
                std::thread::spawn(move || {
                    for i in 0..100 {
                        let fp = format!("{t}-{i}");
                        active.firing(&fp, Bytes::from(fp.clone()));
                        if i % 2 == 0 {
                            active.resolved(&fp);
                        }
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("thread panicked");
        }
        assert_eq!(active.len(), 200);
        let mut kept: Vec<String> = active
            .snapshot()
            .iter()
            .map(|json| String::from_utf8_lossy(json).into_owned())
            .collect();
        kept.sort();
        let mut expected: Vec<String> = (0..4)
            .flat_map(|t| (1..100).step_by(2).map(move |i| format!("{t}-{i}")))
            .collect();
        expected.sort();
        assert_eq!(kept, expected);
    }
}
