//! What every example shares: listen address, logging, shutdown and the bearer token.
#![allow(dead_code)]

use std::net::SocketAddr;

use alertmanager_webhook::auth::Auth;

/// Where the receiver is mounted.
pub const PATH: &str = "/api/webhooks/alerts";

/// The first argument, else `LISTEN_ADDR`, else `127.0.0.1:8000`.
pub fn listen_addr() -> SocketAddr {
    let raw = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("LISTEN_ADDR").ok())
        .unwrap_or_else(|| "127.0.0.1:8000".to_owned());
    raw.parse().unwrap_or_else(|e| {
        eprintln!("invalid listen address {raw:?}: {e}");
        std::process::exit(2)
    })
}

/// Logs to stdout, filtered by `RUST_LOG` (default `info`), without colour when `NO_COLOR` is set.
///
/// Lines are written by a background thread that batches them (one `write` per batch rather
/// than per alert) and never drops any; keep the returned guard alive until the end of `main`:
/// dropping it flushes what is left.
pub fn init_tracing() -> tracing_appender::non_blocking::WorkerGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::BufWriter::new(std::io::stdout()));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(!no_color)
        .with_writer(writer)
        .init();
    guard
}

/// `WEBHOOK_BEARER_TOKEN`, if set, as the credential every request must carry.
pub fn bearer_from_env() -> Option<Auth> {
    let token = std::env::var("WEBHOOK_BEARER_TOKEN").ok()?;
    match Auth::bearer(token) {
        Ok(auth) => Some(auth),
        Err(e) => {
            eprintln!("WEBHOOK_BEARER_TOKEN: {e}");
            std::process::exit(2)
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
