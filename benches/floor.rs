//! The floor of `benches/http.sh`: the least an HTTP receiver can do per request.
//!
//! A bare hyper 1 HTTP/1.1 server on the multi-thread tokio runtime with its default worker
//! count (the runtime the crate's `hyper` example uses). Per request, on any path and method,
//! it reads the whole body, checks that it is JSON with one `serde::de::IgnoredAny` pass, and
//! answers a fixed 200 summary (422 when the body is not JSON). No routing, no typed parse, no
//! logging, no events.
//!
//! Usage: `floor ADDR` (e.g. `127.0.0.1:8001`). Without an address argument it prints this
//! usage and exits, so `cargo bench` and `cargo test --all-targets` do not hang on it.

#![forbid(unsafe_code)]

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const OK: &[u8] =
    br#"{"status":"ok","received":1,"processed":1,"message":"Processed 1 alert(s) from floor"}"#;
const NOT_JSON: &[u8] =
    br#"{"detail":[{"loc":["body"],"msg":"invalid JSON","type":"value_error.jsondecode"}]}"#;

async fn handle(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let is_json = match request.into_body().collect().await {
        Ok(body) => serde_json::from_slice::<serde::de::IgnoredAny>(&body.to_bytes()).is_ok(),
        Err(_) => false,
    };
    let (status, text) = if is_json {
        (StatusCode::OK, OK)
    } else {
        (StatusCode::UNPROCESSABLE_ENTITY, NOT_JSON)
    };
    let mut response = Response::new(Full::new(Bytes::from_static(text)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let Some(addr) = std::env::args().find_map(|arg| arg.parse::<SocketAddr>().ok()) else {
        eprintln!("usage: floor ADDR  (a server for benches/http.sh; nothing to run here)");
        return Ok(());
    };
    let listener = TcpListener::bind(addr).await?;
    eprintln!("floor listening on http://{}", listener.local_addr()?);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                eprintln!("accept: {error}");
                continue;
            }
        };
        tokio::spawn(async move {
            let connection =
                http1::Builder::new().serve_connection(TokioIo::new(stream), service_fn(handle));
            // Errors here are clients going away mid-request (wrk does at its end): nothing to do.
            let _ = connection.await;
        });
    }
}
