//! The typed parse of a well-formed body, written by hand.
//!
//! It reads exactly the JSON that serde_json's parse of [`Webhook`] accepts, or
//! gives up: on anything it is not sure of (an error, a surrogate escape, a
//! negative or fractional `truncatedAlerts`, nesting deeper than [`DEPTH`] in
//! an unknown field) it returns `None`, and [`Webhook::from_slice`] asks
//! serde_json, whose answer (and error) then stands. So a body it accepts gets
//! the same values as from serde_json, with the same strings borrowed; the
//! tests below check that on the fixtures, on bad values in every place, and
//! on random edits, and the `parser` fuzz target does on any input. It is here
//! for speed: on Alertmanager's bodies of many short strings it takes about
//! two thirds of serde_json's time (see `BENCHMARKS.md`).

use std::borrow::Cow;

use crate::payload::{Alert, DEFAULT_VERSION, Pairs, Status, Str, Timestamp, Webhook, ending};
use crate::swar::first_escape;

/// How deep an unknown field's value may nest before serde_json takes over.
const DEPTH: u32 = 64;

/// Parses `text` if it is a well-formed webhook in the common shape.
pub(crate) fn parse(text: &str) -> Option<Webhook<'_>> {
    let mut p = Parser {
        text,
        i: 0,
        pairs: Vec::with_capacity(16),
    };
    let hook = p.webhook()?;
    p.ws();
    (p.i == text.len()).then_some(hook)
}

struct Parser<'a> {
    text: &'a str,
    i: usize,
    /// Scratch space for [`Parser::pairs`].
    pairs: Vec<(Str<'a>, Str<'a>)>,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.i).copied()
    }

    /// Skips whitespace and returns the next byte, without taking it.
    fn ws(&mut self) -> Option<u8> {
        while let Some(b) = self.peek() {
            if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(b);
            }
            self.i += 1;
        }
        None
    }

    /// Takes `b`, after whitespace.
    fn eat(&mut self, b: u8) -> Option<()> {
        (self.ws()? == b).then(|| self.i += 1)
    }

    /// Takes `lit` (`null`, `true` or `false`).
    fn literal(&mut self, lit: &str) -> Option<()> {
        let end = self.i + lit.len();
        (self.text.as_bytes().get(self.i..end)? == lit.as_bytes()).then(|| self.i = end)
    }

    /// `open`, then items separated by commas, then `close`.
    fn list(
        &mut self,
        open: u8,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.eat(open)?;
        if self.ws()? == close {
            self.i += 1;
            return Some(());
        }
        loop {
            item(self)?;
            match self.ws()? {
                b',' => self.i += 1,
                b if b == close => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// `{ "key": value, … }`, handing each key to `field`, which reads the value.
    fn object(&mut self, mut field: impl FnMut(&mut Self, Str<'a>) -> Option<()>) -> Option<()> {
        self.list(b'{', b'}', |p| {
            let key = p.string()?;
            p.eat(b':')?;
            field(p, key)
        })
    }

    /// `[ value, … ]`, calling `item` to read each value.
    fn array(&mut self, item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.list(b'[', b']', item)
    }

    /// A string, borrowed unless it has escapes.
    fn string(&mut self) -> Option<Str<'a>> {
        self.eat(b'"')?;
        let start = self.i;
        let end = self.plain(start);
        if self.text.as_bytes().get(end) == Some(&b'"') {
            self.i = end + 1;
            return Some(Str(Cow::Borrowed(self.text.get(start..end)?)));
        }
        self.escaped(start, end)
    }

    /// The rest of a string from `start` that has a `\` (or a control
    /// character, refused) at `end`.
    #[inline(never)]
    fn escaped(&mut self, start: usize, mut end: usize) -> Option<Str<'a>> {
        // Room for what usually follows an escape (a `\n` in a description).
        let mut out = String::with_capacity(end - start + 64);
        let mut at = start;
        loop {
            out.push_str(self.text.get(at..end)?);
            match *self.text.as_bytes().get(end)? {
                b'"' => {
                    self.i = end + 1;
                    return Some(Str(Cow::Owned(out)));
                }
                b'\\' => {}
                _ => return None, // a control character
            }
            let escape = *self.text.as_bytes().get(end + 1)?;
            at = end + 2;
            out.push(match escape {
                b'"' => '"',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\x08',
                b'f' => '\x0c',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => {
                    let hex = self.text.get(at..at + 4)?;
                    at += 4;
                    // `from_str_radix` would take a sign; surrogates go to serde_json.
                    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return None;
                    }
                    char::from_u32(u32::from_str_radix(hex, 16).ok()?)?
                }
                _ => return None,
            });
            end = self.plain(at);
        }
    }

    /// Where the run of bytes from `i` that need no look ends: at a `"`, a `\`
    /// or a control character, or at the end of the text.
    #[inline(always)]
    fn plain(&self, i: usize) -> usize {
        let rest = self.text.as_bytes().get(i..).unwrap_or_default();
        i + first_escape(rest).unwrap_or(rest.len())
    }

    /// `null` as `None`, or what `value` reads.
    fn nullable<T>(&mut self, value: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.ws()? == b'n' {
            self.literal("null")?;
            return Some(None);
        }
        value(self).map(Some)
    }

    fn status(&mut self) -> Option<Status> {
        Status::named(&self.string()?)
    }

    fn timestamp(&mut self) -> Option<Timestamp<'a>> {
        Timestamp::parse(self.string()?)
    }

    /// An object of strings, read into a scratch list that is kept from object
    /// to object and moved out at its exact size: one allocation per object,
    /// none wasted.
    fn pairs(&mut self) -> Option<Pairs<'a>> {
        let mut pairs = std::mem::take(&mut self.pairs);
        let read = self.object(|p, key| {
            pairs.push((key, p.string()?));
            Some(())
        });
        let mut out = Vec::with_capacity(pairs.len());
        out.append(&mut pairs);
        self.pairs = pairs;
        read.map(|()| Pairs(out))
    }

    /// A count with at most 18 digits and nothing after them that would make it
    /// a float or too large; serde_json takes the rest (`-0` is a float there).
    fn count(&mut self) -> Option<i64> {
        self.ws()?;
        let b = &self.text.as_bytes()[self.i..];
        let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let after = b.get(digits).copied();
        if digits == 0
            || digits > 18
            || (digits > 1 && b[0] == b'0')
            || matches!(after, Some(b'.' | b'e' | b'E'))
        {
            return None;
        }
        self.i += digits;
        b[..digits]
            .iter()
            .try_fold(0i64, |n, &c| Some(n * 10 + i64::from(c - b'0')))
    }

    /// Any JSON value, checked and dropped.
    fn skip(&mut self, depth: u32) -> Option<()> {
        match self.ws()? {
            b'"' => self.string().map(drop),
            b'{' if depth > 0 => self.object(|p, _| p.skip(depth - 1)),
            b'[' if depth > 0 => self.array(|p| p.skip(depth - 1)),
            b'n' => self.literal("null"),
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    /// `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Option<()> {
        let b = self.text.as_bytes();
        let digits = |i: usize| {
            b[i.min(b.len())..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count()
        };
        let mut i = self.i + usize::from(b[self.i] == b'-');
        let int = digits(i);
        if int == 0 || (int > 1 && b[i] == b'0') {
            return None;
        }
        i += int;
        if b.get(i) == Some(&b'.') {
            let frac = digits(i + 1);
            if frac == 0 {
                return None;
            }
            i += 1 + frac;
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1 + usize::from(matches!(b.get(i + 1), Some(b'+' | b'-')));
            let exp = digits(i);
            if exp == 0 {
                return None;
            }
            i += exp;
        }
        self.i = i;
        Some(())
    }

    fn alert(&mut self) -> Option<Alert<'a>> {
        let (mut status, mut starts_at, mut fingerprint) = (None, None, None);
        let (mut labels, mut annotations) = (Pairs::default(), Pairs::default());
        let (mut ends_at, mut generator_url) = (None, None);
        self.object(|p, key| {
            match &*key {
                "status" => status = Some(p.status()?),
                "labels" => labels = p.pairs()?,
                "annotations" => annotations = p.pairs()?,
                "startsAt" => starts_at = Some(p.timestamp()?),
                "endsAt" => ends_at = ending(p.nullable(Self::timestamp)?),
                "generatorURL" => generator_url = p.nullable(Self::string)?,
                "fingerprint" => fingerprint = Some(p.string()?),
                _ => p.skip(DEPTH)?,
            }
            Some(())
        })?;
        Some(Alert {
            status: status?,
            labels,
            annotations,
            starts_at: starts_at?,
            ends_at,
            generator_url,
            fingerprint: fingerprint?,
        })
    }

    fn webhook(&mut self) -> Option<Webhook<'a>> {
        let mut version = Str::from(DEFAULT_VERSION);
        let (mut group_key, mut status, mut receiver, mut alerts) = (None, None, None, None);
        let mut truncated_alerts = 0;
        let mut group_labels = Pairs::default();
        let mut common_labels = Pairs::default();
        let mut common_annotations = Pairs::default();
        let mut external_url = None;
        self.object(|p, key| {
            match &*key {
                "version" => version = p.string()?,
                "groupKey" => group_key = Some(p.string()?),
                "truncatedAlerts" => truncated_alerts = p.count()?,
                "status" => status = Some(p.status()?),
                "receiver" => receiver = Some(p.string()?),
                "groupLabels" => group_labels = p.pairs()?,
                "commonLabels" => common_labels = p.pairs()?,
                "commonAnnotations" => common_annotations = p.pairs()?,
                "externalURL" => external_url = p.nullable(Self::string)?,
                "alerts" => {
                    // At the first alert, room for as many of a typical size (about
                    // 600 bytes) as the rest of the body could hold, up to 1024: no
                    // reallocation below that. An empty list allocates nothing, so
                    // a body of repeated `"alerts":[]` costs no allocation each.
                    let room = ((p.text.len() - p.i) / 512 + 1).min(1024);
                    let mut list = Vec::new();
                    p.array(|p| {
                        let alert = p.alert()?;
                        if list.is_empty() {
                            list.reserve(room);
                        }
                        list.push(alert);
                        Some(())
                    })?;
                    alerts = Some(list);
                }
                _ => p.skip(DEPTH)?,
            }
            Some(())
        })?;
        Some(Webhook {
            version,
            group_key: group_key?,
            truncated_alerts,
            status: status?,
            receiver: receiver?,
            group_labels,
            common_labels,
            common_annotations,
            external_url,
            alerts: alerts?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{MAX_DEPTH, Pairs, Str, webhook_fixtures};
    use crate::validation::{self, ValidationError, collect};
    use proptest::prelude::*;
    use std::borrow::Cow;

    /// Every string of a webhook, and whether it borrows from the body.
    fn strings<'w>(hook: &'w Webhook<'_>) -> Vec<(&'w str, bool)> {
        fn s<'w>(out: &mut Vec<(&'w str, bool)>, v: &'w Str<'_>) {
            out.push((v.as_str(), matches!(v.0, Cow::Borrowed(_))));
        }
        fn pairs<'w>(out: &mut Vec<(&'w str, bool)>, p: &'w Pairs<'_>) {
            for (k, v) in &p.0 {
                s(out, k);
                s(out, v);
            }
        }
        let mut out = Vec::new();
        for v in [&hook.version, &hook.group_key, &hook.receiver] {
            s(&mut out, v);
        }
        if let Some(url) = &hook.external_url {
            s(&mut out, url);
        }
        for p in [
            &hook.group_labels,
            &hook.common_labels,
            &hook.common_annotations,
        ] {
            pairs(&mut out, p);
        }
        for alert in &hook.alerts {
            pairs(&mut out, &alert.labels);
            pairs(&mut out, &alert.annotations);
            out.push((alert.starts_at.as_str(), false));
            out.push((alert.ends_at.as_ref().map_or("-", |t| t.as_str()), false));
            if let Some(url) = &alert.generator_url {
                s(&mut out, url);
            }
            s(&mut out, &alert.fingerprint);
        }
        out
    }

    /// The answer without the parser: serde_json's typed parse (of the body
    /// as `payload::tame` writes it, if it refuses the body), else the walk's rows.
    fn serde_answer(body: &[u8]) -> Result<Webhook<'_>, Vec<ValidationError>> {
        // A body that is not UTF-8 is refused as a whole (see `Webhook::from_slice`).
        std::str::from_utf8(body)
            .ok()
            .and_then(|text| {
                serde_json::from_str(text)
                    .ok()
                    .or_else(|| crate::payload::parse_tamed(body))
            })
            .ok_or_else(|| collect(body))
    }

    /// Checks the parser against serde_json on `body`: it accepts only what
    /// serde_json accepts, with equal values and the same strings borrowed; and
    /// `validation::parse` answers as serde_json and the walk alone would.
    /// Returns whether the parser accepted the body.
    fn agree(body: &[u8]) -> bool {
        let reference = serde_answer(body);
        let ours = validation::parse(body).map_err(|e| e.errors().to_vec());
        assert_eq!(ours, reference, "{}", String::from_utf8_lossy(body));
        let Ok(text) = std::str::from_utf8(body) else {
            return false;
        };
        let Some(hook) = parse(text) else {
            return false;
        };
        let Ok(reference) = &reference else {
            panic!("the parser accepts what serde_json rejects: {text}");
        };
        assert_eq!(&hook, reference, "{text}");
        assert_eq!(strings(&hook), strings(reference), "{text}");
        true
    }

    #[test]
    fn a_bad_unicode_escape_in_an_unknown_field_is_left_to_serde_json() {
        let body = TEMPLATE.replacen(r#""version":"4""#, r#""x":"\uZZZZ""#, 1);
        assert!(parse(&body).is_none());
        assert!(serde_json::from_str::<Webhook<'_>>(&body).is_err());
        assert!(!agree(body.as_bytes()));
    }

    #[test]
    fn fixtures_parse_alike_and_borrow_alike() {
        for (name, body) in webhook_fixtures() {
            assert!(agree(&body), "{name}");
        }
        // Escape-free strings borrow from the body; escaped ones are owned.
        let body = br#"{"groupKey":"g","status":"firing","receiver":"r\u0041","alerts":[]}"#;
        let hook = parse(std::str::from_utf8(body).unwrap()).unwrap();
        assert!(matches!(hook.group_key.0, Cow::Borrowed("g")));
        assert!(matches!(hook.receiver.0, Cow::Owned(ref r) if r == "rA"));
        assert!(agree(body));
    }

    /// A valid body with `@` where a value (or a key) is substituted.
    const TEMPLATE: &str = r#"{"receiver":"r","status":"firing","groupKey":"{}:{a=\"b\"}","truncatedAlerts":0,"groupLabels":{"a":"b"},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://x","version":"4","alerts":[{"status":"firing","labels":{"alertname":"A","severity":"warning"},"annotations":{"summary":"s"},"startsAt":"2026-01-17T12:22:56.068Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://p/graph?a=1\u0026b=2","fingerprint":"f"}]}"#;

    /// Places in TEMPLATE where a raw value goes.
    const PLACES: &[(&str, &str)] = &[
        (r#""receiver":"r""#, r#""receiver":@"#),
        (r#""status":"firing","g"#, r#""status":@,"g"#),
        (r#""truncatedAlerts":0"#, r#""truncatedAlerts":@"#),
        (r#""groupLabels":{"a":"b"}"#, r#""groupLabels":{"a":@}"#),
        (r#""groupLabels":{"a":"b"}"#, r#""groupLabels":@"#),
        (r#""externalURL":"http://x""#, r#""externalURL":@"#),
        (r#""version":"4""#, r#""version":"4","x":@"#),
        (r#""fingerprint":"f""#, r#""fingerprint":@"#),
        (
            r#""startsAt":"2026-01-17T12:22:56.068Z""#,
            r#""startsAt":@"#,
        ),
        (r#""endsAt":"0001-01-01T00:00:00Z""#, r#""endsAt":@"#),
        (r#""summary":"s""#, r#"@:"s""#),
        (r#""alerts":[{"#, r#""alerts":[@,{"#),
    ];

    #[test]
    fn bad_values_everywhere_answer_alike() {
        let values: &[&[u8]] = &[
            b"null",
            b"true",
            b"false",
            b"0",
            b"-0",
            b"1",
            b"-1",
            b"1.0",
            b"1e2",
            b"-0.0",
            b"9223372036854775807",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"18446744073709551616",
            b"1e400",
            b"-1e400",
            b"1e-400",
            b"01",
            b"1.",
            b".5",
            b"-",
            b"+1",
            b"0x10",
            b"NaN",
            b"Infinity",
            b"-Infinity",
            b"nul",
            b"tru",
            b"None",
            b"[]",
            b"{}",
            b"[1,]",
            b"{\"a\":1,}",
            b"[,1]",
            b"{,}",
            b"[1 2]",
            b"{\"a\" 1}",
            b"{\"a\":1 \"b\":2}",
            b"{1:2}",
            b"{'a':1}",
            b"'s'",
            b"\"\"",
            b"\"s\"",
            b"\"firing\"",
            b"\"resolved\"",
            b"\"Firing\"",
            b"\"fir\\u0069ng\"",
            b"\"\\ud800\"",
            b"\"\\udc00\"",
            b"\"\\ud800\\u0041\"",
            b"\"\\ud83d\\ude00\"",
            b"\"\\ud83d\\ud83d\"",
            b"\"\\u00\"",
            b"\"\\uZZZZ\"",
            b"\"\\x41\"",
            b"\"\\a\"",
            b"\"\\/\"",
            b"\"a\\\"b\"",
            b"\"\\\\\"",
            b"\"a\x01b\"",
            b"\"a\x1fb\"",
            b"\"a\x7fb\"",
            b"\"a\tb\"",
            b"\"a\nb\"",
            b"\"a\x00b\"",
            b"\"\xff\"",
            b"\"\xc0\x80\"",
            b"\"\xe2\x82\"",
            b"\"\xed\xa0\x80\"",
            b"\"\xf4\x90\x80\x80\"",
            "\"ünï ✓ 😀\"".as_bytes(),
            b"\"unterminated",
            b"[\"a\"",
            b"{\"a\":",
            b"[[[[1]]]]",
            b"{\"a\":{\"b\":[{}]}}",
            b"[\"\\ud800\"]",
            b"{\"\\ud800\":1}",
            b"[\"\xff\"]",
            b"[\"a\x01\"]",
            b"\"\\u00\"",
            b"\"\\u00\\\"\"",
            b"\"\\\\u\"",
            b"\"\\\\\\uZZZZ\"",
            b"[\"\\u00\",\"a\"]",
            b"{\"\\u00\":1}",
            b"[1e400]",
            b"[01]",
            b"[-]",
            b"/*c*/1",
            b"1 // c",
            b"\x0c1",
            b"\x0b1",
            b"\xc2\xa01",
            b"1\x00",
            b"\"2026-01-17T12:22:56Z\"",
            b"\"2026-02-30T00:00:00Z\"",
            b"\"0001-01-01T00:00:00Z\"",
            b"{\"firing\":null}",
            b"[{\"status\":\"firing\"}]",
        ];
        let (mut accepted, mut total) = (0, 0);
        for (from, to) in PLACES {
            assert!(TEMPLATE.contains(from), "{from}");
            for value in values {
                let to = to.replace('@', "\u{1}");
                let mut body = Vec::new();
                let replaced = TEMPLATE.replacen(from, &to, 1);
                for part in replaced.split('\u{1}').enumerate() {
                    if part.0 > 0 {
                        body.extend_from_slice(value);
                    }
                    body.extend_from_slice(part.1.as_bytes());
                }
                total += 1;
                accepted += usize::from(agree(&body));
            }
        }
        assert!(accepted > 0 && accepted < total, "{accepted} of {total}");
    }

    #[test]
    fn whole_body_variants_answer_alike() {
        let t = TEMPLATE.as_bytes();
        let trimmed = &t[..t.len() - 1];
        let mut bodies: Vec<Vec<u8>> = vec![
            [b"\xef\xbb\xbf", t].concat(),
            [b" \t\r\n", t, b" \t\r\n"].concat(),
            [t, b"\x0c"].concat(),
            [b"\x0c", t].concat(),
            [t, b"x"].concat(),
            [t, b"{}"].concat(),
            [t, b"\x00"].concat(),
            [trimmed, b",}"].concat(),
            [trimmed, br#","receiver":"last"}"#].concat(),
            [trimmed, br#","status":"resolved"}"#].concat(),
            [trimmed, br#","alerts":[]}"#].concat(),
            [trimmed, br#","alerts":null}"#].concat(),
            [trimmed, br#","receiver":"a","receiver":"b"}"#].concat(),
            trimmed.to_vec(),
            t.replace_ascii(
                b"\"alertname\":\"A\"",
                b"\"alertname\":\"A\",\"alertname\":\"B\"",
            ),
            t.replace_ascii(b":", b" : "),
            t.replace_ascii(b",", b"\n,\n"),
            b"[]".to_vec(),
            b"null".to_vec(),
            b"{}".to_vec(),
            b"".to_vec(),
            b" ".to_vec(),
        ];
        for whitespace in 0..=255u8 {
            bodies.push([&[whitespace][..], t].concat());
            bodies.push(t.replace_ascii(
                b",\"status\"",
                &[
                    b',', whitespace, b'"', b's', b't', b'a', b't', b'u', b's', b'"',
                ],
            ));
        }
        for body in bodies {
            agree(&body);
        }
    }

    trait ReplaceAscii {
        fn replace_ascii(&self, from: &[u8], to: &[u8]) -> Vec<u8>;
    }
    impl ReplaceAscii for [u8] {
        fn replace_ascii(&self, from: &[u8], to: &[u8]) -> Vec<u8> {
            let text = std::str::from_utf8(self).unwrap();
            let (from, to) = (
                std::str::from_utf8(from).unwrap(),
                String::from_utf8_lossy(to),
            );
            text.replace(from, &to).into_bytes()
        }
    }

    #[test]
    fn deep_nesting_in_an_unknown_field_takes_serde_json() {
        for levels in [DEPTH as usize, DEPTH as usize + 1, 100_000] {
            for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
                let value = format!("{}1{}", open.repeat(levels), close.repeat(levels));
                let body = TEMPLATE.replacen(r#""version":"4""#, &format!(r#""x":{value}"#), 1);
                assert_eq!(parse(&body).is_some(), levels <= DEPTH as usize, "{levels}");
                // serde_json skips an unknown value without a depth limit; the
                // typed parse refuses it past serde_json's limit all the same.
                let typed = validation::parse(body.as_bytes());
                // One level more for the body's own object.
                assert_eq!(typed.is_ok(), levels < MAX_DEPTH, "{levels}");
            }
        }
    }

    /// An edit of a body: flip a byte's bit, insert a byte, or delete one.
    #[derive(Debug, Clone)]
    enum Edit {
        Flip(prop::sample::Index, u8),
        Insert(prop::sample::Index, u8),
        Delete(prop::sample::Index),
        /// One of [`TOKENS`], written over the bytes from the index.
        Token(prop::sample::Index, prop::sample::Index),
    }

    /// What serde_json refuses but `payload::tame` mends, and neighbours that it must leave.
    const TOKENS: &[&[u8]] = &[
        br"\ud800",
        br"\udc00",
        br"\ud83d\ude00",
        br"\ud83d\u0041",
        br"\\ud800",
        b"1e400",
        b"-1E+999",
        b"1e308",
        b"1e-400",
    ];

    fn byte() -> impl Strategy<Value = u8> {
        prop_oneof![
            prop::sample::select(b"{}[]:,\"\\ u0123456789.eE-+tfnl\t\n\r\x00\x01\x1f\x7f".to_vec()),
            any::<u8>(),
        ]
    }

    fn edit() -> impl Strategy<Value = Edit> {
        prop_oneof![
            (any::<prop::sample::Index>(), 0..8u8).prop_map(|(i, b)| Edit::Flip(i, b)),
            (any::<prop::sample::Index>(), byte()).prop_map(|(i, b)| Edit::Insert(i, b)),
            any::<prop::sample::Index>().prop_map(Edit::Delete),
            (any::<prop::sample::Index>(), any::<prop::sample::Index>())
                .prop_map(|(i, t)| Edit::Token(i, t)),
        ]
    }

    fn bodies() -> Vec<Vec<u8>> {
        let mut all: Vec<Vec<u8>> = webhook_fixtures().into_iter().map(|(_, b)| b).collect();
        all.push(TEMPLATE.as_bytes().to_vec());
        all
    }

    proptest! {
        // PARSER_CASES=1000000 for a longer run by hand.
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("PARSER_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(2048)
        ))]
        #[test]
        fn mutated_bodies_answer_alike(which in any::<prop::sample::Index>(), edits in prop::collection::vec(edit(), 1..4)) {
            let all = bodies();
            let mut body = which.get(&all).clone();
            for edit in edits {
                match edit {
                    Edit::Flip(i, bit) => {
                        let i = i.index(body.len());
                        body[i] ^= 1 << bit;
                    }
                    Edit::Insert(i, b) => body.insert(i.index(body.len() + 1), b),
                    Edit::Delete(i) => {
                        body.remove(i.index(body.len()));
                    }
                    Edit::Token(i, t) => {
                        let (at, token) = (i.index(body.len()), t.get(TOKENS));
                        let end = (at + token.len()).min(body.len());
                        body.splice(at..end, token.iter().copied());
                    }
                }
            }
            agree(&body);
        }
    }
}
