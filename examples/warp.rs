//! The receiver mounted in warp 0.4 through a small generic filter.
//!
//! warp has no tower adapter, so [`tower_service`] turns any
//! `tower::Service<http::Request<B>>` into a filter: it streams the request
//! body into the service and calls `oneshot`. The routes then run on the
//! examples' hyper loop (`common::serve`, through `warp::service`), which
//! bounds how long a client may take to send its head and its body.
//!
//! ```sh
//! cargo run --example warp -- 127.0.0.1:8000
//! ```

mod common;

use std::convert::Infallible;

use alertmanager_webhook::AlertReceiver;
use alertmanager_webhook::response::detail;
use bytes::{Buf, Bytes};
use futures_util::{Stream, TryStreamExt};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, StreamBody};
use tower::{BoxError, Service, ServiceExt};
use warp::filters::path::FullPath;
use warp::{Filter, Reply};

/// warp's body stream as an `http_body::Body`, frame by frame, without buffering.
fn streaming_body<S, T>(stream: S) -> UnsyncBoxBody<Bytes, warp::Error>
where
    S: Stream<Item = Result<T, warp::Error>> + Send + 'static,
    T: Buf,
{
    StreamBody::new(stream.map_ok(|mut buf| Frame::data(buf.copy_to_bytes(buf.remaining()))))
        .boxed_unsync()
}

/// A filter that hands the whole request to `service`.
fn tower_service<S, B>(
    service: S,
) -> impl Filter<Extract = (Response<Bytes>,), Error = warp::Rejection> + Clone
where
    S: Service<
            Request<UnsyncBoxBody<Bytes, warp::Error>>,
            Response = Response<B>,
            Error = Infallible,
        > + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send,
    B: http_body::Body + Send,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    warp::method()
        .and(warp::path::full())
        .and(warp::header::headers_cloned())
        .and(warp::body::stream().map(streaming_body))
        .and_then(
            move |method: Method, path: FullPath, headers: HeaderMap, body| {
                let service = service.clone();
                async move {
                    let mut request = Request::new(body);
                    *request.method_mut() = method;
                    *request.headers_mut() = headers;
                    *request.uri_mut() = path.as_str().parse().map_err(|_| warp::reject())?;
                    let Ok(response) = service.oneshot(request).await;
                    let (parts, body) = response.into_parts();
                    let bytes = body.collect().await.map_err(|_| warp::reject())?.to_bytes();
                    Ok::<_, warp::Rejection>(Response::from_parts(parts, bytes))
                }
            },
        )
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let _logs = common::init_tracing();
    let receiver = AlertReceiver::builder().sink(common::debug_sink()).build();
    let drained = receiver.clone();
    let receiver = common::guarded(receiver);
    // The path exactly: `warp::path!` would also take a trailing slash.
    let alerts = warp::path::full()
        .and_then(|path: FullPath| async move {
            match path.as_str() == common::PATH {
                true => Ok(()),
                false => Err(warp::reject::not_found()),
            }
        })
        .untuple_one()
        .and(tower_service(receiver));
    let healthz = warp::path!("healthz")
        .and(warp::get())
        .map(|| "ok".to_owned());
    let routes = alerts
        .or(healthz)
        .recover(|_: warp::Rejection| async { Ok::<_, Infallible>(not_found()) });
    let routes = warp::service(routes);
    // warp 0.4.3's path filters panic on a request target without a path (the
    // authority form, `CONNECT host:port`: seanmonstar/warp#1166), which drops
    // the connection unanswered. Such a request gets the 404 before warp sees it.
    let app = tower::service_fn(move |request: Request<_>| {
        let routes = routes.clone();
        async move {
            match request.uri().path_and_query() {
                Some(_) => routes.oneshot(request).await,
                None => Ok(not_found()),
            }
        }
    });

    let listener = common::listen().await;
    tracing::info!(addr = %listener.local_addr()?, path = common::PATH, "receiver listening");
    // `warp::serve` has no header or body read timeout: the filter runs on the
    // examples' hyper loop instead, as a tower service.
    let timeouts = common::Timeouts::from_env();
    common::serve(listener, app, timeouts, common::shutdown_signal()).await?;
    common::drain(&drained).await;
    Ok(())
}

/// The JSON 404 of every example, as a warp reply.
fn not_found() -> warp::reply::Response {
    detail(StatusCode::NOT_FOUND, "Not Found")
        .map(|_| Bytes::from_static(br#"{"detail":"Not Found"}"#))
        .into_response()
}
