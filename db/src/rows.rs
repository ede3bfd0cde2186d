//! Reading the transform's normalized CSV for a feed's table: columns found by header
//! name (the contract's field names), rows read a batch at a time so a file of any size
//! streams through, each value checked as far as its column needs before the database
//! sees it (a boolean is `true`/`false`, a number is a finite number), so that a wrong
//! staged file fails with its line number rather than with a database error.

use std::io::Read;

use zipster_contract::{Table, TableColumn, ValueKind};

/// The staged CSV's header the zip code load reads: the zip code feed's field names
/// (a test holds it and the contract together; the seed and the tests write it).
pub const OUTPUT_HEADER: &str =
    "zipcode,zipcode_type,city,state,location_type,latitude,longitude,location,decommissioned";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RowError {
    #[error("the file is empty: expected the header `{expected}`")]
    Empty { expected: String },
    #[error("wrong header: expected the columns `{expected}`, found `{found}` ({problem})")]
    Header { expected: String, found: String, problem: String },
    #[error("line {line}: {message}")]
    Row { line: u64, message: String },
}

/// One value as the load binds it (`None`: SQL NULL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Boolean(bool),
    Text(String),
}

/// Streams rows out of a normalized CSV, in the table's column order.
pub struct RowReader<R: Read> {
    csv: csv::Reader<R>,
    /// Position in the file of each table column.
    positions: Vec<usize>,
    columns: Vec<TableColumn>,
    record: csv::StringRecord,
}

impl<R: Read> RowReader<R> {
    /// Reads and checks the header against `table`'s fields; fails before any row is read.
    pub fn new(input: R, table: &Table) -> Result<Self, RowError> {
        let expected: Vec<&str> = table.columns.iter().map(|c| c.field.as_str()).collect();
        let expected_text = expected.join(",");
        let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(input);
        let mut header = csv::StringRecord::new();
        let read = csv.read_record(&mut header).map_err(|e| RowError::Header {
            expected: expected_text.clone(),
            found: String::new(),
            problem: e.to_string(),
        })?;
        if !read {
            return Err(RowError::Empty { expected: expected_text });
        }
        let positions = positions(&header, &expected, &expected_text)?;
        Ok(Self { csv, positions, columns: table.columns.clone(), record: csv::StringRecord::new() })
    }

    /// Appends up to `max` rows to `out`; returns how many (0 at the end of the file).
    pub fn next_batch(&mut self, max: usize, out: &mut Vec<Vec<Value>>) -> Result<usize, RowError> {
        let mut read = 0;
        while read < max {
            let more = self.csv.read_record(&mut self.record).map_err(|e| RowError::Row {
                line: e.position().map_or(0, csv::Position::line),
                message: e.to_string(),
            })?;
            if !more {
                break;
            }
            out.push(self.parse_record()?);
            read += 1;
        }
        Ok(read)
    }

    fn parse_record(&self) -> Result<Vec<Value>, RowError> {
        let line = self.record.position().map_or(0, csv::Position::line);
        let bad = |message: String| RowError::Row { line, message };
        let columns = self.positions.len();
        if self.record.len() != columns {
            return Err(bad(format!("{} fields, expected {columns}", self.record.len())));
        }
        let mut row = Vec::with_capacity(columns);
        for (column, &at) in self.columns.iter().zip(&self.positions) {
            let text = self.record.get(at).unwrap_or_default();
            let name = &column.field;
            // An empty cell is a missing value: NULL where the column allows it.
            if text.is_empty() && column.nullable {
                row.push(Value::Null);
                continue;
            }
            row.push(match column.kind {
                ValueKind::Boolean => match text {
                    "true" => Value::Boolean(true),
                    "false" => Value::Boolean(false),
                    other => return Err(bad(format!("{name}: {other:?} is neither true nor false"))),
                },
                ValueKind::Number => match text.parse::<f64>() {
                    Ok(value) if value.is_finite() => Value::Text(text.to_owned()),
                    _ => return Err(bad(format!("{name}: {text:?} is not a number"))),
                },
                ValueKind::DateTime | ValueKind::Time => match column.kind.database_text(text) {
                    Some(value) => Value::Text(value),
                    None => {
                        let kind = if column.kind == ValueKind::Time { "time" } else { "datetime" };
                        return Err(bad(format!("{name}: {text:?} is not a {kind} in the form the transform stages")));
                    }
                },
                ValueKind::Text => Value::Text(text.to_owned()),
            });
        }
        Ok(row)
    }
}

/// Where each expected column is in `header`: every one exactly once, nothing else.
fn positions(header: &csv::StringRecord, expected: &[&str], expected_text: &str) -> Result<Vec<usize>, RowError> {
    let found = header.iter().collect::<Vec<_>>().join(",");
    let wrong =
        |problem: String| RowError::Header { expected: expected_text.to_owned(), found: found.clone(), problem };
    let mut positions = vec![usize::MAX; expected.len()];
    for (at, cell) in header.iter().enumerate() {
        let name = cell.trim_start_matches('\u{feff}').trim();
        let column =
            expected.iter().position(|e| *e == name).ok_or_else(|| wrong(format!("unexpected column {name:?}")))?;
        if positions[column] != usize::MAX {
            return Err(wrong(format!("column {name:?} appears twice")));
        }
        positions[column] = at;
    }
    if let Some(missing) = positions.iter().position(|p| *p == usize::MAX) {
        return Err(wrong(format!("missing column {:?}", expected[missing])));
    }
    Ok(positions)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn zipcodes() -> Table {
        zipster_core::feeds::builtin(zipster_core::feeds::ZIPCODES).unwrap().contract.table("zipcodes")
    }

    #[test]
    fn the_header_read_is_the_zip_code_contracts_field_names() {
        let feed = zipster_core::feeds::builtin(zipster_core::feeds::ZIPCODES).unwrap();
        assert_eq!(zipster_core::transform::output_header(&feed.contract), OUTPUT_HEADER);
    }

    fn read_all(text: &str) -> Result<Vec<Vec<Value>>, RowError> {
        let mut reader = RowReader::new(text.as_bytes(), &zipcodes())?;
        let mut rows = Vec::new();
        while reader.next_batch(2, &mut rows)? > 0 {}
        Ok(rows)
    }

    fn text(v: &str) -> Value {
        Value::Text(v.to_owned())
    }

    #[test]
    fn reads_columns_by_name_in_any_order() {
        let text_file = "city,zipcode,zipcode_type,state,location_type,latitude,longitude,location,decommissioned\n\
                    PEQUANNOCK,07440,STANDARD,NJ,PRIMARY,40.94,-74.29,NA-US-NJ-PEQUANNOCK,false\n\
                    APO,09340,MILITARY,AE,PRIMARY,,,\"NA-XK-CAMP BONDSTEEL, KOSOVO\",true\n";
        let rows = read_all(text_file).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0][0], text("07440"));
        assert_eq!(rows[0][2], text("PEQUANNOCK"));
        assert_eq!(rows[0][5], text("40.94"));
        assert_eq!(rows[0][8], Value::Boolean(false));
        assert_eq!(rows[1][5], Value::Null, "an unknown coordinate is NULL");
        assert_eq!(rows[1][7], text("NA-XK-CAMP BONDSTEEL, KOSOVO"));
        assert_eq!(rows[1][8], Value::Boolean(true));
    }

    #[test]
    fn rejects_the_raw_export_header() {
        let raw = "Zipcode,ZipCodeType,City,State,LocationType,Lat,Long,Location,Decommisioned\n";
        let err = RowReader::new(raw.as_bytes(), &zipcodes()).err().unwrap();
        assert!(matches!(err, RowError::Header { .. }), "{err}");
        assert!(err.to_string().contains("unexpected column \"Zipcode\""), "{err}");
        assert!(err.to_string().starts_with(&format!("wrong header: expected the columns `{OUTPUT_HEADER}`")), "{err}");
    }

    #[test]
    fn rejects_missing_and_duplicate_columns() {
        let missing = "zipcode,zipcode_type,city,state,location_type,latitude,longitude,location\n";
        let err = RowReader::new(missing.as_bytes(), &zipcodes()).err().unwrap();
        assert!(err.to_string().contains("missing column \"decommissioned\""), "{err}");
        let twice = format!("{OUTPUT_HEADER},city\n");
        let err = RowReader::new(twice.as_bytes(), &zipcodes()).err().unwrap();
        assert!(err.to_string().contains("\"city\" appears twice"), "{err}");
        assert_eq!(
            RowReader::new(&b""[..], &zipcodes()).err(),
            Some(RowError::Empty { expected: OUTPUT_HEADER.to_owned() })
        );
    }

    #[test]
    fn reports_the_line_of_a_bad_row() {
        let file = format!(
            "{OUTPUT_HEADER}\n07440,STANDARD,PEQUANNOCK,NJ,PRIMARY,40.94,-74.29,X,false\n\
             07444,STANDARD,POMPTON PLAINS,NJ,PRIMARY,north,-74.3,X,false\n"
        );
        let err = read_all(&file).unwrap_err();
        assert_eq!(err, RowError::Row { line: 3, message: "latitude: \"north\" is not a number".to_owned() });
        let short = format!("{OUTPUT_HEADER}\n07440,STANDARD\n");
        assert!(read_all(&short).unwrap_err().to_string().contains("2 fields, expected 9"));
        let flag = format!("{OUTPUT_HEADER}\n07440,STANDARD,P,NJ,PRIMARY,1,2,X,FALSE\n");
        assert!(read_all(&flag).unwrap_err().to_string().contains("neither true nor false"));
    }
}
