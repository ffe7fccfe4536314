//! The hand-written parser accepts only what serde_json's parse of `Webhook`
//! accepts, and reads the same values from it.
#![no_main]

use alertmanager_webhook::payload::{__fuzz_hand_parse, Webhook};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let Ok(text) = std::str::from_utf8(body) else {
        return; // `Webhook::from_slice` refuses such a body before any parse
    };
    if let Some(hook) = __fuzz_hand_parse(text) {
        match serde_json::from_str::<Webhook<'_>>(text) {
            Ok(reference) => assert_eq!(hook, reference),
            Err(e) => panic!("the parser accepts what serde_json rejects ({e}): {text:?}"),
        }
    }
});
