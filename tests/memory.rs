//! Peak heap use while a 100 MiB body streams in: it stays near the body limit.
//!
//! A counting global allocator measures every allocation of this test binary,
//! which holds this one test only, so nothing else runs alongside it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use alertmanager_webhook::AlertReceiver;
use tower::ServiceExt;

#[allow(dead_code)] // Each test binary uses part of the shared body.
mod stream_body;
use stream_body::Stream;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
        PEAK.fetch_max(live, Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Counted as the system does it: one block changing size, not two blocks at once.
        if new_size >= layout.size() {
            let live = LIVE.fetch_add(new_size - layout.size(), Relaxed) + new_size - layout.size();
            PEAK.fetch_max(live, Relaxed);
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn a_streamed_100_mib_body_never_costs_more_than_the_limit() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let limit = 4 << 20;
    let receiver = runtime.block_on(async { AlertReceiver::builder().body_limit(limit).build() });
    for declared in [None, Some(100u64 << 20), Some(1024)] {
        let mut request = http::Request::post("/");
        if let Some(n) = declared {
            // Lying in both directions: far more, and far less, than is sent.
            request = request.header("content-length", n.to_string());
        }
        let request = request.body(Stream::new(100 << 20, 64 << 10)).unwrap();
        let before = LIVE.load(Relaxed);
        PEAK.store(before, Relaxed);
        let status = runtime
            .block_on(receiver.clone().oneshot(request))
            .unwrap()
            .status();
        let peak = PEAK.load(Relaxed) - before;
        assert_eq!(status, 413, "{declared:?}");
        assert!(
            peak <= limit + (1 << 20),
            "{declared:?}: peak heap {peak} bytes for a {limit}-byte limit"
        );
        eprintln!("Content-Length {declared:?}: peak heap {peak} bytes (limit {limit})");
    }
}
