//! Slow clients against the built examples, run with 1 s
//! header and body read timeouts: a client that never finishes its head, or
//! never sends one, or leaves a kept-alive connection idle, is disconnected;
//! one that dribbles its body gets a 503 JSON answer and is disconnected; and
//! the example keeps answering others.
//! Large bodies take turns (`LARGE_AT_ONCE` in `examples/common`), small ones
//! never wait for them.
//!
//! `cargo test` builds the examples first; with `--test slowloris` alone,
//! build them with `cargo build --examples`. A missing binary skips the test,
//! or fails it when CI=true.

mod raw_http;

use std::io::{BufRead, BufReader as StdBufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use raw_http::{FIXTURE, head, read_answer, read_to_close, within};
use tokio::io::{AsyncRead, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A running example, killed when dropped.
struct Example(Child);

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `target/debug/examples/NAME` on a free port, with a 1 s header read
/// timeout and a body read timeout of `body_secs`; `None` (skip) when it is not built.
fn start(name: &str, body_secs: &str) -> Option<(Example, SocketAddr)> {
    // target/debug/deps/slowloris-HASH -> target/debug/examples/NAME
    let exe = std::env::current_exe().expect("test binary path");
    let path: PathBuf = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/debug")
        .join("examples")
        .join(name);
    if !path.is_file() {
        let reason = format!("{} is not built (cargo build --examples)", path.display());
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{reason}");
        eprintln!("skipping: {reason}");
        return None;
    }
    let mut child = Command::new(&path)
        .arg("127.0.0.1:0")
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .env("HEADER_READ_TIMEOUT_SECS", "1")
        .env("BODY_READ_TIMEOUT_SECS", body_secs)
        .env_remove("WEBHOOK_BEARER_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the example");
    let stdout = child.stdout.take().expect("stdout");
    let example = Example(child);
    // Read its log on a thread: the address line, then drain so it never blocks.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in StdBufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("receiver listening") {
                let addr = line
                    .split_whitespace()
                    .find_map(|word| word.strip_prefix("addr="))
                    .and_then(|addr| addr.parse::<SocketAddr>().ok());
                let _ = tx.send(addr);
            }
        }
    });
    let addr = rx
        .recv_timeout(raw_http::DEADLINE)
        .expect("the example logs its address")
        .expect("a socket address after addr=");
    Some((example, addr))
}

/// Reads one answer, `status` with `{"detail": detail}`, and then the close of the connection.
async fn answered_then_closed<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    what: &str,
    status: u16,
    detail: &str,
) {
    let answer = within(what, read_answer(reader)).await;
    let answer = answer.expect("an answer before the close");
    assert_eq!(answer.status, status, "{what}");
    assert_eq!(
        answer.json(),
        serde_json::json!({ "detail": detail }),
        "{what}"
    );
    assert!(
        within(what, read_to_close(reader)).await.is_empty(),
        "{what}"
    );
}

/// Writes `bytes` one at a time, 100 ms apart, until done or the server hangs up.
async fn dribble(mut writer: impl AsyncWriteExt + Unpin, bytes: impl IntoIterator<Item = u8>) {
    for b in bytes {
        if writer.write_all(&[b]).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    std::future::pending::<()>().await;
}

async fn slow_clients_are_cut_off(name: &str) {
    let Some((_example, addr)) = start(name, "1") else {
        return;
    };

    // Connects and sends nothing: closed after the header read timeout, unanswered.
    let mut idle = TcpStream::connect(addr).await.expect("connect");
    assert!(
        within("closing an idle connection", read_to_close(&mut idle))
            .await
            .is_empty()
    );

    // Sends its head one byte at a time, forever: closed, unanswered.
    let (reader, writer) = TcpStream::connect(addr)
        .await
        .expect("connect")
        .into_split();
    let endless = head(FIXTURE.len())
        .into_iter()
        .take(60)
        .chain(std::iter::repeat(b'a'));
    let writing = tokio::spawn(dribble(writer, endless));
    let mut reader = reader;
    assert!(
        within("closing a slow head", read_to_close(&mut reader))
            .await
            .is_empty()
    );
    writing.abort();

    // Sends its head at once and its body one byte at a time (78 s in all):
    // answered 503 (so that Alertmanager retries) when the body deadline passes, then closed.
    let (reader, mut writer) = TcpStream::connect(addr)
        .await
        .expect("connect")
        .into_split();
    writer
        .write_all(&head(FIXTURE.len()))
        .await
        .expect("write the head");
    let writing = tokio::spawn(dribble(writer, FIXTURE.iter().copied()));
    let mut reader = BufReader::new(reader);
    let detail = "Failed to read the request body; retry later";
    answered_then_closed(&mut reader, "a slow body", 503, detail).await;
    writing.abort();

    // Everyone else is still served, on a kept-alive connection for longer than the
    // header read timeout while requests keep coming; once idle that long, it is closed.
    let mut client = BufReader::new(TcpStream::connect(addr).await.expect("connect"));
    let request = [head(FIXTURE.len()), FIXTURE.to_vec()].concat();
    for _ in 0..6 {
        client.get_mut().write_all(&request).await.expect("write");
        let answer = within(
            "a request on a kept-alive connection",
            read_answer(&mut client),
        )
        .await;
        assert_eq!(answer.expect("an answer").status, 200);
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    let rest = within(
        "closing an idle kept-alive connection",
        read_to_close(&mut client),
    )
    .await;
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
}

/// `examples/common::LARGE_AT_ONCE`, and a body over its 64 KiB threshold.
const LARGE_AT_ONCE: usize = 8;
const LARGE: usize = 100_000;

/// A head that asks for `100 Continue` before the body is sent: the example
/// answers it when the receiver starts reading the body.
fn expect_continue(content_length: usize) -> Vec<u8> {
    let head = String::from_utf8(head(content_length)).expect("ASCII");
    let head = head.replacen("\r\n\r\n", "\r\nexpect: 100-continue\r\n\r\n", 1);
    head.into_bytes()
}

async fn connect(addr: SocketAddr) -> BufReader<TcpStream> {
    BufReader::new(TcpStream::connect(addr).await.expect("connect"))
}

async fn large_bodies_take_turns(name: &str) {
    let Some((_example, addr)) = start(name, "30") else {
        return;
    };
    // As many large requests as may be read at once, none sending its body:
    // each is let in (100 Continue), then waits for its body.
    let mut held = Vec::new();
    for _ in 0..LARGE_AT_ONCE {
        let mut client = connect(addr).await;
        let ask = expect_continue(LARGE);
        client.get_mut().write_all(&ask).await.expect("write");
        let answer = within("100 Continue for a large body", read_answer(&mut client)).await;
        assert_eq!(answer.map(|a| a.status), Some(100));
        held.push(client);
    }

    // One more is not let in...
    let mut next = connect(addr).await;
    let ask = expect_continue(LARGE);
    next.get_mut().write_all(&ask).await.expect("write");
    let early = tokio::time::timeout(Duration::from_millis(500), read_answer(&mut next)).await;
    assert!(
        early.is_err(),
        "a large request was let in past the limit: {early:?}"
    );

    // ...while a small request is answered at once.
    let mut small = connect(addr).await;
    let request = [head(FIXTURE.len()), FIXTURE.to_vec()].concat();
    small.get_mut().write_all(&request).await.expect("write");
    let answer = within("a small request", read_answer(&mut small)).await;
    assert_eq!(answer.map(|a| a.status), Some(200));

    // ...and so is a large one refused on its head alone, which never reads its body.
    let mut refused = connect(addr).await;
    let ask = String::from_utf8(expect_continue(LARGE)).expect("ASCII");
    let ask = ask.replacen("application/json", "text/plain", 1);
    refused
        .get_mut()
        .write_all(ask.as_bytes())
        .await
        .expect("write");
    // (The turns are held for 30 s: an answer well before then did not wait for one.)
    let answer = tokio::time::timeout(Duration::from_secs(10), read_answer(&mut refused)).await;
    assert_eq!(answer.ok().flatten().map(|a| a.status), Some(415));

    // One of the held requests goes away: the waiting one is let in, sends
    // its body (the fixture and trailing spaces) and is answered.
    drop(held.pop());
    let answer = within("100 Continue after a turn", read_answer(&mut next)).await;
    assert_eq!(answer.map(|a| a.status), Some(100));
    let mut body = FIXTURE.to_vec();
    body.resize(LARGE, b' ');
    next.get_mut().write_all(&body).await.expect("write");
    let answer = within("the large request", read_answer(&mut next)).await;
    let answer = answer.expect("an answer");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["received"], 1);

    // Every turn held again: a large request that gets none within `TURN_WAIT`
    // (5 s) is told to retry, long before the held ones give theirs up.
    let mut client = connect(addr).await;
    client
        .get_mut()
        .write_all(&expect_continue(LARGE))
        .await
        .expect("write");
    let answer = within("100 Continue for a large body", read_answer(&mut client)).await;
    assert_eq!(answer.map(|a| a.status), Some(100));
    held.push(client);
    let mut late = connect(addr).await;
    late.get_mut()
        .write_all(&expect_continue(LARGE))
        .await
        .expect("write");
    let answer = tokio::time::timeout(Duration::from_secs(15), read_answer(&mut late)).await;
    let answer = answer
        .ok()
        .flatten()
        .expect("an answer before the turns are given up");
    assert_eq!(answer.status, 503);
    assert_eq!(
        answer.json()["detail"],
        "Failed to read the request body; retry later"
    );
    assert!(
        answer
            .headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("retry-after") && v == "5"),
        "{:?}",
        answer.headers
    );
}

/// A request over the 4 MiB limit that waits for `100 Continue` is refused at
/// once: no go-ahead, so its body is never sent, and the connection closes.
#[tokio::test]
async fn a_too_large_body_that_waits_for_the_go_ahead_gets_413_at_once() {
    let Some((_example, addr)) = start("hyper", "30") else {
        return;
    };
    let mut client = connect(addr).await;
    let ask = expect_continue(5_000_000);
    client.get_mut().write_all(&ask).await.expect("write");
    let detail = "Request body too large: the limit is 4194304 bytes";
    answered_then_closed(&mut client, "413 without 100 Continue", 413, detail).await;
}

/// A request over the 4 MiB limit is answered 413 before its body ends: at once when it
/// declares more (but less than what is drained), and as soon as it goes over when it is
/// chunked (here: a chunk of 4 MiB + 1 bytes, and no end yet). Once the client has sent the
/// rest, the connection serves the next request. With a 60 s body timeout, a server that
/// waited for the body's end before answering would miss the 30 s deadline.
async fn an_excess_is_answered_before_the_body_ends(name: &str, chunked: bool) {
    let Some((_example, addr)) = start(name, "60") else {
        return;
    };
    let mut client = connect(addr).await;
    let (first, rest) = if chunked {
        let n = (4 << 20) + 1;
        let first = [
            format!("{}{n:x}\r\n", raw_http::CHUNKED_HEAD).into_bytes(),
            vec![b' '; n],
        ]
        .concat();
        (first, b"\r\n0\r\n\r\n".to_vec())
    } else {
        let declared = 5 << 20;
        (head(declared), vec![b' '; declared])
    };
    let what = format!("{name}, chunked: {chunked}");
    client.get_mut().write_all(&first).await.expect("write");
    let answer = within("the 413 before the end", read_answer(&mut client))
        .await
        .expect("an answer");
    assert_eq!(
        (answer.status, answer.json()),
        (
            413,
            serde_json::json!({"detail": "Request body too large: the limit is 4194304 bytes"})
        ),
        "{what}"
    );
    let rest = [rest, head(FIXTURE.len()), FIXTURE.to_vec()].concat();
    client
        .get_mut()
        .write_all(&rest)
        .await
        .expect("write the rest and the next request");
    let answer = within("the next request", read_answer(&mut client))
        .await
        .expect("an answer on the same connection");
    assert_eq!(answer.status, 200, "{what}");
}

#[tokio::test]
async fn the_hyper_example_answers_a_chunked_excess_before_its_end() {
    an_excess_is_answered_before_the_body_ends("hyper", true).await;
}

#[tokio::test]
async fn the_layers_example_answers_a_chunked_excess_before_its_end() {
    an_excess_is_answered_before_the_body_ends("layers", true).await;
}

#[tokio::test]
async fn the_hyper_example_answers_a_declared_excess_before_the_body() {
    an_excess_is_answered_before_the_body_ends("hyper", false).await;
}

#[tokio::test]
async fn the_layers_example_answers_a_declared_excess_before_the_body() {
    an_excess_is_answered_before_the_body_ends("layers", false).await;
}

#[tokio::test]
async fn the_hyper_example_reads_large_bodies_in_turns() {
    large_bodies_take_turns("hyper").await;
}

#[tokio::test]
async fn the_axum_example_reads_large_bodies_in_turns() {
    large_bodies_take_turns("axum").await;
}

#[tokio::test]
async fn the_hyper_example_cuts_off_slow_clients() {
    slow_clients_are_cut_off("hyper").await;
}

#[tokio::test]
async fn the_axum_example_cuts_off_slow_clients() {
    slow_clients_are_cut_off("axum").await;
}

#[tokio::test]
async fn the_warp_example_cuts_off_slow_clients() {
    slow_clients_are_cut_off("warp").await;
}

#[tokio::test]
async fn the_layers_example_cuts_off_slow_clients() {
    slow_clients_are_cut_off("layers").await;
}

#[tokio::test]
async fn the_dashboard_example_cuts_off_slow_clients() {
    slow_clients_are_cut_off("dashboard").await;
}

/// A client that sends a whole request and then shuts its side of the
/// connection (as `printf … | nc -N` does) still gets its answer.
#[tokio::test]
async fn a_client_that_half_closes_after_its_request_is_answered() {
    for name in ["hyper", "axum", "warp", "layers", "dashboard"] {
        let Some((_example, addr)) = start(name, "10") else {
            return;
        };
        for _ in 0..10 {
            let stream = TcpStream::connect(addr).await.expect("connect");
            let (read, mut write) = stream.into_split();
            let request = [head(FIXTURE.len()), FIXTURE.to_vec()].concat();
            write.write_all(&request).await.expect("send the request");
            write.shutdown().await.expect("half-close");
            let mut reader = BufReader::new(read);
            let answer = within(name, read_answer(&mut reader)).await;
            let answer = answer.expect("an answer after the half-close");
            assert_eq!(answer.status, 200, "{name}");
        }
    }
}

/// What hyper answers by itself, before any service sees the request (bad
/// framing, a URI or headers too long), is JSON like every other answer.
#[tokio::test]
async fn hypers_own_error_answers_are_json() {
    let big_header = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "/api/webhooks/alerts",
        "a".repeat(500_000)
    );
    let two_lengths = "POST /api/webhooks/alerts HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab".to_owned();
    let long_uri = format!("POST /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000));
    for name in ["hyper", "axum", "warp", "layers", "dashboard"] {
        let Some((_example, addr)) = start(name, "10") else {
            return;
        };
        for (request, status, detail) in [
            (&big_header, 431, "Request Header Fields Too Large"),
            (&two_lengths, 400, "Bad Request"),
            (&long_uri, 414, "URI Too Long"),
        ] {
            let mut stream = connect(addr).await;
            // The server may answer and close before it has read all of a long request.
            let _ = stream.get_mut().write_all(request.as_bytes()).await;
            let what = format!("{name}: {status}");
            answered_then_closed(&mut stream, &what, status, detail).await;
        }
        // After an HTTP/1.0 keep-alive exchange hyper's head has no `connection: close`.
        let mut stream = connect(addr).await;
        let two = b"GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\nBad\r\n\r\n";
        stream.get_mut().write_all(two).await.expect("send");
        let first = within(name, read_answer(&mut stream))
            .await
            .expect("the 404");
        assert_eq!(first.status, 404, "{name}");
        answered_then_closed(&mut stream, name, 400, "Bad Request").await;
    }
}
