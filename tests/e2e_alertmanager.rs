//! End-to-end: the receiver served in-process, fed by the real `prometheus-alertmanager` (and, in
//! the last scenario, `prometheus`) started on loopback by the test itself.
//!
//! Without the programs the tests are skipped with a printed reason; with `CI=true` they fail.

#[allow(dead_code)] // Each test binary uses part of the shared harness.
mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use alertmanager_webhook::auth::Auth;
use alertmanager_webhook::sink::{Sink, SinkError, sink_fn};
use alertmanager_webhook::{AlertReceiver, Dedup, Event};
use serde_json::{Value, json};
use support::{Alertmanager, Logs, Prometheus, Server, binary, rfc3339, wait_for};
use tower::Layer;

const ALERTMANAGER: &str = "prometheus-alertmanager";

/// The `data` of every event the sink accepted, in order.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<Value>>>);

impl Events {
    fn record(&self, event: &Event) {
        let json: Value = serde_json::from_slice(event.json()).expect("event JSON");
        assert_eq!(json["type"], "infrastructure_alert");
        self.0.lock().unwrap().push(json["data"].clone());
    }

    fn sink(&self) -> impl Sink {
        let events = self.clone();
        sink_fn(move |event| {
            events.record(&event);
            Ok(())
        })
    }

    fn all(&self) -> Vec<Value> {
        self.0.lock().unwrap().clone()
    }

    /// Waits until `done` holds for the events received so far and returns them.
    async fn wait(&self, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        wait_for(what, || Some(self.all()).filter(|events| done(events))).await
    }
}

/// The events about `alertname`.
fn named<'a>(events: &'a [Value], alertname: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["alertname"] == alertname)
        .collect()
}

/// An `alertmanager.yml`: alerts grouped by name, sent at once (or after `group_wait`), re-sent
/// only on change. Each receiver `(name, url, extra webhook_config lines)` gets the alerts
/// labelled `to=<name>`; the first also gets all others.
fn config(group_wait: &str, receivers: &[(&str, &str, &str)]) -> String {
    let mut yaml = format!(
        "global:\n  resolve_timeout: 1h\nroute:\n  receiver: '{}'\n  group_by: [alertname]\n  \
         group_wait: {group_wait}\n  group_interval: 1s\n  repeat_interval: 1h\n  routes:\n",
        receivers[0].0
    );
    for (name, _, _) in receivers {
        yaml += &format!("  - receiver: '{name}'\n    matchers: ['to=\"{name}\"']\n");
    }
    yaml += "receivers:\n";
    for (name, url, extra) in receivers {
        yaml += &format!("- name: '{name}'\n  webhook_configs:\n  - url: '{url}'\n{extra}");
    }
    yaml
}

/// Starts a receiver with a recording sink, served on loopback, and an Alertmanager sending to
/// it through one receiver `name`; `None` (test skipped) when Alertmanager is not installed.
async fn start(
    receiver: alertmanager_webhook::Builder,
    group_wait: &str,
    name: &str,
    extra: &str,
) -> Option<(Events, Server, Alertmanager)> {
    let program = binary(ALERTMANAGER)?;
    let events = Events::default();
    let server = Server::start(receiver.sink(events.sink()).build()).await;
    let am =
        Alertmanager::start(&program, &config(group_wait, &[(name, &server.url, extra)])).await;
    Some((events, server, am))
}

/// Alertmanager's fingerprint of the alert whose label `name` is `value`.
async fn fingerprint(am: &Alertmanager, name: &str, value: &str) -> String {
    let alerts = am.alerts().await;
    let alert = alerts.iter().find(|a| a["labels"][name] == value);
    let alert = alert.unwrap_or_else(|| panic!("Alertmanager holds no alert {name}={value}"));
    alert["fingerprint"]
        .as_str()
        .expect("fingerprint")
        .to_owned()
}

fn now() -> String {
    rfc3339(SystemTime::now())
}

#[test]
fn rfc3339_formats_utc_whole_seconds() {
    // The fixture 21 rule fired "until unix time 1795781604" and resolved at 2026-11-27T12:13:24.
    assert_eq!(
        rfc3339(UNIX_EPOCH + Duration::from_secs(1_795_781_604)),
        "2026-11-27T12:13:24Z"
    );
    assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
    assert_eq!(
        rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
        "2000-02-29T00:00:00Z"
    );
}

#[tokio::test]
async fn single_alert_fires_then_resolves() {
    let (logs, _logging) = Logs::capture();
    let Some((events, server, am)) = start(AlertReceiver::builder(), "0s", "e2e", "").await else {
        return;
    };
    let started = now();
    let labels = json!({"alertname": "E2eSingle", "severity": "warning", "component": "gpu"});
    let annotations = json!({"summary": "GPU hot", "description": "GPU 0 temperature above 90C"});
    am.post(json!([{"labels": labels, "annotations": annotations, "startsAt": started}]))
        .await;

    let firing = events
        .wait("the firing event", |e| !e.is_empty())
        .await
        .remove(0);
    let fingerprint = fingerprint(&am, "alertname", "E2eSingle").await;
    assert_eq!(firing["status"], "firing");
    assert_eq!(firing["alertname"], "E2eSingle");
    assert_eq!(firing["severity"], "warning");
    assert_eq!(firing["component"], "gpu");
    assert_eq!(firing["summary"], "GPU hot");
    assert_eq!(firing["description"], "GPU 0 temperature above 90C");
    assert_eq!(firing["started_at"], started.as_str());
    assert_eq!(firing["fingerprint"], fingerprint.as_str());
    assert_eq!(firing["receiver"], "e2e");
    let line = "[ALERT FIRING] E2eSingle (warning) - component=gpu: GPU 0 temperature above 90C";
    assert_eq!(logs.find("WARN", line).len(), 1, "{:#?}", logs.lines());

    am.post(json!([{"labels": labels, "annotations": annotations, "startsAt": started, "endsAt": now()}]))
        .await;
    let events = events.wait("the resolved event", |e| e.len() >= 2).await;
    let statuses: Vec<_> = events.iter().map(|e| e["status"].as_str()).collect();
    assert_eq!(statuses, [Some("firing"), Some("resolved")]);
    let resolved = &events[1];
    assert_eq!(resolved["fingerprint"], fingerprint.as_str());
    assert_eq!(resolved["started_at"], started.as_str());
    assert_eq!(resolved["receiver"], "e2e");
    let line = format!(
        "[ALERT RESOLVED] E2eSingle (warning) - component=gpu: resolved after firing since {started}"
    );
    assert_eq!(logs.find("INFO", &line).len(), 1, "{:#?}", logs.lines());

    let expected =
        r#"{"status":"ok","received":1,"processed":1,"message":"Processed 1 alert(s) from e2e"}"#;
    let exchanges = server.exchanges();
    assert_eq!(exchanges.len(), 2, "{exchanges:?}");
    assert!(
        exchanges
            .iter()
            .all(|x| x.status == 200 && x.body == expected),
        "{exchanges:?}"
    );
}

#[tokio::test]
async fn max_alerts_truncation_is_logged() {
    let (logs, _logging) = Logs::capture();
    // A group_wait of 1 s lets all five alerts join the group before its first notification.
    let Some((events, server, am)) =
        start(AlertReceiver::builder(), "1s", "e2e", "    max_alerts: 2\n").await
    else {
        return;
    };
    let alerts: Vec<_> = (1..=5)
        .map(|i| json!({"labels": {"alertname": "E2eTrunc", "instance": format!("i{i}")}}))
        .collect();
    am.post(Value::Array(alerts)).await;

    let line = "[ALERTS TRUNCATED] 3 alert(s)";
    let warned = wait_for("the truncation line", || {
        Some(logs.find("WARN", line)).filter(|l| !l.is_empty())
    })
    .await;
    assert_eq!(warned.len(), 1, "{warned:#?}");
    assert!(warned[0].contains(r#"receiver="e2e""#), "{}", warned[0]);
    // In the message as sent; in the field quoted by the default formatter.
    assert!(
        warned[0].contains(r#"group {}:{alertname="E2eTrunc"} "#),
        "{}",
        warned[0]
    );
    assert!(
        warned[0].contains(r#"group_key="{}:{alertname=\"E2eTrunc\"}""#),
        "{}",
        warned[0]
    );

    let events = events.wait("two events", |e| e.len() >= 2).await;
    assert_eq!(events.len(), 2, "{events:#?}");
    let mut held = Vec::new();
    for instance in ["i1", "i2", "i3", "i4", "i5"] {
        held.push(fingerprint(&am, "instance", instance).await);
    }
    for event in &events {
        assert_eq!(event["status"], "firing");
        assert_eq!(event["alertname"], "E2eTrunc");
        assert!(
            held.iter().any(|f| event["fingerprint"] == f.as_str()),
            "{event}"
        );
    }
    assert_ne!(events[0]["fingerprint"], events[1]["fingerprint"]);
    let exchanges = server.exchanges();
    assert_eq!(exchanges.len(), 1, "{exchanges:?}");
    assert!(
        exchanges[0].body.contains(r#""received":2,"processed":2"#),
        "{exchanges:?}"
    );
}

#[tokio::test]
async fn mixed_group_carries_each_alerts_own_status() {
    let (logs, _logging) = Logs::capture();
    let Some((events, _server, am)) = start(AlertReceiver::builder(), "1s", "e2e", "").await else {
        return;
    };
    let started = now();
    let alert = |instance: &str, severity: &str| {
        json!({"labels": {"alertname": "E2eMixed", "instance": instance, "severity": severity},
               "annotations": {"summary": format!("{instance} is down")}, "startsAt": started})
    };
    am.post(json!([
        alert("m1", "critical"),
        alert("m2", "warning"),
        alert("m3", "info")
    ]))
    .await;
    events.wait("three firing events", |e| e.len() >= 3).await;
    let fingerprints = [
        fingerprint(&am, "instance", "m1").await,
        fingerprint(&am, "instance", "m2").await,
        fingerprint(&am, "instance", "m3").await,
    ];

    let mut resolve = alert("m2", "warning");
    resolve["endsAt"] = json!(now());
    am.post(json!([resolve])).await;
    let events = events
        .wait("the mixed notification", |e| e.len() >= 6)
        .await;
    assert_eq!(events.len(), 6, "{events:#?}");
    for (i, event) in events.iter().enumerate() {
        // The second notification's group is firing, yet m2's own status is resolved.
        let resolved = i >= 3 && event["fingerprint"] == fingerprints[1].as_str();
        assert_eq!(
            event["status"],
            if resolved { "resolved" } else { "firing" },
            "{event}"
        );
        assert_eq!(event["started_at"], started.as_str());
    }
    for chunk in events.chunks(3) {
        let mut seen: Vec<_> = chunk
            .iter()
            .filter_map(|e| e["fingerprint"].as_str())
            .collect();
        seen.sort_unstable();
        let mut want: Vec<_> = fingerprints.iter().map(String::as_str).collect();
        want.sort_unstable();
        assert_eq!(seen, want);
    }
    let firing = |level, severity, instance| {
        let line =
            format!("[ALERT FIRING] E2eMixed ({severity}) - component=unknown: {instance} is down");
        logs.find(level, &line).len()
    };
    assert_eq!(firing("ERROR", "critical", "m1"), 2, "{:#?}", logs.lines());
    assert_eq!(firing("WARN", "warning", "m2"), 1, "{:#?}", logs.lines());
    assert_eq!(firing("INFO", "info", "m3"), 2, "{:#?}", logs.lines());
    let line = format!(
        "[ALERT RESOLVED] E2eMixed (warning) - component=unknown: resolved after firing since {started}"
    );
    assert_eq!(logs.find("INFO", &line).len(), 1, "{:#?}", logs.lines());
}

#[tokio::test]
async fn basic_and_bearer_credentials_are_checked() {
    let (logs, _logging) = Logs::capture();
    let Some(program) = binary(ALERTMANAGER) else {
        return;
    };
    // One receiver behind the crate's auth layer twice: Basic on one port, Bearer on another.
    let events = Events::default();
    let receiver = AlertReceiver::builder().sink(events.sink()).build();
    let basic = Auth::basic("amuser", "s3cret").expect("non-empty");
    let bearer = Auth::bearer("tok-123").expect("non-empty");
    let basic_server = Server::start(basic.layer().layer(receiver.clone())).await;
    let bearer_server = Server::start(bearer.layer().layer(receiver)).await;
    let with_basic = |user: &str, pass: &str| {
        format!(
            "    http_config:\n      basic_auth:\n        username: {user}\n        password: {pass}\n"
        )
    };
    let with_bearer = |token: &str| {
        format!("    http_config:\n      authorization:\n        credentials: {token}\n")
    };
    let (basic_ok, basic_bad) = (
        with_basic("amuser", "s3cret"),
        with_basic("amuser", "wrong"),
    );
    let (bearer_ok, bearer_bad) = (with_bearer("tok-123"), with_bearer("tok-999"));
    let receivers = [
        ("basic-ok", basic_server.url.as_str(), basic_ok.as_str()),
        ("basic-bad", &basic_server.url, &basic_bad),
        ("bearer-ok", &bearer_server.url, &bearer_ok),
        ("bearer-bad", &bearer_server.url, &bearer_bad),
    ];
    let am = Alertmanager::start(&program, &config("0s", &receivers)).await;
    let alerts: Vec<_> = receivers
        .iter()
        .map(|(to, _, _)| json!({"labels": {"alertname": format!("E2eAuth-{to}"), "to": to}}))
        .collect();
    am.post(Value::Array(alerts)).await;

    events.wait("both accepted alerts", |e| e.len() >= 2).await;
    for to in ["basic-bad", "bearer-bad"] {
        let refused = format!(
            "{to}/webhook[0]: notify retry canceled due to unrecoverable error after 1 attempts: unexpected status code 401"
        );
        wait_for(&format!("Alertmanager to log the 401 for {to}"), || {
            am.log().contains(&refused).then_some(())
        })
        .await;
    }
    // The 401s were answered before Alertmanager logged them, and nothing of theirs got through.
    let mut got: Vec<_> = events
        .all()
        .iter()
        .map(|e| (e["alertname"].to_string(), e["receiver"].to_string()))
        .collect();
    got.sort();
    let want = [
        (r#""E2eAuth-basic-ok""#, r#""basic-ok""#),
        (r#""E2eAuth-bearer-ok""#, r#""bearer-ok""#),
    ];
    assert_eq!(got, want.map(|(a, r)| (a.to_owned(), r.to_owned())));
    for server in [&basic_server, &bearer_server] {
        let exchanges = server.exchanges();
        let count = |status| exchanges.iter().filter(|x| x.status == status).count();
        assert_eq!(count(200), 1, "{exchanges:?}");
        assert!(count(401) >= 1, "{exchanges:?}");
        assert_eq!(count(200) + count(401), exchanges.len(), "{exchanges:?}");
    }
    assert_eq!(
        logs.find("INFO", "[ALERT FIRING] E2eAuth-").len(),
        2,
        "{:#?}",
        logs.lines()
    );
    let refused = logs.find("WARN", "request refused: missing or wrong credentials");
    assert!(refused.len() >= 2, "{:#?}", logs.lines());
}

#[tokio::test]
async fn acknowledged_mode_survives_a_failing_sink_without_loss_or_duplicates() {
    let (_logs, _logging) = Logs::capture();
    let Some(program) = binary(ALERTMANAGER) else {
        return;
    };
    // The sink refuses everything for 2 s after its first call, then records.
    let events = Events::default();
    let recovered_at = Mutex::new(None::<Instant>);
    let recorder = events.clone();
    let sink = sink_fn(move |event| {
        let until = *recovered_at
            .lock()
            .unwrap()
            .get_or_insert_with(|| Instant::now() + Duration::from_secs(2));
        if Instant::now() < until {
            return Err(SinkError::new("sink down for the test"));
        }
        recorder.record(&event);
        Ok(())
    });
    let receiver = AlertReceiver::builder()
        .sink(sink)
        .acknowledged(Duration::from_secs(1))
        .dedup(Dedup::new())
        .build();
    let server = Server::start(receiver.clone()).await;
    let am = Alertmanager::start(&program, &config("1s", &[("e2e", &server.url, "")])).await;

    let alert = |i: u32| json!({"labels": {"alertname": "E2eAck", "instance": format!("a{i}")}});
    am.post(json!([alert(1), alert(2), alert(3)])).await;
    events
        .wait("the three alerts after the sink recovers", |e| e.len() >= 3)
        .await;
    let exchanges = server.exchanges();
    let first_ok = exchanges
        .iter()
        .position(|x| x.status == 200)
        .expect("a 200");
    assert!(
        first_ok > 0 && exchanges[..first_ok].iter().all(|x| x.status == 503),
        "{exchanges:?}"
    );
    assert!(
        am.log().contains("unexpected status code 503"),
        "Alertmanager did not see the 503"
    );

    // A fourth alert makes Alertmanager send the whole group again: the three already delivered
    // are duplicates now, and only the new one reaches the sink.
    am.post(json!([alert(4)])).await;
    let answer = wait_for("the answer to the group of four", || {
        let exchanges = server.exchanges();
        exchanges
            .into_iter()
            .find(|x| x.body.contains(r#""received":4,"#))
    })
    .await;
    assert!(answer.body.contains(r#""processed":1,"#), "{answer:?}");
    // Acknowledged mode answers only after the sink took the events: they are all here.
    let events = events.all();
    let mut got: Vec<_> = events
        .iter()
        .map(|e| e["fingerprint"].as_str().unwrap_or("").to_owned())
        .collect();
    got.sort();
    let mut held = Vec::new();
    for i in 1..=4 {
        held.push(fingerprint(&am, "instance", &format!("a{i}")).await);
    }
    held.sort();
    assert_eq!(got, held, "each alert exactly once: {events:#?}");
    let stats = receiver.stats();
    assert_eq!((stats.delivered, stats.duplicates), (4, 3), "{stats:?}");
    assert!(stats.failed >= 3, "{stats:?}");
}

#[tokio::test]
async fn prometheus_rule_fires_and_resolves_through_alertmanager() {
    let (logs, _logging) = Logs::capture();
    let Some(prometheus) = binary("prometheus") else {
        return;
    };
    let Some((events, _server, am)) = start(AlertReceiver::builder(), "0s", "e2e", "").await else {
        return;
    };
    // Prometheus hands its first alerts to Alertmanager about 6 s after it starts; the short-lived
    // rule stops matching 12 s from now, then resolves by itself.
    let until = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + 12;
    let rule = |name: &str, expr: &str, severity: &str, summary: &str| {
        format!(
            "  - alert: {name}\n    expr: {expr}\n    for: 0s\n    labels: {{severity: {severity}, \
             component: gpu}}\n    annotations: {{summary: {summary}}}\n"
        )
    };
    let rules = format!(
        "groups:\n- name: e2e\n  rules:\n{}{}",
        rule("E2eAlwaysFiring", "vector(1)", "warning", "always firing"),
        rule(
            "E2eShortLived",
            &format!("vector(1) and on() (vector(time()) < {until})"),
            "critical",
            "fires for a while"
        ),
    );
    let _prometheus = Prometheus::start(&prometheus, am.addr, &rules).await;

    let events = events
        .wait("the always-firing alert and the resolved one", |e| {
            !named(e, "E2eAlwaysFiring").is_empty()
                && named(e, "E2eShortLived")
                    .iter()
                    .any(|e| e["status"] == "resolved")
        })
        .await;
    let always = named(&events, "E2eAlwaysFiring");
    assert!(
        always
            .iter()
            .all(|e| e["status"] == "firing" && e["severity"] == "warning"),
        "{always:#?}"
    );
    let short = named(&events, "E2eShortLived");
    let statuses: Vec<_> = short.iter().map(|e| e["status"].as_str()).collect();
    assert_eq!(statuses, [Some("firing"), Some("resolved")]);
    assert_eq!(short[0]["fingerprint"], short[1]["fingerprint"]);
    assert_eq!(short[0]["started_at"], short[1]["started_at"]);
    assert!(events.iter().all(|e| e["receiver"] == "e2e"));

    let line = "[ALERT FIRING] E2eAlwaysFiring (warning) - component=gpu: always firing";
    assert_eq!(
        logs.find("WARN", line).len(),
        always.len(),
        "{:#?}",
        logs.lines()
    );
    let line = "[ALERT FIRING] E2eShortLived (critical) - component=gpu: fires for a while";
    assert_eq!(logs.find("ERROR", line).len(), 1, "{:#?}", logs.lines());
    let line =
        "[ALERT RESOLVED] E2eShortLived (critical) - component=gpu: resolved after firing since ";
    assert_eq!(logs.find("INFO", line).len(), 1, "{:#?}", logs.lines());
}

#[tokio::test]
async fn dotted_receiver_name_is_reported_as_sent() {
    let (logs, _logging) = Logs::capture();
    let Some((events, server, am)) = start(AlertReceiver::builder(), "0s", "team.gpu", "").await
    else {
        return;
    };
    am.post(json!([{"labels": {"alertname": "E2eDotted", "severity": "warning"}}]))
        .await;

    let events = events.wait("the event", |e| !e.is_empty()).await;
    assert_eq!(events[0]["receiver"], r"team\.gpu");
    let expected = r#"{"status":"ok","received":1,"processed":1,"message":"Processed 1 alert(s) from team\\.gpu"}"#;
    let exchanges = server.exchanges();
    assert_eq!(exchanges.len(), 1, "{exchanges:?}");
    assert_eq!(
        (exchanges[0].status, exchanges[0].body.as_str()),
        (200, expected)
    );
    let lines = logs.find(
        "WARN",
        "[ALERT FIRING] E2eDotted (warning) - component=unknown: ",
    );
    assert_eq!(lines.len(), 1, "{:#?}", logs.lines());
    // The field holds the name as sent (a backslash is no control character);
    // the default formatter quotes it and escapes its backslash.
    assert!(
        lines[0].contains(r#"receiver="team\\.gpu""#),
        "{}",
        lines[0]
    );
}
