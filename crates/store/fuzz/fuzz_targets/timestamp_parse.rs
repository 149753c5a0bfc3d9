//! RFC 3339 parsing of arbitrary text: never panics, and a time that parses formats to text that parses back
//! to the same time.

#![no_main]

use hindsight_store::Timestamp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(t) = Timestamp::parse_rfc3339(text) {
        assert!(!t.is_unknown(), "{text:?} parsed to the reserved value 0");
        let formatted = t.to_rfc3339();
        let back = Timestamp::parse_rfc3339(&formatted)
            .unwrap_or_else(|e| panic!("{text:?} -> {formatted:?} does not parse back: {e}"));
        assert_eq!(back, t, "{text:?} -> {formatted:?}");
        // The other views of the same time must not panic either.
        let _ = t.to_unix_nanos();
        let _ = t.tai_minus_utc();
    }
});
