//! One parse mode run a given number of times, for counting instructions with
//! callgrind (noise-free on a shared machine):
//!
//! ```sh
//! cargo bench --bench instructions --no-run   # prints the binary's path
//! valgrind --tool=callgrind BINARY MODE ALERTS ITERS
//! ```
//!
//! MODE is `scan` (`serde_json::from_slice::<IgnoredAny>`), `parse`
//! (`validation::parse`, as the handler calls it), `serde` (the serde_json
//! typed parse alone, from `str`) or `ack` (the whole request, as `ack` in
//! `benches/handler.rs`: acknowledged mode, a `BroadcastSink`, no subscriber
//! installed). With `--features bench` there is also `work`: the parse, then what
//! `ack` does after it (`AlertReceiver::__process`, as `work` in `benches/handler.rs`).
//! The instructions of one request are (count at ITERS = 11 − count
//! at ITERS = 1) ÷ 10; T3 in instructions is (`ack` − `parse`) ÷ ALERTS, or
//! (`work` − `parse`) ÷ ALERTS. Run by `cargo bench` without arguments it does
//! every mode once as a smoke test.

mod common;

use std::hint::black_box;

use alertmanager_webhook::payload::Webhook;
use alertmanager_webhook::sink::BroadcastSink;
use alertmanager_webhook::{AlertReceiver, Event, validation};
use bytes::Bytes;
use serde::de::IgnoredAny;
use tokio::runtime::Runtime;
use tokio::sync::broadcast;
use tower::ServiceExt;

/// The `ack` mode's receiver. The channel's subscriber is kept but never reads:
/// each send then replaces (and drops) an event of an earlier request, as in a
/// server whose clients keep up.
struct Ack {
    rt: Runtime,
    receiver: AlertReceiver,
    _rx: broadcast::Receiver<Event>,
    body: Bytes,
}

impl Ack {
    fn new(body: &[u8]) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a tokio runtime");
        let (tx, rx) = broadcast::channel(4096);
        let receiver = {
            let _guard = rt.enter();
            AlertReceiver::builder()
                .sink(BroadcastSink::new(tx))
                .acknowledged(std::time::Duration::from_secs(5))
                .build()
        };
        let body = Bytes::copy_from_slice(body);
        Ack {
            rt,
            receiver,
            _rx: rx,
            body,
        }
    }

    fn run(&self) -> bool {
        let request = common::request(&self.body);
        let response = self.rt.block_on(self.receiver.clone().oneshot(request));
        response.is_ok_and(|r| r.status() == 200)
    }
}

#[cfg(feature = "bench")]
impl Ack {
    /// What `ack` does after the parse, on a body parsed once (`work` in `benches/handler.rs`).
    fn work(&self) -> bool {
        let hook = validation::parse(&self.body).expect("a valid body");
        let response = self.rt.block_on(self.receiver.__process(&hook));
        response.status() == 200
    }
}

/// `serde` gets the body as `str`, as `Webhook::from_slice` hands it on, so it
/// does not count the UTF-8 check.
fn run(mode: &str, body: &[u8], text: &str, ack: &Ack) -> bool {
    match mode {
        "ack" => ack.run(),
        "scan" => serde_json::from_slice::<IgnoredAny>(body).is_ok(),
        "parse" => validation::parse(body).is_ok(),
        "serde" => serde_json::from_str::<Webhook<'_>>(text).is_ok(),
        #[cfg(feature = "bench")]
        "work" => ack.work(),
        _ => panic!("unknown mode {mode}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [mode, alerts, iters] = &args[..] {
        let body = common::body(alerts.parse().expect("ALERTS is a number"));
        let text = std::str::from_utf8(&body).expect("the bench bodies are UTF-8");
        let ack = Ack::new(&body);
        for _ in 0..iters.parse::<usize>().expect("ITERS is a number") {
            assert!(run(mode, black_box(&body), black_box(text), &ack));
        }
        return;
    }
    let body = common::body(10);
    let text = std::str::from_utf8(&body).expect("the bench bodies are UTF-8");
    let ack = Ack::new(&body);
    let work: &[&str] = if cfg!(feature = "bench") {
        &["work"]
    } else {
        &[]
    };
    for &mode in ["scan", "parse", "serde", "ack"].iter().chain(work) {
        assert!(run(mode, &body, text, &ack), "{mode}");
    }
}
