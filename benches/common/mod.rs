//! Deterministic webhook bodies for the in-process benches.
//!
//! Shaped like the captured fixtures (Alertmanager 0.25 compact JSON): 6–10
//! labels and 2–3 annotations per alert, Prometheus `generatorURL`s with
//! `\u0026`, a `groupKey` with escaped quotes, and some non-ASCII text and
//! `\n` in annotations. About 680 bytes per alert.
#![allow(dead_code)]

use std::fmt::Write;

/// The sizes every bench group runs at.
pub const SIZES: [usize; 4] = [1, 10, 100, 1000];

const SEVERITIES: [&str; 5] = ["warning", "critical", "info", "high", "warning"];
const COMPONENTS: [&str; 4] = ["gpu", "cpu", "storage", "network"];
const EXTRA: [(&str, &str); 5] = [
    ("cluster", "hsi-prod-eu"),
    ("namespace", "inference"),
    ("pod", "triton-7f9c6d5b8-x2kqz"),
    ("region", "zürich-1"),
    ("team", "ml-platform"),
];

/// A small linear congruential generator: the same bodies on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// One webhook body with `alerts` alerts.
pub fn body(alerts: usize) -> Vec<u8> {
    let mut rng = Lcg(0x5eed_0000 + alerts as u64);
    let mut s = String::with_capacity(700 * alerts + 600);
    s.push_str(r#"{"receiver":"team\\.gpu","status":"firing","alerts":["#);
    for i in 0..alerts {
        if i > 0 {
            s.push(',');
        }
        alert(&mut s, i, &mut rng);
    }
    s.push_str(concat!(
        r#"],"groupLabels":{"alertname":"GpuMemoryHigh"},"#,
        r#""commonLabels":{"alertname":"GpuMemoryHigh","job":"dcgm-exporter"},"#,
        r#""commonAnnotations":{},"externalURL":"http://alertmanager.example:9093","#,
        r#""version":"4","groupKey":"{}/{team=\"ml\"}:{alertname=\"GpuMemoryHigh\"}","#,
        r#""truncatedAlerts":0}"#
    ));
    s.into_bytes()
}

fn alert(s: &mut String, i: usize, rng: &mut Lcg) {
    let r = rng.next();
    let resolved = r % 5 == 0;
    let status = if resolved { "resolved" } else { "firing" };
    let severity = SEVERITIES[(r / 5 % 5) as usize];
    let component = COMPONENTS[(r / 25 % 4) as usize];
    let gpu = r / 100 % 8;
    let node = rng.next() % 64;
    let _ = write!(
        s,
        r#"{{"status":"{status}","labels":{{"alertname":"GpuMemoryHigh","component":"{component}","#
    );
    let _ = write!(
        s,
        r#""gpu":"{gpu}","instance":"node-{node:02}.hsi.example:9400","job":"dcgm-exporter","severity":"{severity}""#
    );
    // 6 labels so far; 0 to 4 more.
    for (k, v) in EXTRA.iter().take((rng.next() % 5) as usize) {
        let _ = write!(s, r#","{k}":"{v}""#);
    }
    let used = 80 + rng.next() % 20;
    let _ = write!(
        s,
        concat!(
            r#"}},"annotations":{{"description":"GPU {gpu} on node-{node:02} uses {used}% of its memory"#,
            r#" (threshold 90%).\nCheck the inference pods scheduled there."#,
            r#"","summary":"GPU memory usage above 90% — node-{node:02}""#
        ),
        gpu = gpu,
        node = node,
        used = used
    );
    if i % 2 == 0 {
        s.push_str(
            r#","runbook_url":"https://runbooks.example/gpu-memory?lang=de\u0026ref=alert""#,
        );
    }
    let minute = i % 60;
    let ends = if resolved {
        format!("2026-11-27T13:{minute:02}:08.477978Z")
    } else {
        "0001-01-01T00:00:00Z".to_owned()
    };
    let fingerprint = rng.next() << 32 | rng.next();
    let _ = write!(
        s,
        concat!(
            r#"}},"startsAt":"2026-11-27T12:{minute:02}:02.343274945Z","endsAt":"{ends}","#,
            r#""generatorURL":"http://prometheus.example:9090/graph?g0.expr=DCGM_FI_DEV_FB_USED%7Bgpu%3D%22{gpu}%22%7D+%3E+90\u0026g0.tab=1","#,
            r#""fingerprint":"{fingerprint:016x}"}}"#
        ),
        minute = minute,
        ends = ends,
        gpu = gpu,
        fingerprint = fingerprint
    );
}

/// A POST of `body`, as a router would hand it to the service.
pub fn request(body: &bytes::Bytes) -> http::Request<http_body_util::Full<bytes::Bytes>> {
    http::Request::post("/api/webhooks/alerts")
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(body.clone()))
        .expect("a valid request")
}

/// The benches' clock: wall time, or with `BENCH_CLOCK=cpu` the CPU time of
/// the bench thread, which a busy shared machine disturbs far less (the
/// receiver runs on a current-thread runtime: all its work is on this thread).
pub struct Clock {
    cpu: bool,
}

/// A reading of [`Clock`].
pub enum Stamp {
    Wall(std::time::Instant),
    Cpu(cpu_time::ThreadTime),
}

impl Clock {
    pub fn from_env() -> Self {
        Clock {
            cpu: std::env::var("BENCH_CLOCK").is_ok_and(|v| v == "cpu"),
        }
    }
}

static WALL: criterion::measurement::WallTime = criterion::measurement::WallTime;

impl criterion::measurement::Measurement for Clock {
    type Intermediate = Stamp;
    type Value = std::time::Duration;

    fn start(&self) -> Stamp {
        if self.cpu {
            Stamp::Cpu(cpu_time::ThreadTime::now())
        } else {
            Stamp::Wall(std::time::Instant::now())
        }
    }
    fn end(&self, start: Stamp) -> std::time::Duration {
        match start {
            Stamp::Wall(t) => t.elapsed(),
            Stamp::Cpu(t) => t.elapsed(),
        }
    }
    fn add(&self, a: &std::time::Duration, b: &std::time::Duration) -> std::time::Duration {
        *a + *b
    }
    fn zero(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
    fn to_f64(&self, value: &std::time::Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn criterion::measurement::ValueFormatter {
        WALL.formatter()
    }
}
