//! How deep sonic-rs can recurse on a thread stack of a given size: the
//! measurement behind `MAX_BRACKETS` in `src/sonic.rs`.
//!
//! ```sh
//! cargo bench --features sonic-rs --bench sonic_stack
//! ```
//!
//! For each stack size and each place of a nested value (`[[[…]]]` or
//! `{"a":{"a":…}}` in an unknown field, a label value, the receiver, an alert),
//! it finds by bisection the deepest body that `sonic_rs::from_str::<Webhook>`
//! gets through on a thread with that stack. A deeper one aborts the process,
//! so every try runs in a child process (this program, with arguments).

use std::process::Command;

use alertmanager_webhook::payload::Webhook;

const PLACES: [&str; 6] = [
    "unknown",
    "unknown_obj",
    "label",
    "label_obj",
    "receiver",
    "alert",
];

fn body(place: &str, depth: usize) -> String {
    let nest = if place.ends_with("_obj") {
        format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth))
    } else {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    };
    let rest = r#""groupKey":"g","status":"firing""#;
    match place {
        "unknown" | "unknown_obj" => format!(r#"{{"x":{nest},"receiver":"r",{rest},"alerts":[]}}"#),
        "label" | "label_obj" => {
            format!(r#"{{"commonLabels":{{"a":{nest}}},"receiver":"r",{rest},"alerts":[]}}"#)
        }
        "receiver" => format!(r#"{{"receiver":{nest},{rest},"alerts":[]}}"#),
        _ => format!(r#"{{"receiver":"r",{rest},"alerts":[{nest}]}}"#),
    }
}

/// Whether a child process parses `place` nested `depth` deep on a `stack`-byte thread.
fn survives(place: &str, depth: usize, stack: usize) -> bool {
    let exe = std::env::current_exe().expect("the bench's own path");
    let args = ["child", place, &depth.to_string(), &stack.to_string()];
    let status = Command::new(exe)
        .args(args)
        .output()
        .expect("a child process");
    status.status.success()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [child, place, depth, stack] = &args[..] {
        if child == "child" {
            let body = body(place, depth.parse().expect("a depth"));
            let stack = stack.parse().expect("a stack size");
            // Accepted (an unknown field) or rejected: either way, no overflow.
            std::thread::Builder::new()
                .stack_size(stack)
                .spawn(move || {
                    std::hint::black_box(sonic_rs::from_str::<Webhook<'_>>(&body)).is_ok()
                })
                .expect("a thread")
                .join()
                .expect("no panic");
            return;
        }
    }
    println!("| stack | place | deepest body parsed | stack bytes per level |");
    println!("|---:|---|---:|---:|");
    for stack in [256 << 10, 2 << 20] {
        for place in PLACES {
            let (mut ok, mut bad) = (1, 1 << 20);
            while bad - ok > 1 {
                let mid = (ok + bad) / 2;
                if survives(place, mid, stack) {
                    ok = mid;
                } else {
                    bad = mid;
                }
            }
            let per = stack as f64 / ok as f64;
            println!("| {} KiB | {place} | {ok} | {per:.0} |", stack >> 10);
        }
    }
}
