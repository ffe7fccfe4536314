//! The `infrastructure_alert` event: one per alert, serialized once.
//!
//! The JSON is written by a small writer that copies escape-free strings
//! straight from the request, and is shared as [`Bytes`]: handing the event to
//! N WebSocket clients clones a pointer N times, never the JSON
//! ([`Event::json_bytes`]).
//!
//! ```
//! use alertmanager_webhook::payload::{Status, Webhook};
//! use alertmanager_webhook::Event;
//!
//! let body = br#"{"groupKey":"g","status":"firing","receiver":"hsi","alerts":[
//!   {"status":"firing","labels":{"alertname":"GpuHot","severity":"WARNING","component":"gpu"},
//!    "annotations":{"summary":"GPU hot"},"startsAt":"2026-01-17T12:22:56.068Z","fingerprint":"f1"}]}"#;
//! let hook = Webhook::from_slice(body).unwrap();
//! let event = Event::new(&hook, &hook.alerts[0]);
//! assert_eq!(event.status(), Status::Firing);
//! assert_eq!(event.fingerprint(), "f1");
//! assert_eq!(
//!     std::str::from_utf8(event.json()).unwrap(),
//!     r#"{"type":"infrastructure_alert","data":{"alertname":"GpuHot","status":"firing","severity":"warning","component":"gpu","summary":"GPU hot","description":"","started_at":"2026-01-17T12:22:56.068Z","fingerprint":"f1","receiver":"hsi"}}"#
//! );
//! ```

use std::borrow::Cow;
use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use crate::payload::{Alert, Status, Str, Webhook};
use crate::swar::first_escape;

/// One `infrastructure_alert` event, ready to send.
///
/// Cloning is cheap: the JSON bytes are shared (one reference count).
///
/// ```
/// # use alertmanager_webhook::{payload::Webhook, Event};
/// # let hook = Webhook::from_slice(br#"{"groupKey":"g","status":"firing","receiver":"r","alerts":[{"status":"firing","startsAt":"2026-01-17T12:22:56Z","fingerprint":"f"}]}"#).unwrap();
/// let event = Event::new(&hook, &hook.alerts[0]);
/// let copy = event.clone();
/// assert_eq!(copy.json().as_ptr(), event.json().as_ptr());
/// ```
#[derive(Clone)]
pub struct Event {
    /// The JSON, then the dedup key (see [`dedup_key`](Event::dedup_key)):
    /// one reference count to take per event and per clone, not two.
    bytes: Bytes,
    json_len: usize,
    fingerprint_len: usize,
    status: Status,
}

/// The JSON before each value but the receiver (see [`EventWriter`] for the
/// rest); [`STATUS_SEVERITY`] stands between the alertname and the component.
const PIECES: [&[u8]; 6] = [
    br#"{"type":"infrastructure_alert","data":{"alertname":""#,
    br#"","component":""#,
    br#"","summary":""#,
    br#"","description":""#,
    br#"","started_at":""#,
    br#"","fingerprint":""#,
];

/// The JSON from the end of the alertname to the start of the component, for
/// each status and each of [`SEVERITIES`]: one copy for what has only 8 forms.
const STATUS_SEVERITY: [[&str; 4]; 2] = {
    macro_rules! forms {
        ($($status:literal),*) => {
            [$(forms!(@ $status, "info", "warning", "high", "critical")),*]
        };
        (@ $status:literal, $($severity:literal),*) => {
            [$(concat!(r#"","status":""#, $status, r#"","severity":""#, $severity)),*]
        };
    }
    forms!("firing", "resolved")
};

/// The longest of [`STATUS_SEVERITY`].
const STATUS_SEVERITY_LEN: usize = {
    let (mut longest, mut s) = (0, 0);
    while s < 2 {
        let mut i = 0;
        while i < SEVERITIES.len() {
            // Each piece ends with its severity's name, each name fits the
            // 8-byte comparison of `severity_index`.
            let (piece, name) = (STATUS_SEVERITY[s][i].as_bytes(), SEVERITIES[i].as_bytes());
            assert!(name.len() <= 8 && piece.len() > name.len());
            let mut k = 0;
            while k < name.len() {
                assert!(piece[piece.len() - name.len() + k] == name[k]);
                k += 1;
            }
            if piece.len() > longest {
                longest = piece.len();
            }
            i += 1;
        }
        s += 1;
    }
    longest
};

const PIECES_LEN: usize = {
    let mut n = STATUS_SEVERITY_LEN;
    let mut i = 0;
    while i < PIECES.len() {
        n += PIECES[i].len();
        i += 1;
    }
    n
};

/// Room for a few escapes before the buffer would grow.
const ESCAPE_SLACK: usize = 32;

/// The labels and annotations that the event and the log line use, found in
/// one pass over each list (the last of a repeated key wins, as in [`Pairs::get`](crate::payload::Pairs::get)).
#[derive(Clone, Copy, Default)]
pub(crate) struct Fields<'s> {
    pub(crate) alertname: Option<&'s Str<'s>>,
    pub(crate) severity: Option<&'s Str<'s>>,
    pub(crate) component: Option<&'s Str<'s>>,
    pub(crate) summary: Option<&'s Str<'s>>,
    pub(crate) description: Option<&'s Str<'s>>,
    /// The index in [`SEVERITIES`] of the event's `severity` (0, `info`, when unknown),
    /// found once for the event, the log level and the metrics.
    pub(crate) severity_index: usize,
}

impl<'s> Fields<'s> {
    pub(crate) fn of(alert: &'s Alert<'_>) -> Self {
        let mut f = Fields::default();
        for (key, value) in &alert.labels.0 {
            match key.as_str() {
                "alertname" => f.alertname = Some(value),
                "severity" => f.severity = Some(value),
                "component" => f.component = Some(value),
                _ => {}
            }
        }
        for (key, value) in &alert.annotations.0 {
            match key.as_str() {
                "summary" => f.summary = Some(value),
                "description" => f.description = Some(value),
                _ => {}
            }
        }
        f.severity_index = severity_index(f.severity.map(Str::as_str));
        f
    }
}

/// The severities the contract knows; anything else is reported as `info`.
pub(crate) const SEVERITIES: [&str; 4] = ["info", "warning", "high", "critical"];

/// The event's `severity`: the label lower-cased, or `info` if it is not a known one.
///
/// ```
/// use alertmanager_webhook::event::severity;
/// assert_eq!(severity(Some("CRITICAL")), "critical");
/// assert_eq!(severity(Some("page")), "info");
/// assert_eq!(severity(None), "info");
/// ```
pub fn severity(label: Option<&str>) -> &'static str {
    SEVERITIES[severity_index(label)]
}

/// The index in [`SEVERITIES`] of the event's `severity` (0, `info`, when unknown).
pub(crate) fn severity_index(label: Option<&str>) -> usize {
    // Every known name is lower-case letters, so a byte matches one of them,
    // ignoring ASCII case, exactly when it equals it with bit 5 (0x20) set.
    // Up to 8 bytes in one `u64`, padded with zeros, which no set byte equals.
    fn word(bytes: &[u8]) -> u64 {
        let mut w = [0; 8];
        w[..bytes.len()].copy_from_slice(bytes);
        u64::from_le_bytes(w)
    }
    let Some(bytes) = label
        .map(str::as_bytes)
        .filter(|b| (1..=8).contains(&b.len()))
    else {
        return 0;
    };
    let case = (crate::swar::ONES * 0x20) & (u64::MAX >> (64 - 8 * bytes.len()));
    let folded = word(bytes) | case;
    SEVERITIES
        .iter()
        .position(|name| word(name.as_bytes()) == folded)
        .unwrap_or(0)
}

impl Event {
    /// Builds the event for `alert`, one of `hook`'s alerts.
    ///
    /// Missing labels default as in the log lines: alertname and component
    /// `unknown`; missing annotations are empty strings.
    ///
    /// ```
    /// # use alertmanager_webhook::{payload::Webhook, Event};
    /// # let hook = Webhook::from_slice(br#"{"groupKey":"g","status":"firing","receiver":"r","alerts":[{"status":"firing","startsAt":"2026-01-17T12:22:56Z","fingerprint":"f"}]}"#).unwrap();
    /// let event = Event::new(&hook, &hook.alerts[0]);
    /// assert!(event.json().starts_with(br#"{"type":"infrastructure_alert","data":{"alertname":"unknown""#));
    /// ```
    pub fn new(hook: &Webhook<'_>, alert: &Alert<'_>) -> Event {
        EventWriter::new(hook, false, 1).event(alert, &Fields::of(alert))
    }

    /// Rebuilds an event from its JSON, as another process wrote it (for
    /// example a `RedisSubscriber` (feature `redis`) reading
    /// what a replica published). The bytes are copied once, unchanged, with
    /// the dedup key after them.
    ///
    /// The JSON carries no `endsAt`, so the [`dedup_key`](Event::dedup_key)
    /// of a rebuilt event has an empty `endsAt` part; it equals the sender's
    /// key whenever the alert had no end.
    ///
    /// ```
    /// use alertmanager_webhook::{payload::Status, Event};
    /// let json = r#"{"type":"infrastructure_alert","data":{"alertname":"GpuHot","status":"resolved","severity":"warning","component":"gpu","summary":"","description":"","started_at":"2026-01-17T12:22:56Z","fingerprint":"f1","receiver":"hsi"}}"#;
    /// let event = Event::from_json(json).unwrap();
    /// assert_eq!(event.json(), json.as_bytes());
    /// assert_eq!(event.status(), Status::Resolved);
    /// assert_eq!(event.dedup_key(), "f1\0resolved\02026-01-17T12:22:56Z\0");
    /// assert!(Event::from_json(r#"{"type":"ping","data":{}}"#).is_err());
    /// ```
    pub fn from_json(json: impl AsRef<[u8]>) -> Result<Event, serde_json::Error> {
        #[derive(serde::Deserialize)]
        struct Envelope<'a> {
            #[serde(rename = "type", borrow)]
            kind: Cow<'a, str>,
            #[serde(borrow)]
            data: Data<'a>,
        }
        #[derive(serde::Deserialize)]
        struct Data<'a> {
            status: Status,
            #[serde(borrow)]
            fingerprint: Cow<'a, str>,
            #[serde(borrow)]
            started_at: Cow<'a, str>,
        }
        let json = json.as_ref();
        let Envelope { kind, data } = serde_json::from_slice(json)?;
        if kind != "infrastructure_alert" {
            return Err(serde::de::Error::custom(
                "not an infrastructure_alert event",
            ));
        }
        let key_len = data.fingerprint.len() + data.started_at.len() + 12;
        let mut bytes = BytesMut::with_capacity(json.len() + key_len);
        bytes.extend_from_slice(json);
        for part in [&*data.fingerprint, data.status.as_str(), &*data.started_at] {
            bytes.extend_from_slice(part.as_bytes());
            bytes.put_u8(0);
        }
        Ok(Event {
            bytes: bytes.freeze(),
            json_len: json.len(),
            fingerprint_len: data.fingerprint.len(),
            status: data.status,
        })
    }

    /// The event's JSON, exactly as sent to clients.
    ///
    /// The events of one notification are written into shared allocations of
    /// up to 16 KiB (one allocation for many small events); each event keeps
    /// its allocation alive. A sink that keeps some events for long copies
    /// their bytes (`Bytes::copy_from_slice`), as
    /// [`ActiveAlerts`](crate::active::ActiveAlerts) does.
    ///
    /// ```
    /// # use alertmanager_webhook::{payload::Webhook, Event};
    /// # let hook = Webhook::from_slice(br#"{"groupKey":"g","status":"firing","receiver":"r","alerts":[{"status":"firing","startsAt":"2026-01-17T12:22:56Z","fingerprint":"f"}]}"#).unwrap();
    /// let v: serde_json::Value = serde_json::from_slice(Event::new(&hook, &hook.alerts[0]).json()).unwrap();
    /// assert_eq!(v["data"]["receiver"], "r");
    /// ```
    pub fn json(&self) -> &[u8] {
        self.bytes.get(..self.json_len).unwrap_or_default()
    }

    /// The event's JSON as [`Bytes`] that share the event's allocation: what a
    /// sink hands on to a writer or a WebSocket frame, for the cost of a
    /// reference count. Like the event, they keep that allocation (up to
    /// 16 KiB, see [`json`](Event::json)) alive; copy what is kept for long.
    ///
    /// ```
    /// # use alertmanager_webhook::{payload::Webhook, Event};
    /// # let hook = Webhook::from_slice(br#"{"groupKey":"g","status":"firing","receiver":"r","alerts":[{"status":"firing","startsAt":"2026-01-17T12:22:56Z","fingerprint":"f"}]}"#).unwrap();
    /// let event = Event::new(&hook, &hook.alerts[0]);
    /// let frame: bytes::Bytes = event.json_bytes();
    /// assert_eq!(frame, event.json());
    /// assert_eq!(frame.as_ptr(), event.json().as_ptr());
    /// ```
    pub fn json_bytes(&self) -> Bytes {
        self.bytes.slice(..self.json_len)
    }

    /// The alert's own status.
    ///
    /// ```
    /// # use alertmanager_webhook::{payload::{Status, Webhook}, Event};
    /// # let hook = Webhook::from_slice(br#"{"groupKey":"g","status":"firing","receiver":"r","alerts":[{"status":"resolved","startsAt":"2026-01-17T12:22:56Z","fingerprint":"f"}]}"#).unwrap();
    /// assert_eq!(Event::new(&hook, &hook.alerts[0]).status(), Status::Resolved);
    /// ```
    pub fn status(&self) -> Status {
        self.status
    }

    /// The alert's fingerprint.
    ///
    /// ```
    /// # use alertmanager_webhook::{payload::Webhook, Event};
    /// # let hook = Webhook::from_slice(br#"{"groupKey":"g","status":"firing","receiver":"r","alerts":[{"status":"firing","startsAt":"2026-01-17T12:22:56Z","fingerprint":"a\"b"}]}"#).unwrap();
    /// assert_eq!(Event::new(&hook, &hook.alerts[0]).fingerprint(), "a\"b");
    /// ```
    pub fn fingerprint(&self) -> &str {
        self.dedup_key()
            .get(..self.fingerprint_len)
            .unwrap_or_default()
    }

    /// The key [`Dedup`](crate::Dedup) uses: fingerprint, status, `startsAt`
    /// and `endsAt` (empty while firing), joined by NUL characters. Sinks that
    /// deduplicate across processes use it too.
    ///
    /// ```
    /// # use alertmanager_webhook::{payload::Webhook, Event};
    /// # let hook = Webhook::from_slice(br#"{"groupKey":"g","status":"firing","receiver":"r","alerts":[{"status":"firing","startsAt":"2026-01-17T12:22:56Z","fingerprint":"f"}]}"#).unwrap();
    /// assert_eq!(Event::new(&hook, &hook.alerts[0]).dedup_key(), "f\0firing\02026-01-17T12:22:56Z\0");
    /// ```
    pub fn dedup_key(&self) -> &str {
        // Written from `&str`s only, so always UTF-8.
        let key = self.bytes.get(self.json_len..).unwrap_or_default();
        std::str::from_utf8(key).unwrap_or_default()
    }
}

/// Writes the events of one notification; what its alerts share (the receiver
/// and the end of the JSON) is written once.
pub(crate) struct EventWriter {
    /// `","receiver":"<receiver>"}}`
    tail: Vec<u8>,
    parsed: bool,
    /// Where the events are written, then split off: one allocation serves
    /// several events (see [`MAX_CHUNK`]).
    buf: BytesMut,
    /// The events still to write, for sizing the next allocation.
    left: usize,
}

/// The most one allocation of [`EventWriter`] holds; a notification of many
/// alerts takes several. An event, or its [`Event::json_bytes`], that outlives
/// the others of its chunk keeps the whole chunk alive ([`Event::json`]).
const MAX_CHUNK: usize = 16 << 10;

impl EventWriter {
    /// With `parsed`, `hook` came from [`Webhook::from_slice`]: a string that
    /// the parse borrowed from the body had no escape there (a JSON string
    /// cannot hold `"`, `\` or a control character unescaped), so it is
    /// copied without a look for characters to escape.
    ///
    /// `events` is how many events it is going to write.
    pub(crate) fn new(hook: &Webhook<'_>, parsed: bool, events: usize) -> Self {
        let mut tail = Vec::with_capacity(hook.receiver.len() + 20);
        tail.extend_from_slice(br#"","receiver":""#);
        write_escaped(&mut tail, &hook.receiver);
        tail.extend_from_slice(br#""}}"#);
        EventWriter {
            tail,
            parsed,
            buf: BytesMut::new(),
            left: events,
        }
    }

    /// The bytes every event repeats: the escaped receiver and the closing braces.
    pub(crate) fn repeated_len(&self) -> usize {
        self.tail.len()
    }

    /// The event of `alert`, one of the hook's alerts, with its [`Fields`].
    pub(crate) fn event(&mut self, alert: &Alert<'_>, fields: &Fields<'_>) -> Event {
        // Each value, and whether it may need escaping.
        fn value<'s>(
            s: Option<&'s Str<'_>>,
            default: &'static str,
            parsed: bool,
        ) -> (&'s str, bool) {
            match s {
                Some(s) => (s.as_str(), !(parsed && matches!(s.0, Cow::Borrowed(_)))),
                None => (default, false),
            }
        }
        let text = |s, default| value(s, default, self.parsed);
        let status = match alert.status {
            Status::Firing => 0,
            Status::Resolved => 1,
        };
        let status_severity = STATUS_SEVERITY[status][fields.severity_index];
        let values: [(&str, bool); 6] = [
            text(fields.alertname, "unknown"),
            text(fields.component, "unknown"),
            text(fields.summary, ""),
            text(fields.description, ""),
            // A `Timestamp` is always valid RFC 3339: nothing to escape.
            (alert.starts_at.as_str(), false),
            text(Some(&alert.fingerprint), ""),
        ];
        // Room for the JSON and for the dedup key after it.
        let len: usize = values.iter().map(|(v, _)| v.len()).sum::<usize>()
            + PIECES_LEN
            + self.tail.len()
            + ESCAPE_SLACK
            + crate::dedup::key_len(alert);
        if self.buf.capacity() < len {
            // Room for this event and, as far as one chunk goes, the next ones of this size.
            let room = len.saturating_mul(self.left).clamp(len, MAX_CHUNK.max(len));
            self.buf.reserve(room);
        }
        self.left = self.left.saturating_sub(1);
        let out = &mut self.buf;
        // A macro, not a closure: inlined, each piece's length stays a constant.
        macro_rules! put {
            ($i:literal, $v:expr) => {{
                let (value, check): (&str, bool) = $v;
                out.extend_from_slice(PIECES[$i]);
                if check {
                    write_escaped(out, value);
                } else {
                    out.extend_from_slice(value.as_bytes());
                }
            }};
        }
        let [v0, v1, v2, v3, v4, v5] = values;
        put!(0, v0);
        out.extend_from_slice(status_severity.as_bytes());
        put!(1, v1);
        put!(2, v2);
        put!(3, v3);
        put!(4, v4);
        put!(5, v5);
        self.buf.extend_from_slice(&self.tail);
        let json_len = self.buf.len();
        crate::dedup::write_key(&mut self.buf, alert);
        Event {
            bytes: self.buf.split().freeze(),
            json_len,
            fingerprint_len: alert.fingerprint.len(),
            status: alert.status,
        }
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Event")
            .field(&String::from_utf8_lossy(self.json()))
            .finish()
    }
}

/// Writes `s` as a JSON string exactly as `serde_json` would; returns whether
/// anything needed escaping.
pub(crate) fn write_json_str(out: &mut Vec<u8>, s: &str) -> bool {
    out.push(b'"');
    let escaped = write_escaped(out, s);
    out.push(b'"');
    escaped
}

/// Writes the inside of `s` as a JSON string; returns whether anything needed escaping.
fn write_escaped(out: &mut impl BufMut, s: &str) -> bool {
    let bytes = s.as_bytes();
    let mut start = 0;
    while let Some(i) = first_escape(&bytes[start..]) {
        let i = start + i;
        out.put_slice(&bytes[start..i]);
        start = i + 1;
        match bytes[i] {
            b'"' => out.put_slice(b"\\\""),
            b'\\' => out.put_slice(b"\\\\"),
            b'\n' => out.put_slice(b"\\n"),
            b'\r' => out.put_slice(b"\\r"),
            b'\t' => out.put_slice(b"\\t"),
            0x08 => out.put_slice(b"\\b"),
            0x0c => out.put_slice(b"\\f"),
            b => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.put_slice(b"\\u00");
                out.put_u8(HEX[usize::from(b >> 4)]);
                out.put_u8(HEX[usize::from(b & 0xf)]);
            }
        }
    }
    out.put_slice(&bytes[start..]);
    start > 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    #[derive(Serialize)]
    struct Data<'a> {
        alertname: &'a str,
        status: &'a str,
        severity: &'a str,
        component: &'a str,
        summary: &'a str,
        description: &'a str,
        started_at: &'a str,
        fingerprint: &'a str,
        receiver: &'a str,
    }

    #[derive(Serialize)]
    struct Envelope<'a> {
        #[serde(rename = "type")]
        kind: &'a str,
        data: Data<'a>,
    }

    fn serde_reference(hook: &Webhook<'_>, alert: &Alert<'_>) -> Vec<u8> {
        let l = &alert.labels;
        let a = &alert.annotations;
        serde_json::to_vec(&Envelope {
            kind: "infrastructure_alert",
            data: Data {
                alertname: l.get("alertname").unwrap_or("unknown"),
                status: alert.status.as_str(),
                severity: severity(l.get("severity")),
                component: l.get("component").unwrap_or("unknown"),
                summary: a.get("summary").unwrap_or(""),
                description: a.get("description").unwrap_or(""),
                started_at: alert.starts_at.as_str(),
                fingerprint: &alert.fingerprint,
                receiver: &hook.receiver,
            },
        })
        .unwrap()
    }

    #[test]
    fn every_status_and_severity_matches_serde_json() {
        for status in ["firing", "resolved"] {
            for severity in ["info", "Warning", "HIGH", "critical", "page"] {
                let body = format!(
                    r#"{{"groupKey":"g","status":"firing","receiver":"r","alerts":[{{"status":"{status}","startsAt":"2026-01-17T12:22:56Z","fingerprint":"f","labels":{{"severity":"{severity}"}}}}]}}"#
                );
                let hook = Webhook::from_slice(body.as_bytes()).unwrap();
                let event = Event::new(&hook, &hook.alerts[0]);
                assert_eq!(
                    event.json()[..],
                    serde_reference(&hook, &hook.alerts[0])[..]
                );
            }
        }
    }

    #[test]
    fn severity_index_is_the_known_severity_whatever_its_case() {
        let naive = |l: &str| SEVERITIES.iter().position(|s| s.eq_ignore_ascii_case(l));
        let mut labels = vec![String::new(), "crïtical".into(), "hïgh".into()];
        for name in SEVERITIES.map(str::as_bytes) {
            // Every mix of cases, every byte changed at each place, one byte more or less.
            for case in 0..1u32 << name.len() {
                let mixed = name.iter().enumerate().map(|(i, &b)| {
                    if case >> i & 1 == 1 {
                        b.to_ascii_uppercase()
                    } else {
                        b
                    }
                });
                labels.push(mixed.map(char::from).collect());
            }
            for at in 0..name.len() {
                for c in 0..=127u8 {
                    let mut b = name.to_vec();
                    b[at] = c;
                    labels.push(String::from_utf8(b).unwrap());
                }
            }
            for extra in [0u8, b' ', b'a', b'A'] {
                let longer = [name, &[extra]].concat();
                labels.push(String::from_utf8(longer).unwrap());
            }
            labels.push(String::from_utf8(name[..name.len() - 1].to_vec()).unwrap());
        }
        for label in &labels {
            let index = severity_index(Some(label));
            assert_eq!(index, naive(label).unwrap_or(0), "{label:?}");
            assert_eq!(severity(Some(label)), SEVERITIES[index]);
        }
        assert_eq!(severity_index(None), 0);
    }

    #[test]
    fn writer_matches_serde_json_on_every_fixture() {
        let mut alerts = 0;
        for (_, body) in crate::payload::webhook_fixtures() {
            let hook = Webhook::from_slice(&body).unwrap();
            // The receiver's own path: strings borrowed from the body are copied unchecked.
            let mut parsed = EventWriter::new(&hook, true, hook.alerts.len());
            for alert in &hook.alerts {
                let event = Event::new(&hook, alert);
                assert_eq!(event.json()[..], serde_reference(&hook, alert)[..]);
                assert_eq!(event.fingerprint(), &*alert.fingerprint);
                let fast = parsed.event(alert, &Fields::of(alert));
                assert_eq!(fast.json(), event.json());
                assert_eq!(fast.dedup_key(), event.dedup_key());
                alerts += 1;
            }
        }
        assert!(alerts >= 15, "{alerts}");
    }

    #[test]
    fn one_writer_packs_events_into_shared_chunks() {
        let alert = r#"{"status":"firing","labels":{"alertname":"A"},"startsAt":"2026-01-17T12:22:56Z","fingerprint":"f"}"#;
        let alerts = vec![alert; 100].join(",");
        let body =
            format!(r#"{{"groupKey":"g","status":"firing","receiver":"r","alerts":[{alerts}]}}"#);
        let hook = Webhook::from_slice(body.as_bytes()).unwrap();
        let mut writer = EventWriter::new(&hook, true, hook.alerts.len());
        let events: Vec<_> = hook
            .alerts
            .iter()
            .map(|a| writer.event(a, &Fields::of(a)))
            .collect();
        let mut chunks = 1;
        for (before, event) in events.iter().zip(&events[1..]) {
            assert_eq!(event.json(), before.json());
            let key_end = before.dedup_key().as_bytes().as_ptr_range().end;
            // Each event's JSON follows the previous event's key, unless a new chunk began.
            chunks += usize::from(event.json().as_ptr() != key_end);
        }
        let size = events[0].json().len() + events[0].dedup_key().len();
        assert_eq!(
            chunks,
            (100 * size).div_ceil(MAX_CHUNK / size * size),
            "{size}"
        );
    }

    #[test]
    fn writer_matches_serde_json_on_every_control_and_escape() {
        let mut s = String::new();
        for c in (0u8..0x80)
            .map(char::from)
            .chain("ü✓\u{2028}\u{7f}".chars())
        {
            s.push(c);
        }
        let mut ours = Vec::new();
        assert!(write_json_str(&mut ours, &s));
        assert_eq!(ours, serde_json::to_vec(&s).unwrap());
        let mut plain = Vec::new();
        assert!(!write_json_str(&mut plain, "ünï ✓ <b>&amp;</b>"));
        assert_eq!(plain, serde_json::to_vec("ünï ✓ <b>&amp;</b>").unwrap());
    }

    #[test]
    fn writer_finds_escapes_at_every_offset_of_a_word() {
        // Neighbours of the escaped bytes: a match must not hide or fake another.
        let specials = [
            "\"", "\\", "\n", "\u{1f}", "\0", " ", "!", "#", "[", "]", "\u{7f}", "ü", "\u{2028}",
        ];
        for len in 0..40 {
            for at in 0..len {
                for a in specials {
                    for b in ["x", "\u{1f}", "\""] {
                        let s: String = (0..len)
                            .map(|i| {
                                if i == at {
                                    a
                                } else if i == at + 3 {
                                    b
                                } else {
                                    "y"
                                }
                            })
                            .collect();
                        let mut ours = Vec::new();
                        let escaped = write_json_str(&mut ours, &s);
                        let reference = serde_json::to_vec(&s).unwrap();
                        assert_eq!(ours, reference, "{s:?}");
                        assert_eq!(escaped, reference.len() != s.len() + 2, "{s:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn repeated_keys_take_the_last_value() {
        let body = br#"{"groupKey":"g","status":"firing","receiver":"r","alerts":[{"status":"firing","startsAt":"2026-01-17T12:22:56Z","fingerprint":"f","labels":{"severity":"info","alertname":"A","severity":"critical","alertname":"B"},"annotations":{"summary":"s1","summary":"s\n2"}}]}"#;
        let hook = Webhook::from_slice(body).unwrap();
        let alert = &hook.alerts[0];
        let fields = Fields::of(alert);
        assert_eq!(
            fields.severity.map(Str::as_str),
            alert.labels.get("severity")
        );
        assert_eq!(fields.alertname.map(Str::as_str), Some("B"));
        let event = EventWriter::new(&hook, true, 1).event(alert, &fields);
        assert_eq!(event.json()[..], serde_reference(&hook, alert)[..]);
    }

    #[test]
    fn from_json_rebuilds_every_fixture_event() {
        let mut rebuilt = 0;
        for (_, body) in crate::payload::webhook_fixtures() {
            let hook = Webhook::from_slice(&body).unwrap();
            for alert in &hook.alerts {
                let event = Event::new(&hook, alert);
                let copy = Event::from_json(event.json_bytes()).unwrap();
                assert_eq!(copy.json(), event.json());
                assert_eq!(copy.fingerprint(), event.fingerprint());
                assert_eq!(copy.status(), event.status());
                let without_end = event.dedup_key().rsplit_once('\0').unwrap().0;
                assert_eq!(copy.dedup_key(), format!("{without_end}\0"));
                rebuilt += 1;
            }
        }
        assert!(rebuilt >= 15, "{rebuilt}");
    }

    #[test]
    fn escaped_fingerprint_is_kept_whole() {
        let body = br#"{"groupKey":"g","status":"firing","receiver":"r\n","alerts":[{"status":"firing","startsAt":"2026-01-17T12:22:56Z","fingerprint":"x\ny"}]}"#;
        let hook = Webhook::from_slice(body).unwrap();
        let alert = &hook.alerts[0];
        let event = Event::new(&hook, alert);
        let fast = EventWriter::new(&hook, true, 1).event(alert, &Fields::of(alert));
        assert_eq!(fast.json(), event.json());
        assert_eq!(event.fingerprint(), "x\ny");
        assert_eq!(
            event.json()[..],
            serde_reference(&hook, &hook.alerts[0])[..]
        );
    }
}
