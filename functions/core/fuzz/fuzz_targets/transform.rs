//! Any bytes: no panic, and every record read is accounted for in exactly one output.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zipster_core::{Limits, transform};

fuzz_target!(|data: &[u8]| {
    let Ok(feed) = zipster_core::feeds::builtin(zipster_core::feeds::ZIPCODES) else { return };
    let limits = Limits { max_line_bytes: 4096, ..Limits::default() };
    let (mut accepted, mut rejects) = (Vec::new(), Vec::new());
    if let Ok(summary) = transform(&feed.contract, data, &mut accepted, &mut rejects, &limits) {
        let lines = |b: &[u8]| b.iter().filter(|c| **c == b'\n').count() as u64;
        // Accepted rows hold no line breaks (no field may), so lines count rows.
        assert_eq!(lines(&accepted), summary.accepted + 1);
        // Reject lines are JSON: raw line breaks inside are escaped.
        assert_eq!(lines(&rejects), summary.rejected + summary.blank);
        assert!(summary.accepted + summary.rejected + summary.blank <= summary.lines_read);
    }
});
