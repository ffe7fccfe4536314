//! The log policy, checked on the formatted output of a real `tracing` subscriber.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alertmanager_webhook::sink::{Sink, SinkError};
use alertmanager_webhook::{AlertReceiver, Event};
use bytes::Bytes;
use http_body_util::Full;
use tower::ServiceExt;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The log lines of what `run` does on a current-thread runtime, as `LEVEL message fields`.
fn logs_of_run<F: std::future::Future<Output = ()>>(run: impl FnOnce() -> F) -> Vec<String> {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(run());
    });
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    text.lines().map(|l| l.trim_start().to_owned()).collect()
}

/// Posts `body` to `receiver` and checks the 200.
async fn post(receiver: &AlertReceiver, body: &str) {
    let request = http::Request::post("/")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let response = receiver.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
}

/// Posts `body` and returns the receiver's log lines as `LEVEL message fields`.
fn logs_of(body: &str) -> Vec<String> {
    logs_of_run(|| async { post(&AlertReceiver::builder().build(), body).await })
}

#[test]
fn an_event_the_sink_loses_is_logged_with_its_alert() {
    /// Refuses every event, asynchronously: events go through the queue.
    struct Down;
    impl Sink for Down {
        async fn send(&self, _: Event) -> Result<(), SinkError> {
            Err(SinkError::new("down"))
        }
    }
    let logs = logs_of_run(|| async {
        let receiver = AlertReceiver::builder().sink(Down).build();
        post(
            &receiver,
            &hook(&[&alert("firing", r#""alertname":"A""#, "")], 0),
        )
        .await;
        assert_eq!(receiver.drain(Duration::from_secs(10)).await.failed, 1);
    });
    assert_eq!(
        logs.last().map(String::as_str),
        Some(
            r#"WARN sink failed to take an event; it is not retried error=down fingerprint="fp1" status="firing""#
        ),
        "{logs:#?}"
    );
}

fn hook(alerts: &[&str], truncated: u32) -> String {
    format!(
        r#"{{"receiver":"hsi","status":"firing","groupKey":"{{}}:{{alertname=\"A\"}}","truncatedAlerts":{truncated},"alerts":[{}]}}"#,
        alerts.join(",")
    )
}

fn alert(status: &str, labels: &str, annotations: &str) -> String {
    format!(
        r#"{{"status":"{status}","labels":{{{labels}}},"annotations":{{{annotations}}},"startsAt":"2026-01-17T14:22:56.068+02:00","endsAt":"0001-01-01T00:00:00Z","fingerprint":"fp1"}}"#
    )
}

/// The fields are strings, their control characters escaped: the default
/// formatter quotes them and escapes them again as `str`'s `Debug` does.
const FIELDS: &str =
    r#"status="firing" fingerprint="fp1" receiver="hsi" group_key="{}:{alertname=\"A\"}""#;

#[test]
fn firing_levels_follow_severity_ignoring_case() {
    for (severity, level) in [
        ("critical", "ERROR"),
        ("CRITICAL", "ERROR"),
        ("warning", "WARN"),
        ("Warning", "WARN"),
        ("high", "WARN"),
        ("info", "INFO"),
        ("page", "INFO"),
    ] {
        let a = alert(
            "firing",
            &format!(r#""alertname":"GpuHot","severity":"{severity}","component":"gpu""#),
            r#""summary":"GPU hot","description":"GPU above 90%""#,
        );
        let lines = logs_of(&hook(&[&a], 0));
        assert_eq!(
            lines,
            [format!(
                "{level} [ALERT FIRING] GpuHot ({severity}) - component=gpu: GPU above 90% \
                 alertname=\"GpuHot\" severity=\"{severity}\" component=\"gpu\" {FIELDS}"
            )],
            "{severity}"
        );
    }
}

#[test]
fn defaults_and_summary_fallback() {
    let a = alert("firing", "", r#""summary":"only a summary""#);
    assert_eq!(
        logs_of(&hook(&[&a], 0)),
        [format!(
            "INFO [ALERT FIRING] unknown (info) - component=unknown: only a summary \
             alertname=\"unknown\" severity=\"info\" component=\"unknown\" {FIELDS}"
        )]
    );
}

#[test]
fn resolved_is_info_with_start_in_utc_seconds() {
    let a = alert(
        "resolved",
        r#""alertname":"GpuHot","severity":"critical","component":"gpu""#,
        r#""description":"ignored""#,
    );
    let lines = logs_of(&hook(&[&a], 0));
    assert_eq!(
        lines,
        [format!(
            "INFO [ALERT RESOLVED] GpuHot (critical) - component=gpu: resolved after firing since \
             2026-01-17T12:22:56Z alertname=\"GpuHot\" severity=\"critical\" component=\"gpu\" {}",
            FIELDS.replace(r#"status="firing""#, r#"status="resolved""#)
        )]
    );
}

#[test]
fn control_characters_and_line_separators_stay_on_one_line() {
    let a = alert(
        "firing",
        r#""alertname":"Evil\nINFO fake","severity":"warning""#,
        r#""description":"line1\nline2\r\u001b[31m\u2028line3\u2029""#,
    );
    let lines = logs_of(&hook(&[&a], 0));
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with(
            r"WARN [ALERT FIRING] Evil\nINFO fake (warning) - component=unknown: line1\nline2\r\u{1b}[31m\u{2028}line3\u{2029} "
        ),
        "{}",
        lines[0]
    );
    // The field holds the name escaped, as the message does; the default
    // formatter then quotes it and escapes the backslash.
    assert!(
        lines[0].contains(r#" alertname="Evil\\nINFO fake" severity="warning" "#),
        "{}",
        lines[0]
    );
}

#[test]
fn truncation_gets_one_warn_line_and_each_alert_its_own() {
    let a = alert("firing", r#""alertname":"A""#, "");
    let b = alert("resolved", r#""alertname":"B""#, "");
    let lines = logs_of(&hook(&[&a, &b], 3));
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(
        lines[0],
        r#"WARN [ALERTS TRUNCATED] 3 alert(s) truncated by max_alerts from receiver hsi, group {}:{alertname="A"} truncated=3 receiver="hsi" group_key="{}:{alertname=\"A\"}""#
    );
    assert!(lines[1].starts_with("INFO [ALERT FIRING] A (info) - component=unknown:  "));
    assert!(lines[2].starts_with("INFO [ALERT RESOLVED] B (info)"));
}

#[test]
fn the_real_mixed_group_logs_each_alert_by_its_own_status() {
    let body = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/14-am025-group-mixed-firing-and-resolved.json"
    ))
    .unwrap();
    let lines = logs_of(&body);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with(
        r#"INFO [ALERT FIRING] Mixed (info) - component=unknown: line1\nline2 "quoted" <b>&amp;</b> "#
    ));
    assert!(lines[1].starts_with(
        "INFO [ALERT RESOLVED] Mixed (info) - component=unknown: resolved after firing since 2026-11-27T12:10:08Z "
    ));
    assert!(lines[2].starts_with("INFO [ALERT FIRING] Mixed (info)"));
}
