//! `cargo bench -p zipster-contract`: nanoseconds a record of eight cells costs, per type
//! and constraint, so a change to a reader shows where the transform's time goes.

use std::time::Instant;

use zipster_contract::{Contract, Record, Validator};

const ROWS: u64 = 1_000_000;

/// Validates `ROWS` records of `cells`; with `keys`, the first cell is the line's key
/// instead (distinct values, so `unique` fields are valid and their state grows).
fn bench(name: &str, fields: &str, cells: &[&str], keys: Option<&[String]>) {
    let descriptor = format!(r#"{{"fields": [{fields}]}}"#);
    let contract = Contract::from_json(&descriptor).unwrap_or_else(|e| panic!("{name}: {e}"));
    let labels: Vec<&str> = contract.fields().iter().map(|f| f.name()).collect();
    let mut validator = Validator::new(&contract, contract.header(&labels));
    let mut record = Record::default();
    let mut row: Vec<&str> = cells.to_vec();
    let started = Instant::now();
    for line in 2..ROWS + 2 {
        if let Some(key) = keys.and_then(|k| k.get((line - 2) as usize)) {
            row[0] = key;
        }
        validator.validate(line, &row, &mut record);
        assert!(record.is_valid(), "{name}: {:?}", record.errors());
    }
    let ns = started.elapsed().as_nanos() as f64 / ROWS as f64;
    println!("{name:<28} {ns:>7.0} ns/record");
}

/// Eight fields of one type and constraints, all given the same cell.
fn eight(name: &str, type_and_constraints: &str, cell: &str, keys: Option<&[String]>) {
    let fields: Vec<String> = (0..8).map(|i| format!(r#"{{"name": "f{i}", {type_and_constraints}}}"#)).collect();
    bench(name, &fields.join(", "), &[cell; 8], keys);
}

fn main() {
    eight("any", r#""type": "any""#, "a", None);
    eight("string", r#""type": "string""#, "Holtsville", None);
    eight("string enum", r#""type": "string", "constraints": {"enum": ["A", "Holtsville"]}"#, "Holtsville", None);
    eight("string pattern", r#""type": "string", "constraints": {"pattern": "[0-9]{5}"}"#, "00501", None);
    eight("integer", r#""type": "integer""#, "12345", None);
    eight("integer minimum", r#""type": "integer", "constraints": {"minimum": 0}"#, "12345", None);
    eight("number", r#""type": "number""#, "-73.04", None);
    eight("boolean", r#""type": "boolean""#, "false", None);
    eight("date", r#""type": "date""#, "2024-01-26", None);
    eight("datetime", r#""type": "datetime""#, "2024-01-26T10:00:00Z", None);
    let keys: Vec<String> = (0..ROWS).map(|i| i.to_string()).collect();
    let fields = (0..8).map(|i| {
        format!(
            r#"{{"name": "f{i}", "type": "string"{}}}"#,
            if i == 0 { r#", "constraints": {"unique": true}"# } else { "" }
        )
    });
    bench("string, one unique", &fields.collect::<Vec<_>>().join(", "), &["x"; 8], Some(&keys));
    bench(
        "zip-like, unique key",
        r#"{"name": "zip", "type": "integer", "constraints": {"unique": true}},
           {"name": "type", "type": "string", "constraints": {"enum": ["STANDARD", "PO BOX", "UNIQUE", "MILITARY"]}},
           {"name": "city", "type": "string", "constraints": {"required": true}},
           {"name": "state", "type": "string", "constraints": {"pattern": "[A-Z]{2}"}},
           {"name": "lat", "type": "number", "constraints": {"minimum": -90, "maximum": 90}},
           {"name": "lon", "type": "number", "constraints": {"minimum": -180, "maximum": 180}},
           {"name": "pop", "type": "integer", "constraints": {"minimum": 0}},
           {"name": "decommissioned", "type": "boolean"}"#,
        &["501", "UNIQUE", "Holtsville", "NY", "40.81", "-73.04", "562", "false"],
        Some(&keys),
    );
}
