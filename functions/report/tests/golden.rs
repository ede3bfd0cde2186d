//! The page of each case against its snapshot under `tests/golden/<case>.html`
//! (the time is fixed by the test, so the page has no volatile part left). Run with
//! `ZIPSTER_BLESS=1` to rewrite them after a deliberate change, and look at the diff.

mod common;

use std::path::Path;

use common::{CONTRACT, HEADER, Reject, SAMPLE_COUNTS, TIME, feed, page, sample_page, sample_rejects};
use zipster_report::{Builder, Counts, DEFAULT_MAX_LINES, Outcome, Page};

fn check(case: &str, actual: &str, failures: &mut Vec<String>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(format!("{case}.html"));
    if common::bless() {
        std::fs::write(&path, actual).expect("write golden page");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected != actual {
        let line = expected.lines().zip(actual.lines()).position(|(e, a)| e != a).unwrap_or(0);
        failures.push(format!(
            "{}: differs from line {} on (ZIPSTER_BLESS=1 rewrites it)\n--- expected\n{}\n--- actual\n{}",
            path.display(),
            line + 1,
            expected.lines().nth(line).unwrap_or("<end>"),
            actual.lines().nth(line).unwrap_or("<end>"),
        ));
    }
}

#[test]
fn golden_pages() {
    let mut failures = Vec::new();

    check("staged_with_rejects", &sample_page(), &mut failures);

    // The header could not be read: no rejects, no link, the reason first.
    let refused = Builder::new(&[], DEFAULT_MAX_LINES).render(&Page {
        key: "incoming/2025-06-01/towns.csv",
        feed: "zipcodes",
        contract_hash: CONTRACT,
        time: TIME,
        outcome: Outcome::Refused {
            reason: "the header does not match the feed: expected 9 or 12 columns, found 3 (Zip, Town, St)",
        },
        counts: Counts::default(),
        rejects_link: None,
    });
    check("refused", &refused, &mut failures);

    // Stopped part-way, after a few rejects; the rejects file behind a console URL
    // (its `&` escaped in the attribute).
    let mut halted = Builder::new(HEADER, DEFAULT_MAX_LINES);
    feed(&mut halted, &sample_rejects()[..3]);
    let halted = halted.render(&page(
        Outcome::Halted { reason: "line 5,001 is longer than 65,536 bytes (MAX_LINE_BYTES)" },
        Counts { rows_read: 5_000, accepted: 4_997, rejected: 3, blank: 0 },
        Some("https://console.aws.amazon.com/s3/object/zipster-errors?region=eu-west-1&prefix=incoming/2025-06-01/zipcodes-ct.csv.rejects.jsonl"),
    ));
    check("halted", &halted, &mut failures);

    let clean = Builder::new(HEADER, DEFAULT_MAX_LINES).render(&page(
        Outcome::Staged,
        Counts { rows_read: 12, accepted: 12, rejected: 0, blank: 0 },
        Some("zipcodes-ct.csv.rejects.jsonl"),
    ));
    check("clean", &clean, &mut failures);

    // A sample cut by max_lines says so.
    let mut three = Builder::new(HEADER, 3);
    feed(&mut three, &sample_rejects());
    check("first_three", &three.render(&page(Outcome::Staged, SAMPLE_COUNTS, None)), &mut failures);

    assert!(failures.is_empty(), "{} golden mismatches:\n{}", failures.len(), failures.join("\n\n"));
}

#[test]
fn every_error_is_counted_and_every_line_kept() {
    let rejects: Vec<Reject> = sample_rejects();
    let builder = common::sample_builder();
    assert_eq!(builder.rejected_lines(), rejects.len() as u64);
    let html = sample_page();
    // One row per line, each with its line number.
    for r in &rejects {
        assert!(
            html.contains(&format!("<th scope=\"row\">{}</th>", r.line))
                || html.contains(&format!("\">{}<span class=\"why\">", r.line)),
            "line {}",
            r.line
        );
    }
    let errors: usize = rejects.iter().map(|r| r.errors.len()).sum();
    assert_eq!(html.matches("<span class=\"why\">").count(), errors);
    // Each chart's bars add up to the number of errors.
    let bars = |class: &str| -> u64 {
        let svg =
            html.split(&format!("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"{class}\"")).nth(1).expect("chart");
        let svg = &svg[..svg.find("</svg>").expect("end of chart")];
        svg.split("<text x=\"")
            .filter_map(|t| t.split_once("class=\"n\">"))
            .map(|(_, n)| n[..n.find('<').unwrap_or(0)].replace(',', "").parse::<u64>().expect("count"))
            .sum()
    };
    assert_eq!(bars("field"), errors as u64);
    assert_eq!(bars("kind"), errors as u64);
}
