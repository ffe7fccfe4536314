//! Shared-secret authentication: Bearer, Basic, or a custom header such as `X-API-Key`.
//!
//! Secrets are compared in constant time after a length check, empty secrets
//! are refused when the [`Auth`] is built, and a failure is answered with
//! `401 {"detail":"Not authenticated"}` whatever part was wrong.
//!
//! ```
//! use alertmanager_webhook::{auth::Auth, AlertReceiver};
//! use tower::{Layer, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let auth = Auth::bearer("tok-123").expect("a non-empty token");
//! let service = auth.layer().layer(AlertReceiver::builder().build());
//! let request = http::Request::post("/")
//!     .header("authorization", "Bearer wrong")
//!     .body(http_body_util::Empty::<bytes::Bytes>::new())
//!     .unwrap();
//! assert_eq!(service.oneshot(request).await.unwrap().status(), 401);
//! # }
//! ```
//!
//! [`Auth::check`] and [`Auth::unauthorized`] also fit tower-http's
//! `ValidateRequestHeaderLayer::custom`:
//!
//! ```
//! use alertmanager_webhook::{auth::Auth, AlertReceiver};
//! use tower_http::validate_request::ValidateRequestHeaderLayer;
//! use http_body_util::Full;
//! use bytes::Bytes;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let auth = Auth::header(http::HeaderName::from_static("x-api-key"), "k-123").unwrap();
//! let service = tower::ServiceBuilder::new()
//!     .layer(ValidateRequestHeaderLayer::custom(move |req: &mut http::Request<Full<Bytes>>| {
//!         if auth.check(req.headers()) { Ok(()) } else { Err(auth.unauthorized::<Full<Bytes>>()) }
//!     }))
//!     .service(AlertReceiver::builder().build());
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{AUTHORIZATION, HeaderName, HeaderValue, WWW_AUTHENTICATE};
use http::{HeaderMap, Request, Response, StatusCode};
use tower::{Layer, Service};

use crate::codec::{base64, constant_time_eq};
use crate::log::TARGET;
use crate::metrics::{self, Timer};
use crate::response::{detail_json, json};

/// A credential the request must carry.
///
/// ```
/// use alertmanager_webhook::auth::Auth;
/// let auth = Auth::basic("amuser", "s3cret").unwrap();
/// let mut headers = http::HeaderMap::new();
/// headers.insert("authorization", "Basic YW11c2VyOnMzY3JldA==".parse().unwrap());
/// assert!(auth.check(&headers));
/// ```
#[derive(Clone)]
pub struct Auth {
    header: HeaderName,
    /// The scheme, matched without regard to ASCII case (`None` for a custom header).
    scheme: Option<&'static str>,
    secret: Box<[u8]>,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("header", &self.header)
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

/// An [`Auth`] was given an empty secret.
///
/// ```
/// assert!(alertmanager_webhook::auth::Auth::bearer("").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmptySecret;

impl fmt::Display for EmptySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an authentication secret must not be empty")
    }
}

impl std::error::Error for EmptySecret {}

impl Auth {
    /// Requires `Authorization: Bearer <token>`.
    ///
    /// Whitespace around `token` (say, the newline at the end of a secrets
    /// file) is dropped: no header value can carry it.
    ///
    /// ```
    /// let auth = alertmanager_webhook::auth::Auth::bearer("tok-123\n").unwrap();
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("authorization", "Bearer tok-123".parse().unwrap());
    /// assert!(auth.check(&headers));
    /// assert!(alertmanager_webhook::auth::Auth::bearer(" \n").is_err());
    /// ```
    pub fn bearer(token: impl AsRef<[u8]>) -> Result<Auth, EmptySecret> {
        Self::new(AUTHORIZATION, Some("Bearer"), token.as_ref().trim_ascii())
    }

    /// Requires `Authorization: Basic base64(user:password)`.
    ///
    /// ```
    /// let auth = alertmanager_webhook::auth::Auth::basic("amuser", "s3cret").unwrap();
    /// ```
    pub fn basic(user: &str, password: &str) -> Result<Auth, EmptySecret> {
        if user.is_empty() || password.is_empty() {
            return Err(EmptySecret);
        }
        let encoded = base64(format!("{user}:{password}").as_bytes());
        Self::new(AUTHORIZATION, Some("Basic"), encoded.as_bytes())
    }

    /// Requires a header, such as `X-API-Key`, to equal `value` (whitespace
    /// around `value` dropped, as in [`bearer`](Auth::bearer)).
    ///
    /// ```
    /// use http::HeaderName;
    /// let auth = alertmanager_webhook::auth::Auth::header(HeaderName::from_static("x-api-key"), "k").unwrap();
    /// ```
    pub fn header(name: HeaderName, value: impl AsRef<[u8]>) -> Result<Auth, EmptySecret> {
        Self::new(name, None, value.as_ref().trim_ascii())
    }

    fn new(
        header: HeaderName,
        scheme: Option<&'static str>,
        secret: &[u8],
    ) -> Result<Auth, EmptySecret> {
        if secret.is_empty() {
            return Err(EmptySecret);
        }
        Ok(Auth {
            header,
            scheme,
            secret: secret.into(),
        })
    }

    /// Whether `headers` carry the credential.
    ///
    /// ```
    /// let auth = alertmanager_webhook::auth::Auth::bearer("t").unwrap();
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("authorization", "bearer t".parse().unwrap());
    /// assert!(auth.check(&headers));
    /// ```
    pub fn check(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get(&self.header) else {
            return false;
        };
        let mut given = value.as_bytes();
        if let Some(scheme) = self.scheme {
            let Some((name, rest)) = given.split_at_checked(scheme.len()) else {
                return false;
            };
            if !name.eq_ignore_ascii_case(scheme.as_bytes()) || rest.first() != Some(&b' ') {
                return false;
            }
            given = rest[1..].trim_ascii();
        }
        constant_time_eq(given, &self.secret)
    }

    /// The 401 answer: `{"detail":"Not authenticated"}`.
    ///
    /// ```
    /// let auth = alertmanager_webhook::auth::Auth::bearer("t").unwrap();
    /// let response: http::Response<http_body_util::Full<bytes::Bytes>> = auth.unauthorized();
    /// assert_eq!(response.status(), 401);
    /// ```
    pub fn unauthorized<B: From<Bytes>>(&self) -> Response<B> {
        let mut response = json(StatusCode::UNAUTHORIZED, detail_json("Not authenticated"));
        if let Some(scheme) = self.scheme {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static(scheme));
        }
        response
    }

    /// A [`Layer`] that answers 401 unless the request carries the credential.
    ///
    /// ```
    /// let layer = alertmanager_webhook::auth::Auth::bearer("t").unwrap().layer();
    /// ```
    pub fn layer(self) -> AuthLayer {
        AuthLayer(self)
    }
}

/// Wraps a service with [`Auth`]; made by [`Auth::layer`].
#[derive(Clone, Debug)]
pub struct AuthLayer(Auth);

impl<S> Layer<S> for AuthLayer {
    type Service = RequireAuth<S>;
    fn layer(&self, inner: S) -> RequireAuth<S> {
        RequireAuth {
            auth: self.0.clone(),
            inner,
        }
    }
}

/// A service that checks [`Auth`] before calling the inner one.
///
/// ```
/// use alertmanager_webhook::{auth::{Auth, RequireAuth}, AlertReceiver};
/// use tower::Layer;
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let service: RequireAuth<AlertReceiver> =
///     Auth::bearer("t").unwrap().layer().layer(AlertReceiver::builder().build());
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct RequireAuth<S> {
    auth: Auth,
    inner: S,
}

impl<S, B, ResBody> Service<Request<B>> for RequireAuth<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = AuthFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if self.auth.check(request.headers()) {
            return AuthFuture {
                inner: Some(self.inner.call(request)),
                refused: None,
            };
        }
        tracing::warn!(target: TARGET, "request refused: missing or wrong credentials");
        metrics::auth_failure();
        Timer::start().finish(StatusCode::UNAUTHORIZED);
        AuthFuture {
            inner: None,
            refused: Some(self.auth.unauthorized()),
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`RequireAuth`]: the inner service's, or a ready 401.
    pub struct AuthFuture<F, B> {
        #[pin]
        inner: Option<F>,
        refused: Option<Response<B>>,
    }
}

impl<F, B, E> Future for AuthFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: From<Bytes>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match this.inner.as_pin_mut() {
            Some(fut) => fut.poll(cx),
            None => Poll::Ready(Ok(this.refused.take().unwrap_or_else(|| {
                json(StatusCode::UNAUTHORIZED, detail_json("Not authenticated"))
            }))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: &str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
        h
    }

    #[test]
    fn bearer_accepts_only_the_exact_token() {
        let auth = Auth::bearer("tok-123").unwrap();
        assert!(auth.check(&headers("authorization", "Bearer tok-123")));
        assert!(auth.check(&headers("authorization", "BEARER tok-123")));
        for wrong in [
            "Bearer tok-12",
            "Bearer tok-1234",
            "Bearer",
            "Bearertok-123",
            "Basic tok-123",
            "tok-123",
            "",
        ] {
            assert!(!auth.check(&headers("authorization", wrong)), "{wrong}");
        }
        assert!(!auth.check(&HeaderMap::new()));
    }

    #[test]
    fn basic_and_custom_header() {
        let auth = Auth::basic("amuser", "s3cret").unwrap();
        assert!(auth.check(&headers("authorization", "Basic YW11c2VyOnMzY3JldA==")));
        assert!(!auth.check(&headers("authorization", "Basic YW11c2VyOnMzY3JldB==")));
        let key = Auth::header(HeaderName::from_static("x-api-key"), "k1").unwrap();
        assert!(key.check(&headers("x-api-key", "k1")));
        assert!(!key.check(&headers("x-api-key", "k2")));
        assert!(!key.check(&headers("authorization", "k1")));
    }

    #[test]
    fn empty_secrets_are_refused() {
        assert_eq!(Auth::bearer("").unwrap_err(), EmptySecret);
        assert!(Auth::basic("", "p").is_err());
        assert!(Auth::basic("u", "").is_err());
        assert!(Auth::header(HeaderName::from_static("x-api-key"), "").is_err());
    }
}
