//! Every case under `testdata/<feed>/cases/<name>/input.csv`, transformed with that
//! feed's contract, against its golden outputs: `accepted.csv` (only when the file is
//! accepted), `rejects.jsonl` and `summary.json`. Run with `ZIPSTER_BLESS=1` to rewrite
//! them after a deliberate change.

use std::path::{Path, PathBuf};

use zipster_core::{Limits, transform};

fn cases_dir(feed: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(feed).join("cases")
}

fn check(path: &Path, actual: Option<&[u8]>, bless: bool, failures: &mut Vec<String>) {
    if bless {
        match actual {
            Some(bytes) => std::fs::write(path, bytes).expect("write golden file"),
            None => {
                let _ = std::fs::remove_file(path);
            }
        }
        return;
    }
    let expected = std::fs::read(path).ok();
    if expected.as_deref() != actual {
        failures.push(format!(
            "{}:\n--- expected\n{}\n--- actual\n{}",
            path.display(),
            expected.map_or("<absent>".into(), |e| String::from_utf8_lossy(&e).into_owned()),
            actual.map_or("<absent>".into(), |a| String::from_utf8_lossy(a).into_owned()),
        ));
    }
}

#[test]
fn zip_code_cases() {
    golden_cases("zipcodes", 13);
}

#[test]
fn city_cases() {
    golden_cases("cities", 3);
}

#[test]
fn weather_cases() {
    golden_cases("weather", 4);
}

fn golden_cases(feed: &str, at_least: usize) {
    let contract = &zipster_core::feeds::builtin(feed).expect("the feed").contract;
    let bless = std::env::var_os("ZIPSTER_BLESS").is_some();
    let mut failures = Vec::new();
    let mut dirs: Vec<_> =
        std::fs::read_dir(cases_dir(feed)).expect("cases dir").map(|e| e.expect("entry").path()).collect();
    dirs.sort();
    assert!(dirs.len() >= at_least, "expected the golden cases, found {}", dirs.len());
    for dir in dirs {
        let input = std::fs::read(dir.join("input.csv")).expect("input.csv");
        let (mut accepted, mut rejects) = (Vec::new(), Vec::new());
        let result = transform(contract, &input[..], &mut accepted, &mut rejects, &Limits::default());
        let (accepted, summary) = match result {
            Ok(summary) => (Some(accepted), summary),
            Err(failure) => (None, failure.summary),
        };
        let summary = serde_json::to_string_pretty(&summary).expect("summary JSON") + "\n";
        check(&dir.join("accepted.csv"), accepted.as_deref(), bless, &mut failures);
        check(&dir.join("rejects.jsonl"), Some(&rejects), bless, &mut failures);
        check(&dir.join("summary.json"), Some(summary.as_bytes()), bless, &mut failures);
    }
    assert!(failures.is_empty(), "{} golden mismatches:\n{}", failures.len(), failures.join("\n\n"));
}
