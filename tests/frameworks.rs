//! The example binaries (hyper, axum, warp, layers, dashboard) run as a user runs them, on
//! `127.0.0.1:0`, and are checked over real HTTP: the same bytes from every framework, the
//! bearer token from the environment, logs on stdout, graceful shutdown on SIGTERM.

mod raw_http;
#[allow(dead_code)] // Each test binary uses part of the shared harness.
mod support;

#[allow(dead_code)] // Only `app` and `Limits` are used here.
#[path = "../examples/layers.rs"]
mod layers;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::time::{Duration, SystemTime};

use alertmanager_webhook::sink::{Sink, SinkError};
use alertmanager_webhook::{AlertReceiver, Event};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use support::{PATH, Proc, Reply, request, wait_for};
use tokio::io::{AsyncWriteExt, BufReader};
use tower::ServiceExt;

const EXAMPLES: [&str; 5] = ["hyper", "axum", "warp", "layers", "dashboard"];

const FIXTURE_01: &str = include_str!("fixtures/01-am025-firing-single.json");

/// A running example binary and the address it printed.
struct Example {
    name: &'static str,
    proc: Proc,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

/// `target/<profile>/examples/<name>`, built by `cargo test` next to this test's own binary.
///
/// `cargo test --test frameworks` alone does not rebuild the examples, so a binary older
/// than the sources fails the test instead of testing old code.
fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir");
    let binary = profile_dir.join("examples").join(name);
    let modified = |p: &std::path::Path| p.metadata().and_then(|m| m.modified()).ok();
    let built = modified(&binary).unwrap_or_else(|| {
        panic!(
            "{} is missing: run `cargo test` or `cargo build --examples`",
            binary.display()
        )
    });
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let examples = root.join("examples");
    let mut sources = vec![
        root.join("src"),
        examples.join("common"),
        examples.join(name),
    ];
    sources.push(examples.join(format!("{name}.rs")));
    while let Some(path) = sources.pop() {
        if path.is_dir() {
            sources.extend(
                std::fs::read_dir(&path)
                    .expect("source dir")
                    .flatten()
                    .map(|e| e.path()),
            );
        } else if modified(&path).is_some_and(|m| m > built) {
            panic!(
                "{} is older than {}: run `cargo build --examples`",
                binary.display(),
                path.display()
            );
        }
    }
    binary
}

impl Example {
    async fn start(name: &'static str, env: &[(&str, &str)]) -> Example {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut command = Command::new(example_binary(name));
        command
            .arg("127.0.0.1:0")
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            .env_remove("WEBHOOK_BEARER_TOKEN")
            .env_remove("LISTEN_ADDR");
        command.envs(env.iter().copied());
        let proc = Proc::spawn(name, &mut command, dir.path().join("stdout.log"));
        let addr = wait_for(&format!("{name} to print its address"), || {
            let log = proc.log();
            let line = log.lines().find(|l| l.contains("receiver listening"))?;
            let addr = line.split("addr=").nth(1)?.split_whitespace().next()?;
            addr.parse().ok()
        })
        .await;
        Example {
            name,
            proc,
            addr,
            _dir: dir,
        }
    }

    async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        request(self.addr, method, path, headers, body)
            .await
            .unwrap_or_else(|e| panic!("request to {} at {}: {e}", self.name, self.addr))
    }
}

const JSON: (&str, &str) = ("Content-Type", "application/json");

/// Today's date in UTC, `YYYY-MM-DD`.
fn utc_date() -> String {
    support::rfc3339(SystemTime::now())[..10].to_owned()
}

/// A valid notification whose logged values hold terminal control characters.
const EVIL: &str = r#"{"groupKey":"g","status":"firing","receiver":"r\u001b[2J","alerts":[{"status":"firing","labels":{"alertname":"Evil\u0007","severity":"critical"},"annotations":{"description":"x\u001b[31m\u009b1m\n"},"startsAt":"2026-01-17T12:22:56Z","fingerprint":"f\u0008"}]}"#;

/// The requests every framework must answer alike: (method, path, headers, body).
type Case = (
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
    &'static str,
);

fn cases() -> Vec<Case> {
    vec![
        ("POST", PATH, vec![JSON], FIXTURE_01),
        (
            "POST",
            PATH,
            vec![JSON],
            r#"{"status":"firing","receiver":"r","alerts":[{"status":"burning","startsAt":"yesterday"}]}"#,
        ),
        ("POST", PATH, vec![JSON], r#"{"receiver":"r","alerts":[{"#),
        (
            "POST",
            PATH,
            vec![("Content-Type", "text/plain")],
            FIXTURE_01,
        ),
        ("GET", PATH, vec![], ""),
        ("PUT", PATH, vec![JSON], FIXTURE_01),
        ("POST", "/nope", vec![JSON], FIXTURE_01),
        ("POST", "/api/webhooks/alerts/", vec![JSON], FIXTURE_01),
    ]
}

/// What the crate itself answers in process: status, content type, `Allow`, body.
async fn in_process(
    method: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, Option<String>, String) {
    let mut builder = http::Request::builder().method(method).uri(PATH);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let response = AlertReceiver::builder()
        .build()
        .oneshot(request)
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let header = |name| {
        parts
            .headers
            .get(name)
            .map(|v: &http::HeaderValue| v.to_str().unwrap().to_owned())
    };
    (
        parts.status.as_u16(),
        header("content-type").unwrap_or_default(),
        header("allow"),
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

fn summary(reply: &Reply) -> (u16, String, Option<String>, String) {
    (
        reply.status,
        reply.header("content-type").unwrap_or_default().to_owned(),
        reply.header("allow").map(str::to_owned),
        reply.body.clone(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_gives_the_same_bytes_logs_to_stdout_and_stops_on_sigterm() {
    let mut expected = Vec::new();
    for (method, path, headers, body) in cases() {
        expected.push(if path == PATH {
            in_process(method, &headers, body).await
        } else {
            let not_found = r#"{"detail":"Not Found"}"#.to_owned();
            (404, "application/json".to_owned(), None, not_found)
        });
    }
    // Spot-check the oracle itself against the contract.
    assert_eq!(
        expected[0].3,
        r#"{"status":"ok","received":1,"processed":1,"message":"Processed 1 alert(s) from basic"}"#
    );
    assert_eq!(
        (expected[1].0, expected[2].0, expected[3].0, expected[4].0),
        (422, 422, 415, 405)
    );
    assert!(
        expected[1].3.contains(
            r#""loc":["body","groupKey"],"msg":"field required","type":"value_error.missing""#
        ),
        "{}",
        expected[1].3
    );
    assert!(expected[2].3.contains("value_error.jsondecode"));
    assert_eq!(expected[4].2.as_deref(), Some("POST, PUT"));

    let mut today = vec![utc_date()];
    // A short header timeout, so that the stalled client below is cut off soon.
    let env = [("HEADER_READ_TIMEOUT_SECS", "2")];
    let examples: Vec<_> =
        futures_util::future::join_all(EXAMPLES.map(|name| Example::start(name, &env))).await;
    today.push(utc_date());
    for (name, mut example) in EXAMPLES.into_iter().zip(examples) {
        for ((method, path, headers, body), want) in cases().into_iter().zip(&expected) {
            let got = summary(&example.send(method, path, &headers, body).await);
            assert_eq!(&got, want, "{name}: {method} {path} {headers:?}");
        }
        // A request target without a path (the authority form of CONNECT) is a 404 like any
        // other unknown target. warp 0.4.3's path filters panic on it and drop the connection
        // unanswered (seanmonstar/warp#1166): the warp example answers before warp sees it.
        let mut connect = tokio::net::TcpStream::connect(example.addr)
            .await
            .expect("connect");
        let target = example.addr;
        connect
            .write_all(format!("CONNECT {target} HTTP/1.1\r\nhost: {target}\r\n\r\n").as_bytes())
            .await
            .expect("write a CONNECT head");
        let mut connect = BufReader::new(connect);
        let answer =
            raw_http::within("the CONNECT answer", raw_http::read_answer(&mut connect)).await;
        assert_eq!(
            answer.map(|a| (a.status, String::from_utf8_lossy(&a.body).into_owned())),
            Some((404, r#"{"detail":"Not Found"}"#.to_owned())),
            "{name}: CONNECT {target}"
        );
        // Just over the limit, with Content-Length and no `Expect: 100-continue`: the body is
        // drained, so this client, which writes everything before reading, still gets the 413.
        let big = format!("{{\"receiver\":\"{}\"}}", "x".repeat(5 << 20));
        let reply = example.send("POST", PATH, &[JSON], &big).await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (
                413,
                r#"{"detail":"Request body too large: the limit is 4194304 bytes"}"#
            ),
            "{name}"
        );
        // Terminal control sequences in every logged value (the examples rely on the
        // receiver's escaping: the subscriber's own pass is off).
        let reply = example.send("POST", PATH, &[JSON], EVIL).await;
        assert_eq!(reply.status, 200, "{name}: {}", reply.body);
        // A client stalled halfway through its request head does not hold up the shutdown.
        let mut stalled = tokio::net::TcpStream::connect(example.addr)
            .await
            .expect("connect");
        stalled
            .write_all(b"POST /api/webhooks/alerts HTTP/1.1\r\n")
            .await
            .expect("write half a head");
        let status = example.proc.terminate().await;
        assert!(
            status.is_some_and(|s| s.success()),
            "{name} did not stop cleanly on SIGTERM: {status:?}"
        );
        drop(stalled);
        let log = example.proc.log();
        assert!(
            log.contains(" WARN alertmanager_webhook: [ALERT FIRING] BasicFiring (warning) - component=gpu: GPU 0 temperature above 90C "),
            "{name} stdout:\n{log}"
        );
        assert!(
            log.contains(r"ERROR alertmanager_webhook: [ALERT FIRING] Evil\u{7} (critical) - component=unknown: x\u{1b}[31m\u{9b}1m\n alertname=Evil\u{7}"),
            "{name} stdout:\n{log}"
        );
        assert!(
            !log.chars().any(|c| c.is_control() && c != '\n'),
            "{name}: a raw control character reached stdout:\n{log:?}"
        );
        // Every line starts with the time, in UTC with microseconds (`common::UtcMicros`).
        let stamp = log.split(' ').next().unwrap_or_default();
        let shape = b"dddd-dd-ddTdd:dd:dd.ddddddZ";
        assert!(
            stamp.len() == shape.len()
                && stamp.bytes().zip(shape).all(|(b, &s)| match s {
                    b'd' => b.is_ascii_digit(),
                    s => b == s,
                })
                && today.iter().any(|d| stamp.starts_with(d.as_str())),
            "{name}: timestamp {stamp:?}, today (UTC) {today:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_bearer_token_is_required_when_set() {
    let env = [("WEBHOOK_BEARER_TOKEN", "s3cret-token")];
    let examples: Vec<_> =
        futures_util::future::join_all(EXAMPLES.map(|name| Example::start(name, &env))).await;
    for (name, example) in EXAMPLES.into_iter().zip(examples) {
        for auth in [
            None,
            Some("Bearer wrong-token!"),
            Some("Bearer s3cret-toke"),
            Some("Basic s3cret-token"),
        ] {
            let mut headers = vec![JSON];
            headers.extend(auth.map(|a| ("Authorization", a)));
            let reply = example.send("POST", PATH, &headers, FIXTURE_01).await;
            assert_eq!(
                (reply.status, reply.body.as_str()),
                (401, r#"{"detail":"Not authenticated"}"#),
                "{name} {auth:?}"
            );
            assert_eq!(reply.header("content-type"), Some("application/json"));
        }
        let reply = example
            .send(
                "POST",
                PATH,
                &[JSON, ("Authorization", "Bearer s3cret-token")],
                FIXTURE_01,
            )
            .await;
        assert_eq!(reply.status, 200, "{name}: {}", reply.body);
    }
}

/// A sink that blocks until released, so requests pile up behind it.
#[derive(Clone, Default)]
struct Gate(Arc<AtomicBool>);

impl Sink for Gate {
    async fn send(&self, _: Event) -> Result<(), SinkError> {
        while !self.0.load(SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(())
    }
}

#[tokio::test]
async fn the_layered_stack_answers_overload_timeout_and_size_with_json_503_and_413() {
    let gate = Gate::default();
    let receiver = AlertReceiver::builder()
        .sink(gate.clone())
        .acknowledged(Duration::from_secs(30))
        .body_limit(2048)
        .build();
    let limits = layers::Limits {
        concurrency: 1,
        timeout: Duration::from_millis(300),
        body: 2048,
    };
    let app = layers::app(receiver, None, &limits);
    let post = |body: &str, extra: Option<(&str, String)>| {
        let mut request = http::Request::post(PATH).header("content-type", "application/json");
        if let Some((name, value)) = extra {
            request = request.header(name, value);
        }
        request
            .body(axum::body::Body::from(body.to_owned()))
            .unwrap()
    };
    let answer = |response: http::Response<axum::body::Body>| async move {
        let status = response.status().as_u16();
        let retry = response.headers().contains_key("retry-after");
        let ct = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, ct, retry, String::from_utf8(body.to_vec()).unwrap())
    };

    // The first request holds the only slot (its sink is stalled); the second is shed at once.
    let first = tokio::spawn(app.clone().oneshot(post(FIXTURE_01, None)));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let shed = answer(app.clone().oneshot(post(FIXTURE_01, None)).await.unwrap()).await;
    assert_eq!(
        shed,
        (
            503,
            "application/json".into(),
            true,
            r#"{"detail":"Overloaded; retry later"}"#.into()
        )
    );
    // The first one runs into the timeout: 503 in JSON, never 408 or 429.
    let timed_out = answer(first.await.unwrap().unwrap()).await;
    assert_eq!(
        (timed_out.0, timed_out.1.as_str()),
        (503, "application/json")
    );
    assert!(timed_out.3.starts_with(r#"{"detail":"#), "{}", timed_out.3);
    gate.0.store(true, SeqCst);

    // Over the receiver's limit: its own 413. Over tower-http's ceiling (the limit plus
    // `DRAIN_LIMIT`), refused at once by tower-http: the same JSON answer.
    let too_large = r#"{"detail":"Request body too large: the limit is 2048 bytes"}"#;
    let ceiling = 2048 + alertmanager_webhook::DRAIN_LIMIT;
    for declared in [4096, ceiling + 1] {
        let body = "x".repeat(4096);
        let length = Some(("content-length", declared.to_string()));
        let refused = answer(app.clone().oneshot(post(&body, length)).await.unwrap()).await;
        assert_eq!(
            refused,
            (413, "application/json".into(), false, too_large.into()),
            "declared {declared}"
        );
    }
    // With credentials required, they are checked first, before the size too.
    let auth = alertmanager_webhook::auth::Auth::bearer("secret").unwrap();
    let receiver = AlertReceiver::builder().body_limit(2048).build();
    let guarded = layers::app(receiver, Some(auth), &limits);
    let length = Some(("content-length", (ceiling + 1).to_string()));
    let refused = answer(guarded.oneshot(post("x", length)).await.unwrap()).await;
    assert_eq!(
        refused,
        (
            401,
            "application/json".into(),
            false,
            r#"{"detail":"Not authenticated"}"#.into()
        )
    );

    let ok = answer(app.oneshot(post(FIXTURE_01, None)).await.unwrap()).await;
    assert_eq!(ok.0, 200, "{}", ok.3);
}
