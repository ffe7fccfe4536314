//! The receiver driven in process with `oneshot`: answers, limits, logs and sinks.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use alertmanager_webhook::sink::{Sink, SinkError, sink_fn};
use alertmanager_webhook::{AlertReceiver, Dedup, Event};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use tower::ServiceExt;

mod stream_body;
use stream_body::Stream;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(prefix: &str) -> Vec<u8> {
    let entry = std::fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(prefix) && name.ends_with(".json")
        })
        .unwrap_or_else(|| panic!("no fixture {prefix}"));
    std::fs::read(entry).unwrap()
}

fn post(body: impl Into<Bytes>) -> Request<Full<Bytes>> {
    Request::post("/api/webhooks/alerts")
        .header("content-type", "application/json")
        .body(Full::new(body.into()))
        .unwrap()
}

async fn send<B>(
    receiver: &AlertReceiver,
    request: Request<B>,
) -> (StatusCode, http::HeaderMap, String)
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let response: Response<_> = receiver.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

fn expected_summary(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).unwrap();
    let n = v["alerts"].as_array().unwrap().len();
    let receiver = v["receiver"].as_str().unwrap();
    let message = format!("Processed {n} alert(s) from {receiver}");
    format!(
        r#"{{"status":"ok","received":{n},"processed":{n},"message":{}}}"#,
        serde_json::to_string(&message).unwrap()
    )
}

#[tokio::test]
async fn every_fixture_gets_the_exact_summary() {
    let receiver = AlertReceiver::builder().build();
    let mut checked = 0;
    for entry in std::fs::read_dir(FIXTURES).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".json") || name.starts_with("30-") {
            continue;
        }
        let body = std::fs::read(&path).unwrap();
        let (status, headers, text) = send(&receiver, post(body.clone())).await;
        assert_eq!(status, 200, "{name}: {text}");
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(text, expected_summary(&body), "{name}");
        checked += 1;
    }
    assert_eq!(checked, 13);
}

#[tokio::test]
async fn the_regex_quoted_receiver_is_reported_as_sent() {
    let receiver = AlertReceiver::builder().build();
    let (_, _, text) = send(&receiver, post(fixture("16-"))).await;
    assert_eq!(
        text,
        r#"{"status":"ok","received":1,"processed":1,"message":"Processed 1 alert(s) from team\\.gpu"}"#
    );
}

#[tokio::test]
async fn a_prometheus_alert_list_gets_422_with_a_hint() {
    let receiver = AlertReceiver::builder().build();
    let (status, _, text) = send(&receiver, post(fixture("30-"))).await;
    assert_eq!(status, 422);
    let v: Value = serde_json::from_str(&text).unwrap();
    let rows = v["detail"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["loc"], serde_json::json!(["body"]));
    assert_eq!(rows[0]["type"], "type_error.dict");
    let msg = rows[0]["msg"].as_str().unwrap();
    assert!(msg.starts_with("value is not a valid dict"), "{msg}");
    assert!(msg.contains("/api/v2/alerts"), "{msg}");
}

#[tokio::test]
async fn empty_alert_list_is_200_with_zero() {
    let receiver = AlertReceiver::builder().build();
    let body = r#"{"groupKey":"g","status":"resolved","receiver":"r","alerts":[]}"#;
    let (status, _, text) = send(&receiver, post(body)).await;
    assert_eq!(status, 200);
    assert_eq!(
        text,
        r#"{"status":"ok","received":0,"processed":0,"message":"Processed 0 alert(s) from r"}"#
    );
}

#[tokio::test]
async fn methods_other_than_post_and_put_get_405_with_allow() {
    let receiver = AlertReceiver::builder().build();
    for method in ["GET", "HEAD", "DELETE", "PATCH", "OPTIONS"] {
        let request = Request::builder()
            .method(method)
            .uri("/")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let (status, headers, text) = send(&receiver, request).await;
        assert_eq!(status, 405, "{method}");
        assert_eq!(headers["allow"], "POST, PUT");
        assert_eq!(text, r#"{"detail":"Method Not Allowed"}"#);
    }
    let put = Request::put("/")
        .body(Full::new(Bytes::from(fixture("01-"))))
        .unwrap();
    assert_eq!(send(&receiver, put).await.0, 200);
}

#[tokio::test]
async fn content_types() {
    let receiver = AlertReceiver::builder().build();
    let body = Bytes::from(fixture("01-"));
    for (ct, expected) in [
        (None, 200),
        (Some("application/json"), 200),
        (Some("application/json; charset=utf-8"), 200),
        (Some("APPLICATION/JSON"), 200),
        (Some("application/vnd.alertmanager+json"), 200),
        (Some("application/problem+json\t; q=1;"), 200),
        (Some("application/json; charset=\u{e9}"), 415),
        (Some("text/plain"), 415),
        (Some("application/x-www-form-urlencoded"), 415),
        (Some("application/jsonx"), 415),
        (Some("application/+json"), 415),
        (Some("json"), 415),
    ] {
        let mut request = Request::post("/");
        if let Some(ct) = ct {
            request = request.header("content-type", ct);
        }
        let (status, headers, text) =
            send(&receiver, request.body(Full::new(body.clone())).unwrap()).await;
        assert_eq!(status, expected, "{ct:?}: {text}");
        assert_eq!(headers["content-type"], "application/json");
        if expected == 415 {
            assert!(text.starts_with(r#"{"detail":"#), "{text}");
        }
    }
    // Two Content-Type headers, in either order, even two alike: which counts is unclear.
    for pair in [
        ["application/json", "text/plain"],
        ["text/plain", "application/json"],
        ["application/json", "application/json"],
    ] {
        let request = Request::post("/")
            .header("content-type", pair[0])
            .header("content-type", pair[1]);
        let (status, _, text) =
            send(&receiver, request.body(Full::new(body.clone())).unwrap()).await;
        assert_eq!(status, 415, "{pair:?}: {text}");
    }
}

#[tokio::test]
async fn compressed_bodies_and_transfer_codings_are_refused_with_415() {
    let receiver = AlertReceiver::builder().build();
    let body = Bytes::from(fixture("01-"));
    let (ce, te) = ("content-encoding", "transfer-encoding");
    for (header, codings, expected) in [
        (ce, &[][..], 200),
        (ce, &["identity"][..], 200),
        (ce, &["Identity, identity"][..], 200),
        (ce, &["gzip"][..], 415),
        (ce, &["br"][..], 415),
        (ce, &["identity, gzip"][..], 415),
        (ce, &["identity", "deflate"][..], 415),
        (te, &["chunked"][..], 200),
        (te, &["Chunked"][..], 200),
        (te, &["gzip, chunked"][..], 415),
        (te, &["gzip", "chunked"][..], 415),
        (te, &["foo, chunked"][..], 415),
    ] {
        let mut request = Request::post("/").header("content-type", "application/json");
        for coding in codings {
            request = request.header(header, *coding);
        }
        let (status, headers, text) =
            send(&receiver, request.body(Full::new(body.clone())).unwrap()).await;
        assert_eq!(status, expected, "{header}: {codings:?}: {text}");
        if expected == 415 && header == ce {
            assert_eq!(headers["accept-encoding"], "identity");
            assert_eq!(
                text,
                r#"{"detail":"Unsupported Content-Encoding: send the body uncompressed"}"#
            );
        } else if expected == 415 {
            assert_eq!(
                text,
                r#"{"detail":"Unsupported Transfer-Encoding: send the body uncompressed"}"#
            );
        }
    }
}

#[tokio::test]
async fn a_100_mib_chunked_body_is_refused_and_drained_only_up_to_the_drain_limit() {
    let limit = 1 << 20;
    let receiver = AlertReceiver::builder().body_limit(limit).build();
    let chunk = 64 * 1024;
    let body = Stream::new(100 << 20, chunk);
    let pulled = body.pulled.clone();
    let request = Request::post("/").body(body).unwrap();
    let (status, _, text) = send(&receiver, request).await;
    assert_eq!(status, 413);
    assert_eq!(
        text,
        r#"{"detail":"Request body too large: the limit is 1048576 bytes"}"#
    );
    // The limit, then at most DRAIN_LIMIT more (read and discarded, after the
    // answer), never the rest.
    let pulled = settled(&pulled).await;
    let bound = limit + alertmanager_webhook::DRAIN_LIMIT as usize + chunk;
    assert!(
        pulled > limit && pulled <= bound,
        "read {pulled} bytes of 100 MiB"
    );
}

/// The count once a drain in the background has stopped reading (no change for 50 ms).
async fn settled(pulled: &std::sync::atomic::AtomicUsize) -> usize {
    let mut last = usize::MAX;
    for _ in 0..200 {
        let now = pulled.load(SeqCst);
        if now == last {
            break;
        }
        last = now;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    last
}

#[tokio::test]
async fn a_chunked_body_is_answered_413_once_over_the_limit_even_if_it_then_stalls() {
    let receiver = AlertReceiver::builder().body_limit(1000).build();
    let request = Request::post("/")
        .body(Stream::stalling(1001, 1001))
        .unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(30), send(&receiver, request)).await;
    let (status, _, text) = answer.expect("an answer, not a wait for the rest of the body");
    assert_eq!(
        (status.as_u16(), text.as_str()),
        (
            413,
            r#"{"detail":"Request body too large: the limit is 1000 bytes"}"#
        )
    );
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_before_reading() {
    let receiver = AlertReceiver::builder().body_limit(1000).build();
    let body = Stream::new(100 << 20, 1 << 16);
    let pulled = body.pulled.clone();
    let request = Request::post("/")
        .header("content-length", (100u64 << 20).to_string())
        .body(body)
        .unwrap();
    assert_eq!(send(&receiver, request).await.0, 413);
    assert_eq!(pulled.load(SeqCst), 0);
    // One byte over, declared: 413; exactly at the limit: parsed (and 422 for spaces).
    let over = Request::post("/")
        .body(Full::new(Bytes::from(vec![b' '; 1001])))
        .unwrap();
    assert_eq!(send(&receiver, over).await.0, 413);
    let at = Request::post("/")
        .body(Full::new(Bytes::from(vec![b' '; 1000])))
        .unwrap();
    assert_eq!(send(&receiver, at).await.0, 422);
}

#[tokio::test]
async fn a_client_that_waits_for_100_continue_is_refused_without_reading() {
    let receiver = AlertReceiver::builder().body_limit(1000).build();
    for (expect, declared, read_all) in [
        (Some("100-continue"), 1001, false),
        (Some("100-Continue"), 5_000_000, false),
        // Without the header, an excess under DRAIN_LIMIT is answered at once, then read
        // and discarded in a task of its own, so that a client still sending can read
        // the answer (tests/slowloris.rs checks that the answer does not wait for it):
        // all of it, up to the limit plus DRAIN_LIMIT.
        (None, 1001, true),
        (
            None,
            1000 + alertmanager_webhook::DRAIN_LIMIT as usize,
            true,
        ),
        (Some("100-continue"), 1000, true),
    ] {
        let body = Stream::new(declared, 1 << 16);
        let pulled = body.pulled.clone();
        let mut request = Request::post("/").header("content-length", declared.to_string());
        if let Some(expect) = expect {
            request = request.header("expect", expect);
        }
        let (status, _, _) = send(&receiver, request.body(body).unwrap()).await;
        let want = if declared > 1000 { 413 } else { 422 };
        assert_eq!(status, want, "{expect:?} {declared}");
        // Once a drain in the background (where one is due) has stopped reading.
        let want = if read_all { declared } else { 0 };
        assert_eq!(settled(&pulled).await, want, "{expect:?} {declared}");
    }
}

#[tokio::test]
async fn a_limit_in_front_of_the_receiver_is_not_reported_as_its_own() {
    // tower-http's RequestBodyLimit wraps the body in `Limited`, which fails past its limit.
    let receiver = AlertReceiver::builder().build();
    let body = http_body_util::Limited::new(Full::new(Bytes::from(vec![b' '; 2048])), 1024);
    let (status, _, text) = send(&receiver, Request::post("/").body(body).unwrap()).await;
    assert_eq!(
        (status.as_u16(), text.as_str()),
        (413, r#"{"detail":"Request body too large"}"#)
    );
}

#[tokio::test]
async fn a_body_sent_one_byte_per_frame_is_reassembled() {
    let receiver = AlertReceiver::builder().build();
    let body = fixture("13-");
    let frames: Vec<Result<Frame<Bytes>, Infallible>> = body
        .iter()
        .map(|b| Ok(Frame::data(Bytes::copy_from_slice(&[*b]))))
        .collect();
    let stream = http_body_util::StreamBody::new(futures_util::stream::iter(frames));
    let (status, _, text) = send(&receiver, Request::post("/").body(stream).unwrap()).await;
    assert_eq!((status, text), (StatusCode::OK, expected_summary(&body)));
}

#[tokio::test]
async fn a_failing_body_gets_503_and_a_panicking_one_500() {
    struct Broken(bool);
    impl http_body::Body for Broken {
        type Data = Bytes;
        type Error = std::io::Error;
        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
            if self.0 {
                panic!("body exploded");
            }
            Poll::Ready(Some(Err(std::io::Error::other("connection reset"))))
        }
    }
    let receiver = AlertReceiver::builder().build();
    let (status, headers, text) =
        send(&receiver, Request::post("/").body(Broken(false)).unwrap()).await;
    assert_eq!(
        (status.as_u16(), text.as_str()),
        (
            503,
            r#"{"detail":"Failed to read the request body; retry later"}"#
        )
    );
    assert_eq!(headers["retry-after"], "5");
    // Its `Content-Length` was over the limit: 413, whatever happened to the bytes
    // (Broken's size hint is unknown, as with bodies that do not pass the length on).
    let over = Request::post("/")
        .header("content-length", "4194305")
        .body(Broken(false))
        .unwrap();
    let (status, headers, text) = send(&receiver, over).await;
    assert_eq!(
        (status.as_u16(), text.as_str()),
        (
            413,
            r#"{"detail":"Request body too large: the limit is 4194304 bytes"}"#
        )
    );
    assert!(!headers.contains_key("retry-after"));
    let (status, _, text) = send(&receiver, Request::post("/").body(Broken(true)).unwrap()).await;
    assert_eq!(
        (status.as_u16(), text.as_str()),
        (500, r#"{"detail":"Internal Server Error"}"#)
    );
    // Still answering.
    assert_eq!(send(&receiver, post(fixture("01-"))).await.0, 200);
}

#[tokio::test]
async fn a_body_with_broken_framing_gets_400_not_a_retry() {
    /// A body that fails with `error`, as hyper's chunked decoder does.
    struct Failing(Option<Box<dyn std::error::Error + Send + Sync>>);
    impl http_body::Body for Failing {
        type Data = Bytes;
        type Error = Box<dyn std::error::Error + Send + Sync>;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(self.0.take().map(Err))
        }
    }
    /// An error whose source is `io`, as hyper wraps its decoder's errors.
    #[derive(Debug)]
    struct Wrapped(std::io::Error);
    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("error reading a body from connection")
        }
    }
    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    use std::io::{Error, ErrorKind};
    let receiver = AlertReceiver::builder().build();
    let malformed =
        r#"{"detail":"Malformed request body: its framing (chunked encoding) is invalid"}"#;
    let retry = r#"{"detail":"Failed to read the request body; retry later"}"#;
    for (error, want) in [
        (
            Error::new(ErrorKind::InvalidInput, "Invalid chunk size line"),
            (400, malformed),
        ),
        (
            Error::new(ErrorKind::InvalidData, "chunk extensions over limit"),
            (400, malformed),
        ),
        (
            Error::new(
                ErrorKind::UnexpectedEof,
                "end of file before message length reached",
            ),
            (503, retry),
        ),
        (
            Error::new(ErrorKind::ConnectionReset, "reset"),
            (503, retry),
        ),
    ] {
        let what = format!("{error}");
        for error in [
            Box::new(Wrapped(Error::new(error.kind(), what.clone()))) as Box<_>,
            Box::new(error) as Box<_>,
        ] {
            let request = Request::post("/").body(Failing(Some(error))).unwrap();
            let (status, headers, text) = send(&receiver, request).await;
            assert_eq!((status.as_u16(), text.as_str()), want, "{what}");
            assert_eq!(headers.contains_key("retry-after"), want.0 == 503, "{what}");
        }
    }
}

/// A sink that records events and can be made to fail, stall or panic.
#[derive(Clone, Default)]
struct TestSink {
    events: Arc<Mutex<Vec<Event>>>,
    fail: Arc<AtomicBool>,
    stall: Arc<AtomicBool>,
    panic: Arc<AtomicBool>,
}

impl Sink for TestSink {
    async fn send(&self, event: Event) -> Result<(), SinkError> {
        if self.panic.load(SeqCst) {
            panic!("sink exploded");
        }
        if self.stall.load(SeqCst) {
            std::future::pending::<()>().await;
        }
        if self.fail.load(SeqCst) {
            return Err(SinkError::new("sink down"));
        }
        self.events.lock().unwrap().push(event);
        Ok(())
    }
}

impl TestSink {
    fn jsons(&self) -> Vec<Value> {
        let events = self.events.lock().unwrap();
        events
            .iter()
            .map(|e| serde_json::from_slice(e.json()).unwrap())
            .collect()
    }
}

/// Waits (with a deadline, not a timing assertion) until `f` holds.
async fn eventually(what: &str, f: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn events_follow_the_contract_in_body_order() {
    let sink = TestSink::default();
    let receiver = AlertReceiver::builder().sink(sink.clone()).build();
    assert_eq!(send(&receiver, post(fixture("14-"))).await.0, 200);
    eventually("3 events", || sink.events.lock().unwrap().len() == 3).await;
    let events = sink.jsons();
    let statuses: Vec<_> = events
        .iter()
        .map(|e| e["data"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["firing", "resolved", "firing"]);
    assert_eq!(
        events[1],
        serde_json::json!({"type":"infrastructure_alert","data":{
            "alertname":"Mixed","status":"resolved","severity":"info","component":"unknown",
            "summary":"","description":"","started_at":"2026-11-27T12:10:08.477978Z",
            "fingerprint":"d7f7514dcdda2f34","receiver":"basic"}})
    );
    assert_eq!(
        events[0]["data"]["summary"],
        "line1\nline2 \"quoted\" <b>&amp;</b>"
    );
    assert_eq!(
        events[0]["data"]["started_at"],
        "2026-11-27T14:05:05.271188+02:00"
    );
    assert_eq!(receiver.stats().delivered, 3);
}

#[tokio::test]
async fn a_stalled_sink_does_not_delay_the_answer_and_the_queue_stays_bounded() {
    let sink = TestSink::default();
    sink.stall.store(true, SeqCst);
    let receiver = AlertReceiver::builder()
        .sink(sink.clone())
        .queue_capacity(4)
        .build();
    // The worker takes the first event and stalls on it.
    assert_eq!(send(&receiver, post(fixture("01-"))).await.0, 200);
    eventually("worker holds the first event", || {
        receiver.stats().queued == 0
    })
    .await;
    // 3 alerts per request, 4 requests: 4 fit, 8 are dropped, and every answer is 200.
    let answer = tokio::time::timeout(Duration::from_secs(10), async {
        for _ in 0..4 {
            assert_eq!(send(&receiver, post(fixture("13-"))).await.0, 200);
        }
    });
    answer.await.expect("answers never wait for the sink");
    let stats = receiver.stats();
    assert_eq!((stats.queued, stats.dropped, stats.delivered), (4, 8, 0));
    // At shutdown the queue cannot drain: what is left is counted as dropped, and the
    // event the sink holds is shown as in flight.
    let stats = receiver.drain(Duration::from_millis(50)).await;
    assert_eq!((stats.queued, stats.dropped, stats.delivered), (0, 12, 0));
    assert_eq!(stats.in_flight, 1);
}

#[tokio::test]
async fn a_long_receiver_in_many_alerts_is_refused_before_its_events_are_built() {
    let sink = TestSink::default();
    let receiver = AlertReceiver::builder()
        .sink(sink.clone())
        .body_limit(1 << 20)
        .build();
    let body = |alerts: usize| {
        let alert = r#"{"status":"firing","startsAt":"2026-01-17T12:22:56Z","fingerprint":"f"}"#;
        let alerts = vec![alert; alerts].join(",");
        let name = "r".repeat(64 << 10);
        format!(r#"{{"groupKey":"g","status":"firing","receiver":"{name}","alerts":[{alerts}]}}"#)
    };
    // 64 KiB in each of 100 events: over 4 times the 1 MiB body limit, from a 71 kB body.
    let (status, _, text) = send(&receiver, post(body(100))).await;
    assert_eq!(status, 413, "{text:.200}");
    assert_eq!(
        text,
        r#"{"detail":"Payload Too Large: the receiver, repeated in the event of each alert, would take more than 4194304 bytes"}"#
    );
    // 10 events: 640 kB, accepted.
    assert_eq!(send(&receiver, post(body(10))).await.0, 200);
    eventually("10 events", || sink.events.lock().unwrap().len() == 10).await;
}

#[tokio::test]
async fn drain_waits_until_the_sink_has_every_queued_event() {
    /// Takes each event after 20 ms.
    struct Slow(Arc<Mutex<usize>>);
    impl Sink for Slow {
        async fn send(&self, _: Event) -> Result<(), SinkError> {
            tokio::time::sleep(Duration::from_millis(20)).await;
            *self.0.lock().unwrap() += 1;
            Ok(())
        }
    }
    let taken = Arc::new(Mutex::new(0));
    let receiver = AlertReceiver::builder().sink(Slow(taken.clone())).build();
    for _ in 0..3 {
        assert_eq!(send(&receiver, post(fixture("13-"))).await.0, 200);
    }
    let stats = receiver.drain(Duration::from_secs(30)).await;
    assert_eq!((stats.queued, stats.dropped, stats.delivered), (0, 0, 9));
    assert_eq!(*taken.lock().unwrap(), 9);
}

#[tokio::test]
async fn a_panicking_sink_is_counted_and_the_service_keeps_answering() {
    let sink = TestSink::default();
    sink.panic.store(true, SeqCst);
    let receiver = AlertReceiver::builder().sink(sink.clone()).build();
    for _ in 0..3 {
        assert_eq!(send(&receiver, post(fixture("13-"))).await.0, 200);
    }
    eventually("9 failures", || receiver.stats().failed == 9).await;
    sink.panic.store(false, SeqCst);
    assert_eq!(send(&receiver, post(fixture("01-"))).await.0, 200);
    eventually("delivery resumes", || receiver.stats().delivered == 1).await;
    // A closure sink that panics synchronously is caught too.
    let receiver = AlertReceiver::builder()
        .sink(sink_fn(|_| panic!("closure exploded")))
        .build();
    assert_eq!(send(&receiver, post(fixture("01-"))).await.0, 200);
    eventually("1 failure", || receiver.stats().failed == 1).await;
}

#[tokio::test]
async fn acknowledged_mode_answers_503_until_the_sink_recovers() {
    let sink = TestSink::default();
    sink.fail.store(true, SeqCst);
    let receiver = AlertReceiver::builder()
        .sink(sink.clone())
        .acknowledged(Duration::from_millis(500))
        .build();
    let (status, headers, text) = send(&receiver, post(fixture("01-"))).await;
    assert_eq!(status, 503);
    assert!(headers.contains_key("retry-after"));
    assert_eq!(
        text,
        r#"{"detail":"The alert sink is unavailable; retry later"}"#
    );
    assert_eq!(receiver.stats().failed, 1);
    // A sink that never answers hits the timeout: 503 too.
    sink.fail.store(false, SeqCst);
    sink.stall.store(true, SeqCst);
    assert_eq!(send(&receiver, post(fixture("01-"))).await.0, 503);
    sink.stall.store(false, SeqCst);
    assert_eq!(send(&receiver, post(fixture("01-"))).await.0, 200);
    assert_eq!(sink.events.lock().unwrap().len(), 1);
    assert_eq!(receiver.stats().delivered, 1);
}

/// A sink that counts which way each event came: `try_send` (if it takes
/// events at once) or `send`.
#[derive(Default)]
struct Ways {
    at_once: bool,
    tried: std::sync::atomic::AtomicUsize,
    sent: std::sync::atomic::AtomicUsize,
}

impl Sink for Ways {
    async fn send(&self, _: Event) -> Result<(), SinkError> {
        self.sent.fetch_add(1, SeqCst);
        Ok(())
    }

    fn try_send(&self, event: Event) -> Result<Result<(), SinkError>, Event> {
        if !self.at_once {
            return Err(event);
        }
        self.tried.fetch_add(1, SeqCst);
        Ok(Ok(()))
    }
}

#[tokio::test]
async fn acknowledged_mode_takes_what_a_sink_accepts_at_once_and_catches_its_panics() {
    for at_once in [true, false] {
        let ways = Arc::new(Ways {
            at_once,
            ..Ways::default()
        });
        let receiver = AlertReceiver::builder()
            .sink(ways.clone())
            .acknowledged(Duration::from_millis(500))
            .build();
        assert_eq!(send(&receiver, post(fixture("13-"))).await.0, 200);
        let (tried, sent) = (ways.tried.load(SeqCst), ways.sent.load(SeqCst));
        assert_eq!((tried, sent), if at_once { (3, 0) } else { (0, 3) });
        assert_eq!(receiver.stats().delivered, 3);
    }
    let failing = AlertReceiver::builder()
        .sink(sink_fn(|_| Err(SinkError::new("refused"))))
        .acknowledged(Duration::from_millis(500))
        .build();
    assert_eq!(send(&failing, post(fixture("13-"))).await.0, 503);
    assert_eq!(failing.stats().failed, 3);
    let panicking = AlertReceiver::builder()
        .sink(sink_fn(|_| panic!("closure exploded")))
        .acknowledged(Duration::from_millis(500))
        .build();
    for _ in 0..2 {
        assert_eq!(send(&panicking, post(fixture("13-"))).await.0, 503);
    }
    assert_eq!(panicking.stats().failed, 6);
}

/// A receiver in acknowledged mode (5 s) with dedup, sending to `sink`.
fn acknowledging_with_dedup(sink: &TestSink) -> AlertReceiver {
    AlertReceiver::builder()
        .sink(sink.clone())
        .acknowledged(Duration::from_secs(5))
        .dedup(Dedup::new())
        .build()
}

#[tokio::test]
async fn dedup_suppresses_repeats_and_a_failed_acknowledgement_is_retried() {
    let sink = TestSink::default();
    sink.fail.store(true, SeqCst);
    let receiver = acknowledging_with_dedup(&sink);
    let body = fixture("14-");
    assert_eq!(send(&receiver, post(body.clone())).await.0, 503);
    sink.fail.store(false, SeqCst);
    let (status, _, text) = send(&receiver, post(body.clone())).await;
    assert_eq!(status, 200);
    assert_eq!(
        text,
        r#"{"status":"ok","received":3,"processed":3,"message":"Processed 3 alert(s) from basic","duplicates":0}"#
    );
    let (_, _, text) = send(&receiver, post(body)).await;
    assert_eq!(
        text,
        r#"{"status":"ok","received":3,"processed":0,"message":"Processed 0 alert(s) from basic","duplicates":3}"#
    );
    assert_eq!(sink.events.lock().unwrap().len(), 3);
    assert_eq!(receiver.stats().duplicates, 3);
}

#[tokio::test]
async fn a_cancelled_acknowledgement_is_counted_and_its_retry_delivered() {
    // The sender gives up (or a shorter timeout layer fires) while the sink stalls.
    let sink = TestSink::default();
    sink.stall.store(true, SeqCst);
    let receiver = acknowledging_with_dedup(&sink);
    let body = fixture("14-");
    let cancelled = tokio::time::timeout(
        Duration::from_millis(50),
        send(&receiver, post(body.clone())),
    );
    assert!(cancelled.await.is_err());
    let stats = receiver.stats();
    assert_eq!((stats.delivered, stats.failed, stats.duplicates), (0, 3, 0));
    // The retry is not taken for a duplicate: the sink gets all three.
    sink.stall.store(false, SeqCst);
    let (status, _, text) = send(&receiver, post(body)).await;
    assert_eq!(status, 200);
    assert!(text.contains(r#""processed":3"#), "{text}");
    assert_eq!(sink.events.lock().unwrap().len(), 3);
    assert_eq!(receiver.stats().delivered, 3);
}

#[test]
fn events_left_when_the_runtime_stops_are_counted() {
    let sink = TestSink::default();
    sink.stall.store(true, SeqCst);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let receiver = runtime.block_on(async {
        let receiver = AlertReceiver::builder().sink(sink.clone()).build();
        assert_eq!(send(&receiver, post(fixture("14-"))).await.0, 200);
        // The worker holds the first event; the other two wait in the queue.
        eventually("the worker takes an event", || receiver.stats().queued == 2).await;
        receiver
    });
    drop(runtime);
    let stats = receiver.stats();
    assert_eq!(
        (stats.delivered, stats.failed, stats.dropped, stats.queued),
        (0, 1, 2, 0)
    );
}

#[tokio::test]
async fn without_a_sink_events_count_as_dropped() {
    let receiver = AlertReceiver::builder().build();
    assert_eq!(send(&receiver, post(fixture("13-"))).await.0, 200);
    assert_eq!(receiver.stats().dropped, 3);
}

#[test]
fn the_receiver_is_a_cheap_clone_send_sync_service() {
    fn assert_traits<T: Clone + Send + Sync + 'static>() {}
    assert_traits::<AlertReceiver>();
    fn assert_send<T: Send>(_: &T) {}
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let mut receiver = AlertReceiver::builder().build();
    let fut = tower::Service::call(&mut receiver, post(fixture("01-")));
    assert_send(&fut);
}

#[tokio::test]
async fn a_sink_that_takes_events_at_once_gets_them_without_the_worker() {
    // The worker is never spawned: only the immediate path can deliver.
    let (tx, mut rx) = tokio::sync::broadcast::channel(16);
    let (receiver, _worker) = AlertReceiver::builder()
        .sink(alertmanager_webhook::sink::BroadcastSink::new(tx))
        .build_with_worker();
    assert_eq!(send(&receiver, post(fixture("13-"))).await.0, 200);
    let fingerprints: Vec<_> = (0..3)
        .map(|_| rx.try_recv().unwrap().fingerprint().to_owned())
        .collect();
    assert_eq!(
        fingerprints,
        ["bb33632c1a51dd5f", "d7f7514dcdda2f34", "ec48b382ff0ad75f"]
    );
    let stats = receiver.stats();
    assert_eq!((stats.delivered, stats.queued, stats.dropped), (3, 0, 0));
}

#[tokio::test]
async fn events_keep_their_order_when_a_full_channel_sends_the_rest_through_the_queue() {
    // Room for two: the first two events go at once, the others wait in the queue, in order.
    let (tx, mut rx) = tokio::sync::mpsc::channel(2);
    let receiver = AlertReceiver::builder()
        .sink(alertmanager_webhook::sink::MpscSink::new(tx))
        .build();
    for body in ["13-", "14-"] {
        assert_eq!(send(&receiver, post(fixture(body))).await.0, 200);
    }
    assert!(receiver.stats().queued > 0);
    let mut got = Vec::new();
    for _ in 0..6 {
        let event = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap()
            .unwrap();
        got.push((event.fingerprint().to_owned(), event.status().as_str()));
    }
    let want: Vec<(String, &str)> = [
        ("bb33632c1a51dd5f", "firing"),
        ("d7f7514dcdda2f34", "firing"),
        ("ec48b382ff0ad75f", "firing"),
        ("bb33632c1a51dd5f", "firing"),
        ("d7f7514dcdda2f34", "resolved"),
        ("ec48b382ff0ad75f", "firing"),
    ]
    .into_iter()
    .map(|(f, s)| (f.to_owned(), s))
    .collect();
    assert_eq!(got, want);
    eventually("all delivered", || receiver.stats().delivered == 6).await;
}
