//! Reading a request body under a limit, shared by the receiver and the signature layer.

use std::pin::{Pin, pin};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::header::EXPECT;
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use http_body::Body;
use http_body_util::BodyExt;

use crate::DRAIN_LIMIT;
use crate::log::TARGET;
use crate::response::{self, detail_json, json};
use crate::sink::BoxError;

/// Whether the `declared` length (what `Content-Length` says, [`length`]) is so much more than
/// `limit` bytes that the body is refused unread; a smaller excess is drained by
/// [`read`] (see [`DRAIN_LIMIT`]).
/// A client that sent `Expect: 100-continue` waits for the go-ahead before it
/// sends its body: any excess is refused unread, and the go-ahead never comes.
pub(crate) fn declared_too_large(headers: &HeaderMap, declared: Option<u64>, limit: usize) -> bool {
    let Some(declared) = declared.filter(|&n| n > limit as u64) else {
        return false;
    };
    let waits = headers
        .get(EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    declared > limit as u64 + if waits { 0 } else { DRAIN_LIMIT }
}

/// The body length that `Content-Length` declares, if it is a number.
#[cfg(feature = "signature")]
pub(crate) fn declared_len(headers: &HeaderMap) -> Option<u64> {
    headers.get(http::header::CONTENT_LENGTH).and_then(length)
}

/// The length a `Content-Length` value gives, if it is a number.
pub(crate) fn length(value: &HeaderValue) -> Option<u64> {
    value.to_str().ok()?.parse::<u64>().ok()
}

/// The 413 answer, naming `limit`, counted.
pub(crate) fn too_large<B: From<Bytes>>(limit: usize) -> Response<B> {
    over_limit("Request body too large: the limit is", limit)
}

/// A 413 answer, counted: `what`, then ` {limit} bytes`.
pub(crate) fn over_limit<B: From<Bytes>>(what: &str, limit: usize) -> Response<B> {
    let mut text = what.as_bytes().to_vec();
    text.push(b' ');
    response::push_u64(&mut text, limit as u64);
    text.extend_from_slice(b" bytes");
    payload_too_large(std::str::from_utf8(&text).unwrap_or(what))
}

const TOO_LARGE: &str = "Request body too large";

/// A 413 answer with `text`, counted.
fn payload_too_large<B: From<Bytes>>(text: &str) -> Response<B> {
    crate::metrics::body_too_large();
    json(StatusCode::PAYLOAD_TOO_LARGE, detail_json(text))
}

/// Reads the body, never buffering more than `limit` bytes; the error is the answer to give.
/// A body whose `declared` length (or size hint: a body type may not pass the
/// header's length on) is over `limit` gets 413 at once, even if it stops short;
/// so does a body without a declared length once it has gone over `limit`.
/// Either is then drained (see [`drain_aside`]).
pub(crate) async fn read<B, R>(
    body: B,
    limit: usize,
    declared: Option<u64>,
) -> Result<Bytes, Response<R>>
where
    B: Body + Send + 'static,
    B::Error: Into<BoxError>,
    R: From<Bytes>,
{
    if body.size_hint().lower().max(declared.unwrap_or(0)) > limit as u64 {
        drain_aside(body, limit as u64 + DRAIN_LIMIT).await;
        return Err(too_large(limit));
    }
    if declared.is_some() {
        // Within the limit, read in place. Over HTTP a body cannot run past its
        // declared length; a body type that does gets its 413 undrained.
        return collect(pin!(body), limit)
            .await?
            .ok_or_else(|| too_large(limit));
    }
    // Chunked: it may turn out too large. Boxed, so that what is left can then
    // be drained in a task of its own while the 413 goes out.
    let mut body = Box::pin(body);
    if let Some(bytes) = collect(body.as_mut(), limit).await? {
        return Ok(bytes);
    }
    drain_aside(body, DRAIN_LIMIT).await;
    Err(too_large(limit))
}

/// The whole body, or `None` as soon as it goes over `limit`.
async fn collect<B, R>(mut body: Pin<&mut B>, limit: usize) -> Result<Option<Bytes>, Response<R>>
where
    B: Body,
    B::Error: Into<BoxError>,
    R: From<Bytes>,
{
    let mut first: Option<Bytes> = None;
    let mut rest = BytesMut::new();
    let mut len = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| body_error(e.into()))?;
        let Ok(mut data) = frame.into_data() else {
            continue;
        };
        let n = data.remaining();
        len = len.saturating_add(n);
        if len > limit {
            return Ok(None);
        }
        if n == 0 {
            continue;
        }
        match first.take() {
            None if rest.is_empty() => first = Some(data.copy_to_bytes(n)),
            held => {
                if let Some(held) = held {
                    let hint = body.size_hint().upper().unwrap_or(0) as usize;
                    rest.reserve((len + hint).min(limit));
                    rest.extend_from_slice(&held);
                }
                rest.put(data);
            }
        }
    }
    Ok(Some(first.unwrap_or_else(|| rest.freeze())))
}

/// Drains up to `budget` bytes of `body` (see [`drain`]) so that a client still
/// sending it can read the 413 instead of a reset connection. On a tokio
/// runtime the drain runs in a task of its own and the 413 goes out at once:
/// the server reads the rest while the answer is written. Elsewhere the answer
/// waits for the drain.
async fn drain_aside<B: Body + Send + 'static>(body: B, budget: u64) {
    #[cfg(feature = "tokio")]
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move { drain(pin!(body), budget).await });
        return;
    }
    drain(pin!(body), budget).await;
}

/// Reads and discards up to `budget` bytes of what is left of a body.
async fn drain<B: Body>(mut body: Pin<&mut B>, mut budget: u64) {
    while budget > 0 {
        let frame = body.frame().await;
        // A trailers frame counts as 0 bytes; an error or the end stops the drain.
        let Some(n) = frame.and_then(|f| Some(f.ok()?.into_data().map_or(0, |d| d.remaining())))
        else {
            break;
        };
        budget = budget.saturating_sub(n as u64);
    }
}

fn body_error<R: From<Bytes>>(error: BoxError) -> Response<R> {
    if error.is::<http_body_util::LengthLimitError>() {
        // A limit set in front of the receiver (tower-http's `RequestBodyLimit`,
        // `http_body_util::Limited`): the receiver's own is not the one reached.
        return payload_too_large(TOO_LARGE);
    }
    tracing::debug!(target: TARGET, %error, "failed to read a request body");
    if malformed(&*error) {
        // The same bytes would fail again: 4xx, so that the sender does not retry them.
        return json(
            StatusCode::BAD_REQUEST,
            detail_json("Malformed request body: its framing (chunked encoding) is invalid"),
        );
    }
    // The body did not arrive (a broken connection, or a client too slow for the
    // server's deadline): a retry can fix that.
    response::retry_later("Failed to read the request body; retry later")
}

/// Whether `error` says that the body's bytes break its framing: hyper reports
/// a bad chunk size, chunk end or extension as an `io::Error` of kind
/// `InvalidInput` or `InvalidData`, somewhere in the chain of sources (a body
/// cut short is `UnexpectedEof`, which a retry can fix).
fn malformed(error: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(error), |e| e.source()).any(|e| {
        e.downcast_ref::<std::io::Error>().is_some_and(|e| {
            matches!(
                e.kind(),
                std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData
            )
        })
    })
}
