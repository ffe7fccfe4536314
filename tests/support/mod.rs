//! Shared test harness: child processes killed on drop, a minimal HTTP client, deadlines, log
//! capture, and real `prometheus-alertmanager` / `prometheus` processes on loopback, each with its
//! own free port and fresh temporary directory.

use std::convert::Infallible;
use std::fs::File;
use std::io::Write as _;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use alertmanager_webhook::response::detail;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tower::{Service, ServiceExt};

/// Where the receiver is mounted, as in the examples.
pub const PATH: &str = "/api/webhooks/alerts";

/// How long any single expectation may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// The absolute path of `name` on `PATH`. When it is missing the test is skipped with a printed
/// reason (`None`), except under `CI=true`, where it fails.
pub fn binary(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        let reason = format!("`{name}` not found on PATH (Debian package of the same name)");
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{reason}; it is required when CI=true"
        );
        eprintln!("skipping: {reason}");
    }
    found
}

/// A port on 127.0.0.1 that was free a moment ago (the caller retries if another process wins it).
fn free_port() -> u16 {
    let listener = StdListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// Polls `check` every 20 ms until it returns `Some`, failing the test after [`DEADLINE`].
pub async fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {DEADLINE:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `t` as RFC 3339 in UTC, whole seconds (`2026-11-27T12:13:24Z`), the form Go prints back unchanged.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64;
    let (days, day_secs) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (day_secs / 3_600, day_secs % 3_600 / 60, day_secs % 60);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
}

/// A minimal HTTP/1.0 client (the server closes the connection, so no chunked framing):
/// returns the status code and the body. Sends `Content-Type: application/json`.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, String)> {
    let reply = request(
        addr,
        method,
        path,
        &[("Content-Type", "application/json")],
        body,
    )
    .await?;
    Ok((reply.status, reply.body))
}

/// An answer read by [`request`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The headers, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl Reply {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one HTTP/1.0 request with the given headers and reads the whole answer.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect(addr).await?;
    let mut head = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(head.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad response: {head}")))?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(Reply {
        status,
        headers,
        body: body.to_owned(),
    })
}

/// A child process that is killed and reaped when dropped (also when the test panics, in which
/// case its log is printed).
pub struct Proc {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Proc {
    /// Starts `command` with stdout and stderr going to the file `log`.
    pub fn spawn(name: &'static str, command: &mut Command, log: PathBuf) -> Proc {
        let out = File::create(&log).expect("create log file");
        let err = out.try_clone().expect("clone log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Proc { name, child, log }
    }

    /// Sends SIGTERM and waits for the process to exit; `None` if it did not within [`DEADLINE`].
    pub async fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {pid} failed");
        let deadline = Instant::now() + DEADLINE;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    /// Everything the process wrote to stdout and stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("----- {} log -----\n{}", self.name, self.log());
        }
    }
}

/// Starts `program` with the arguments `args(port)` until it answers `GET /-/ready` with 200,
/// retrying with another port if the process exits (its port was taken in between).
async fn start_ready(
    name: &'static str,
    program: &Path,
    dir: &Path,
    args: impl Fn(u16) -> Vec<String>,
) -> (Proc, SocketAddr) {
    for attempt in 0..3 {
        let port = free_port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let log = dir.join(format!("{name}-{attempt}.log"));
        let mut proc = Proc::spawn(name, Command::new(program).args(args(port)), log);
        let deadline = Instant::now() + DEADLINE;
        while !proc.exited() && Instant::now() < deadline {
            if let Ok((200, _)) = http(addr, "GET", "/-/ready", "").await {
                return (proc, addr);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        eprintln!("{name} did not become ready on {addr}:\n{}", proc.log());
    }
    panic!("{name} did not start");
}

/// A running `prometheus-alertmanager` with gossip off and its own storage directory.
pub struct Alertmanager {
    // Declared before `_dir` so the process dies before its directory is removed.
    proc: Proc,
    /// Its listen address.
    pub addr: SocketAddr,
    _dir: TempDir,
}

impl Alertmanager {
    /// Writes `config` (an `alertmanager.yml`) to a fresh directory and starts Alertmanager on it.
    pub async fn start(program: &Path, config: &str) -> Alertmanager {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("alertmanager.yml");
        std::fs::write(&file, config).expect("write alertmanager.yml");
        let storage = dir.path().join("data");
        let (proc, addr) = start_ready("alertmanager", program, dir.path(), |port| {
            vec![
                format!("--config.file={}", file.display()),
                format!("--storage.path={}", storage.display()),
                format!("--web.listen-address=127.0.0.1:{port}"),
                format!("--web.external-url=http://127.0.0.1:{port}"),
                "--cluster.listen-address=".to_owned(),
                "--log.level=debug".to_owned(),
            ]
        })
        .await;
        Alertmanager {
            proc,
            addr,
            _dir: dir,
        }
    }

    /// Posts alerts (a JSON array) to `/api/v2/alerts`.
    pub async fn post(&self, alerts: serde_json::Value) {
        let (status, body) = http(self.addr, "POST", "/api/v2/alerts", &alerts.to_string())
            .await
            .expect("post to Alertmanager");
        assert_eq!(status, 200, "Alertmanager refused the alerts: {body}");
    }

    /// The alerts Alertmanager currently holds (`GET /api/v2/alerts`).
    pub async fn alerts(&self) -> Vec<serde_json::Value> {
        let (status, body) = http(self.addr, "GET", "/api/v2/alerts", "")
            .await
            .expect("get alerts");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("alerts JSON")
    }

    /// Alertmanager's own log so far.
    pub fn log(&self) -> String {
        self.proc.log()
    }
}

/// A running `prometheus` with its own TSDB directory, sending to one Alertmanager.
pub struct Prometheus {
    _proc: Proc,
    _dir: TempDir,
}

impl Prometheus {
    /// Starts Prometheus evaluating `rules` (a rule file's YAML) every second and sending alerts
    /// to `alertmanager` with a resend delay of one second.
    pub async fn start(program: &Path, alertmanager: SocketAddr, rules: &str) -> Prometheus {
        let dir = tempfile::tempdir().expect("temp dir");
        let rule_file = dir.path().join("rules.yml");
        std::fs::write(&rule_file, rules).expect("write rules.yml");
        let config = dir.path().join("prometheus.yml");
        let mut f = File::create(&config).expect("create prometheus.yml");
        write!(
            f,
            "global:\n  evaluation_interval: 1s\nrule_files: ['{}']\nalerting:\n  alertmanagers:\n  \
             - static_configs:\n    - targets: ['{alertmanager}']\n",
            rule_file.display()
        )
        .expect("write prometheus.yml");
        let storage = dir.path().join("data");
        let (proc, _) = start_ready("prometheus", program, dir.path(), |port| {
            vec![
                format!("--config.file={}", config.display()),
                format!("--storage.tsdb.path={}", storage.display()),
                format!("--web.listen-address=127.0.0.1:{port}"),
                "--rules.alert.resend-delay=1s".to_owned(),
            ]
        })
        .await;
        Prometheus {
            _proc: proc,
            _dir: dir,
        }
    }
}

/// One request the in-process receiver answered.
#[derive(Clone, Debug)]
pub struct Exchange {
    /// The status it answered with.
    pub status: u16,
    /// The body it answered with.
    pub body: String,
}

/// A service served by hyper on `127.0.0.1:0`, mounted at [`PATH`] (404 elsewhere). Every answer
/// is recorded. Dropping it stops the server and closes every connection.
pub struct Server {
    /// The URL of the mounted service.
    pub url: String,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
    task: JoinHandle<()>,
}

impl Server {
    /// Serves `service` (the receiver, possibly behind the crate's auth layer).
    pub async fn start<S>(service: S) -> Server
    where
        S: Service<Request<Incoming>, Response = Response<Full<Bytes>>, Error = Infallible>
            + Clone
            + Send
            + 'static,
        S::Future: Send,
    {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let exchanges = Arc::new(Mutex::new(Vec::new()));
        let recorded = exchanges.clone();
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let (service, recorded) = (service.clone(), recorded.clone());
                let handler = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let (service, recorded) = (service.clone(), recorded.clone());
                    async move {
                        let Ok(response) = if request.uri().path() == PATH {
                            service.oneshot(request).await
                        } else {
                            Ok(detail(StatusCode::NOT_FOUND, "Not Found"))
                        };
                        let (parts, body) = response.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        recorded.lock().unwrap().push(Exchange {
                            status: parts.status.as_u16(),
                            body: String::from_utf8_lossy(&body).into_owned(),
                        });
                        Ok::<_, Infallible>(Response::from_parts(parts, Full::new(body)))
                    }
                });
                connections.spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), handler)
                        .await;
                });
            }
        });
        Server {
            url: format!("http://{addr}{PATH}"),
            exchanges,
            task,
        }
    }

    /// Every answer so far, in order.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.exchanges.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Aborting the accept loop drops the listener and the JoinSet, which aborts every connection.
        self.task.abort();
    }
}

/// The crate's `tracing` output for the current thread, captured as text (no colours).
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    /// Captures everything the crate logs on this thread (the tests use a current-thread runtime,
    /// so the receiver and its delivery worker log here too) until the guard is dropped.
    pub fn capture() -> (Logs, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("alertmanager_webhook=trace")
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    /// The lines logged so far.
    pub fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The crate's lines at `level` (`INFO`, `WARN`, …) whose message starts with `message`.
    pub fn find(&self, level: &str, message: &str) -> Vec<String> {
        let prefix = format!(" {level} alertmanager_webhook: {message}");
        self.lines()
            .into_iter()
            .filter(|line| line.contains(&prefix))
            .collect()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
