//! Arbitrary bytes, method and content type through the whole service: the
//! answer is never 5xx, always JSON, and the status follows the contract.
//!
//! Input: byte 0 picks the method (bits 0-2), the content type (bits 3-6) and
//! the receiver (bit 7); byte 1 the framing (0: one frame, 1..=253: frames of
//! that many bytes, 254: a true `Content-Length`, 255: a huge one); the rest is the body.
#![no_main]

use std::sync::OnceLock;

use alertmanager_webhook::sink::NoSink;
use alertmanager_webhook::{AlertReceiver, DEFAULT_BODY_LIMIT, Dedup, validation};
use bytes::Bytes;
use futures_util::FutureExt;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Request};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

const METHODS: [&str; 8] = [
    "POST", "PUT", "GET", "HEAD", "DELETE", "PATCH", "OPTIONS", "X-Y",
];

/// Content types, and whether the contract accepts each (`None`: header absent).
const TYPES: [(Option<&[u8]>, bool); 16] = [
    (Some(b"application/json"), true),
    (None, true),
    (Some(b"application/json; charset=utf-8"), true),
    (Some(b"APPLICATION/vnd.alertmanager+JSON"), true),
    (Some(b" application/json ;x"), true),
    (Some(b"application/problem+json"), true),
    (Some(b"text/plain"), false),
    (Some(b"application/+json"), false),
    (Some(b"application/jsonx"), false),
    (Some(b""), false),
    (Some(b"json"), false),
    (Some(b"application/json\xff"), false),
    (Some(b"\xfe\xff"), false),
    (Some(b"application/x-www-form-urlencoded"), false),
    (Some(b"multipart/form-data; boundary=x"), false),
    (Some(b"application"), false),
];

/// The second receiver's body limit.
const SMALL_LIMIT: usize = 2048;

fn receivers() -> &'static [AlertReceiver; 2] {
    static RECEIVERS: OnceLock<[AlertReceiver; 2]> = OnceLock::new();
    RECEIVERS.get_or_init(|| {
        // No worker runs: the second receiver's queue fills and then drops, as with a stalled sink.
        let with_sink = AlertReceiver::builder()
            .sink(NoSink)
            .queue_capacity(16)
            .dedup(Dedup::new().capacity(64))
            .body_limit(SMALL_LIMIT);
        [
            AlertReceiver::builder().build_with_worker().0,
            with_sink.build_with_worker().0,
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&[pick, framing], body)) = data.split_first_chunk::<2>() else {
        return;
    };
    let method = METHODS[usize::from(pick & 7)];
    let (content_type, json_type) = TYPES[usize::from((pick >> 3) & 15)];
    let small = pick >> 7 == 1;
    let receiver = &receivers()[usize::from(small)];
    let limit = if small {
        SMALL_LIMIT
    } else {
        DEFAULT_BODY_LIMIT
    };

    let mut request = Request::builder()
        .method(method)
        .uri("/api/webhooks/alerts");
    if let Some(value) = content_type {
        request = request.header(CONTENT_TYPE, HeaderValue::from_bytes(value).expect("valid"));
    }
    let declared = match framing {
        254 => Some(body.len() as u64),
        255 => Some(u64::MAX / 2),
        _ => None,
    };
    if let Some(n) = declared {
        request = request.header(CONTENT_LENGTH, n);
    }
    let chunk = match framing {
        1..=253 => usize::from(framing),
        _ => body.len().max(1),
    };
    let frames: Vec<Result<Frame<Bytes>, std::convert::Infallible>> = body
        .chunks(chunk)
        .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))))
        .collect();
    let request = request
        .body(StreamBody::new(futures_util::stream::iter(frames)))
        .expect("valid request");

    let response = receiver
        .clone()
        .oneshot(request)
        .now_or_never()
        .expect("an in-memory body is answered without waiting");
    let Ok(response) = response;
    let status = response.status().as_u16();
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    let text = response
        .into_body()
        .collect()
        .now_or_never()
        .expect("a full body")
        .expect("infallible")
        .to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&text).expect("a JSON answer");

    let too_large = body.len() > limit || declared.is_some_and(|n| n > limit as u64);
    let expected = if method != "POST" && method != "PUT" {
        405
    } else if !json_type {
        415
    } else if too_large {
        413
    } else {
        match validation::parse(body) {
            Ok(hook) => {
                assert_eq!(json["received"].as_u64(), Some(hook.alerts.len() as u64));
                200
            }
            Err(errors) => {
                assert_eq!(text, errors.to_json());
                422
            }
        }
    };
    assert_eq!(status, expected, "answer: {json}");
});
