//! One parse mode run a given number of times, for counting instructions with
//! callgrind (noise-free on a shared machine):
//!
//! ```sh
//! cargo bench --bench instructions --no-run   # prints the binary's path
//! valgrind --tool=callgrind BINARY MODE ALERTS ITERS
//! ```
//!
//! MODE is `scan` (`serde_json::from_slice::<IgnoredAny>`), `parse`
//! (`validation::parse`, as the handler calls it) or `serde` (the serde_json
//! typed parse alone, from `str`). The instructions of one request are (count at ITERS = 11 − count at ITERS = 1) ÷ 10. Run by
//! `cargo bench` without arguments it does every mode once as a smoke test.

mod common;

use std::hint::black_box;

use alertmanager_webhook::payload::Webhook;
use alertmanager_webhook::validation;
use serde::de::IgnoredAny;

/// `serde` gets the body as `str`, as `Webhook::from_slice` hands it on, so it
/// does not count the UTF-8 check.
fn run(mode: &str, body: &[u8], text: &str) -> bool {
    match mode {
        "scan" => serde_json::from_slice::<IgnoredAny>(body).is_ok(),
        "parse" => validation::parse(body).is_ok(),
        "serde" => serde_json::from_str::<Webhook<'_>>(text).is_ok(),
        _ => panic!("unknown mode {mode}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [mode, alerts, iters] = &args[..] {
        let body = common::body(alerts.parse().expect("ALERTS is a number"));
        let text = std::str::from_utf8(&body).expect("the bench bodies are UTF-8");
        for _ in 0..iters.parse::<usize>().expect("ITERS is a number") {
            assert!(run(mode, black_box(&body), black_box(text)));
        }
        return;
    }
    let body = common::body(10);
    let text = std::str::from_utf8(&body).expect("the bench bodies are UTF-8");
    for mode in ["scan", "parse", "serde"] {
        assert!(run(mode, &body, text), "{mode}");
    }
}
