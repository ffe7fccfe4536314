//! The JSON answers: the 200 summary and `{"detail": ...}` errors.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use http::{Response, StatusCode};
use http_body_util::Full;

use crate::event::write_json_str;

/// The response type of [`AlertReceiver`](crate::AlertReceiver).
pub type ResponseBody = Full<Bytes>;

pub(crate) fn json<B: From<Bytes>>(status: StatusCode, body: impl Into<Bytes>) -> Response<B> {
    let mut response = Response::new(B::from(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// `{"detail":"<text>"}` with the given status.
///
/// ```
/// use alertmanager_webhook::response::detail;
/// let r = detail(http::StatusCode::UNAUTHORIZED, "Not authenticated");
/// assert_eq!(r.status(), 401);
/// assert_eq!(r.headers()["content-type"], "application/json");
/// ```
pub fn detail(status: StatusCode, text: &str) -> Response<ResponseBody> {
    json(status, detail_json(text))
}

/// 503 `{"detail":"<text>"}` with `Retry-After: 5`: for what a retry can fix
/// (Alertmanager retries 5xx only).
pub(crate) fn retry_later<B: From<Bytes>>(text: &str) -> Response<B> {
    let mut response = json(StatusCode::SERVICE_UNAVAILABLE, detail_json(text));
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

/// The bytes of `{"detail":"<text>"}`.
pub(crate) fn detail_json(text: &str) -> Bytes {
    let mut out = Vec::with_capacity(text.len() + 14);
    out.extend_from_slice(b"{\"detail\":");
    write_json_str(&mut out, text);
    out.push(b'}');
    out.into()
}

pub(crate) fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// What the 200 answer reports.
pub(crate) struct Summary<'a> {
    pub(crate) received: usize,
    pub(crate) duplicates: Option<usize>,
    pub(crate) receiver: &'a str,
}

impl Summary<'_> {
    /// `{"status":"ok","received":N,"processed":N,"message":"Processed N alert(s) from R"}`,
    /// then `"duplicates"` when deduplication is on.
    pub(crate) fn to_response(&self) -> Response<ResponseBody> {
        let processed = (self.received - self.duplicates.unwrap_or(0)) as u64;
        let mut out = Vec::with_capacity(112 + self.receiver.len());
        out.extend_from_slice(b"{\"status\":\"ok\",\"received\":");
        push_u64(&mut out, self.received as u64);
        out.extend_from_slice(b",\"processed\":");
        push_u64(&mut out, processed);
        out.extend_from_slice(b",\"message\":\"Processed ");
        push_u64(&mut out, processed);
        out.extend_from_slice(b" alert(s) from ");
        // Reuse the string writer, then drop its opening quote.
        let at = out.len();
        write_json_str(&mut out, self.receiver);
        out.remove(at);
        if let Some(d) = self.duplicates {
            out.extend_from_slice(b",\"duplicates\":");
            push_u64(&mut out, d as u64);
        }
        out.push(b'}');
        json(StatusCode::OK, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn body(r: Response<ResponseBody>) -> String {
        let bytes = futures_util::FutureExt::now_or_never(r.into_body().collect())
            .unwrap()
            .unwrap()
            .to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn summary_is_exact_and_escapes_the_receiver() {
        let s = Summary {
            received: 3,
            duplicates: None,
            receiver: r"team\.gpu",
        };
        assert_eq!(
            body(s.to_response()),
            r#"{"status":"ok","received":3,"processed":3,"message":"Processed 3 alert(s) from team\\.gpu"}"#
        );
        let s = Summary {
            received: 10,
            duplicates: Some(4),
            receiver: "r",
        };
        assert_eq!(
            body(s.to_response()),
            r#"{"status":"ok","received":10,"processed":6,"message":"Processed 6 alert(s) from r","duplicates":4}"#
        );
    }

    #[test]
    fn integers_print_like_display() {
        for n in [0, 7, 10, 99, 12_345, u64::MAX] {
            let mut out = Vec::new();
            push_u64(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
        }
    }

    #[test]
    fn detail_escapes_text() {
        assert_eq!(
            body(detail(StatusCode::BAD_REQUEST, "a \"b\"")),
            r#"{"detail":"a \"b\""}"#
        );
    }
}
