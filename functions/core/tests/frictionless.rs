//! The transform against the reference implementation, on a real feed: for every golden
//! case of a feed whose contract is plain Table Schema (no `zipster:` property that
//! changes what a row's errors are), the set of (line, field, error type) in the rejects
//! equals what `frictionless validate` reports for the same file and descriptor.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::{Value, json};
use zipster_core::{Limits, transform};

type Found = BTreeSet<(u64, String, String)>;

/// The feeds checked: their descriptors use only the standard, and `zipster:thresholds`,
/// which decides what becomes of a file, never a row's errors.
const PLAIN_FEEDS: [&str; 2] = ["cities", "weather"];

/// Where the transform follows the written standard and frictionless does not, each one
/// of feeds/README.md's deviations (its anchor): the case, the line, the field ("" for the
/// row) and the error type that only Zipster reports. Each must still happen.
const DEVIATIONS: [(&str, u64, &str, &str, &str); 3] = [
    // A compound key with one null cell: frictionless keys it only when all are null.
    ("weather-every-rule", 4, "", "primary-key", "primary-key-required"),
    ("weather-every-rule", 9, "", "primary-key", "primary-key-required"),
    ("weather-every-rule", 13, "", "primary-key", "primary-key-required"),
];

fn ours(feed: &str, input: &[u8]) -> Found {
    let contract = &zipster_core::feeds::builtin(feed).expect("the feed").contract;
    let mut rejects = Vec::new();
    // A halted file still reports every rejected line.
    let _ = transform(contract, input, std::io::sink(), &mut rejects, &Limits::default());
    let mut found = Found::new();
    for line in String::from_utf8(rejects).expect("UTF-8").lines() {
        let reject: Value = serde_json::from_str(line).expect("a JSON line");
        for e in reject["errors"].as_array().expect("errors") {
            let field = e["field"].as_str().unwrap_or_default();
            let field = if field == "row" { "" } else { field };
            found.insert((
                reject["line"].as_u64().expect("a line"),
                field.to_owned(),
                e["type"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    found
}

#[test]
fn every_plain_feeds_cases_match_frictionless() {
    let root = zipster_tools::project_root();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut cases = Vec::new();
    for feed in PLAIN_FEEDS {
        let schema: Value = serde_json::from_str(
            &std::fs::read_to_string(root.join("feeds").join(feed).join("schema.json")).expect("schema"),
        )
        .expect("JSON");
        assert!(
            schema["fields"].as_array().expect("fields").iter().all(|f| f
                .as_object()
                .expect("a field")
                .keys()
                .all(|k| !k.starts_with("zipster:"))),
            "{feed}: a field-level extension changes row errors; it cannot be compared"
        );
        let mut names: Vec<_> = std::fs::read_dir(root.join("testdata").join(feed).join("cases"))
            .expect("cases")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in names {
            let input = std::fs::read(root.join("testdata").join(feed).join("cases").join(&name).join("input.csv"))
                .expect("input");
            let resource = format!("{feed}-{name}").replace('_', "-");
            std::fs::write(dir.path().join(format!("{resource}.csv")), &input).expect("writing a case");
            cases.push((resource, schema.clone(), ours(feed, &input)));
        }
    }
    let resources: Vec<Value> = cases
        .iter()
        .map(|(name, schema, _)| json!({"name": name, "path": format!("{name}.csv"), "format": "csv", "encoding": "utf-8", "schema": schema}))
        .collect();
    let package = json!({"$schema": "https://datapackage.org/profiles/2.0/datapackage.json", "name": "feeds", "resources": resources});
    std::fs::write(dir.path().join("datapackage.json"), package.to_string()).expect("writing the package");
    let frictionless = zipster_tools::venv::tool("frictionless").expect("frictionless in the venv");
    let output = Command::new(frictionless)
        .args(["validate", "--json", "datapackage.json"])
        .current_dir(dir.path())
        .output()
        .expect("running frictionless");
    let report: Value = serde_json::from_slice(&output.stdout).expect("frictionless's JSON report");
    let mut failures = Vec::new();
    for (name, _, ours) in &cases {
        let task = report["tasks"]
            .as_array()
            .expect("tasks")
            .iter()
            .find(|t| t["name"] == name.as_str())
            .expect("a task per case");
        let theirs: Found = task["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| {
                let kind = e["type"].as_str().unwrap_or_default().to_owned();
                assert!(!["schema-error", "resource-error", "source-error"].contains(&kind.as_str()), "{name}: {e}");
                (e["rowNumber"].as_u64().unwrap_or(1), e["fieldName"].as_str().unwrap_or_default().to_owned(), kind)
            })
            .collect();
        let mut ours = ours.clone();
        for (_, line, field, kind, readme) in DEVIATIONS.iter().filter(|d| d.0 == name) {
            let error = (*line, (*field).to_owned(), (*kind).to_owned());
            assert!(
                ours.remove(&error) && !theirs.contains(&error),
                "{name}: the deviation #{readme} ({error:?}, Zipster's only) no longer happens: drop it here"
            );
        }
        let ours = &ours;
        if &theirs != ours {
            failures.push(format!(
                "{name}: frictionless only {:?}; zipster only {:?}",
                theirs.difference(ours).collect::<Vec<_>>(),
                ours.difference(&theirs).collect::<Vec<_>>()
            ));
        }
        assert!(!theirs.is_empty() || name.contains("good"), "{name}: a case with errors to compare");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
