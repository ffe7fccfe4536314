//! A raw HTTP/1.1 client over `TcpStream`, for requests a real client would
//! not send: lying `Content-Length`, bytes dribbled one at a time.
#![allow(dead_code)]

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};

/// How long any single wait may take before the test fails (a hang is a failure).
pub const DEADLINE: Duration = Duration::from_secs(30);

/// The real body that the tests send, cut or dribbled.
pub const FIXTURE: &[u8] = include_bytes!("../fixtures/01-am025-firing-single.json");

/// A request head for the receiver's path.
pub fn head(content_length: usize) -> Vec<u8> {
    format!(
        "POST /api/webhooks/alerts HTTP/1.1\r\nhost: 127.0.0.1\r\n\
         content-type: application/json\r\ncontent-length: {content_length}\r\n\r\n"
    )
    .into_bytes()
}

/// A request head for the receiver's path with a chunked body.
pub const CHUNKED_HEAD: &str = "POST /api/webhooks/alerts HTTP/1.1\r\nhost: 127.0.0.1\r\n\
    content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";

/// One parsed response.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// Header lines, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body (by `Content-Length`).
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON (panics if it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

/// Reads one response; `None` when the server closed (or reset) the connection first.
pub async fn read_answer<R: AsyncRead + Unpin>(reader: &mut BufReader<R>) -> Option<Answer> {
    let mut line = String::new();
    match reader.read_line(&mut line).await {
        Ok(0) | Err(_) => return None,
        Ok(_) => {}
    }
    let status = line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| line.strip_prefix("HTTP/1.0 "))
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not a status line: {line:?}"));
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).await.expect("header line");
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        let (name, value) = trimmed.split_once(':').expect("a header");
        headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .map_or(0, |(_, value)| value.parse().expect("a length"));
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.expect("the whole body");
    Some(Answer {
        status,
        headers,
        body,
    })
}

/// Waits for `future`, failing the test after [`DEADLINE`].
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, future)
        .await
        .unwrap_or_else(|_| panic!("no result within {DEADLINE:?}: {what}"))
}

/// Reads until the server closes the connection (EOF or reset); returns what came.
pub async fn read_to_close<R: AsyncRead + Unpin>(reader: &mut R) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buf = [0; 4096];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => return seen,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}
