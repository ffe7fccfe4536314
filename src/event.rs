//! The `infrastructure_alert` event: one per alert, serialized once.
//!
//! The JSON is written by a small writer that copies escape-free strings
//! straight from the request, and is shared as [`Bytes`]: handing the event to
//! N WebSocket clients clones a pointer N times, never the JSON.
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

use std::fmt;

use bytes::Bytes;

use crate::payload::{Alert, Status, Webhook};

/// One `infrastructure_alert` event, ready to send.
///
/// Cloning is cheap: the JSON bytes are shared.
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
    json: Bytes,
    /// The dedup key (see [`dedup_key`](Event::dedup_key)), in the same allocation as `json`.
    key: Bytes,
    fingerprint_len: usize,
    status: Status,
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
    label
        .and_then(|l| SEVERITIES.iter().find(|s| s.eq_ignore_ascii_case(l)))
        .copied()
        .unwrap_or("info")
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
    /// let json = Event::new(&hook, &hook.alerts[0]).json().clone();
    /// assert!(json.starts_with(br#"{"type":"infrastructure_alert","data":{"alertname":"unknown""#));
    /// ```
    pub fn new(hook: &Webhook<'_>, alert: &Alert<'_>) -> Event {
        let labels = &alert.labels;
        let annotations = &alert.annotations;
        let fields: [(&str, &str); 9] = [
            ("alertname", labels.get("alertname").unwrap_or("unknown")),
            ("status", alert.status.as_str()),
            ("severity", severity(labels.get("severity"))),
            ("component", labels.get("component").unwrap_or("unknown")),
            ("summary", annotations.get("summary").unwrap_or("")),
            ("description", annotations.get("description").unwrap_or("")),
            ("started_at", alert.starts_at.as_str()),
            ("fingerprint", &alert.fingerprint),
            ("receiver", &hook.receiver),
        ];
        let len: usize = fields.iter().map(|(k, v)| k.len() + v.len() + 6).sum();
        let mut out = Vec::with_capacity(len + 48);
        out.extend_from_slice(br#"{"type":"infrastructure_alert","data":{"#);
        for (i, (key, value)) in fields.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'"');
            out.extend_from_slice(key.as_bytes());
            out.extend_from_slice(b"\":");
            write_json_str(&mut out, value);
        }
        out.extend_from_slice(b"}}");
        let json_len = out.len();
        crate::dedup::write_key(&mut out, alert);
        let buf = Bytes::from(out);
        Event {
            json: buf.slice(..json_len),
            key: buf.slice(json_len..),
            fingerprint_len: alert.fingerprint.len(),
            status: alert.status,
        }
    }

    /// The event's JSON, exactly as sent to clients.
    ///
    /// ```
    /// # use alertmanager_webhook::{payload::Webhook, Event};
    /// # let hook = Webhook::from_slice(br#"{"groupKey":"g","status":"firing","receiver":"r","alerts":[{"status":"firing","startsAt":"2026-01-17T12:22:56Z","fingerprint":"f"}]}"#).unwrap();
    /// let v: serde_json::Value = serde_json::from_slice(Event::new(&hook, &hook.alerts[0]).json()).unwrap();
    /// assert_eq!(v["data"]["receiver"], "r");
    /// ```
    pub fn json(&self) -> &Bytes {
        &self.json
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
        std::str::from_utf8(&self.key).unwrap_or_default()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Event")
            .field(&String::from_utf8_lossy(&self.json))
            .finish()
    }
}

/// Writes `s` as a JSON string exactly as `serde_json` would; returns whether
/// anything needed escaping.
pub(crate) fn write_json_str(out: &mut Vec<u8>, s: &str) -> bool {
    out.push(b'"');
    let bytes = s.as_bytes();
    let needs = |b: u8| b < 0x20 || b == b'"' || b == b'\\';
    if !bytes.iter().any(|&b| needs(b)) {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return false;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !needs(b) {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        start = i + 1;
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
    true
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
    fn writer_matches_serde_json_on_every_fixture() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
        let mut alerts = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let body = std::fs::read(&path).unwrap();
            let Ok(hook) = Webhook::from_slice(&body) else {
                continue;
            };
            for alert in &hook.alerts {
                let event = Event::new(&hook, alert);
                assert_eq!(event.json()[..], serde_reference(&hook, alert)[..]);
                assert_eq!(event.fingerprint(), &*alert.fingerprint);
                alerts += 1;
            }
        }
        assert!(alerts >= 15, "{alerts}");
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
    fn escaped_fingerprint_is_kept_whole() {
        let body = br#"{"groupKey":"g","status":"firing","receiver":"r\n","alerts":[{"status":"firing","startsAt":"2026-01-17T12:22:56Z","fingerprint":"x\ny"}]}"#;
        let hook = Webhook::from_slice(body).unwrap();
        let event = Event::new(&hook, &hook.alerts[0]);
        assert_eq!(event.fingerprint(), "x\ny");
        assert_eq!(
            event.json()[..],
            serde_reference(&hook, &hook.alerts[0])[..]
        );
    }
}
