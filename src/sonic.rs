//! The typed parse through sonic-rs (feature `sonic-rs`).
//!
//! sonic-rs parses a body only when it passes a bracket guard, and any error
//! it reports is thrown away: the caller then runs the serde_json parse, so
//! every rejected body gets the same answer as without the feature.
//!
//! One difference is checked after the fact: in the strings it skips (unknown
//! fields), sonic-rs 0.5 takes any four bytes after `\u`, while serde_json
//! requires hex digits. A body that sonic-rs accepts is passed on only if
//! every `\u` escape in it has four hex digits.

use crate::payload::Webhook;

/// The most `[` and `{` bytes a body may hold for sonic-rs to parse it.
///
/// sonic-rs 0.5 skips unknown values, and reports a list or object where a
/// string belongs, by recursing once per nesting level with no limit of its
/// own, so a deeply nested body would overflow the stack and abort the
/// process. The count of opening brackets bounds the nesting depth (brackets
/// inside strings only count too many). Measured (BENCHMARKS.md), a level
/// takes about 200 bytes of stack optimized and about 56 KiB unoptimized; the
/// limits keep the recursion within a quarter of a 2 MiB stack (tokio's
/// worker threads, Rust's spawned threads).
pub(crate) const MAX_BRACKETS: usize = if cfg!(debug_assertions) { 8 } else { 2048 };

/// The typed parse by sonic-rs, or `None` when the body is left to serde_json.
pub(crate) fn parse(text: &str) -> Option<Webhook<'_>> {
    if brackets(text.as_bytes()) > MAX_BRACKETS {
        return None;
    }
    parse_unguarded(text)
}

/// [`parse`] without the bracket guard.
fn parse_unguarded(text: &str) -> Option<Webhook<'_>> {
    let hook = sonic_rs::from_str(text).ok()?;
    unicode_escapes_are_hex(text.as_bytes()).then_some(hook)
}

/// Whether every `\u` escape in `body` is followed by four hex digits.
///
/// A `\u` after an odd number of backslashes is an escaped backslash and a
/// `u`, not an escape. This judges escapes as a left-to-right lexer does for
/// any body sonic-rs accepts: up to the first bad `\u`, sonic-rs and serde_json
/// split the strings alike.
fn unicode_escapes_are_hex(body: &[u8]) -> bool {
    memchr::memmem::find_iter(body, b"\\u").all(|at| {
        let before = body[..at].iter().rev().take_while(|&&b| b == b'\\').count();
        before % 2 == 1
            || body
                .get(at + 2..at + 6)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    })
}

/// How many `[` and `{` bytes `body` holds.
///
/// `b | 0x20 == b'{'` holds exactly for `[` (0x5B) and `{` (0x7B). Counting
/// in `u8` lanes over fixed blocks of 64 bytes lets the compiler vectorize it.
pub(crate) fn brackets(body: &[u8]) -> usize {
    fn count(block: &[u8]) -> usize {
        usize::from(
            block
                .iter()
                .fold(0u8, |n, &b| n + u8::from(b | 0x20 == b'{')),
        )
    }
    let blocks = body.chunks_exact(64);
    let tail = count(blocks.remainder());
    blocks.fold(tail, |n, block| n + count(block))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{Pairs, Str, webhook_fixtures};
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

    /// The answer without the feature: serde_json's typed parse, else the walk's rows.
    fn serde_answer(body: &[u8]) -> Result<Webhook<'_>, Vec<ValidationError>> {
        let typed = match std::str::from_utf8(body) {
            Ok(text) => serde_json::from_str(text),
            Err(_) => serde_json::from_slice(body),
        };
        typed.map_err(|_| collect(body))
    }

    /// Checks sonic-rs (without the bracket guard) against serde_json on `body`:
    /// it accepts only what serde_json accepts, with equal values and the same
    /// strings borrowed; and `validation::parse` answers as without the feature.
    /// Returns whether sonic-rs accepted the body.
    fn agree(body: &[u8]) -> bool {
        let reference = serde_answer(body);
        let ours = validation::parse(body).map_err(|e| e.errors().to_vec());
        assert_eq!(ours, reference, "{}", String::from_utf8_lossy(body));
        let Ok(text) = std::str::from_utf8(body) else {
            return false;
        };
        let Some(hook) = parse_unguarded(text) else {
            return false;
        };
        let Ok(reference) = &reference else {
            if std::env::var_os("SONIC_LIST").is_some() {
                eprintln!("MISMATCH {text}");
                return true;
            }
            panic!("sonic-rs accepts what serde_json rejects: {text}");
        };
        assert_eq!(&hook, reference, "{text}");
        assert_eq!(strings(&hook), strings(reference), "{text}");
        true
    }

    #[test]
    fn brackets_counts_every_opening_bracket() {
        let body: Vec<u8> = (0..2000u32).map(|i| (i * 7 % 256) as u8).collect();
        let naive = body.iter().filter(|b| matches!(b, b'[' | b'{')).count();
        assert_eq!(brackets(&body), naive);
        assert_eq!(brackets(&[b'['; 1000]), 1000);
        assert_eq!(brackets(b"{}[]\"{\"\x5b\x7b;"), 5);
    }

    #[test]
    fn unicode_escapes_need_four_hex_digits() {
        for (body, ok) in [
            (&br#""\u0026 \uD83D\ude00""#[..], true),
            (br#""\\uZZZZ \\\\u""#, true),
            (br#""\\\uZZZZ""#, false),
            (br#""\uZZZZ""#, false),
            (br#""\u00","#, false),
            (br#""\u12"#, false),
            (b"no escapes", true),
        ] {
            assert_eq!(
                unicode_escapes_are_hex(body),
                ok,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn a_bad_unicode_escape_in_an_unknown_field_is_left_to_serde_json() {
        let body = TEMPLATE.replacen(r#""version":"4""#, r#""x":"\uZZZZ""#, 1);
        // sonic-rs 0.5.10 skips the four bytes after `\u` unchecked.
        assert!(sonic_rs::from_str::<Webhook<'_>>(&body).is_ok());
        assert!(serde_json::from_str::<Webhook<'_>>(&body).is_err());
        assert!(parse_unguarded(&body).is_none());
        assert!(!agree(body.as_bytes()));
    }

    #[test]
    fn fixtures_parse_alike_and_borrow_alike() {
        for (name, body) in webhook_fixtures() {
            assert!(agree(&body), "{name}");
        }
        // Escape-free strings borrow from the body; escaped ones are owned.
        let body = br#"{"groupKey":"g","status":"firing","receiver":"r\u0041","alerts":[]}"#;
        let hook = sonic_rs::from_slice::<Webhook<'_>>(body).unwrap();
        assert!(matches!(hook.group_key.0, Cow::Borrowed("g")));
        assert!(matches!(hook.receiver.0, Cow::Owned(_)));
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
    fn deep_nesting_takes_serde_json_and_does_not_abort() {
        let open = "[".repeat(100_000);
        let closed = format!("{open}{}", "]".repeat(100_000));
        for nest in [&open, &closed] {
            for (from, to) in PLACES.iter().take(4) {
                let body = TEMPLATE.replacen(from, &to.replace('@', nest), 1);
                assert!(brackets(body.as_bytes()) > MAX_BRACKETS);
                assert!(crate::sonic::parse(&body).is_none());
                let ours = validation::parse(body.as_bytes()).map_err(|e| e.errors().to_vec());
                assert_eq!(ours, serde_answer(body.as_bytes()));
            }
            // An unknown field: serde_json skips it without a limit.
            let body = TEMPLATE.replacen(r#""version":"4""#, &format!(r#""x":{nest}"#), 1);
            assert_eq!(validation::parse(body.as_bytes()).is_ok(), nest == &closed);
        }
    }

    /// An edit of a body: flip a byte's bit, insert a byte, or delete one.
    #[derive(Debug, Clone)]
    enum Edit {
        Flip(prop::sample::Index, u8),
        Insert(prop::sample::Index, u8),
        Delete(prop::sample::Index),
    }

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
        ]
    }

    fn bodies() -> Vec<Vec<u8>> {
        let mut all: Vec<Vec<u8>> = webhook_fixtures().into_iter().map(|(_, b)| b).collect();
        all.push(TEMPLATE.as_bytes().to_vec());
        all
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]
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
                }
            }
            agree(&body);
        }
    }
}
