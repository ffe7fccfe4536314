//! Optional deduplication of alerts that arrive twice (retries, HA peers).
//!
//! An alert is a duplicate when an alert with the same (`fingerprint`,
//! `status`, `startsAt`, `endsAt`) was accepted less than the TTL ago. The
//! cache holds at most `capacity` keys; the oldest go first. A key holds the
//! fingerprint as sent (Alertmanager's are 16 hex digits), twice: a sender of
//! long fingerprints can make the cache take up to about `capacity` × 2 ×
//! the body limit, so size `capacity` to the memory you can give it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::BufMut;

use crate::payload::{Alert, Status};

/// Configuration of the deduplication cache, for [`Builder::dedup`](crate::Builder::dedup).
///
/// The key leaves out the receiver and the group: when two Alertmanager
/// receivers (routes with `continue: true`) post the same alert to one
/// receiver service, its sink gets it once, and the second request is
/// answered with `"duplicates"` counting it. Give each route its own
/// receiver service if each must see every alert.
///
/// ```
/// use alertmanager_webhook::Dedup;
/// use std::time::Duration;
/// let dedup = Dedup::new().capacity(50_000).ttl(Duration::from_secs(600));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Dedup {
    capacity: usize,
    ttl: Duration,
}

impl Default for Dedup {
    fn default() -> Self {
        Dedup {
            capacity: 10_000,
            ttl: Duration::from_secs(300),
        }
    }
}

impl Dedup {
    /// 10 000 keys for 5 minutes.
    ///
    /// ```
    /// let dedup = alertmanager_webhook::Dedup::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// How many keys to remember at most (at least 1).
    ///
    /// ```
    /// let dedup = alertmanager_webhook::Dedup::new().capacity(100);
    /// ```
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// How long a key is remembered.
    ///
    /// ```
    /// let dedup = alertmanager_webhook::Dedup::new().ttl(std::time::Duration::from_secs(60));
    /// ```
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }
}

/// The cache itself.
pub(crate) struct DedupCache {
    config: Dedup,
    state: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    seen: HashMap<Box<str>, Instant>,
    order: VecDeque<(Box<str>, Instant)>,
}

/// Appends the dedup key of an alert: fingerprint, status, `startsAt`, `endsAt`, NUL-separated.
pub(crate) fn write_key(out: &mut impl BufMut, alert: &Alert<'_>) {
    out.put_slice(alert.fingerprint.as_bytes());
    out.put_slice(match alert.status {
        Status::Firing => &b"\0firing\0"[..],
        Status::Resolved => b"\0resolved\0",
    });
    out.put_slice(alert.starts_at.as_str().as_bytes());
    out.put_u8(0);
    if let Some(ends) = &alert.ends_at {
        out.put_slice(ends.as_str().as_bytes());
    }
}

/// The length of an alert's dedup key.
pub(crate) fn key_len(alert: &Alert<'_>) -> usize {
    let ends = alert.ends_at.as_ref().map_or(0, |t| t.as_str().len());
    alert.fingerprint.len()
        + alert.status.as_str().len()
        + alert.starts_at.as_str().len()
        + ends
        + 3
}

/// The dedup key of an alert.
pub(crate) fn key(alert: &Alert<'_>) -> Box<str> {
    let mut out = Vec::with_capacity(key_len(alert));
    write_key(&mut out, alert);
    String::from_utf8(out).unwrap_or_default().into_boxed_str()
}

impl DedupCache {
    pub(crate) fn new(config: Dedup) -> Self {
        DedupCache {
            config,
            state: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records `key` unless it is already fresh; returns whether it was new.
    pub(crate) fn claim(&self, key: &str) -> bool {
        let now = Instant::now();
        let mut e = self.lock();
        if e.seen
            .get(key)
            .is_some_and(|t| now.duration_since(*t) < self.config.ttl)
        {
            return false;
        }
        while let Some((old, at)) = e.order.front() {
            let expired = now.duration_since(*at) >= self.config.ttl;
            if !expired && e.order.len() < self.config.capacity {
                break;
            }
            if e.seen.get(old) == Some(at) {
                let old = old.clone();
                e.seen.remove(&old);
            }
            e.order.pop_front();
        }
        e.seen.insert(key.into(), now);
        e.order.push_back((key.into(), now));
        true
    }

    /// Forgets a key claimed by a delivery that then failed, so a retry counts as new.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn release(&self, key: &str) {
        let mut e = self.lock();
        let Some(at) = e.seen.remove(key) else {
            return;
        };
        // Its place in the order too, or it would take one of the capacity's
        // places until it aged out. (A released key was claimed by the request
        // now failing: it is near the back.)
        if let Some(i) = e.order.iter().rposition(|(k, t)| *t == at && **k == *key) {
            e.order.remove(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_within_ttl_and_forgets_after() {
        let cache = DedupCache::new(Dedup::new().ttl(Duration::from_millis(30)));
        assert!(cache.claim("a"));
        assert!(!cache.claim("a"));
        std::thread::sleep(Duration::from_millis(40));
        assert!(cache.claim("a"));
    }

    #[test]
    fn capacity_bounds_memory_and_evicts_oldest() {
        let cache = DedupCache::new(Dedup::new().capacity(3));
        for k in ["a", "b", "c", "d"] {
            assert!(cache.claim(k));
        }
        let e = cache.lock();
        assert_eq!((e.seen.len(), e.order.len()), (3, 3));
        assert!(!e.seen.contains_key("a"));
        drop(e);
        assert!(!cache.claim("d"));
        assert!(cache.claim("a"));
    }

    #[test]
    fn release_allows_a_retry() {
        let cache = DedupCache::new(Dedup::new());
        assert!(cache.claim("a"));
        cache.release("a");
        assert!(cache.claim("a"));
        assert_eq!(cache.lock().order.len(), 1);
    }

    #[test]
    fn a_released_key_gives_its_place_back() {
        // x, then a fails once and is retried: x is still remembered.
        let cache = DedupCache::new(Dedup::new().capacity(2));
        assert!(cache.claim("x"));
        assert!(cache.claim("a"));
        cache.release("a");
        assert!(cache.claim("a"));
        assert!(!cache.claim("x"));
    }
}
