//! A corpus of bad input: every case gets its expected 4xx JSON answer (and,
//! for 422, its `loc`) within a deadline, and the service keeps answering.
//!
//! Cases go through the service in process with `oneshot`, except the lying
//! `Content-Length` and broken chunked ones, which need a real HTTP/1.1 server
//! (the examples' loop in `examples/common`). Broken chunk framing is answered
//! 400 (the same bytes would fail again); a body shorter than declared is answered 503
//! `Failed to read the request body; retry later` (when the client gives up, or when the
//! body-read deadline passes); a body longer than declared is cut at the
//! declared length (422), and the rest is a malformed next request that
//! hyper refuses before closing the connection.

#[path = "../examples/common/mod.rs"]
mod common;
mod raw_http;

use std::convert::Infallible;
use std::time::Duration;

use alertmanager_webhook::AlertReceiver;
use alertmanager_webhook::validation::MAX_ERRORS;
use bytes::Bytes;
use http::Request;
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use raw_http::{FIXTURE, head, read_answer, read_to_close, within};
use serde_json::{Value, json};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

/// How a case is sent.
#[derive(Clone, Copy, Debug)]
enum Via {
    /// POST, `application/json`, the body in one frame.
    Whole,
    /// As `Whole`, one byte per frame.
    BytePerFrame,
    /// With this method.
    Method(&'static str),
    /// With this content type.
    ContentType(&'static str),
    /// With this `Content-Encoding`.
    ContentEncoding(&'static str),
    /// With this declared `Content-Length`.
    Declared(u64),
}

/// What the answer must be.
#[derive(Debug)]
enum Want {
    /// 422: the first row's `loc`, and how many rows.
    Invalid(Value, usize),
    /// Another 4xx, with a `{"detail": "<text>"}` body.
    Refused(u16),
}

struct Case {
    name: String,
    body: Vec<u8>,
    via: Via,
    want: Want,
}

fn case(name: impl Into<String>, body: impl Into<Vec<u8>>, loc: Value, rows: usize) -> Case {
    Case {
        name: name.into(),
        body: body.into(),
        via: Via::Whole,
        want: Want::Invalid(loc, rows),
    }
}

/// A body the JSON parser itself rejects at byte `offset`.
fn decode(name: impl Into<String>, body: impl Into<Vec<u8>>, offset: usize) -> Case {
    case(name, body, json!(["body", offset]), 1)
}

fn refused(name: &str, body: impl Into<Vec<u8>>, via: Via, status: u16) -> Case {
    Case {
        name: name.into(),
        body: body.into(),
        via,
        want: Want::Refused(status),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("needle present")
}

/// The fixture with the value at JSON pointer `at` replaced by the raw bytes `raw`
/// (which need not be JSON), and where `raw` starts.
fn with_raw(at: &str, raw: &[u8]) -> (Vec<u8>, usize) {
    if at.is_empty() {
        return (raw.to_vec(), 0);
    }
    let mut doc: Value = serde_json::from_slice(FIXTURE).expect("fixture");
    *doc.pointer_mut(at).expect("pointer") = Value::from("@@RAW@@");
    let mut body = serde_json::to_vec(&doc).expect("JSON");
    let start = find(&body, b"\"@@RAW@@\"");
    body.splice(start..start + 9, raw.iter().copied());
    (body, start)
}

fn with(at: &str, value: &str) -> Vec<u8> {
    with_raw(at, value.as_bytes()).0
}

/// The `loc` of JSON pointer `at`: `/alerts/0/status` is `["body","alerts",0,"status"]`.
fn loc(at: &str) -> Value {
    let mut loc = vec![json!("body")];
    for part in at.split('/').skip(1) {
        loc.push(match part.parse::<usize>() {
            Ok(index) => json!(index),
            Err(_) => json!(part),
        });
    }
    Value::Array(loc)
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let fixture = std::str::from_utf8(FIXTURE).expect("UTF-8");

    // Wrong types for every field (and for label values, an alert, the body).
    for (at, value) in [
        ("/version", "5"),
        ("/groupKey", "5"),
        ("/truncatedAlerts", r#""3""#),
        ("/status", "1"),
        ("/receiver", "[]"),
        ("/groupLabels", r#""x""#),
        ("/commonLabels", "[]"),
        ("/commonAnnotations", "5"),
        ("/externalURL", "{}"),
        ("/alerts", "{}"),
        ("/alerts/0/status", "true"),
        ("/alerts/0/labels", r#""x""#),
        ("/alerts/0/annotations", "[]"),
        ("/alerts/0/startsAt", "5"),
        ("/alerts/0/endsAt", "{}"),
        ("/alerts/0/generatorURL", "1"),
        ("/alerts/0/fingerprint", "1"),
        ("/alerts/0/labels/severity", "1"),
        ("/commonAnnotations/summary", "false"),
        ("/alerts/0", r#""x""#),
        ("", "5"),
    ] {
        cases.push(case(
            format!("wrong type {at}"),
            with(at, value),
            loc(at),
            1,
        ));
    }

    // `null` everywhere it is not allowed.
    for at in [
        "/version",
        "/groupKey",
        "/truncatedAlerts",
        "/status",
        "/receiver",
        "/groupLabels",
        "/commonLabels",
        "/commonAnnotations",
        "/alerts",
        "/alerts/0",
        "/alerts/0/status",
        "/alerts/0/labels",
        "/alerts/0/annotations",
        "/alerts/0/startsAt",
        "/alerts/0/fingerprint",
        "/alerts/0/labels/severity",
        "",
    ] {
        cases.push(case(format!("null {at}"), with(at, "null"), loc(at), 1));
    }
    cases.push(case("empty object", "{}", loc("/groupKey"), 4));

    // Duplicate keys: every occurrence is checked.
    let duplicates = [
        (
            "status bad then good",
            format!(r#"{{"status":"on",{}"#, &fixture[1..]),
            "/status",
        ),
        (
            "truncatedAlerts good then bad",
            fixture.replace(
                r#""truncatedAlerts":0}"#,
                r#""truncatedAlerts":0,"truncatedAlerts":"x"}"#,
            ),
            "/truncatedAlerts",
        ),
        (
            "label bad after good",
            fixture.replacen(
                r#""severity":"warning"}"#,
                r#""severity":"warning","severity":null}"#,
                1,
            ),
            "/alerts/0/labels/severity",
        ),
        (
            "alerts bad then good",
            format!(r#"{{"alerts":[null],{}"#, &fixture[1..]),
            "/alerts/0",
        ),
    ];
    for (name, body, at) in duplicates {
        cases.push(case(format!("duplicate key: {name}"), body, loc(at), 1));
    }

    // Invalid UTF-8: the parser's error at the offending byte.
    for (name, raw, at) in [
        ("invalid byte", &b"\"bas\xffic\""[..], 4),
        ("overlong encoding", b"\"\xc0\x80\"", 1),
        ("cut multi-byte", b"\"\xe2\x82\"", 1),
    ] {
        let (body, start) = with_raw("/receiver", raw);
        cases.push(decode(format!("{name} in a string"), body, start + at));
    }
    // A lone surrogate is JSON (read as U+FFFD): a body with one gets the rows of its
    // real problems, here an alert status.
    for (name, raw) in [
        ("lone leading surrogate", &br#""\ud800""#[..]),
        ("lone trailing surrogate", br#""\udc00""#),
        ("leading surrogate then ASCII", br#""\ud800\u0041""#),
    ] {
        let body = String::from_utf8(with_raw("/receiver", raw).0).expect("UTF-8");
        let body = body.replacen(r#""status":"firing""#, r#""status":"on""#, 1);
        cases.push(case(
            format!("{name}, and a bad status"),
            body,
            loc("/alerts/0/status"),
            1,
        ));
    }
    let mut key = FIXTURE.to_vec();
    key.splice(4..4, [0xff]);
    cases.push(decode("invalid byte in a key", key, 4));
    cases.push(decode("a BOM", [b"\xef\xbb\xbf", FIXTURE].concat(), 0));
    // In an unknown field, which serde_json would skip without looking at its bytes.
    cases.push(decode(
        "invalid byte in an unknown field",
        [&b"{\"x\":\"\xff\","[..], &FIXTURE[1..]].concat(),
        6,
    ));

    // Numbers too large for an f64 are JSON: the field's own row, at every offset after them too.
    let digits = "9".repeat(10_000);
    for (at, raw) in [
        ("/truncatedAlerts", "1e400"),
        ("/truncatedAlerts", &digits),
        ("/commonLabels/severity", "-1e400"),
        ("/alerts/0/status", "1E+999"),
    ] {
        cases.push(case(
            format!("{}-byte number out of range at {at}", raw.len()),
            with(at, raw),
            loc(at),
            1,
        ));
    }
    let body = with("/truncatedAlerts", "1e400");
    cases.push(decode(
        "a number out of range, then a syntax error",
        [&body[..], b" x"].concat(),
        body.len() + 1,
    ));
    cases.push(case(
        "u64::MAX + 1",
        with("/truncatedAlerts", "18446744073709551616"),
        loc("/truncatedAlerts"),
        1,
    ));
    cases.push(case(
        "-1e308 status",
        with("/alerts/0/status", "-1e308"),
        loc("/alerts/0/status"),
        1,
    ));

    // 100 000-deep nesting: refused everywhere at serde_json's depth limit, at the
    // bracket that opens the 128th container counting the enclosing objects: in known
    // fields, in unknown ones (which serde_json skips without a limit) and as the body.
    let (open, close) = ("[".repeat(100_000), "]".repeat(100_000));
    let (body, start) = with_raw("/receiver", format!("{open}{close}").as_bytes());
    cases.push(decode("100 000-deep receiver", body, start + 127 - 1));
    let (body, start) = with_raw(
        "/commonLabels/severity",
        format!("{open}{close}").as_bytes(),
    );
    cases.push(decode("100 000-deep label value", body, start + 127 - 2));
    cases.push(decode("100 000 open brackets", open.clone(), 127));
    cases.push(decode(
        "100 000-deep list body",
        format!("{open}{close}"),
        127,
    ));
    let objects = format!("{}1{}", r#"{"a":"#.repeat(100_000), "}".repeat(100_000));
    cases.push(decode("100 000-deep unknown fields", objects, 127 * 5));
    let mut body = FIXTURE.to_vec();
    let start = find(&body, b"\"fingerprint\"");
    body.splice(start..start, format!(r#""x":{open}{close},"#).bytes());
    cases.push(decode(
        "100 000-deep unknown field in an alert",
        body,
        start + 4 + 127 - 3,
    ));

    // A 1 MB string: never echoed back.
    let mega = format!("\"{}\"", "x".repeat(1 << 20));
    cases.push(case(
        "1 MB status",
        with("/status", &mega),
        loc("/status"),
        1,
    ));
    cases.push(case(
        "1 MB truncatedAlerts",
        with("/truncatedAlerts", &mega),
        loc("/truncatedAlerts"),
        1,
    ));
    let key = format!(r#"{{{mega}:1}}"#);
    let cut_key = json!(["body", "commonLabels", "x".repeat(100) + "…"]);
    cases.push(case(
        "1 MB label key",
        with("/commonLabels", &key),
        cut_key,
        1,
    ));
    let unterminated = format!(r#"{{"receiver":{}"#, &mega[..mega.len() - 1]);
    cases.push(decode(
        "1 MB unterminated string",
        unterminated.clone(),
        unterminated.len(),
    ));

    // 100 000 labels, and 100 000 alerts.
    let labels: Vec<String> = (0..100_000).map(|i| format!(r#""l{i}":{i}"#)).collect();
    let labels = format!("{{{}}}", labels.join(","));
    cases.push(case(
        "100 000 bad labels",
        with("/commonLabels", &labels),
        loc("/commonLabels/l0"),
        MAX_ERRORS + 1, // and a last row that counts the others
    ));
    let good: Vec<String> = (0..100_000).map(|i| format!(r#""l{i}":"v""#)).collect();
    let good = format!("{{{}}}", good.join(","));
    let body = with("/groupLabels", &good);
    let body = String::from_utf8(body)
        .expect("UTF-8")
        .replace(r#""receiver":"basic","#, "");
    cases.push(case(
        "100 000 labels, no receiver",
        body,
        loc("/receiver"),
        1,
    ));
    let alerts = format!("[{}null]", "null,".repeat(99_999));
    cases.push(case(
        "100 000 null alerts",
        with("/alerts", &alerts),
        loc("/alerts/0"),
        MAX_ERRORS + 1, // and a last row that counts the others
    ));

    // Empty and blank bodies.
    cases.push(decode("empty body", "", 0));
    // An early end is placed at the end.
    cases.push(decode("spaces", "   ", 3));
    cases.push(decode("mixed whitespace", " \r\n\t\n ", 6));

    // Sent one byte per frame.
    let (bad_utf8, bad_at) = with_raw("/receiver", b"\"\xff\"");
    for mut c in [
        case("null status", with("/status", "null"), loc("/status"), 1),
        decode("invalid UTF-8", bad_utf8, bad_at + 1),
        decode("cut", &FIXTURE[..100], 100),
    ] {
        c.name = format!("one byte per frame: {}", c.name);
        c.via = Via::BytePerFrame;
        cases.push(c);
    }

    // Other syntax errors.
    let doc = FIXTURE.trim_ascii_end();
    cases.push(decode(
        "trailing garbage",
        [FIXTURE, b"x"].concat(),
        FIXTURE.len(),
    ));
    cases.push(decode(
        "two documents",
        [FIXTURE, FIXTURE].concat(),
        FIXTURE.len(),
    ));
    cases.push(decode(
        "trailing comma",
        [&doc[..doc.len() - 1], b",}"].concat(),
        doc.len(),
    ));
    cases.push(decode("single quotes", "{'receiver':'basic'}", 1));
    let (body, start) = with_raw("/truncatedAlerts", b"NaN");
    cases.push(decode("NaN", body, start));
    cases.push(decode("a comment", [b"// hi\n", FIXTURE].concat(), 0));
    let (body, start) = with_raw("/receiver", b"\"ba\x01sic\"");
    cases.push(decode("raw control character", body, start + 3));
    let prometheus = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/30-prometheus-to-alertmanager-POST-api-v2-alerts.json"
    ))
    .expect("fixture 30");
    cases.push(case(
        "a Prometheus alert list",
        prometheus,
        json!(["body"]),
        1,
    ));

    // Refused before parsing.
    cases.push(refused("GET", FIXTURE, Via::Method("GET"), 405));
    cases.push(refused("DELETE", FIXTURE, Via::Method("DELETE"), 405));
    cases.push(refused(
        "text/plain",
        FIXTURE,
        Via::ContentType("text/plain"),
        415,
    ));
    cases.push(refused(
        "form",
        FIXTURE,
        Via::ContentType("application/x-www-form-urlencoded"),
        415,
    ));
    // The first bytes of a gzip stream (magic, deflate, no flags).
    cases.push(refused(
        "gzip",
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03".to_vec(),
        Via::ContentEncoding("gzip"),
        415,
    ));
    let limit = alertmanager_webhook::DEFAULT_BODY_LIMIT;
    cases.push(refused(
        "4 MiB + 1 of spaces",
        vec![b' '; limit + 1],
        Via::Whole,
        413,
    ));
    cases.push(refused("declared 10 GiB", "", Via::Declared(10 << 30), 413));
    cases
}

/// Cuts of the fixture right after each structural character.
fn truncations() -> Vec<Case> {
    let mut cases = Vec::new();
    let (mut in_string, mut escaped) = (false, false);
    let doc = FIXTURE.trim_ascii_end();
    for (i, &b) in doc[..doc.len() - 1].iter().enumerate() {
        let structural = match b {
            _ if escaped => false,
            b'\\' => false,
            b'"' => true,
            _ => !in_string && b"{}[]:,".contains(&b),
        };
        escaped = in_string && b == b'\\' && !escaped;
        if b == b'"' && structural {
            in_string = !in_string;
        }
        if structural {
            cases.push(decode(format!("cut after byte {i}"), &FIXTURE[..=i], i + 1));
        }
    }
    cases
}

type Frames = futures_util::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>;

fn request(body: &[u8], via: Via) -> Request<StreamBody<Frames>> {
    let size = match via {
        Via::BytePerFrame => 1,
        _ => body.len().max(1),
    };
    let frames: Vec<Result<Frame<Bytes>, Infallible>> = body
        .chunks(size)
        .map(|chunk| Ok(Frame::data(Bytes::copy_from_slice(chunk))))
        .collect();
    let method = match via {
        Via::Method(method) => method,
        _ => "POST",
    };
    let content_type = match via {
        Via::ContentType(ct) => ct,
        _ => "application/json",
    };
    let mut request = Request::builder()
        .method(method)
        .uri("/api/webhooks/alerts")
        .header("content-type", content_type);
    match via {
        Via::Declared(n) => request = request.header("content-length", n),
        Via::ContentEncoding(coding) => request = request.header("content-encoding", coding),
        _ => {}
    }
    request
        .body(StreamBody::new(futures_util::stream::iter(frames)))
        .expect("request")
}

/// Sends `c`; describes how its answer differs from what it should be, if it does.
async fn check(receiver: &AlertReceiver, c: &Case) -> Result<(), String> {
    let response = within(&c.name, receiver.clone().oneshot(request(&c.body, c.via)))
        .await
        .expect("infallible");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("infallible").to_bytes();
    let text = String::from_utf8_lossy(&body);
    if parts.headers["content-type"] != "application/json" || text.contains(&"x".repeat(101)) {
        return Err(format!("{}: not JSON, or echoes the input", c.name));
    }
    let answer: Value = serde_json::from_slice(&body).map_err(|e| format!("{}: {e}", c.name))?;
    // (status, first loc, rows) or (status, detail text).
    let got = match answer["detail"].as_array() {
        Some(rows) => json!([
            parts.status.as_u16(),
            rows.first().map(|r| &r["loc"]),
            rows.len()
        ]),
        None => json!([parts.status.as_u16(), answer["detail"].is_string()]),
    };
    let want = match &c.want {
        Want::Invalid(loc, rows) => json!([422, loc, rows]),
        Want::Refused(status) => json!([status, true]),
    };
    if got == want {
        Ok(())
    } else {
        Err(format!("{}: want {want}, got {got}: {text:.200}", c.name))
    }
}

#[tokio::test]
async fn every_bad_input_gets_its_4xx_and_loc_and_the_service_keeps_answering() {
    let receiver = AlertReceiver::builder().build();
    let cases = cases();
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let mut names = std::collections::HashSet::new();
    let truncations = truncations();
    assert!(truncations.len() > 100, "only {} cuts", truncations.len());
    eprintln!("{} cases and {} cuts", cases.len(), truncations.len());
    let mut failures = Vec::new();
    for c in cases.iter().chain(&truncations) {
        assert!(names.insert(&c.name), "two cases named {}", c.name);
        failures.extend(check(&receiver, c).await.err());
    }
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let response = receiver
        .oneshot(request(FIXTURE, Via::Whole))
        .await
        .expect("infallible");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn null_where_the_contract_allows_it_is_accepted() {
    let receiver = AlertReceiver::builder().build();
    for at in ["/externalURL", "/alerts/0/endsAt", "/alerts/0/generatorURL"] {
        let response = receiver
            .clone()
            .oneshot(request(&with(at, "null"), Via::Whole))
            .await
            .expect("infallible");
        assert_eq!(response.status(), 200, "{at}");
    }
}

/// The receiver on the examples' HTTP/1.1 loop, with a 1 s body-read deadline.
async fn server() -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let timeouts = common::Timeouts {
        header: Duration::from_secs(5),
        body: Duration::from_secs(1),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let receiver = AlertReceiver::builder().build();
    tokio::spawn(common::serve(listener, receiver, timeouts, async {
        let _ = stopped.await;
    }));
    (addr, stop)
}

fn assert_read_failure(answer: &raw_http::Answer) {
    assert_eq!(answer.status, 503, "{answer:?}");
    assert_eq!(
        answer.json(),
        json!({"detail": "Failed to read the request body; retry later"})
    );
}

async fn still_answers(addr: std::net::SocketAddr) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(&[head(FIXTURE.len()), FIXTURE.to_vec()].concat())
        .await
        .expect("write");
    let answer = within("a valid request", read_answer(&mut BufReader::new(stream))).await;
    assert_eq!(answer.expect("an answer").status, 200);
}

#[tokio::test]
async fn a_content_length_larger_than_the_body_is_answered_503() {
    let (addr, _stop) = server().await;
    let sent = &FIXTURE[..FIXTURE.len() - 50];
    // The client stops sending but keeps the connection open: the body-read deadline ends it.
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(&[head(FIXTURE.len()), sent.to_vec()].concat())
        .await
        .expect("write");
    let mut reader = BufReader::new(stream);
    let answer = within("the deadline's answer", read_answer(&mut reader)).await;
    assert_read_failure(&answer.expect("an answer"));
    // The rest of the declared body never came, so the connection cannot be reused.
    assert!(
        within("the close", read_to_close(&mut reader))
            .await
            .is_empty()
    );

    // The client closes its side early: the body ends short at once.
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(&[head(FIXTURE.len()), sent.to_vec()].concat())
        .await
        .expect("write");
    stream.shutdown().await.expect("half-close");
    let answer = within(
        "the short body's answer",
        read_answer(&mut BufReader::new(stream)),
    )
    .await;
    assert_read_failure(&answer.expect("an answer"));
    still_answers(addr).await;
}

#[tokio::test]
async fn a_chunked_body_with_broken_framing_is_answered_400() {
    let (addr, _stop) = server().await;
    let head = raw_http::CHUNKED_HEAD;
    for (what, chunks) in [
        ("a chunk size that is not hex", "zz\r\n{}\r\n0\r\n\r\n"),
        (
            "a chunk size that overflows",
            "1ffffffffffffffffff\r\n{}\r\n0\r\n\r\n",
        ),
        ("no CRLF after the chunk data", "2\r\n{}XX0\r\n\r\n"),
    ] {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(format!("{head}{chunks}").as_bytes())
            .await
            .expect("write");
        let answer = within(what, read_answer(&mut BufReader::new(stream)))
            .await
            .unwrap_or_else(|| panic!("{what}: no answer"));
        // A retry of the same bytes would fail again: a 4xx, so that the sender does not retry.
        assert_eq!(answer.status, 400, "{what}: {answer:?}");
        assert_eq!(
            answer.json(),
            json!({"detail": "Malformed request body: its framing (chunked encoding) is invalid"}),
            "{what}"
        );
    }
    still_answers(addr).await;
}

#[tokio::test]
async fn a_content_length_smaller_than_the_body_cuts_it() {
    let (addr, _stop) = server().await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(&[head(100), FIXTURE.to_vec()].concat())
        .await
        .expect("write");
    let mut reader = BufReader::new(stream);
    let answer = within("the cut body's answer", read_answer(&mut reader))
        .await
        .expect("an answer");
    assert_eq!(answer.status, 422);
    let answer = answer.json();
    assert_eq!(answer["detail"][0]["loc"], json!(["body", 100]));
    // The remaining bytes are not a request: hyper answers 400 (no JSON: the
    // service never sees it) and closes.
    let rest = within("the close", read_to_close(&mut reader)).await;
    let rest = String::from_utf8_lossy(&rest);
    assert!(
        rest.is_empty() || rest.starts_with("HTTP/1.1 400 "),
        "{rest}"
    );
    still_answers(addr).await;
}
