//! Any JSON an invocation could carry: parsing events never panics, and every
//! object reference it yields names a bucket and a key.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = serde_json::from_slice::<serde_json::Value>(data)
        && let Ok(refs) = zipster_core::event::object_refs(&event)
    {
        for r in refs {
            assert!(!r.bucket.is_empty() && !r.key.is_empty());
        }
    }
});
