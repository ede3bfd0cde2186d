//! A starting descriptor inferred from a sample (`cargo xtask feed describe`): each
//! column's narrowest type that reads every value, `required` where no value is missing,
//! `enum` for low-cardinality text, `pattern` for fixed-width digit codes, and the
//! bounds seen. Built to be edited: it accepts every row of its own sample, no more.

use std::collections::BTreeSet;

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
}

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
        let descriptor = Descriptor {
            schema: "https://datapackage.org/profiles/2.0/tableschema.json",
            description: format!("Inferred from a sample of {} rows: edit before use.", self.rows),
            fields: self.columns.iter().map(|c| self.field(c)).collect(),
        };
        serde_json::to_string_pretty(&descriptor).unwrap_or_default()
    }

    fn field<'a>(&self, c: &'a Column) -> FieldOut<'a> {
        let mut constraints = Map::new();
        if c.missing == 0 && self.rows > 0 {
            constraints.insert("required".into(), json!(true));
        }
        let any = c.seen > 0;
        // A fixed-width code of digits (zip codes, account numbers) keeps its zeros as text.
        let code = any && matches!(c.digits_width, Some(Some(w)) if w > 1);
        let leading_zero = c.min.as_ref().is_some_and(|(_, text)| text.starts_with('0') && text.len() > 1);
        let type_name = if !any {
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
        };
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
        FieldOut { name: &c.name, type_name, constraints: (!constraints.is_empty()).then_some(constraints) }
    }
}

#[derive(Serialize)]
struct Descriptor<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    description: String,
    fields: Vec<FieldOut<'a>>,
}

#[derive(Serialize)]
struct FieldOut<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    type_name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    constraints: Option<Map<String, Value>>,
}
