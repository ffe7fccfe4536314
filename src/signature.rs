//! Signed webhooks (feature `signature`): a layer that verifies the raw body
//! before anything parses it.
//!
//! Two schemes:
//! - [Grafana](Signature::grafana): `X-Grafana-Alerting-Signature` holds the hex
//!   HMAC-SHA256 of the body, or of `<timestamp>:<body>` when a
//!   [timestamp header](Signature::timestamp_header) is configured.
//! - [Standard Webhooks](Signature::standard_webhooks): `webhook-signature` holds
//!   one or more space-separated `v1,<base64 HMAC-SHA256>` of
//!   `<webhook-id>.<webhook-timestamp>.<body>`; other versions are ignored.
//!
//! Signatures are compared in constant time after a length check; a missing
//! header, a timestamp more than the [tolerance](Signature::tolerance) (5
//! minutes) away from now in either direction, or a wrong signature are all
//! answered `401 {"detail":"Not authenticated"}`. Empty secrets are refused
//! when the [`Signature`] is built. The layer buffers at most its
//! [body limit](Signature::body_limit) (413 beyond it) and hands the inner
//! service an `http::Request<Full<Bytes>>`.
//!
//! ```
//! use alertmanager_webhook::{signature::Signature, AlertReceiver};
//! use tower::{Layer, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let signature = Signature::grafana("s3cret").expect("a non-empty secret");
//! let service = signature.layer().layer(AlertReceiver::builder().build());
//! let request = http::Request::post("/")
//!     .header("x-grafana-alerting-signature", "00".repeat(32))
//!     .body(http_body_util::Full::new(bytes::Bytes::from_static(b"{}")))
//!     .unwrap();
//! assert_eq!(service.oneshot(request).await.unwrap().status(), 401);
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::Full;
use sha2::Sha256;
use tower::{Layer, Service};

use crate::codec::{base64, base64_decode, constant_time_eq, hex_decode};
use crate::log::TARGET;
use crate::metrics::{self, Timer};
use crate::response::{detail_json, json};
use crate::sink::BoxError;
use crate::{DEFAULT_BODY_LIMIT, body};

/// Grafana's default signature header.
pub const GRAFANA_SIGNATURE: HeaderName = HeaderName::from_static("x-grafana-alerting-signature");
/// Standard Webhooks' message id header.
pub const WEBHOOK_ID: HeaderName = HeaderName::from_static("webhook-id");
/// Standard Webhooks' timestamp header, in seconds since the Unix epoch.
pub const WEBHOOK_TIMESTAMP: HeaderName = HeaderName::from_static("webhook-timestamp");
/// Standard Webhooks' signature header.
pub const WEBHOOK_SIGNATURE: HeaderName = HeaderName::from_static("webhook-signature");

/// How far a signed timestamp may be from now by default, either way: 5 minutes.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// A scheme and secret that requests must be signed with.
///
/// ```
/// use alertmanager_webhook::signature::Signature;
/// use http::HeaderName;
/// use std::time::Duration;
///
/// let grafana = Signature::grafana("s3cret")
///     .unwrap()
///     .timestamp_header(HeaderName::from_static("x-grafana-alerting-signature-timestamp"))
///     .tolerance(Duration::from_secs(60));
/// let standard = Signature::standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
/// ```
#[derive(Clone)]
pub struct Signature {
    scheme: Scheme,
    key: Box<[u8]>,
    tolerance: Duration,
    body_limit: usize,
}

#[derive(Clone, Debug)]
enum Scheme {
    Grafana {
        header: HeaderName,
        timestamp: Option<HeaderName>,
    },
    StandardWebhooks,
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signature")
            .field("scheme", &self.scheme)
            .field("tolerance", &self.tolerance)
            .field("body_limit", &self.body_limit)
            .finish_non_exhaustive()
    }
}

/// A [`Signature`] was given an unusable secret.
///
/// ```
/// use alertmanager_webhook::signature::{SecretError, Signature};
/// assert_eq!(Signature::grafana("").unwrap_err(), SecretError::Empty);
/// assert_eq!(Signature::standard_webhooks("whsec_!").unwrap_err(), SecretError::NotBase64);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretError {
    /// The secret is empty.
    Empty,
    /// A Standard Webhooks secret is not base64 after its `whsec_` prefix.
    NotBase64,
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SecretError::Empty => "a signing secret must not be empty",
            SecretError::NotBase64 => "a Standard Webhooks secret must be base64 after `whsec_`",
        })
    }
}

impl std::error::Error for SecretError {}

/// What the headers claim, before the body is read.
struct Claim {
    /// Signed before the body.
    prefix: Vec<u8>,
    signature: HeaderValue,
}

impl Signature {
    /// Grafana's HMAC: the secret is used as-is, as in Grafana's contact point settings.
    ///
    /// ```
    /// let signature = alertmanager_webhook::signature::Signature::grafana("s3cret").unwrap();
    /// ```
    pub fn grafana(secret: impl AsRef<[u8]>) -> Result<Signature, SecretError> {
        let scheme = Scheme::Grafana {
            header: GRAFANA_SIGNATURE,
            timestamp: None,
        };
        Self::new(scheme, secret.as_ref().into())
    }

    /// Standard Webhooks: the secret is base64, optionally after `whsec_`.
    ///
    /// ```
    /// use alertmanager_webhook::signature::Signature;
    /// assert!(Signature::standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
    /// assert!(Signature::standard_webhooks("whsec_").is_err());
    /// ```
    pub fn standard_webhooks(secret: &str) -> Result<Signature, SecretError> {
        let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
        let key = base64_decode(encoded).ok_or(SecretError::NotBase64)?;
        Self::new(Scheme::StandardWebhooks, key.into())
    }

    fn new(scheme: Scheme, key: Box<[u8]>) -> Result<Signature, SecretError> {
        if key.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(Signature {
            scheme,
            key,
            tolerance: DEFAULT_TOLERANCE,
            body_limit: DEFAULT_BODY_LIMIT,
        })
    }

    /// Grafana only: the header that carries the signature (default
    /// [`GRAFANA_SIGNATURE`]). Standard Webhooks ignores it.
    ///
    /// ```
    /// use alertmanager_webhook::signature::Signature;
    /// let s = Signature::grafana("k").unwrap().header(http::HeaderName::from_static("x-sig"));
    /// ```
    pub fn header(mut self, name: HeaderName) -> Self {
        if let Scheme::Grafana { header, .. } = &mut self.scheme {
            *header = name;
        }
        self
    }

    /// Grafana only: the timestamp header configured in Grafana. The signature
    /// then covers `<timestamp>:<body>`, and the timestamp must be within the
    /// tolerance. Standard Webhooks ignores it.
    ///
    /// ```
    /// use alertmanager_webhook::signature::Signature;
    /// let s = Signature::grafana("k")
    ///     .unwrap()
    ///     .timestamp_header(http::HeaderName::from_static("x-grafana-alerting-signature-timestamp"));
    /// ```
    pub fn timestamp_header(mut self, name: HeaderName) -> Self {
        if let Scheme::Grafana { timestamp, .. } = &mut self.scheme {
            *timestamp = Some(name);
        }
        self
    }

    /// How far a signed timestamp may be from now, either way (default [`DEFAULT_TOLERANCE`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = alertmanager_webhook::signature::Signature::grafana("k").unwrap().tolerance(Duration::from_secs(60));
    /// ```
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// The largest body the layer buffers, in bytes (default
    /// [`DEFAULT_BODY_LIMIT`]); larger bodies get 413.
    ///
    /// ```
    /// let s = alertmanager_webhook::signature::Signature::grafana("k").unwrap().body_limit(1 << 20);
    /// ```
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Whether `headers` carry a valid signature of `body` now.
    ///
    /// ```
    /// let s = alertmanager_webhook::signature::Signature::grafana("k").unwrap();
    /// assert!(!s.verify(&http::HeaderMap::new(), b"{}"));
    /// ```
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> bool {
        self.verify_at(headers, body, SystemTime::now())
    }

    /// Whether `headers` carry a valid signature of `body` at the time `now`.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use alertmanager_webhook::signature::Signature;
    ///
    /// // The example of the Standard Webhooks specification.
    /// let s = Signature::standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek".parse().unwrap());
    /// headers.insert("webhook-timestamp", "1614265330".parse().unwrap());
    /// headers.insert("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".parse().unwrap());
    /// let then = UNIX_EPOCH + Duration::from_secs(1614265330);
    /// assert!(s.verify_at(&headers, br#"{"test": 2432232314}"#, then));
    /// ```
    pub fn verify_at(&self, headers: &HeaderMap, body: &[u8], now: SystemTime) -> bool {
        self.claim(headers, now)
            .is_ok_and(|claim| self.matches(&claim, body))
    }

    /// Reads the headers: the signed prefix and the signature, or why they do not do.
    fn claim(&self, headers: &HeaderMap, now: SystemTime) -> Result<Claim, &'static str> {
        let get = |name: &HeaderName| headers.get(name).ok_or("a signature header is missing");
        let mut prefix = Vec::new();
        let signature = match &self.scheme {
            Scheme::Grafana { header, timestamp } => {
                if let Some(name) = timestamp {
                    let ts = get(name)?.as_bytes();
                    self.check_time(ts, now)?;
                    prefix.extend_from_slice(ts);
                    prefix.push(b':');
                }
                get(header)?
            }
            Scheme::StandardWebhooks => {
                let id = get(&WEBHOOK_ID)?.as_bytes();
                let ts = get(&WEBHOOK_TIMESTAMP)?.as_bytes();
                let signature = get(&WEBHOOK_SIGNATURE)?;
                if id.is_empty() {
                    return Err("the webhook-id header is empty");
                }
                self.check_time(ts, now)?;
                prefix.extend_from_slice(id);
                prefix.push(b'.');
                prefix.extend_from_slice(ts);
                prefix.push(b'.');
                signature
            }
        };
        Ok(Claim {
            prefix,
            signature: signature.clone(),
        })
    }

    /// A timestamp in whole seconds since the epoch, within the tolerance of `now`.
    fn check_time(&self, ts: &[u8], now: SystemTime) -> Result<(), &'static str> {
        let seconds = (!ts.is_empty() && ts.len() <= 19 && ts.iter().all(u8::is_ascii_digit))
            .then(|| ts.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')))
            .ok_or("the signed timestamp is not a number of seconds")?;
        let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if now.abs_diff(seconds) > self.tolerance.as_secs() {
            return Err("the signed timestamp is too far from now");
        }
        Ok(())
    }

    fn matches(&self, claim: &Claim, body: &[u8]) -> bool {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .expect("HMAC takes keys of any length");
        mac.update(&claim.prefix);
        mac.update(body);
        let expected = mac.finalize().into_bytes();
        let given = claim.signature.as_bytes();
        match self.scheme {
            Scheme::Grafana { .. } => {
                hex_decode::<32>(given).is_some_and(|given| constant_time_eq(&given, &expected))
            }
            Scheme::StandardWebhooks => {
                let expected = base64(&expected);
                given
                    .split(|&b| b == b' ')
                    .filter_map(|entry| entry.strip_prefix(b"v1,"))
                    .any(|given| constant_time_eq(given, expected.as_bytes()))
            }
        }
    }

    /// A [`Layer`] that verifies every request before the inner service sees it.
    ///
    /// ```
    /// let layer = alertmanager_webhook::signature::Signature::grafana("k").unwrap().layer();
    /// ```
    pub fn layer(self) -> SignatureLayer {
        SignatureLayer(Arc::new(self))
    }
}

/// Wraps a service with a [`Signature`] check; made by [`Signature::layer`].
#[derive(Clone, Debug)]
pub struct SignatureLayer(Arc<Signature>);

impl<S> Layer<S> for SignatureLayer {
    type Service = VerifySignature<S>;
    fn layer(&self, inner: S) -> VerifySignature<S> {
        VerifySignature {
            signature: self.0.clone(),
            inner,
        }
    }
}

/// A service that buffers the body, verifies its [`Signature`], then calls the
/// inner service with an `http::Request<Full<Bytes>>`.
///
/// ```
/// use alertmanager_webhook::{signature::{Signature, VerifySignature}, AlertReceiver};
/// use tower::Layer;
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let service: VerifySignature<AlertReceiver> =
///     Signature::grafana("k").unwrap().layer().layer(AlertReceiver::builder().build());
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct VerifySignature<S> {
    signature: Arc<Signature>,
    inner: S,
}

/// The future of [`VerifySignature`].
pub type SignatureFuture<R, E> = Pin<Box<dyn Future<Output = Result<R, E>> + Send>>;

fn unauthorized<B: From<Bytes>>(reason: &str, timer: Timer) -> Response<B> {
    tracing::warn!(target: TARGET, reason, "request refused: missing or wrong signature");
    metrics::signature_failure();
    timer.finish(StatusCode::UNAUTHORIZED);
    json(StatusCode::UNAUTHORIZED, detail_json("Not authenticated"))
}

impl<S, B, ResBody> Service<Request<B>> for VerifySignature<S>
where
    S: Service<Request<Full<Bytes>>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    ResBody: From<Bytes> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = SignatureFuture<Response<ResBody>, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let timer = Timer::start();
        let signature = self.signature.clone();
        // The clone waits for readiness; the instance already polled ready serves this call.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        Box::pin(async move {
            let claim = match signature.claim(request.headers(), SystemTime::now()) {
                Ok(claim) => claim,
                Err(reason) => return Ok(unauthorized(reason, timer)),
            };
            let limit = signature.body_limit;
            let (parts, body) = request.into_parts();
            let declared = body::declared_len(&parts.headers);
            let refused = if body::declared_too_large(&parts.headers, declared, limit) {
                Err(body::too_large(limit))
            } else {
                body::read(body, limit, declared).await
            };
            let body = match refused {
                Ok(body) => body,
                Err(response) => {
                    timer.finish(response.status());
                    return Ok(response);
                }
            };
            if !signature.matches(&claim, &body) {
                return Ok(unauthorized("the signature does not match", timer));
            }
            inner
                .call(Request::from_parts(parts, Full::new(body)))
                .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn timestamps_are_whole_seconds_within_the_tolerance_either_way() {
        let s = Signature::grafana("k").unwrap();
        assert!(s.check_time(b"1000", at(1000)).is_ok());
        assert!(s.check_time(b"1000", at(1300)).is_ok());
        assert!(s.check_time(b"1000", at(1301)).is_err());
        assert!(s.check_time(b"1300", at(1000)).is_ok());
        assert!(s.check_time(b"1301", at(1000)).is_err());
        for bad in [
            &b""[..],
            b"-1",
            b"1.5",
            b" 1000",
            b"1e3",
            b"9999999999999999999",
            b"99999999999999999999",
        ] {
            assert!(s.check_time(bad, at(1000)).is_err(), "{bad:?}");
        }
    }
}
