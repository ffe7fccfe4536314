//! The validation slow path finds a problem exactly when the typed parse fails.
#![no_main]

use alertmanager_webhook::payload::Webhook;
use alertmanager_webhook::validation::{self, LocItem, MAX_ERRORS, TOO_MANY_ERRORS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let typed = Webhook::from_slice(body);
    let rows = validation::__fuzz_collect(body);
    assert_eq!(
        typed.is_ok(),
        rows.is_empty(),
        "typed: {:?}, rows: {rows:?}",
        typed.err()
    );
    assert!(rows.len() <= MAX_ERRORS + 1);
    // Only the last row may count the problems past MAX_ERRORS.
    assert!(rows.iter().rev().skip(1).all(|row| row.kind != TOO_MANY_ERRORS));
    for row in &rows {
        assert!(matches!(row.loc.first(), Some(LocItem::Key(k)) if k == "body"));
        if row.kind == "value_error.jsondecode" {
            assert_eq!(rows.len(), 1, "a decode error comes alone: {rows:?}");
            assert!(matches!(row.loc[..], [_, LocItem::Index(at)] if at <= body.len()));
        }
    }
    if let Err(errors) = validation::parse(body) {
        assert_eq!(errors.errors(), &rows[..]);
        let json: serde_json::Value = serde_json::from_slice(&errors.to_json()).expect("JSON");
        assert_eq!(json["detail"].as_array().map(Vec::len), Some(rows.len()));
    }
});
