//! What comes from the file never becomes markup, and no file makes the page large.

mod common;

use std::time::Instant;

use common::{HEADER, page, sample_page, text_of};
use zipster_report::{Builder, Counts, DEFAULT_MAX_LINES, ErrorRef, MAX_PAGE_BYTES, Outcome, Page};

/// The tags and attributes the page writes. Anything else in a page is a value from
/// the file that escaped its escaping.
const TAGS: &[&str] = &[
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "header",
    "main",
    "footer",
    "p",
    "h1",
    "h2",
    "dl",
    "dt",
    "dd",
    "code",
    "span",
    "div",
    "section",
    "figure",
    "figcaption",
    "svg",
    "g",
    "text",
    "rect",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
];
const ATTRIBUTES: &[&str] = &[
    "lang",
    "charset",
    "name",
    "content",
    "http-equiv",
    "class",
    "aria-label",
    "xmlns",
    "width",
    "height",
    "viewBox",
    "role",
    "x",
    "y",
    "text-anchor",
    "rx",
    "href",
    "scope",
    "title",
];

/// Every tag of `html` with its attributes, checked against the lists above; a
/// minimal tokenizer that relies on what the page guarantees (attribute values
/// double-quoted, no `"` or `<` inside them, no `<` in the style sheet).
fn assert_only_our_markup(html: &str) {
    let mut rest = html.strip_prefix("<!DOCTYPE html>").expect("doctype first");
    while let Some(start) = rest.find('<') {
        let tag = &rest[start + 1..];
        let end = tag.find('>').expect("every tag is closed");
        let inside = tag[..end].strip_prefix('/').unwrap_or(&tag[..end]);
        let name_end = inside.find([' ', '/']).unwrap_or(inside.len());
        let name = &inside[..name_end];
        assert!(TAGS.contains(&name), "a <{name}> tag that the page does not write: <{}>", &tag[..end]);
        let mut attributes = inside[name_end..].trim_start();
        while !attributes.is_empty() && attributes != "/" {
            let (attribute, after) = attributes.split_once("=\"").expect("name=\"value\"");
            assert!(ATTRIBUTES.contains(&attribute), "attribute {attribute:?} in <{}>", &tag[..end]);
            let close = after.find('"').expect("closing quote");
            assert!(!after[..close].contains('<'), "a < in an attribute value");
            attributes = after[close + 1..].trim_start();
        }
        rest = &tag[end + 1..];
    }
}

const HOSTILE: &[&str] = &[
    "<script>alert(1)</script>",
    "\"onload=x",
    "'",
    "&",
    "WEST\u{FFFD}ON",
    "</td></tr></table><img src=x onerror=alert(1)>",
    "a\u{0}b\u{1b}[31m\rc",
];

#[test]
fn hostile_values_are_text_never_markup() {
    // Hostile everywhere a value from the file (or its name) goes: the header, the
    // cells, the field names, the reasons, the error types, the key, the feed.
    let header: Vec<&str> = HOSTILE.to_vec();
    let mut builder = Builder::new(&header, DEFAULT_MAX_LINES);
    for (i, value) in HOSTILE.iter().enumerate() {
        let errors = [
            ErrorRef { field: value, column: Some(i), kind: value, value, reason: value },
            ErrorRef { field: value, column: None, kind: "primary-key", value, reason: value },
        ];
        builder.reject(i as u64 + 2, HOSTILE, &errors);
    }
    let html = builder.render(&Page {
        key: "<script>alert('key')</script>.csv",
        feed: "\"onload=alert(1) x=\"",
        contract_hash: "&amp;",
        time: "<b>now</b>",
        outcome: Outcome::Refused { reason: "<img src=x onerror=alert(1)>" },
        counts: Counts::default(),
        rejects_link: Some("javascript:alert(1)"),
    });
    assert_only_our_markup(&html);
    let lower = html.to_lowercase();
    // (`onerror=` may appear, as text; no attribute but ours, checked above.)
    for never in ["<script", "<img", "<b>", "\"onload", "href=\"javascript:"] {
        assert!(!lower.contains(never), "{never:?} in the page");
    }
    // The values are all there, as text.
    let text = text_of(&html);
    for value in &HOSTILE[..5] {
        assert!(text.contains(value), "{value:?} is not shown");
    }
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&quot;onload=x"));
    assert!(html.contains("WEST\u{FFFD}ON"), "U+FFFD shown as itself");
    assert!(html.contains("&amp;amp;"), "an entity in a value is shown, not decoded");
    // Control characters as their pictures: no NUL, escape or CR reaches the page.
    assert!(html.contains("a\u{2400}b\u{241b}[31m\u{240d}c"));
    assert!(!html.contains(['\u{0}', '\u{1b}', '\r']));
    // A link with a scheme other than http(s) becomes a relative path.
    assert!(html.contains("href=\"./javascript:alert(1)\""));
}

#[test]
fn the_sample_page_is_only_our_markup_and_self_contained() {
    let html = sample_page();
    assert_only_our_markup(&html);
    // Nothing fetched: no URL but the SVG namespace and the link to the rejects file.
    for never in ["http://", "https://", "src=", "url(", "@import", "<link"] {
        let allowed = html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count();
        let found = html.matches(never).count();
        let allowed = if never == "http://" { allowed } else { 0 };
        assert_eq!(found, allowed, "{never:?} in the page");
    }
}

#[test]
fn a_million_rejects_of_long_cells_stay_under_a_megabyte_with_exact_counts() {
    // The worst for escaping: `"` becomes six bytes. 9 cells of 2,000 characters
    // (18 kB, inside the transform's 64 KiB line limit), three errors a line.
    let long_quote = "\"".repeat(2_000);
    let long_lt = "<".repeat(2_000);
    let cells: Vec<&str> = (0..9).map(|i| if i % 2 == 0 { long_quote.as_str() } else { long_lt.as_str() }).collect();
    let fields: Vec<String> = (0..1_000).map(|i| format!("field {i:04} {}", "\"".repeat(80))).collect();
    let started = Instant::now();
    let mut builder = Builder::new(HEADER, DEFAULT_MAX_LINES);
    const LINES: u64 = 1_000_000;
    for line in 0..LINES {
        let errors = [
            ErrorRef { field: "city", column: Some(2), kind: "constraint-error", value: &long_quote, reason: &long_lt },
            ErrorRef {
                field: &fields[(line % 1_000) as usize],
                column: Some(8),
                kind: "type-error",
                value: "",
                reason: &long_quote,
            },
            ErrorRef { field: "", column: None, kind: "primary-key", value: "", reason: &long_quote },
        ];
        builder.reject(line + 2, &cells, &errors);
    }
    let fed = started.elapsed();
    let counts = Counts { rows_read: LINES + 5, accepted: 5, rejected: LINES, blank: 0 };
    let started = Instant::now();
    let html = builder.render(&page(Outcome::Staged, counts, Some("big.csv.rejects.jsonl")));
    eprintln!("a million rejects: fed in {fed:.2?}, rendered in {:.2?}, {} bytes", started.elapsed(), html.len());
    assert!(html.len() < MAX_PAGE_BYTES, "{} bytes", html.len());
    assert_only_our_markup(&html);
    // The counts are complete...
    assert_eq!(builder.rejected_lines(), LINES);
    assert!(html.contains("<span class=\"n\">1,000,000</span> rejected"));
    assert!(html.contains("<title>constraint-error: 1,000,000</title>"));
    assert!(html.contains("<title>type-error: 1,000,000</title>"));
    assert!(html.contains("<title>primary-key: 1,000,000</title>"));
    assert!(html.contains("<title>city: 1,000,000</title>"));
    // ...1,000 distinct field names: 64 tracked, the rest in "(all others)", drawn as 16 bars.
    assert_eq!(html.matches("<rect ").count(), 16 + 3);
    let (_, others) = html.split_once("<title>(all others): ").expect("an others bar");
    let others: u64 = others[..others.find('<').unwrap_or(0)].replace(',', "").parse().expect("count");
    // 1,000 lines per field name: "city" and "(whole line)" with a million each,
    // then 13 of the 64 tracked names have bars of their own; the rest is one bar.
    assert_eq!(others, LINES - 13 * 1_000);
    // ...and the lines are a sample: the first ones, cells cut with an ellipsis.
    let shown = html.matches("<tr><th scope=\"row\"").count();
    assert!((10..200).contains(&shown), "{shown} lines shown");
    assert!(html.contains(&format!("The first {shown} of 1,000,000 lines (the page stays under 1 MB)")));
    assert!(html.contains(&format!("<td>{}…</td>", "&quot;".repeat(200))));
    assert!(!html.contains(&format!("<td>{}&quot;", "&quot;".repeat(200))));
}

#[test]
fn the_largest_page_any_input_gives_stays_under_a_megabyte() {
    // Every bounded part at its largest: a 1,024-character key, feed, hash, time and
    // reason of `"`, a header of 30,000 long names, lines of 30,000 cells, 64+ field
    // names and error types of 200 characters, a 4,000-character link.
    let q = |n: usize| "\"".repeat(n);
    let (long, name) = (q(5_000), q(200));
    let header: Vec<&str> = std::iter::repeat_n(name.as_str(), 30_000).collect();
    let names: Vec<String> = (0..200).map(|i| format!("{i}{name}")).collect();
    let mut builder = Builder::new(&header, usize::MAX);
    let cells: Vec<&str> = std::iter::repeat_n(name.as_str(), 30_000).collect();
    for line in 0..300 {
        let errors: Vec<ErrorRef<'_>> = (0..150)
            .map(|i| ErrorRef {
                field: &names[i],
                column: Some(i * 7),
                kind: &names[199 - i],
                value: &name,
                reason: &long,
            })
            .collect();
        builder.reject(line, &cells, &errors);
    }
    let link = format!("https://console.aws.amazon.com/{}", q(4_000));
    let html = builder.render(&Page {
        key: &long,
        feed: &long,
        contract_hash: &long,
        time: &long,
        outcome: Outcome::Halted { reason: &long },
        counts: Counts { rows_read: u64::MAX, accepted: u64::MAX, rejected: u64::MAX, blank: u64::MAX },
        rejects_link: Some(&link),
    });
    eprintln!("the largest page: {} bytes, {} lines shown", html.len(), html.matches("<tr><th scope=\"row\"").count());
    assert!(html.len() < MAX_PAGE_BYTES, "{} bytes", html.len());
    assert_only_our_markup(&html);
    assert!(html.contains("18,446,744,073,709,551,615"));
    assert!(html.contains("… 29,900 more cells"));
}

#[test]
fn a_line_is_shown_whole_up_to_the_bounds_and_its_errors_stay_visible() {
    // An error in a cell past the shown columns is listed with the line's own.
    let cells: Vec<String> = (0..150).map(|i| format!("c{i}")).collect();
    let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
    let mut builder = Builder::new(&[], DEFAULT_MAX_LINES);
    builder.reject(
        7,
        &cells,
        &[ErrorRef { field: "far", column: Some(120), kind: "type-error", value: "c120", reason: "too far to show" }],
    );
    let html = builder.render(&page(Outcome::Staged, Counts::default(), None));
    assert!(html.contains("<th scope=\"col\">column 100</th>"));
    assert!(!html.contains("column 101"));
    assert!(html.contains("<span class=\"why\">far: too far to show</span>"));
    assert!(html.contains("<td>c99</td><td class=\"more\">… 50 more cells</td>"));
}

#[test]
fn times_are_rfc3339_in_utc() {
    let at = |s: u64| zipster_report::rfc3339_utc(std::time::UNIX_EPOCH + std::time::Duration::from_secs(s));
    assert_eq!(at(0), "1970-01-01T00:00:00Z");
    assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(at(1_796_137_445), "2026-12-01T15:04:05Z");
}
