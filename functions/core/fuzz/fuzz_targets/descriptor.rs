//! Any descriptor JSON: refused with a path or accepted, never a panic; an accepted one
//! then validates the rest of the input as a CSV under it, again without a panic, and
//! every record it reads is accounted for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zipster_contract::Contract;
use zipster_core::{Limits, transform};

fuzz_target!(|data: &[u8]| {
    // The descriptor, then a NUL, then the file.
    let split = data.iter().position(|b| *b == 0).unwrap_or(data.len());
    let Ok(text) = std::str::from_utf8(&data[..split]) else { return };
    let contract = match Contract::from_json(text) {
        Ok(contract) => contract,
        Err(error) => {
            assert!(!error.path.is_empty(), "a refusal names where: {error}");
            return;
        }
    };
    let file = data.get(split + 1..).unwrap_or_default();
    let limits = Limits { max_line_bytes: 4096, ..Limits::default() };
    let (mut accepted, mut rejects) = (Vec::new(), Vec::new());
    if let Ok(summary) = transform(&contract, file, &mut accepted, &mut rejects, &limits) {
        assert!(summary.accepted + summary.rejected + summary.blank <= summary.lines_read);
        let lines = |b: &[u8]| b.iter().filter(|c| **c == b'\n').count() as u64;
        assert_eq!(lines(&rejects), summary.rejected + summary.blank);
    }
});
