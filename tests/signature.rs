//! Signed webhooks, checked against vectors computed independently with Python's `hmac`,
//! `hashlib` and `base64` (`python3 tests/data/signature_vectors.py` writes
//! `tests/data/signature_vectors.json`).

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alertmanager_webhook::AlertReceiver;
use alertmanager_webhook::signature::{SecretError, Signature};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, Request, Response};
use http_body_util::{BodyExt, Full, StreamBody};
use serde_json::Value;
use tower::{Layer, ServiceExt};

fn vectors() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/signature_vectors.json");
    serde_json::from_slice(&std::fs::read(path).expect("vectors")).expect("JSON vectors")
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no string {key} in {v}"))
}

fn fixture(v: &Value) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(text(v, "body_file"));
    std::fs::read(path).expect("fixture")
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(name, value)| {
            (
                HeaderName::from_bytes(name.as_bytes()).expect("name"),
                value.parse().expect("value"),
            )
        })
        .collect()
}

fn at(v: &Value, offset: i64) -> SystemTime {
    let ts: u64 = text(v, "timestamp").parse().expect("timestamp");
    UNIX_EPOCH + Duration::from_secs(ts.checked_add_signed(offset).expect("in range"))
}

const TS_HEADER: &str = "x-grafana-alerting-signature-timestamp";

#[test]
fn grafana_body_only() {
    let v = &vectors()["grafana"];
    let body = fixture(v);
    let s = Signature::grafana(text(v, "secret")).unwrap();
    let sig = text(v, "signature");
    let ok = headers(&[("X-Grafana-Alerting-Signature", sig)]);
    assert!(s.verify(&ok, &body));
    // Hex digits of either case.
    let upper = headers(&[("X-Grafana-Alerting-Signature", &sig.to_uppercase())]);
    assert!(s.verify(&upper, &body));

    let mut tampered = body.clone();
    tampered.push(b' ');
    assert!(!s.verify(&ok, &tampered));
    let tampered_sig = text(v, "signature_tampered_body");
    assert!(s.verify(
        &headers(&[("X-Grafana-Alerting-Signature", tampered_sig)]),
        &tampered
    ));
    assert!(!s.verify(
        &headers(&[("X-Grafana-Alerting-Signature", tampered_sig)]),
        &body
    ));

    let wrong = headers(&[(
        "X-Grafana-Alerting-Signature",
        text(v, "signature_wrong_secret"),
    )]);
    assert!(!s.verify(&wrong, &body));
    assert!(
        !Signature::grafana("another-secret")
            .unwrap()
            .verify(&ok, &body)
    );
    assert!(
        Signature::grafana("another-secret")
            .unwrap()
            .verify(&wrong, &body)
    );

    // Lengths are checked: a prefix, a longer value, the sha256= form of other senders.
    for bad in [
        &sig[..62],
        &format!("{sig}00"),
        &format!("sha256={sig}"),
        "",
    ] {
        assert!(
            !s.verify(&headers(&[("X-Grafana-Alerting-Signature", bad)]), &body),
            "{bad}"
        );
    }
    assert!(!s.verify(&HeaderMap::new(), &body));
    assert!(!s.verify(&headers(&[("x-other-signature", sig)]), &body));
    // A configured header name is the one read.
    let custom = s
        .clone()
        .header(HeaderName::from_static("x-other-signature"));
    assert!(custom.verify(&headers(&[("x-other-signature", sig)]), &body));
    assert!(!custom.verify(&ok, &body));
}

#[test]
fn grafana_with_a_timestamp_header() {
    let v = &vectors()["grafana"];
    let body = fixture(v);
    let ts = text(v, "timestamp");
    let s = Signature::grafana(text(v, "secret"))
        .unwrap()
        .timestamp_header(HeaderName::from_static(TS_HEADER));
    let signed = headers(&[
        (
            "X-Grafana-Alerting-Signature",
            text(v, "signature_with_timestamp"),
        ),
        (TS_HEADER, ts),
    ]);
    for offset in [0, 300, -300] {
        assert!(s.verify_at(&signed, &body, at(v, offset)), "{offset}");
    }
    // Stale, from the future, or without its timestamp.
    assert!(!s.verify_at(&signed, &body, at(v, 301)));
    assert!(!s.verify_at(&signed, &body, at(v, -301)));
    let no_ts = headers(&[(
        "X-Grafana-Alerting-Signature",
        text(v, "signature_with_timestamp"),
    )]);
    assert!(!s.verify_at(&no_ts, &body, at(v, 0)));
    // The body-only signature does not do once a timestamp is configured.
    let body_only = headers(&[
        ("X-Grafana-Alerting-Signature", text(v, "signature")),
        (TS_HEADER, ts),
    ]);
    assert!(!s.verify_at(&body_only, &body, at(v, 0)));
    // The timestamp is signed: another one breaks the signature.
    let next = (ts.parse::<u64>().unwrap() + 1).to_string();
    let moved = headers(&[
        (
            "X-Grafana-Alerting-Signature",
            text(v, "signature_with_timestamp"),
        ),
        (TS_HEADER, &next),
    ]);
    assert!(!s.verify_at(&moved, &body, at(v, 0)));
}

fn standard_headers(v: &Value, signature: &str) -> HeaderMap {
    headers(&[
        ("webhook-id", text(v, "id")),
        ("webhook-timestamp", text(v, "timestamp")),
        ("webhook-signature", signature),
    ])
}

#[test]
fn standard_webhooks_specification_example() {
    let v = &vectors()["standard_webhooks_spec"];
    let s = Signature::standard_webhooks(text(v, "secret")).unwrap();
    let body = text(v, "body").as_bytes();
    let h = standard_headers(v, text(v, "signature"));
    assert!(s.verify_at(&h, body, at(v, 0)));
    assert!(!s.verify_at(&h, body, at(v, 301)));
    // The same key without the prefix.
    let bare = text(v, "secret").trim_start_matches("whsec_");
    assert!(
        Signature::standard_webhooks(bare)
            .unwrap()
            .verify_at(&h, body, at(v, 0))
    );
}

#[test]
fn standard_webhooks() {
    let v = &vectors()["standard_webhooks"];
    let body = fixture(v);
    let s = Signature::standard_webhooks(text(v, "secret")).unwrap();
    let sig = text(v, "signature");
    let wrong = text(v, "signature_wrong_secret");
    let b64 = sig.trim_start_matches("v1,");

    assert!(s.verify_at(&standard_headers(v, sig), &body, at(v, 0)));
    for offset in [300, -300] {
        assert!(s.verify_at(&standard_headers(v, sig), &body, at(v, offset)));
    }
    // Stale and future timestamps, also with a wider tolerance configured.
    assert!(!s.verify_at(&standard_headers(v, sig), &body, at(v, 301)));
    assert!(!s.verify_at(&standard_headers(v, sig), &body, at(v, -301)));
    let wide = s.clone().tolerance(Duration::from_secs(3600));
    assert!(wide.verify_at(&standard_headers(v, sig), &body, at(v, 3600)));
    assert!(!wide.verify_at(&standard_headers(v, sig), &body, at(v, 3601)));

    // Wrong secret, tampered body, another message id.
    assert!(!s.verify_at(&standard_headers(v, wrong), &body, at(v, 0)));
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    assert!(!s.verify_at(&standard_headers(v, sig), &tampered, at(v, 0)));
    let mut other_id = standard_headers(v, text(v, "signature_other_id"));
    assert!(!s.verify_at(&other_id, &body, at(v, 0)));
    other_id.insert("webhook-id", "msg_other".parse().unwrap());
    assert!(s.verify_at(&other_id, &body, at(v, 0)));

    // Several signatures: one matching is enough, in any position.
    for list in [
        format!("{wrong} {sig}"),
        format!("{sig} {wrong}"),
        format!("v1a,{b64} {wrong} {sig}"),
    ] {
        assert!(
            s.verify_at(&standard_headers(v, &list), &body, at(v, 0)),
            "{list}"
        );
    }
    // Other versions are ignored, and the value must match exactly.
    for list in [
        format!("v1a,{b64}"),
        format!("v2,{b64}"),
        format!("V1,{b64}"),
        b64.to_owned(),
        format!("v1,{}", &b64[..43]),
        format!("v1,{b64}="),
        format!("{wrong} v1a,{b64}"),
        String::new(),
    ] {
        assert!(
            !s.verify_at(&standard_headers(v, &list), &body, at(v, 0)),
            "{list}"
        );
    }

    // Each header is required.
    for missing in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let mut h = standard_headers(v, sig);
        h.remove(missing);
        assert!(!s.verify_at(&h, &body, at(v, 0)), "{missing}");
    }
    let mut h = standard_headers(v, sig);
    h.insert("webhook-timestamp", "not-a-number".parse().unwrap());
    assert!(!s.verify_at(&h, &body, at(v, 0)));
}

#[test]
fn unusable_secrets_are_refused_when_built() {
    assert_eq!(Signature::grafana("").unwrap_err(), SecretError::Empty);
    assert_eq!(Signature::grafana(b"").unwrap_err(), SecretError::Empty);
    assert_eq!(
        Signature::standard_webhooks("whsec_").unwrap_err(),
        SecretError::Empty
    );
    assert_eq!(
        Signature::standard_webhooks("").unwrap_err(),
        SecretError::Empty
    );
    for bad in ["whsec_not base64", "whsec_!!!!", "whsec_Zh=="] {
        assert_eq!(
            Signature::standard_webhooks(bad).unwrap_err(),
            SecretError::NotBase64,
            "{bad}"
        );
    }
}

// --- the layer, in front of the receiver ---

async fn answer<S>(service: S, request: Request<Full<Bytes>>) -> (u16, String)
where
    S: tower::Service<
            Request<Full<Bytes>>,
            Response = Response<Full<Bytes>>,
            Error = std::convert::Infallible,
        >,
{
    let response = service.oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

fn post(pairs: &[(&str, &str)], body: Vec<u8>) -> Request<Full<Bytes>> {
    let mut request = Request::post("/api/webhooks/alerts")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    request.headers_mut().extend(headers(pairs));
    request
}

const NOT_AUTHENTICATED: &str = r#"{"detail":"Not authenticated"}"#;

#[tokio::test]
async fn the_layer_verifies_before_the_receiver_parses() {
    let v = &vectors()["grafana"];
    let body = fixture(v);
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    // Acknowledged: each answer comes after the sink took the events, so the channel is exact.
    let receiver = AlertReceiver::builder()
        .sink(alertmanager_webhook::sink::MpscSink::new(tx))
        .acknowledged(Duration::from_secs(30))
        .build();
    let service = Signature::grafana(text(v, "secret"))
        .unwrap()
        .layer()
        .layer(receiver);
    let sig = text(v, "signature");

    let (status, answer_body) = answer(
        service.clone(),
        post(&[("X-Grafana-Alerting-Signature", sig)], body.clone()),
    )
    .await;
    assert_eq!(status, 200, "{answer_body}");
    let received = serde_json::from_str::<Value>(&answer_body).unwrap()["received"]
        .as_u64()
        .unwrap();
    assert!(received > 0);
    for _ in 0..received {
        assert!(rx.try_recv().is_ok(), "the verified alerts are emitted");
    }

    for (pairs, what) in [
        (vec![], "no signature"),
        (
            vec![(
                "X-Grafana-Alerting-Signature",
                text(v, "signature_wrong_secret"),
            )],
            "wrong secret",
        ),
        (
            vec![(
                "X-Grafana-Alerting-Signature",
                text(v, "signature_tampered_body"),
            )],
            "signature of another body",
        ),
    ] {
        let (status, answer_body) = answer(service.clone(), post(&pairs, body.clone())).await;
        assert_eq!(status, 401, "{what}");
        assert_eq!(answer_body, NOT_AUTHENTICATED, "{what}");
    }
    // A body signed correctly but not a valid notification reaches the receiver: 422.
    let (status, answer_body) = answer(
        service.clone(),
        post(
            &[(
                "X-Grafana-Alerting-Signature",
                text(v, "signature_invalid_body"),
            )],
            text(v, "invalid_body").as_bytes().to_vec(),
        ),
    )
    .await;
    assert_eq!(status, 422, "{answer_body}");
    assert!(
        rx.try_recv().is_err(),
        "refused and invalid requests emit nothing"
    );
}

#[tokio::test]
async fn the_layer_refuses_large_bodies_without_buffering_them() {
    let v = &vectors()["grafana"];
    let body = fixture(v);
    let sig = text(v, "signature");
    let signature = Signature::grafana(text(v, "secret"))
        .unwrap()
        .body_limit(body.len() - 1);
    let service = signature.layer().layer(AlertReceiver::builder().build());
    let (status, answer_body) = answer(
        service.clone(),
        post(&[("X-Grafana-Alerting-Signature", sig)], body.clone()),
    )
    .await;
    assert_eq!(status, 413);
    assert!(answer_body.starts_with(r#"{"detail":"Request body too large"#));

    // A stream that would never end: refused once past the limit.
    let chunks = futures_util::stream::iter(
        std::iter::repeat_with(|| {
            Ok::<_, std::io::Error>(http_body::Frame::data(Bytes::from(vec![b' '; 1024])))
        })
        .take(1 << 20),
    );
    let mut request = Request::post("/")
        .header("X-Grafana-Alerting-Signature", sig)
        .body(StreamBody::new(chunks))
        .unwrap();
    request
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn the_layer_with_standard_webhooks() {
    let v = &vectors()["standard_webhooks"];
    let body = fixture(v);
    let pairs = [
        ("webhook-id", text(v, "id")),
        ("webhook-timestamp", text(v, "timestamp")),
        ("webhook-signature", text(v, "signature")),
    ];
    // The vector's timestamp is fixed, so now it is stale...
    let strict = Signature::standard_webhooks(text(v, "secret"))
        .unwrap()
        .layer()
        .layer(AlertReceiver::builder().build());
    let (status, answer_body) = answer(strict, post(&pairs, body.clone())).await;
    assert_eq!(status, 401);
    assert_eq!(answer_body, NOT_AUTHENTICATED);
    // ...unless the tolerance reaches it (a century).
    let lenient = Signature::standard_webhooks(text(v, "secret"))
        .unwrap()
        .tolerance(Duration::from_secs(100 * 365 * 24 * 3600))
        .layer()
        .layer(AlertReceiver::builder().build());
    let (status, answer_body) = answer(lenient.clone(), post(&pairs, body.clone())).await;
    assert_eq!(status, 200, "{answer_body}");
    let (status, _) = answer(lenient, post(&pairs[..2], body)).await;
    assert_eq!(status, 401);
}
