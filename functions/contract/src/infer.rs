//! A starting descriptor inferred from a sample (`cargo xtask feed describe`): each
//! column's narrowest type that reads every value, `required` where no value is missing,
//! `enum` for low-cardinality text, `pattern` for fixed-width digit codes, the bounds
//! seen, and `missingValues` for the usual markers of a gap (`NA`, `NULL`, …) where they
//! stand among a typed column's values. Built to be edited: it accepts every row of its
//! own sample, no more.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::number::{self, NumberFormat};
use crate::temporal::{self, Kind};

/// What one column's values have shown so far.
#[derive(Debug, Clone)]
struct Column {
    name: String,
    missing: u64,
    seen: u64,
    integer: bool,
    number: bool,
    boolean: bool,
    date: bool,
    datetime: bool,
    /// Distinct values, until there are more than the enum limit (then `None`).
    distinct: Option<BTreeSet<String>>,
    /// All values digits of one width: that width.
    digits_width: Option<Option<usize>>,
    min: Option<(f64, String)>,
    max: Option<(f64, String)>,
    max_chars: usize,
    /// How often each of [`MISSING_MARKERS`] was the whole cell: a gap if the other values
    /// have a type, else text like any other.
    markers: BTreeMap<&'static str, u64>,
}

/// What exports write for "no value" (R's and pandas' `NA`, SQL's `NULL`, spreadsheets'
/// `#N/A`): kept out of a column's type, and declared missing where the column has one.
const MISSING_MARKERS: [&str; 7] = ["NA", "N/A", "n/a", "#N/A", "NULL", "null", "None"];

/// Observes rows, then writes the descriptor.
#[derive(Debug, Clone)]
pub struct Inference {
    columns: Vec<Column>,
    max_enum: usize,
    rows: u64,
}

const TRUE: [&str; 4] = ["true", "True", "TRUE", "1"];
const FALSE: [&str; 4] = ["false", "False", "FALSE", "0"];

impl Inference {
    /// Columns named by the header's labels; text with at most `max_enum` distinct values
    /// becomes an `enum`.
    pub fn new(labels: &[&str], max_enum: usize) -> Inference {
        let columns = labels
            .iter()
            .map(|l| Column {
                name: l.trim().to_owned(),
                missing: 0,
                seen: 0,
                integer: true,
                number: true,
                boolean: true,
                date: true,
                datetime: true,
                distinct: Some(BTreeSet::new()),
                digits_width: None,
                min: None,
                max: None,
                max_chars: 0,
                markers: BTreeMap::new(),
            })
            .collect();
        Inference { columns, max_enum, rows: 0 }
    }

    /// One data row's cells (cells beyond the header are ignored; missing ones count as missing).
    pub fn observe(&mut self, cells: &[&str]) {
        self.rows += 1;
        let mut digits = Vec::new();
        for (i, column) in self.columns.iter_mut().enumerate() {
            let cell = cells.get(i).copied().unwrap_or("");
            if cell.is_empty() {
                column.missing += 1;
                continue;
            }
            if let Some(marker) = MISSING_MARKERS.iter().find(|m| **m == cell) {
                *column.markers.entry(marker).or_default() += 1;
                continue;
            }
            column.seen += 1;
            column.max_chars = column.max_chars.max(cell.chars().count());
            let integer = number::parse(cell, &NumberFormat::plain(true), &mut digits).is_some();
            let number = integer
                || (number::parse(cell, &NumberFormat::plain(false), &mut digits).is_some()
                    && !cell.eq_ignore_ascii_case("nan")
                    && !cell.trim_start_matches('-').eq_ignore_ascii_case("inf"));
            column.integer &= integer;
            column.number &= number;
            column.boolean &= TRUE.contains(&cell) || FALSE.contains(&cell);
            column.date &= temporal::parse_default(Kind::Date, cell).is_some();
            column.datetime &= temporal::parse_default(Kind::DateTime, cell).is_some();
            if number && let Ok(value) = cell.trim().parse::<f64>() {
                if column.min.as_ref().is_none_or(|(m, _)| value < *m) {
                    column.min = Some((value, cell.trim().to_owned()));
                }
                if column.max.as_ref().is_none_or(|(m, _)| value > *m) {
                    column.max = Some((value, cell.trim().to_owned()));
                }
            }
            let width = cell.bytes().all(|b| b.is_ascii_digit()).then_some(cell.len());
            column.digits_width = match column.digits_width {
                None => Some(width),
                Some(w) if w == width => Some(w),
                Some(_) => Some(None),
            };
            if let Some(set) = &mut column.distinct {
                set.insert(cell.to_owned());
                if set.len() > self.max_enum {
                    column.distinct = None;
                }
            }
        }
    }

    /// The descriptor, as JSON text in the order a person reads it (name, type,
    /// constraints); it loads with [`crate::Contract`].
    pub fn descriptor(&self) -> String {
        // A marker is a gap in a column of a type, a value in a column of text: the
        // markers go to the schema's `missingValues` when no text column holds one (the
        // common case, and the shortest descriptor), else to each typed column's own.
        let typed: Vec<bool> = self.columns.iter().map(|c| type_name(c) != "string").collect();
        let text_holds_a_marker = self.columns.iter().zip(&typed).any(|(c, typed)| !typed && !c.markers.is_empty());
        let mut schema_markers = BTreeSet::new();
        let fields = self
            .columns
            .iter()
            .zip(&typed)
            .map(|(c, &typed)| {
                if !typed {
                    return self.field(&self.as_text(c), None);
                }
                let markers: Vec<&'static str> = c.markers.keys().copied().collect();
                if text_holds_a_marker {
                    let own = (!markers.is_empty()).then(|| [""].into_iter().chain(markers).collect());
                    return self.field(c, own);
                }
                schema_markers.extend(markers);
                self.field(c, None)
            })
            .collect();
        let missing_values =
            (!schema_markers.is_empty()).then(|| [""].into_iter().chain(schema_markers.iter().copied()).collect());
        let descriptor = Descriptor {
            schema: "https://datapackage.org/profiles/2.0/tableschema.json",
            description: format!("Inferred from a sample of {} rows: edit before use.", self.rows),
            missing_values,
            fields,
        };
        serde_json::to_string_pretty(&descriptor).unwrap_or_default()
    }

    /// A text column's markers were values like its others.
    fn as_text(&self, c: &Column) -> Column {
        let mut text = c.clone();
        for (marker, count) in std::mem::take(&mut text.markers) {
            text.seen += count;
            (text.integer, text.number, text.boolean, text.date, text.datetime) = (false, false, false, false, false);
            text.max_chars = text.max_chars.max(marker.chars().count());
            text.digits_width = Some(None);
            if let Some(set) = &mut text.distinct {
                set.insert(marker.to_owned());
                if set.len() > self.max_enum {
                    text.distinct = None;
                }
            }
        }
        text
    }

    fn field(&self, c: &Column, missing_values: Option<Vec<&'static str>>) -> FieldOut {
        let mut constraints = Map::new();
        let gaps = c.missing + c.markers.values().sum::<u64>();
        if gaps == 0 && self.rows > 0 {
            constraints.insert("required".into(), json!(true));
        }
        let any = c.seen > 0;
        let type_name = type_name(c);
        let code = any && matches!(c.digits_width, Some(Some(w)) if w > 1);
        match type_name {
            "integer" | "number" => {
                if let (Some((_, min)), Some((_, max))) = (&c.min, &c.max) {
                    for (key, text) in [("minimum", min), ("maximum", max)] {
                        let bound = text.parse::<i64>().map(Value::from).unwrap_or_else(|_| json!(text));
                        constraints.insert(key.into(), bound);
                    }
                }
            }
            "string" => {
                if let Some(Some(width)) = c.digits_width.filter(|_| code) {
                    constraints.insert("pattern".into(), json!(format!("[0-9]{{{width}}}")));
                } else if let Some(values) = c.distinct.as_ref().filter(|v| !v.is_empty()) {
                    constraints.insert("enum".into(), json!(values.iter().collect::<Vec<_>>()));
                } else if any {
                    constraints.insert("maxLength".into(), json!(c.max_chars));
                }
            }
            _ => {}
        }
        FieldOut {
            name: c.name.clone(),
            type_name,
            missing_values,
            constraints: (!constraints.is_empty()).then_some(constraints),
        }
    }
}

/// The narrowest type that reads every value the column has shown (markers aside).
fn type_name(c: &Column) -> &'static str {
    let any = c.seen > 0;
    // A fixed-width code of digits (zip codes, account numbers) keeps its zeros as text.
    let code = any && matches!(c.digits_width, Some(Some(w)) if w > 1);
    let leading_zero = c.min.as_ref().is_some_and(|(_, text)| text.starts_with('0') && text.len() > 1);
    if !any {
        "string"
    } else if c.boolean && !c.integer {
        "boolean"
    } else if code && leading_zero {
        "string"
    } else if c.integer {
        "integer"
    } else if c.number {
        "number"
    } else if c.date {
        "date"
    } else if c.datetime {
        "datetime"
    } else {
        "string"
    }
}

#[derive(Serialize)]
struct Descriptor {
    #[serde(rename = "$schema")]
    schema: &'static str,
    description: String,
    #[serde(rename = "missingValues", skip_serializing_if = "Option::is_none")]
    missing_values: Option<Vec<&'static str>>,
    fields: Vec<FieldOut>,
}

#[derive(Serialize)]
struct FieldOut {
    name: String,
    #[serde(rename = "type")]
    type_name: &'static str,
    #[serde(rename = "missingValues", skip_serializing_if = "Option::is_none")]
    missing_values: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    constraints: Option<Map<String, Value>>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn described(labels: &[&str], rows: &[&[&str]]) -> Value {
        let mut inference = Inference::new(labels, 5);
        for row in rows {
            inference.observe(row);
        }
        let text = inference.descriptor();
        crate::Contract::from_json(&text).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn a_marker_among_typed_values_is_a_missing_value_of_the_schema() {
        let d = described(&["n", "when"], &[&["1", "2024-01-01"], &["NA", "NULL"], &["3", "2024-01-03"]]);
        assert_eq!(d["missingValues"], json!(["", "NA", "NULL"]));
        assert_eq!((&d["fields"][0]["type"], &d["fields"][1]["type"]), (&json!("integer"), &json!("date")));
        assert_eq!(d["fields"][0]["constraints"], json!({"minimum": 1, "maximum": 3}), "a gap: not required");
    }

    #[test]
    fn a_marker_that_is_text_somewhere_stays_a_value_there() {
        // Namibia's country code is `NA`: the markers become the number's own missing values.
        let d = described(&["country", "rate"], &[&["NA", "1.5"], &["DE", "NA"], &["FR", "2"]]);
        assert_eq!(d.get("missingValues"), None);
        assert_eq!(d["fields"][0]["type"], "string");
        assert_eq!(d["fields"][0]["constraints"], json!({"required": true, "enum": ["DE", "FR", "NA"]}));
        assert_eq!(d["fields"][1]["type"], "number");
        assert_eq!(d["fields"][1]["missingValues"], json!(["", "NA"]));
        let only_markers = described(&["note"], &[&["N/A"], &["N/A"]]);
        assert_eq!(only_markers["fields"][0]["type"], "string", "nothing else to type it by");
        assert_eq!(only_markers["fields"][0]["constraints"]["enum"], json!(["N/A"]));
    }
}
