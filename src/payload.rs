//! The Alertmanager webhook payload (version 4), borrowed from the request bytes.
//!
//! Strings are [`Str`]: a `Cow<str>` that borrows from the body unless the JSON
//! string had escapes (Alertmanager writes every `&` as `\u0026`). Labels and
//! annotations are [`Pairs`], an ordered list with a [`Pairs::get`] accessor.
//! Unknown fields (Grafana's `orgId`, `values`, Alertmanager 0.32+'s
//! `notification_reason`, …) are ignored. When a key appears twice, the last
//! occurrence wins, as in Go's and Python's JSON decoders.
//!
//! ```
//! use alertmanager_webhook::payload::{Status, Webhook};
//!
//! let body = br#"{"receiver":"hsi","status":"firing","groupKey":"{}:{}","alerts":[
//!   {"status":"firing","labels":{"alertname":"GpuHot","severity":"warning"},
//!    "startsAt":"2026-01-17T12:22:56.068Z","endsAt":"0001-01-01T00:00:00Z",
//!    "fingerprint":"abc","generatorURL":"http://p/graph?a=1\u0026b=2"}]}"#;
//! let hook = Webhook::from_slice(body).unwrap();
//! let alert = &hook.alerts[0];
//! assert_eq!(alert.status, Status::Firing);
//! assert_eq!(alert.labels.get("severity"), Some("warning"));
//! assert!(alert.ends_at.is_none()); // year 1 means "no end"
//! assert_eq!(alert.generator_url.as_deref(), Some("http://p/graph?a=1&b=2"));
//! let owned: Webhook<'static> = hook.into_owned();
//! assert_eq!(owned.version, "4");
//! ```

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A string that borrows from the request body when it can.
///
/// ```
/// use alertmanager_webhook::payload::Str;
/// let s = Str::from("gpu");
/// assert_eq!(&*s, "gpu");
/// assert_eq!(s.into_owned(), Str::from(String::from("gpu")));
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Str<'a>(#[serde(borrow)] pub Cow<'a, str>);

impl Str<'_> {
    /// An owned copy that no longer borrows from the body.
    ///
    /// ```
    /// use alertmanager_webhook::payload::Str;
    /// let owned: Str<'static> = Str::from("x").into_owned();
    /// assert_eq!(owned, "x");
    /// ```
    pub fn into_owned(self) -> Str<'static> {
        Str(Cow::Owned(self.0.into_owned()))
    }

    /// The string itself.
    ///
    /// ```
    /// use alertmanager_webhook::payload::Str;
    /// assert_eq!(Str::from("a").as_str(), "a");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for Str<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Str<'_> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Str<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Str<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'a> From<&'a str> for Str<'a> {
    fn from(s: &'a str) -> Self {
        Str(Cow::Borrowed(s))
    }
}

impl From<String> for Str<'_> {
    fn from(s: String) -> Self {
        Str(Cow::Owned(s))
    }
}

impl PartialEq<str> for Str<'_> {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for Str<'_> {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

/// Labels or annotations: the JSON object's entries in the order they were sent.
///
/// A list beats a map here: parsing is faster and Alertmanager sends few keys.
/// If a key was sent twice, [`get`](Pairs::get) returns the last value.
///
/// ```
/// use alertmanager_webhook::payload::Pairs;
/// let labels: Pairs = [("alertname", "GpuHot"), ("severity", "warning")].into_iter().collect();
/// assert_eq!(labels.get("severity"), Some("warning"));
/// assert_eq!(labels.get("missing"), None);
/// assert_eq!(labels.len(), 2);
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Pairs<'a>(pub Vec<(Str<'a>, Str<'a>)>);

impl<'a> Pairs<'a> {
    /// The value for `name` (the last one if the key was repeated).
    ///
    /// ```
    /// use alertmanager_webhook::payload::Pairs;
    /// let p: Pairs = [("a", "1"), ("a", "2")].into_iter().collect();
    /// assert_eq!(p.get("a"), Some("2"));
    /// ```
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_str(name).map(Str::as_str)
    }

    /// [`get`](Pairs::get), as the `Str` itself.
    pub(crate) fn get_str(&self, name: &str) -> Option<&Str<'a>> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| **k == *name)
            .map(|(_, v)| v)
    }

    /// The entries in body order.
    ///
    /// ```
    /// use alertmanager_webhook::payload::Pairs;
    /// let p: Pairs = [("a", "1")].into_iter().collect();
    /// assert_eq!(p.iter().next(), Some(("a", "1")));
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// How many entries there are.
    ///
    /// ```
    /// assert_eq!(alertmanager_webhook::payload::Pairs::default().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no entries.
    ///
    /// ```
    /// assert!(alertmanager_webhook::payload::Pairs::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// An owned copy that no longer borrows from the body.
    ///
    /// ```
    /// use alertmanager_webhook::payload::Pairs;
    /// let p: Pairs<'static> = Pairs::default().into_owned();
    /// assert!(p.is_empty());
    /// ```
    pub fn into_owned(self) -> Pairs<'static> {
        Pairs(
            self.0
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }
}

impl fmt::Debug for Pairs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'a, K: Into<Str<'a>>, V: Into<Str<'a>>> FromIterator<(K, V)> for Pairs<'a> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Pairs(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl Serialize for Pairs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Pairs<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<Pairs<'a>>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Pairs<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs<'a>, A::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(8).min(64));
                while let Some(entry) = map.next_entry::<Str<'a>, Str<'a>>()? {
                    pairs.push(entry);
                }
                Ok(Pairs(pairs))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// Whether an alert (or a group) is firing or resolved.
///
/// ```
/// use alertmanager_webhook::payload::Status;
/// assert_eq!(Status::Resolved.as_str(), "resolved");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The alert is active.
    Firing,
    /// The alert has ended.
    Resolved,
}

impl Status {
    /// `"firing"` or `"resolved"`.
    ///
    /// ```
    /// assert_eq!(alertmanager_webhook::payload::Status::Firing.as_str(), "firing");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Firing => "firing",
            Status::Resolved => "resolved",
        }
    }

    /// The status named exactly `"firing"` or `"resolved"`: the one rule for
    /// the serde impl, the hand-written parser and the 422 walk.
    pub(crate) fn named(name: &str) -> Option<Status> {
        match name {
            "firing" => Some(Status::Firing),
            "resolved" => Some(Status::Resolved),
            _ => None,
        }
    }
}

/// Only the strings `"firing"` and `"resolved"`: a derived enum impl would also
/// take serde's externally tagged form `{"firing":null}`, which the contract rejects.
impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Status;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"firing\" or \"resolved\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Status, E> {
                Status::named(v).ok_or_else(|| E::unknown_variant(v, &["firing", "resolved"]))
            }
        }
        d.deserialize_str(V)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An RFC 3339 timestamp, kept exactly as received (offset included).
///
/// ```
/// use alertmanager_webhook::payload::Timestamp;
/// let t = Timestamp::parse("2026-11-27T14:05:05.271188+02:00").unwrap();
/// assert_eq!(t.as_str(), "2026-11-27T14:05:05.271188+02:00");
/// assert_eq!(t.utc_seconds().to_string(), "2026-11-27T12:05:05Z");
/// assert!(Timestamp::parse("yesterday").is_none());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Timestamp<'a> {
    raw: Str<'a>,
    #[serde(skip)]
    year: i32,
    /// Seconds since the Unix epoch, in UTC.
    #[serde(skip)]
    unix: i64,
}

impl<'a> Timestamp<'a> {
    /// Parses an RFC 3339 date-time (`T`, `t` or a space between date and time;
    /// `Z`, `z` or `±HH:MM`; any number of fractional digits; second 60 only
    /// for a leap second, 23:59:60 UTC on the last day of a month, which counts
    /// as 23:59:59).
    ///
    /// ```
    /// use alertmanager_webhook::payload::Timestamp;
    /// assert!(Timestamp::parse("2026-01-17T12:22:56.068Z").is_some());
    /// assert!(Timestamp::parse("2026-02-30T00:00:00Z").is_none());
    /// ```
    pub fn parse(raw: impl Into<Str<'a>>) -> Option<Self> {
        let raw = raw.into();
        let (year, unix) = parse_rfc3339(raw.as_bytes())?;
        Some(Timestamp { raw, year, unix })
    }

    /// The text exactly as received.
    ///
    /// ```
    /// use alertmanager_webhook::payload::Timestamp;
    /// assert_eq!(Timestamp::parse("2026-01-17T12:22:56Z").unwrap().as_str(), "2026-01-17T12:22:56Z");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The calendar year in the timestamp's own offset.
    ///
    /// ```
    /// use alertmanager_webhook::payload::Timestamp;
    /// assert_eq!(Timestamp::parse("0001-01-01T00:00:00Z").unwrap().year(), 1);
    /// ```
    pub fn year(&self) -> i32 {
        self.year
    }

    /// Whole seconds since the Unix epoch.
    ///
    /// ```
    /// use alertmanager_webhook::payload::Timestamp;
    /// assert_eq!(Timestamp::parse("1970-01-01T01:00:00+01:00").unwrap().unix_seconds(), 0);
    /// ```
    pub fn unix_seconds(&self) -> i64 {
        self.unix
    }

    /// Displays the instant in UTC with whole seconds: `2026-01-17T12:22:56Z`.
    ///
    /// ```
    /// use alertmanager_webhook::payload::Timestamp;
    /// let t = Timestamp::parse("2026-01-17T12:22:56.9Z").unwrap();
    /// assert_eq!(t.utc_seconds().to_string(), "2026-01-17T12:22:56Z");
    /// ```
    pub fn utc_seconds(&self) -> impl fmt::Display {
        UtcSeconds(self.unix)
    }

    /// An owned copy that no longer borrows from the body.
    ///
    /// ```
    /// use alertmanager_webhook::payload::Timestamp;
    /// let t: Timestamp<'static> = Timestamp::parse("2026-01-17T12:22:56Z").unwrap().into_owned();
    /// assert_eq!(t.year(), 2026);
    /// ```
    pub fn into_owned(self) -> Timestamp<'static> {
        Timestamp {
            raw: self.raw.into_owned(),
            year: self.year,
            unix: self.unix,
        }
    }
}

impl fmt::Debug for Timestamp<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Timestamp<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Timestamp<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Str::deserialize(d)?;
        Timestamp::parse(raw).ok_or_else(|| de::Error::custom("invalid datetime format"))
    }
}

struct UtcSeconds(i64);

impl fmt::Display for UtcSeconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        if (0..=9999).contains(&y) {
            write!(f, "{y:04}")?;
        } else {
            // An offset can carry year 0000 or 9999 out of four digits: ISO 8601's expanded form.
            write!(f, "{y:+05}")?;
        }
        write!(
            f,
            "-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }
}

/// Checks RFC 3339 and returns (year as written, Unix seconds in UTC).
pub(crate) fn parse_rfc3339(s: &[u8]) -> Option<(i32, i64)> {
    fn num(s: &[u8]) -> Option<i64> {
        s.iter().try_fold(0i64, |n, &b| {
            b.is_ascii_digit().then(|| n * 10 + i64::from(b - b'0'))
        })
    }
    if s.len() < 20 || s[4] != b'-' || s[7] != b'-' || s[13] != b':' || s[16] != b':' {
        return None;
    }
    if !matches!(s[10], b'T' | b't' | b' ') {
        return None;
    }
    let (year, month, day) = (num(&s[0..4])?, num(&s[5..7])?, num(&s[8..10])?);
    let (hour, minute, second) = (num(&s[11..13])?, num(&s[14..16])?, num(&s[17..19])?);
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix(b".") {
        let digits = frac.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (h, m) = (num(&[*h1, *h2])?, num(&[*m1, *m2])?);
            if h > 23 || m > 59 {
                return None;
            }
            let o = h * 3600 + m * 60;
            if *sign == b'-' { -o } else { o }
        }
        _ => return None,
    };
    if !(1..=12).contains(&month) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if day < 1 || day > month_days[(month - 1) as usize] {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let unix = days * 86_400 + hour * 3600 + minute * 60 + second.min(59) - offset;
    // A leap second (RFC 3339, section 5.7) is 23:59:60 UTC on the last day of
    // a month, and counts as 23:59:59 here, as in POSIX time.
    if second == 60
        && !(unix.rem_euclid(86_400) == 86_399
            && civil_from_days(unix.div_euclid(86_400) + 1).2 == 1)
    {
        return None;
    }
    Some((year as i32, unix))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// One alert of a notification.
///
/// ```
/// use alertmanager_webhook::payload::{Alert, Status, Timestamp};
/// let alert = Alert {
///     status: Status::Firing,
///     labels: [("alertname", "GpuHot")].into_iter().collect(),
///     annotations: Default::default(),
///     starts_at: Timestamp::parse("2026-01-17T12:22:56Z").unwrap(),
///     ends_at: None,
///     generator_url: None,
///     fingerprint: "abc".into(),
/// };
/// assert_eq!(alert.labels.get("alertname"), Some("GpuHot"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert<'a> {
    /// This alert's own status (a group may mix firing and resolved alerts).
    pub status: Status,
    /// Identifying labels (`alertname`, `severity`, `component`, …).
    pub labels: Pairs<'a>,
    /// Informational annotations (`summary`, `description`, …).
    pub annotations: Pairs<'a>,
    /// When the alert started firing.
    pub starts_at: Timestamp<'a>,
    /// When it ended; `None` while firing (Alertmanager sends year 1 for that).
    pub ends_at: Option<Timestamp<'a>>,
    /// Link to the expression that fired.
    #[serde(rename = "generatorURL")]
    pub generator_url: Option<Str<'a>>,
    /// A hash of the label set: the same alert keeps the same fingerprint.
    pub fingerprint: Str<'a>,
}

impl Alert<'_> {
    /// An owned copy that no longer borrows from the body.
    ///
    /// ```
    /// # use alertmanager_webhook::payload::Webhook;
    /// # let hook = Webhook::from_slice(br#"{"groupKey":"g","status":"firing","receiver":"r","alerts":[{"status":"firing","startsAt":"2026-01-17T12:22:56Z","fingerprint":"f"}]}"#).unwrap();
    /// let alert = hook.alerts[0].clone().into_owned();
    /// assert_eq!(alert.fingerprint, "f");
    /// ```
    pub fn into_owned(self) -> Alert<'static> {
        Alert {
            status: self.status,
            labels: self.labels.into_owned(),
            annotations: self.annotations.into_owned(),
            starts_at: self.starts_at.into_owned(),
            ends_at: self.ends_at.map(Timestamp::into_owned),
            generator_url: self.generator_url.map(Str::into_owned),
            fingerprint: self.fingerprint.into_owned(),
        }
    }
}

/// A whole notification, as Alertmanager posts it to a `webhook_config` URL.
///
/// ```
/// use alertmanager_webhook::payload::Webhook;
/// let hook = Webhook::from_slice(br#"{"groupKey":"g","status":"resolved","receiver":"r","alerts":[]}"#).unwrap();
/// assert_eq!(hook.version, "4");
/// assert_eq!(hook.truncated_alerts, 0);
/// let json = serde_json::to_string(&hook).unwrap();
/// assert!(json.contains(r#""groupKey":"g""#));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook<'a> {
    /// Payload version: `"4"` from Alertmanager, `"1"` from Grafana.
    pub version: Str<'a>,
    /// Opaque identifier of the alert group.
    pub group_key: Str<'a>,
    /// How many alerts `max_alerts` cut from this notification.
    pub truncated_alerts: i64,
    /// `firing` if any alert in the group fires.
    pub status: Status,
    /// The receiver name, regex-quoted (`team.gpu` arrives as `team\.gpu`).
    pub receiver: Str<'a>,
    /// The labels the group was formed by.
    pub group_labels: Pairs<'a>,
    /// Labels every alert shares.
    pub common_labels: Pairs<'a>,
    /// Annotations every alert shares.
    pub common_annotations: Pairs<'a>,
    /// Alertmanager's external URL.
    #[serde(rename = "externalURL")]
    pub external_url: Option<Str<'a>>,
    /// The alerts, in the order sent.
    pub alerts: Vec<Alert<'a>>,
}

impl<'a> Webhook<'a> {
    /// The typed parse: fast, and stops at the first problem.
    ///
    /// [`validation::parse`](crate::validation::parse) wraps it and, on failure,
    /// lists every problem in the 422 shape. A lone surrogate escape
    /// (`"\ud800"`), which is JSON but which no Rust string can hold, is read as
    /// U+FFFD, the replacement character, as `String::from_utf16_lossy` does.
    ///
    /// ```
    /// use alertmanager_webhook::payload::Webhook;
    /// assert!(Webhook::from_slice(b"[]").is_err());
    /// let body = br#"{"groupKey":"g","status":"firing","receiver":"r\ud800","alerts":[]}"#;
    /// assert_eq!(Webhook::from_slice(body).unwrap().receiver, "r\u{fffd}");
    /// ```
    pub fn from_slice(body: &'a [u8]) -> Result<Self, serde_json::Error> {
        // A body that is UTF-8 as a whole parses as `str`: serde_json then skips
        // its UTF-8 check of every string, and answers exactly as from bytes.
        // Other bodies are not JSON (RFC 8259), even when the bad bytes are in
        // an unknown field, which serde_json would skip unchecked. The
        // hand-written parser reads the common body; serde_json the rest.
        match std::str::from_utf8(body) {
            Ok(text) => crate::parser::parse(text).map_or_else(
                || {
                    let hook =
                        serde_json::from_str(text).or_else(|e| parse_tamed(body).ok_or(e))?;
                    match too_deep(body) {
                        Some(at) => Err(de::Error::custom(format_args!(
                            "recursion limit exceeded at byte {at}"
                        ))),
                        None => Ok(hook),
                    }
                },
                Ok,
            ),
            Err(e) => serde_json::from_slice::<Webhook<'_>>(body).and_then(|_| {
                Err(serde::de::Error::custom(format_args!(
                    "invalid UTF-8 at byte {}",
                    e.valid_up_to()
                )))
            }),
        }
    }

    /// An owned copy that no longer borrows from the body.
    ///
    /// ```
    /// use alertmanager_webhook::payload::Webhook;
    /// let body = br#"{"groupKey":"g","status":"firing","receiver":"r","alerts":[]}"#.to_vec();
    /// let owned: Webhook<'static> = Webhook::from_slice(&body).unwrap().into_owned();
    /// drop(body);
    /// assert_eq!(owned.receiver, "r");
    /// ```
    pub fn into_owned(self) -> Webhook<'static> {
        Webhook {
            version: self.version.into_owned(),
            group_key: self.group_key.into_owned(),
            truncated_alerts: self.truncated_alerts,
            status: self.status,
            receiver: self.receiver.into_owned(),
            group_labels: self.group_labels.into_owned(),
            common_labels: self.common_labels.into_owned(),
            common_annotations: self.common_annotations.into_owned(),
            external_url: self.external_url.map(Str::into_owned),
            alerts: self.alerts.into_iter().map(Alert::into_owned).collect(),
        }
    }
}

/// The parse of `body` [tamed](tame), owned, if taming changed it and then it parses.
#[cold]
pub(crate) fn parse_tamed(body: &[u8]) -> Option<Webhook<'static>> {
    let tamed = tame(body)?;
    serde_json::from_slice::<Webhook<'_>>(&tamed)
        .ok()
        .map(Webhook::into_owned)
}

/// `body` with the JSON that serde_json refuses written as what it accepts,
/// every offset kept, or `None` if there is none:
/// - a lone surrogate escape (`\ud800` without its pair, which Rust strings
///   cannot hold) becomes `\ufffd`, the replacement character, as
///   `String::from_utf16_lossy` has it;
/// - a number outside strings too large for an `f64` (`1e400`, 400 digits,
///   "out of range") becomes `0.0` and spaces: still a float, so still wrong
///   in every field it can stand in.
pub(crate) fn tame(body: &[u8]) -> Option<Vec<u8>> {
    let hex = |at: usize| {
        let digits = std::str::from_utf8(body.get(at..at + 4)?).ok()?;
        u16::from_str_radix(digits, 16).ok()
    };
    let mut tamed: Option<Vec<u8>> = None;
    let mut edit = |at: usize, len: usize, with: &[u8]| {
        let out = tamed.get_or_insert_with(|| body.to_vec());
        out[at..at + len].fill(b' ');
        out[at..at + with.len()].copy_from_slice(with);
    };
    let mut i = 0;
    while let Some(&b) = body.get(i) {
        let start = i;
        i += 1;
        match b {
            b'"' => {
                while let Some(&c) = body.get(i) {
                    i += 1;
                    match (c, body.get(i)) {
                        (b'"', _) => break,
                        (b'\\', Some(b'u')) => {
                            let unit = hex(i + 1);
                            let pair = unit.is_some_and(|u| (0xd800..0xdc00).contains(&u))
                                && body.get(i + 5..i + 7) == Some(b"\\u")
                                && hex(i + 7).is_some_and(|u| (0xdc00..0xe000).contains(&u));
                            if pair {
                                i += 11;
                            } else if unit.is_some_and(|u| (0xd800..0xe000).contains(&u)) {
                                edit(i - 1, 6, b"\\ufffd");
                                i += 5;
                            }
                        }
                        (b'\\', Some(_)) => i += 1,
                        _ => {}
                    }
                }
            }
            b'-' | b'0'..=b'9' => {
                let len = body[i..]
                    .iter()
                    .take_while(|c| matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                    .count();
                i += len;
                let token = std::str::from_utf8(&body[start..i]).unwrap_or_default();
                if token.len() >= 3 && token.parse::<f64>().is_ok_and(f64::is_infinite) {
                    edit(start, i - start, b"0.0");
                }
            }
            _ => {}
        }
    }
    tamed
}

/// How deep JSON values may nest: as deep as serde_json builds them.
pub(crate) const MAX_DEPTH: usize = 127;

/// The offset of the first `[` or `{` nested deeper than [`MAX_DEPTH`] in
/// `body`, read as JSON up to there, or `None`. serde_json stops at that depth
/// ("recursion limit exceeded") where it builds values, not where it skips
/// them (unknown fields); [`Webhook::from_slice`] and the 422 walk refuse it
/// everywhere.
pub(crate) fn too_deep(body: &[u8]) -> Option<usize> {
    let (mut depth, mut i) = (0, 0);
    while let Some(&b) = body.get(i) {
        match b {
            b'"' => {
                // To the closing quote, over escaped characters.
                i += 1;
                while let Some(&c) = body.get(i) {
                    if c == b'"' {
                        break;
                    }
                    i += if c == b'\\' { 2 } else { 1 };
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(i);
                }
            }
            b']' | b'}' => depth -= usize::from(depth > 0),
            _ => {}
        }
        i += 1;
    }
    None
}

/// The hand-written parser alone, without serde_json behind it, for the fuzz
/// targets only (feature `fuzzing`): `None` where it leaves the body to
/// serde_json. Not a stable API.
///
/// ```
/// use alertmanager_webhook::payload::__fuzz_hand_parse;
/// let hook = __fuzz_hand_parse(r#"{"groupKey":"g","status":"firing","receiver":"r","alerts":[]}"#);
/// assert_eq!(hook.unwrap().receiver, "r");
/// assert!(__fuzz_hand_parse(r#"{"truncatedAlerts":-0}"#).is_none());
/// ```
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub fn __fuzz_hand_parse(text: &str) -> Option<Webhook<'_>> {
    crate::parser::parse(text)
}

/// Field names of [`Webhook`] in declaration order; also the order of 422 rows.
pub(crate) const WEBHOOK_FIELDS: &[&str] = &[
    "version",
    "groupKey",
    "truncatedAlerts",
    "status",
    "receiver",
    "groupLabels",
    "commonLabels",
    "commonAnnotations",
    "externalURL",
    "alerts",
];

/// Field names of [`Alert`] in declaration order.
pub(crate) const ALERT_FIELDS: &[&str] = &[
    "status",
    "labels",
    "annotations",
    "startsAt",
    "endsAt",
    "generatorURL",
    "fingerprint",
];

/// A key of an object: the index of a known field, or `None` for an unknown one.
struct FieldIndex(Option<usize>);

struct FieldSeed(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for FieldSeed {
    type Value = FieldIndex;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<FieldIndex, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<'de> Visitor<'de> for FieldSeed {
    type Value = FieldIndex;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<FieldIndex, E> {
        Ok(FieldIndex(self.0.iter().position(|f| *f == v)))
    }
}

/// Reads the keys of a JSON object, matching them against `fields`.
pub(crate) fn next_field<'de, A: MapAccess<'de>>(
    map: &mut A,
    fields: &'static [&'static str],
) -> Result<Option<Option<usize>>, A::Error> {
    Ok(map.next_key_seed(FieldSeed(fields))?.map(|f| f.0))
}

/// `Option<Str>` that treats a missing and a `null` value alike.
type OptStr<'a> = Option<Str<'a>>;

/// The `version` of a body that has none.
pub(crate) const DEFAULT_VERSION: &str = "4";

/// The end an `endsAt` value means: none for `null`, and none for year 1 or
/// earlier (Alertmanager sends `0001-01-01T00:00:00Z` while an alert fires).
pub(crate) fn ending(t: Option<Timestamp<'_>>) -> Option<Timestamp<'_>> {
    t.filter(|t| t.year() > 1)
}

/// A timestamp that may be `null`, read as [`ending`] says.
struct EndsAt<'a>(Option<Timestamp<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for EndsAt<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(EndsAt(ending(Option::<Timestamp<'a>>::deserialize(d)?)))
    }
}

fn missing<E: de::Error>(field: &'static str) -> E {
    de::Error::missing_field(field)
}

impl<'de: 'a, 'a> Deserialize<'de> for Alert<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<Alert<'a>>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Alert<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an alert object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Alert<'a>, A::Error> {
                let (mut status, mut starts_at, mut fingerprint) = (None, None, None);
                let (mut labels, mut annotations) = (Pairs::default(), Pairs::default());
                let (mut ends_at, mut generator_url) = (None, None);
                while let Some(field) = next_field(&mut map, ALERT_FIELDS)? {
                    match field {
                        Some(0) => status = Some(map.next_value::<Status>()?),
                        Some(1) => labels = map.next_value()?,
                        Some(2) => annotations = map.next_value()?,
                        Some(3) => starts_at = Some(map.next_value::<Timestamp<'a>>()?),
                        Some(4) => ends_at = map.next_value::<EndsAt<'a>>()?.0,
                        Some(5) => generator_url = map.next_value::<OptStr<'a>>()?,
                        Some(_) => fingerprint = Some(map.next_value::<Str<'a>>()?),
                        None => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(Alert {
                    status: status.ok_or_else(|| missing("status"))?,
                    labels,
                    annotations,
                    starts_at: starts_at.ok_or_else(|| missing("startsAt"))?,
                    ends_at,
                    generator_url,
                    fingerprint: fingerprint.ok_or_else(|| missing("fingerprint"))?,
                })
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Webhook<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<Webhook<'a>>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Webhook<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an Alertmanager webhook object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Webhook<'a>, A::Error> {
                let mut version = Str::from(DEFAULT_VERSION);
                let (mut group_key, mut status, mut receiver, mut alerts) =
                    (None, None, None, None);
                let mut truncated_alerts = 0;
                let mut group_labels = Pairs::default();
                let mut common_labels = Pairs::default();
                let mut common_annotations = Pairs::default();
                let mut external_url = None;
                while let Some(field) = next_field(&mut map, WEBHOOK_FIELDS)? {
                    match field {
                        Some(0) => version = map.next_value()?,
                        Some(1) => group_key = Some(map.next_value::<Str<'a>>()?),
                        Some(2) => truncated_alerts = map.next_value()?,
                        Some(3) => status = Some(map.next_value::<Status>()?),
                        Some(4) => receiver = Some(map.next_value::<Str<'a>>()?),
                        Some(5) => group_labels = map.next_value()?,
                        Some(6) => common_labels = map.next_value()?,
                        Some(7) => common_annotations = map.next_value()?,
                        Some(8) => external_url = map.next_value::<OptStr<'a>>()?,
                        Some(_) => alerts = Some(map.next_value::<AlertList<'a>>()?.0),
                        None => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(Webhook {
                    version,
                    group_key: group_key.ok_or_else(|| missing("groupKey"))?,
                    truncated_alerts,
                    status: status.ok_or_else(|| missing("status"))?,
                    receiver: receiver.ok_or_else(|| missing("receiver"))?,
                    group_labels,
                    common_labels,
                    common_annotations,
                    external_url,
                    alerts: alerts.ok_or_else(|| missing("alerts"))?,
                })
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// `Vec<Alert>` with a capacity guess that a hostile size hint cannot inflate.
struct AlertList<'a>(Vec<Alert<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for AlertList<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<AlertList<'a>>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = AlertList<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of alerts")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<AlertList<'a>, A::Error> {
                let mut alerts = Vec::with_capacity(seq.size_hint().unwrap_or(4).min(1024));
                while let Some(alert) = seq.next_element()? {
                    alerts.push(alert);
                }
                Ok(AlertList(alerts))
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

/// The captured webhook bodies in `tests/fixtures` (name and bytes), all but the
/// Prometheus alert list `30-*`, which is not a webhook.
#[cfg(test)]
pub(crate) fn webhook_fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let mut fixtures: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .map(|path| {
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                path,
            )
        })
        .filter(|(name, _)| name.ends_with(".json") && !name.starts_with("30-"))
        .map(|(name, path)| (name, std::fs::read(path).unwrap()))
        .collect();
    fixtures.sort();
    assert_eq!(fixtures.len(), 13, "the fixtures moved");
    fixtures
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_accepts_what_senders_write() {
        for ok in [
            "2026-11-27T12:09:02.343274945Z",
            "2026-11-27T14:05:05.271188+02:00",
            "0001-01-01T00:00:00Z",
            "2024-02-29T23:59:59-11:30",
            "2026-01-17 12:22:56z",
            // Leap seconds: 23:59:60 UTC at the end of a month, in any offset.
            "2016-12-31T23:59:60Z",
            "2015-06-30T23:59:60.5Z",
            "2017-01-01T05:29:60+05:30",
            "2016-12-31T18:59:60-05:00",
        ] {
            assert!(parse_rfc3339(ok.as_bytes()).is_some(), "{ok}");
        }
        for bad in [
            "",
            "2026-11-27",
            "2026-11-27T12:09:02",
            "2026-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2026-11-27T24:00:00Z",
            "2026-11-27T12:60:00Z",
            "2026-11-27T12:00:60Z",
            "2016-12-30T23:59:60Z",
            "2016-12-31T23:58:60Z",
            "2016-12-31T23:59:60+01:00",
            "2016-12-31T23:59:61Z",
            "2026-11-27T12:00:00.Z",
            "2026-11-27T12:00:00+2:00",
            "2026-11-27T12:00:00+24:00",
            "2026-11-27T12:00:00Zjunk",
            "+026-11-27T12:00:00Z",
            "2026-11-27T12:00:00ü",
        ] {
            assert!(parse_rfc3339(bad.as_bytes()).is_none(), "{bad}");
        }
    }

    #[test]
    fn utc_seconds_converts_offsets_and_drops_fractions() {
        let t = |s: &str| Timestamp::parse(s).unwrap().utc_seconds().to_string();
        assert_eq!(
            t("2026-11-27T14:05:05.271188+02:00"),
            "2026-11-27T12:05:05Z"
        );
        assert_eq!(t("2026-01-01T00:30:00+01:00"), "2025-12-31T23:30:00Z");
        assert_eq!(t("2024-02-28T23:00:00-01:00"), "2024-02-29T00:00:00Z");
        assert_eq!(t("1969-12-31T23:59:59Z"), "1969-12-31T23:59:59Z");
        assert_eq!(t("0000-01-01T00:00:00+23:59"), "-0001-12-31T00:01:00Z");
        assert_eq!(t("9999-12-31T23:59:59-23:59"), "+10000-01-01T23:58:59Z");
        assert_eq!(t("0000-01-01T00:00:00Z"), "0000-01-01T00:00:00Z");
        assert_eq!(t("2016-12-31T23:59:60.9Z"), "2016-12-31T23:59:59Z");
        assert_eq!(t("2017-01-01T05:29:60+05:30"), "2016-12-31T23:59:59Z");
        assert_eq!(
            Timestamp::parse("1970-01-01T00:00:00Z")
                .unwrap()
                .unix_seconds(),
            0
        );
    }

    #[test]
    fn lone_surrogates_become_the_replacement_character() {
        let hook = |receiver: &str| {
            let body = format!(
                r#"{{"groupKey":"g","status":"firing","receiver":"{receiver}","alerts":[]}}"#
            );
            Webhook::from_slice(body.as_bytes()).map(|h| h.receiver.to_string())
        };
        for (sent, got) in [
            (r"\ud800", "\u{fffd}"),
            (r"\udc00x", "\u{fffd}x"),
            (r"a\uDBFF\u0041", "a\u{fffd}A"),
            (r"\ud800\ud800\udc00", "\u{fffd}\u{10000}"),
            (r"\ud83d\ude00", "\u{1f600}"),
            (r"\\ud800", r"\ud800"),
            (r"\\\ud800", "\\\u{fffd}"),
        ] {
            assert_eq!(hook(sent).unwrap(), got, "{sent}");
        }
        // Still refused: a bad escape, and a body that is wrong besides.
        assert!(hook(r"\ud80").is_err());
        assert!(hook(r"\ud800\uZZZZ").is_err());
        let other = br#"{"groupKey":"\ud800","status":"on","receiver":"r","alerts":[]}"#;
        assert!(Webhook::from_slice(other).is_err());
    }

    #[test]
    fn tame_keeps_every_offset_and_what_serde_json_reads() {
        assert_eq!(
            tame(br#"{"a\"1e400":"1e400","b":"\u0041\ud83d\ude00"}"#),
            None
        );
        assert_eq!(
            tame(b"[1e308,1e-400,-0,1e400]").as_deref(),
            Some(&b"[1e308,1e-400,-0,0.0  ]"[..])
        );
        assert_eq!(
            tame(br#"["\ud800","\\ud800",-1E+999]"#).as_deref(),
            Some(&br#"["\ufffd","\\ud800",0.0    ]"#[..])
        );
    }

    #[test]
    fn strings_borrow_unless_escaped() {
        let body = br#"{"groupKey":"g","status":"firing","receiver":"r","alerts":[{"status":"firing","startsAt":"2026-01-17T12:22:56Z","fingerprint":"f","generatorURL":"a\u0026b"}]}"#;
        let hook = Webhook::from_slice(body).unwrap();
        assert!(matches!(hook.receiver.0, Cow::Borrowed(_)));
        let url = hook.alerts[0].generator_url.as_ref().unwrap();
        assert!(matches!(url.0, Cow::Owned(_)));
        assert_eq!(url, "a&b");
    }

    #[test]
    fn last_duplicate_wins_and_unknown_fields_are_ignored() {
        let body = br#"{"groupKey":"g","status":"resolved","status":"firing","receiver":"r","alerts":[],"orgId":1,"x":{"y":[null]}}"#;
        let hook = Webhook::from_slice(body).unwrap();
        assert_eq!(hook.status, Status::Firing);
    }

    #[test]
    fn invalid_utf8_is_refused_even_where_serde_json_skips_it() {
        let body = |receiver: &[u8], ignored: &[u8]| {
            let mut b = br#"{"groupKey":"g","status":"firing","alerts":[],"receiver":""#.to_vec();
            b.extend_from_slice(receiver);
            b.extend_from_slice(br#"","orgId":[""#);
            b.extend_from_slice(ignored);
            b.extend_from_slice(br#""]}"#);
            b
        };
        // serde_json does not check the bytes of ignored strings; `from_slice` does.
        let ignored = body(b"r", b"\xff\xfe");
        assert!(serde_json::from_slice::<Webhook<'_>>(&ignored).is_ok());
        let error = Webhook::from_slice(&ignored).unwrap_err();
        assert_eq!(error.to_string(), "invalid UTF-8 at byte 71");
        // Where serde_json finds the bad byte, its error is the answer.
        for bad in [
            body(b"\xff", b"x"),
            body(b"\xc3", b"\xff"),
            body(b"r\xed\xa0\x80", b"x"),
        ] {
            let ours = Webhook::from_slice(&bad).unwrap_err().to_string();
            let bytes = serde_json::from_slice::<Webhook<'_>>(&bad).unwrap_err();
            assert_eq!(ours, bytes.to_string());
        }
        let valid = body("ünï".as_bytes(), "✓".as_bytes());
        assert_eq!(Webhook::from_slice(&valid).unwrap().receiver, "ünï");
    }

    #[test]
    fn status_is_only_the_two_strings() {
        let body = |status: &str| {
            format!(r#"{{"groupKey":"g","status":{status},"receiver":"r","alerts":[]}}"#)
        };
        assert!(Webhook::from_slice(body(r#""resolved""#).as_bytes()).is_ok());
        assert!(Webhook::from_slice(body(r#""fir\u0069ng""#).as_bytes()).is_ok());
        for bad in [r#"{"firing":null}"#, r#""Firing""#, "0", "null"] {
            assert!(Webhook::from_slice(body(bad).as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn fixtures_parse_and_round_trip() {
        for (name, body) in webhook_fixtures() {
            let hook = Webhook::from_slice(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
            let again = serde_json::to_vec(&hook).unwrap();
            assert_eq!(Webhook::from_slice(&again).unwrap(), hook, "{name}");
        }
    }
}
