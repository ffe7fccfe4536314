//! The log policy: one `tracing` line per alert, at a level set by its severity.
//!
//! | alert status | `severity` label (ASCII case ignored) | level |
//! | --- | --- | --- |
//! | firing | `critical` | ERROR |
//! | firing | `warning`, `high` | WARN |
//! | firing | anything else, or none | INFO |
//! | resolved | any | INFO |
//!
//! Lines look like `[ALERT FIRING] HSIGPUMemoryHigh (warning) - component=gpu: GPU memory usage is above 90%`
//! and `[ALERT RESOLVED] HSIGPUMemoryHigh (warning) - component=gpu: resolved after firing since 2026-01-17T12:22:56Z`.
//! Every event has the target `alertmanager_webhook` and the fields `alertname`,
//! `severity`, `component`, `status`, `fingerprint`, `receiver` and `group_key`.
//! In the message and in every field, control characters and the Unicode line
//! and paragraph separators (U+2028, U+2029) are escaped ([`Escaped`]), so one
//! alert is always one line, whatever the formatter. The fields are recorded as
//! strings (`Visit::record_str`), which a formatter writes without going
//! through `core::fmt`: tracing-subscriber's default quotes them
//! (`alertname="GpuHot"`), its JSON formatter writes JSON strings, and the
//! examples' formatter writes them as they are (`alertname=GpuHot`).
//! The message is built only for a line the subscriber wants: with the level
//! disabled an alert costs a few nanoseconds.
//!
//! ```
//! use alertmanager_webhook::log::level;
//! use alertmanager_webhook::payload::Status;
//! use tracing::Level;
//!
//! assert_eq!(level(Status::Firing, Some("Critical")), Level::ERROR);
//! assert_eq!(level(Status::Firing, Some("high")), Level::WARN);
//! assert_eq!(level(Status::Firing, None), Level::INFO);
//! assert_eq!(level(Status::Resolved, Some("critical")), Level::INFO);
//! ```

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use tracing::Level;

use crate::event::Fields;
use crate::payload::{Alert, Status, Str, Webhook};
use crate::swar::{ONES, below, equal};

/// The `tracing` target of every line this crate logs.
pub const TARGET: &str = "alertmanager_webhook";

/// The level an alert is logged at.
///
/// ```
/// use alertmanager_webhook::{log::level, payload::Status};
/// assert_eq!(level(Status::Firing, Some("WARNING")), tracing::Level::WARN);
/// ```
pub fn level(status: Status, severity: Option<&str>) -> Level {
    level_of(status, crate::event::severity_index(severity))
}

/// The level for an alert whose severity has this index in [`SEVERITIES`](crate::event::SEVERITIES).
fn level_of(status: Status, severity_index: usize) -> Level {
    match (status, severity_index) {
        (Status::Firing, 3) => Level::ERROR,
        (Status::Firing, 1 | 2) => Level::WARN,
        _ => Level::INFO,
    }
}

/// Displays a string with control characters escaped (`\n`, `\r`, `\t`, `\u{1b}`),
/// and the line and paragraph separators U+2028 and U+2029, which some readers
/// (JavaScript, Python's `splitlines`) take as line breaks (`\u{2028}`).
///
/// ```
/// use alertmanager_webhook::log::Escaped;
/// assert_eq!(Escaped("a\nb\u{1b}").to_string(), r"a\nb\u{1b}");
/// assert_eq!(Escaped("a\u{2028}b").to_string(), r"a\u{2028}b");
/// ```
pub struct Escaped<'a>(pub &'a str);

impl Escaped<'_> {
    /// Writes the escaped string to `f`, as `Display` does, without going
    /// through `core::fmt` (on a plain string, one `write_str`): for a
    /// formatter that writes other code's string fields straight into its
    /// line, unquoted.
    ///
    /// ```
    /// use alertmanager_webhook::log::Escaped;
    /// let mut line = String::from("alertname=");
    /// Escaped("Gpu\nHot").write_to(&mut line).unwrap();
    /// assert_eq!(line, r"alertname=Gpu\nHot");
    /// ```
    pub fn write_to<W: fmt::Write + ?Sized>(&self, f: &mut W) -> fmt::Result {
        let (s, mut start) = (self.0, 0);
        // Most logged values are plain: one look, then written whole.
        while let Some((i, len, code)) = next_escape(s.as_bytes(), start) {
            f.write_str(&s[start..i])?;
            match code {
                0x0a => f.write_str("\\n")?,
                0x0d => f.write_str("\\r")?,
                0x09 => f.write_str("\\t")?,
                c => write!(f, "\\u{{{c:x}}}")?,
            }
            start = i + len;
        }
        f.write_str(&s[start..])
    }
}

/// From `i` on, the first character of `b` that [`Escaped`] escapes: its
/// index, its length in bytes and its code point.
fn next_escape(b: &[u8], mut i: usize) -> Option<(usize, usize, u32)> {
    loop {
        i = skip_plain(b, i);
        // Byte by byte: C0 controls and DEL are ASCII; a C1 control
        // (U+0080..=U+009F) is 0xC2 followed by 0x80..=0x9F in UTF-8, and
        // U+2028 and U+2029 are 0xE2 0x80 0xA8 and 0xE2 0x80 0xA9.
        let found = match *b.get(i)? {
            c if c < 0x20 || c == 0x7f => Some((1, u32::from(c))),
            0xc2 => b
                .get(i + 1)
                .filter(|&&n| n < 0xa0)
                .map(|&n| (2, u32::from(n))),
            0xe2 => match b.get(i + 1..i + 3) {
                Some([0x80, n @ (0xa8 | 0xa9)]) => Some((3, 0x2028 + u32::from(n - 0xa8))),
                _ => None,
            },
            _ => None,
        };
        match found {
            Some((len, code)) => return Some((i, len, code)),
            None => i += 1,
        }
    }
}

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

/// `s` as [`Escaped`] writes it, borrowed when nothing in it needs escaping
/// (almost always: then it costs one look at eight bytes at a time).
pub(crate) fn escaped(s: &str) -> Cow<'_, str> {
    if next_escape(s.as_bytes(), 0).is_none() {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    // Writing to a `String` cannot fail.
    let _ = Escaped(s).write_to(&mut out);
    Cow::Owned(out)
}

/// From `i` on, the first byte of `b` that may need escaping, or `b.len()`: a
/// byte below 0x20, DEL, 0xC2 (the lead byte of U+0080..=U+00BF, the C1
/// controls among them) or 0xE2 (the lead byte of U+2000..=U+2FFF, the two
/// separators among them). Eight bytes at a time in a `u64`. The last few
/// (fewer than eight) are read as the last eight of `b`, shifted so that those
/// before `i` drop out and spaces come in, or one by one into a word of spaces
/// in a value shorter than eight.
fn skip_plain(b: &[u8], mut i: usize) -> usize {
    while let Some(w8) = b.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let hits = suspects(u64::from_le_bytes(*w8));
        if hits != 0 {
            return i + first(hits);
        }
        i += 8;
    }
    let w = match b.last_chunk::<8>() {
        // 1 to 7 bytes are left.
        Some(w8) if i < b.len() => {
            let shift = 8 * (8 - (b.len() - i)) as u32;
            u64::from_le_bytes(*w8) >> shift | (ONES * 0x20) << (64 - shift)
        }
        Some(_) => return b.len(),
        None => b[i..]
            .iter()
            .rev()
            .fold(ONES * 0x20, |w, &c| w << 8 | u64::from(c)),
    };
    match suspects(w) {
        0 => b.len(),
        hits => i + first(hits),
    }
}

/// The high bit of each byte of `w` that is below 0x20 or is 0x7F, 0xC2 or
/// 0xE2; the lowest set bit is exact, higher ones may not be.
fn suspects(w: u64) -> u64 {
    // 0xC2 and 0xE2 differ only in bit 5: setting it makes both 0xE2.
    below(w, 0x20) | equal(w, 0x7f) | equal(w | (ONES * 0x20), 0xe2)
}

/// The index of the byte that the lowest set bit of `hits` flags.
fn first(hits: u64) -> usize {
    hits.trailing_zeros() as usize / 8
}

impl fmt::Debug for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// What every line of one notification repeats, escaped once per notification
/// instead of once per alert.
pub(crate) struct Notification<'h> {
    receiver: Cow<'h, str>,
    group_key: Cow<'h, str>,
}

impl<'h> Notification<'h> {
    pub(crate) fn of(hook: &'h Webhook<'_>) -> Self {
        Notification {
            receiver: escaped(&hook.receiver),
            group_key: escaped(&hook.group_key),
        }
    }
}

/// Logs one alert's line.
pub(crate) fn alert(hook: &Notification<'_>, alert: &Alert<'_>, fields: &Fields<'_>) {
    let level = level_of(alert.status, fields.severity_index);
    if !tracing::level_enabled!(level) {
        return;
    }
    let name = escaped(fields.alertname.map_or("unknown", Str::as_str));
    let sev = escaped(fields.severity.map_or("info", Str::as_str));
    let component = escaped(fields.component.map_or("unknown", Str::as_str));
    // The message and the other fields are made only once the subscriber wants
    // the line: inside the macro, after its own check of the callsite.
    macro_rules! line {
        ($level:expr) => {
            tracing::event!(target: TARGET, $level,
                message = message(alert, fields, &name, &sev, &component).as_str(),
                alertname = &*name, severity = &*sev, component = &*component,
                status = alert.status.as_str(), fingerprint = &*escaped(&alert.fingerprint),
                receiver = &*hook.receiver, group_key = &*hook.group_key)
        };
    }
    match level {
        Level::ERROR => line!(Level::ERROR),
        Level::WARN => line!(Level::WARN),
        _ => line!(Level::INFO),
    }
}

/// The message of one alert's line, its values escaped (`name`, `sev` and
/// `component` come escaped): `[ALERT FIRING] {alertname} ({severity}) -
/// component={component}: {description}`, or for a resolved alert
/// `[ALERT RESOLVED] … : resolved after firing since {startsAt}`. Written piece
/// by piece into one `String`: through `core::fmt`, with its arguments, it cost
/// a quarter of a line.
fn message(
    alert: &Alert<'_>,
    fields: &Fields<'_>,
    name: &str,
    sev: &str,
    component: &str,
) -> String {
    let resolved = alert.status == Status::Resolved;
    let description = (!resolved).then(|| fields.description.or(fields.summary));
    let last = description.flatten().map_or("", Str::as_str);
    let mut line =
        String::with_capacity(96 + name.len() + sev.len() + component.len() + last.len());
    line.push_str(if resolved {
        "[ALERT RESOLVED] "
    } else {
        "[ALERT FIRING] "
    });
    for piece in [name, " (", sev, ") - component=", component, ": "] {
        line.push_str(piece);
    }
    // Writing to a `String` cannot fail.
    if resolved {
        let _ = write!(
            line,
            "resolved after firing since {}",
            alert.starts_at.utc_seconds()
        );
    } else {
        let _ = Escaped(last).write_to(&mut line);
    }
    line
}

/// Makes the per-alert log call for every alert of `hook`, as the receiver does,
/// each alert's fields found first. For `benches/handler.rs` (T4: the cost of a
/// disabled level against logging compiled out); not a public API.
#[cfg(feature = "bench")]
#[doc(hidden)]
pub fn __log_alerts(hook: &Webhook<'_>) {
    let notification = Notification::of(hook);
    for a in &hook.alerts {
        let fields = std::hint::black_box(Fields::of(a));
        alert(&notification, a, &fields);
    }
}

/// Logs the WARN line for a notification that `max_alerts` cut `truncated` alerts from.
pub(crate) fn truncated(hook: &Notification<'_>, truncated: i64) {
    let (receiver, group_key) = (&*hook.receiver, &*hook.group_key);
    tracing::warn!(
        target: TARGET,
        truncated,
        receiver,
        group_key,
        "[ALERTS TRUNCATED] {truncated} alert(s) truncated by max_alerts from receiver {receiver}, group {group_key}",
    );
}

#[cfg(test)]
mod tests {
    use super::{Escaped, escaped, skip_plain};
    use proptest::prelude::*;
    use std::borrow::Cow;

    #[test]
    fn skip_plain_finds_every_suspect_byte_at_every_position() {
        let suspect = |c: u8| c < 0x20 || matches!(c, 0x7f | 0xc2 | 0xe2);
        for len in 1..=20 {
            for at in 0..len {
                for c in 0..=255u8 {
                    // Around the byte under test, neighbours that could hide it
                    // from a word-wide trick: 0xFF, 0x80 and the space.
                    for fill in [b'a', b' ', 0x80, 0xff] {
                        let mut b = vec![fill; len];
                        b[at] = c;
                        // From every start: `Escaped` starts again after a
                        // suspect byte that is not a control.
                        for start in 0..=len {
                            let found = skip_plain(&b, start);
                            let expected = if suspect(c) && at >= start { at } else { len };
                            assert_eq!(found, expected, "{b:x?} from {start}");
                        }
                    }
                }
            }
        }
        assert_eq!(skip_plain(b"", 0), 0);
    }

    /// What `Escaped` must print, char by char.
    fn reference(s: &str) -> String {
        s.chars()
            .map(|c| match c {
                '\n' => "\\n".to_owned(),
                '\r' => "\\r".to_owned(),
                '\t' => "\\t".to_owned(),
                c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                    format!("\\u{{{:x}}}", u32::from(c))
                }
                c => c.to_string(),
            })
            .collect()
    }

    #[test]
    fn escapes_controls_and_line_separators_only() {
        for s in [
            "",
            "plain",
            "a\nb\r\tc",
            "\u{1b}[31mred",
            "\u{7f}",
            "\u{80}x\u{9f}",
            "90°C ± 5 ©",
            "\u{a0}nbsp",
            "émoji 🔥\u{85}",
            "sixteen bytes...\nthen a newline in the second chunk",
            "thirty-two bytes of plain text..\u{1b}[0m",
            "a plain value longer than sixteen bytes, twice over",
            "line\u{2028}and paragraph\u{2029}separators",
            "\u{2027}\u{202a}\u{2030} → “quoted” — …",
            "euro \u{20ac}, en space \u{2002}, \u{2fff}",
        ] {
            assert_eq!(Escaped(s).to_string(), reference(s), "{s:?}");
        }
    }

    #[test]
    fn escaped_borrows_unless_something_is_escaped() {
        for plain in [
            "",
            "gpu",
            "90°C → “hot” …",
            "a longer value, past eight bytes",
        ] {
            assert!(
                matches!(escaped(plain), Cow::Borrowed(s) if s == plain),
                "{plain:?}"
            );
        }
        for evil in ["a\nb", "\u{85}", "long and then a separator\u{2028}"] {
            assert_eq!(
                escaped(evil),
                Cow::<str>::Owned(reference(evil)),
                "{evil:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn matches_the_char_by_char_rule(s in "\\PC*|[\\x00-\\x{ff}]{0,40}|[a\\n\\x{2026}-\\x{202a}]{0,40}") {
            prop_assert_eq!(Escaped(&s).to_string(), reference(&s));
            // Borrowed exactly when nothing changes.
            let expected = reference(&s);
            match escaped(&s) {
                Cow::Borrowed(b) => prop_assert_eq!(b, expected.as_str()),
                Cow::Owned(o) => {
                    prop_assert_ne!(o.as_str(), s.as_str());
                    prop_assert_eq!(o, expected);
                }
            }
        }
    }
}
