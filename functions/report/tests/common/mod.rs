//! The files the tests render: the zip-code feed's header and rejected lines like
//! the transform reports them, one of each error type, with a hostile one among them.

#![allow(dead_code)] // each test binary uses part of it

use std::path::{Path, PathBuf};

use zipster_report::{Builder, Counts, DEFAULT_MAX_LINES, ErrorRef, Outcome, Page};

pub const HEADER: &[&str] = &[
    "zipcode",
    "zipcode_type",
    "city",
    "state",
    "location_type",
    "latitude",
    "longitude",
    "location",
    "decommissioned",
];

/// The fixed time every test page carries (the caller's clock is the only volatile part).
pub const TIME: &str = "2025-06-01T12:00:00Z";
pub const CONTRACT: &str = "sha256:3f1c9a7e5b2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e";

pub struct Reject {
    pub line: u64,
    pub cells: Vec<&'static str>,
    pub errors: Vec<ErrorRef<'static>>,
}

const fn cell(
    field: &'static str,
    column: usize,
    kind: &'static str,
    value: &'static str,
    reason: &'static str,
) -> ErrorRef<'static> {
    ErrorRef { field, column: Some(column), kind, value, reason }
}

const TYPE: &str = "must be one of STANDARD, PO BOX, UNIQUE, MILITARY";
const CITY: &str = "must be 1 to 64 upper-case letters and spaces, with - / ' . allowed inside the name";
const LATITUDE: &str = "must be an optional '-', 1 to 3 digits, then optionally '.' and up to 2 digits";

fn good(zip: &'static str) -> Vec<&'static str> {
    vec![zip, "STANDARD", "WESTON", "CT", "PRIMARY", "41.2", "-73.38", "NA-US-CT-WESTON", "FALSE"]
}

fn with(mut cells: Vec<&'static str>, column: usize, value: &'static str) -> Vec<&'static str> {
    cells[column] = value;
    cells
}

/// The sample file's rejected lines: 10 lines (one blank), 12 errors.
pub fn sample_rejects() -> Vec<Reject> {
    vec![
        Reject {
            line: 3,
            cells: with(good("06883"), 1, "BOX"),
            errors: vec![cell("zipcode_type", 1, "constraint-error", "BOX", TYPE)],
        },
        Reject {
            line: 4,
            cells: with(good("06883"), 2, "Weston"),
            errors: vec![cell("city", 2, "constraint-error", "Weston", CITY)],
        },
        Reject {
            line: 7,
            cells: with(good("06883"), 5, "+41.2"),
            errors: vec![cell("latitude", 5, "type-error", "+41.2", LATITUDE)],
        },
        Reject {
            line: 9,
            cells: with(good("06883"), 5, "91"),
            errors: vec![cell("latitude", 5, "constraint-error", "91", "must lie between -90 and 90")],
        },
        Reject {
            line: 12,
            cells: vec![],
            errors: vec![ErrorRef {
                field: "",
                column: None,
                kind: "blank-row",
                value: "",
                reason: "blank line, skipped",
            }],
        },
        Reject {
            line: 14,
            cells: with(with(good("06883"), 5, "NA"), 6, "NA"),
            errors: vec![
                cell("latitude", 5, "constraint-error", "NA", "NA (unknown) is accepted only for MILITARY zip codes"),
                cell("longitude", 6, "constraint-error", "NA", "NA (unknown) is accepted only for MILITARY zip codes"),
            ],
        },
        Reject {
            line: 15,
            cells: vec!["06890", "STANDARD", "SOUTHPORT", "CT", "PRIMARY", "41.13", "-73.28"],
            errors: vec![
                cell("location", 7, "missing-cell", "", "missing: the line has 7 of 9 cells"),
                cell("decommissioned", 8, "missing-cell", "", "missing: the line has 7 of 9 cells"),
            ],
        },
        Reject {
            line: 16,
            cells: vec![
                "06880",
                "STANDARD",
                "WESTPORT",
                "CT",
                "PRIMARY",
                "41.14",
                "-73.35",
                "NA-US-CT-WESTPORT",
                "FALSE",
                "x",
            ],
            errors: vec![cell("", 9, "extra-cell", "x", "extra: the line has 10 cells, the header 9")],
        },
        Reject {
            line: 18,
            cells: good("06883"),
            errors: vec![ErrorRef {
                field: "zipcode",
                column: None,
                kind: "primary-key",
                value: "06883",
                reason: "zipcode 06883 is already on line 2",
            }],
        },
        Reject {
            line: 21,
            cells: with(with(good("06884"), 2, "<script>alert(1)</script>"), 7, "\"onload=x 'quoted' & WEST\u{FFFD}ON"),
            errors: vec![
                cell("city", 2, "constraint-error", "<script>alert(1)</script>", CITY),
                cell("location", 7, "encoding-error", "\"onload=x", "not valid UTF-8 (replaced by \u{FFFD})"),
            ],
        },
    ]
}

/// The sample file's counts: 40 lines read, 30 accepted, 9 rejected, 1 blank.
pub const SAMPLE_COUNTS: Counts = Counts { rows_read: 40, accepted: 30, rejected: 9, blank: 1 };

pub fn feed(builder: &mut Builder, rejects: &[Reject]) {
    for r in rejects {
        builder.reject(r.line, &r.cells, &r.errors);
    }
}

pub fn sample_builder() -> Builder {
    let mut builder = Builder::new(HEADER, DEFAULT_MAX_LINES);
    feed(&mut builder, &sample_rejects());
    builder
}

pub fn page<'a>(outcome: Outcome<'a>, counts: Counts, rejects_link: Option<&'a str>) -> Page<'a> {
    Page {
        key: "incoming/2025-06-01/zipcodes-ct.csv",
        feed: "zipcodes",
        contract_hash: CONTRACT,
        time: TIME,
        outcome,
        counts,
        rejects_link,
    }
}

/// The sample page: staged, with rejects, linking to its rejects file beside it.
pub fn sample_page() -> String {
    sample_builder().render(&page(Outcome::Staged, SAMPLE_COUNTS, Some("zipcodes-ct.csv.rejects.jsonl")))
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn bless() -> bool {
    std::env::var_os("ZIPSTER_BLESS").is_some()
}

/// The page's text as a reader sees it: tags turned into spaces, entities decoded (those the
/// page writes). Enough for pages this crate writes; not a general HTML parser.
pub fn text_of(html: &str) -> String {
    let mut text = String::new();
    let mut rest = html;
    // A style sheet is not text.
    while let Some(start) = rest.find('<') {
        text.push_str(&rest[..start]);
        rest = &rest[start..];
        if let Some(after) = rest.strip_prefix("<style>") {
            rest = after.find("</style>").map_or("", |end| &after[end + 8..]);
            continue;
        }
        // A tag separates words (a block, a cell); spaces are normalized by the reader.
        text.push(' ');
        rest = rest.find('>').map_or("", |end| &rest[end + 1..]);
    }
    text.push_str(rest);
    decode(&text)
}

pub fn decode(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#10;", "\n")
        .replace("&amp;", "&")
}
