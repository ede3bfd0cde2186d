//! Reading the transform's normalized CSV: columns found by header name, rows parsed
//! into [`ZipRow`]s a batch at a time so a file of any size streams through.

use std::io::Read;

/// The staged CSV's header the zip code load reads: the zip code feed's field names
/// (a test holds the two together until the load follows the contract).
pub const OUTPUT_HEADER: &str =
    "zipcode,zipcode_type,city,state,location_type,latitude,longitude,location,decommissioned";

/// One zip code as the load writes it. Coordinates stay decimal text so that the
/// database, not a float conversion, decides their exact value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipRow {
    pub zipcode: String,
    pub zipcode_type: String,
    pub city: String,
    pub state: String,
    pub location_type: String,
    pub latitude: Option<String>,
    pub longitude: Option<String>,
    pub location: String,
    pub decommissioned: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RowError {
    #[error("the file is empty: expected the header `{OUTPUT_HEADER}`")]
    Empty,
    #[error("wrong header: expected the columns `{OUTPUT_HEADER}`, found `{found}` ({problem})")]
    Header { found: String, problem: String },
    #[error("line {line}: {message}")]
    Row { line: u64, message: String },
}

/// How many columns the normalized file has.
const COLUMNS: usize = 9;

/// Streams [`ZipRow`]s out of a normalized CSV.
pub struct RowReader<R: Read> {
    csv: csv::Reader<R>,
    /// Position in the file of each column, in [`OUTPUT_HEADER`] order.
    positions: [usize; COLUMNS],
    record: csv::StringRecord,
}

impl<R: Read> RowReader<R> {
    /// Reads and checks the header; fails before any row is read if it is wrong.
    pub fn new(input: R) -> Result<Self, RowError> {
        let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(input);
        let mut header = csv::StringRecord::new();
        let read = csv
            .read_record(&mut header)
            .map_err(|e| RowError::Header { found: String::new(), problem: e.to_string() })?;
        if !read {
            return Err(RowError::Empty);
        }
        let positions = positions(&header)?;
        Ok(Self { csv, positions, record: csv::StringRecord::new() })
    }

    /// Appends up to `max` rows to `out`; returns how many (0 at the end of the file).
    pub fn next_batch(&mut self, max: usize, out: &mut Vec<ZipRow>) -> Result<usize, RowError> {
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

    fn parse_record(&self) -> Result<ZipRow, RowError> {
        let line = self.record.position().map_or(0, csv::Position::line);
        let bad = |message: String| RowError::Row { line, message };
        if self.record.len() != COLUMNS {
            return Err(bad(format!("{} fields, expected {COLUMNS}", self.record.len())));
        }
        let field = |column: usize| self.record.get(self.positions[column]).unwrap_or_default();
        Ok(ZipRow {
            zipcode: field(0).to_owned(),
            zipcode_type: field(1).to_owned(),
            city: field(2).to_owned(),
            state: field(3).to_owned(),
            location_type: field(4).to_owned(),
            latitude: coordinate(field(5)).map_err(|m| bad(format!("latitude: {m}")))?,
            longitude: coordinate(field(6)).map_err(|m| bad(format!("longitude: {m}")))?,
            location: field(7).to_owned(),
            decommissioned: match field(8) {
                "true" => true,
                "false" => false,
                other => return Err(bad(format!("decommissioned: {other:?} is neither true nor false"))),
            },
        })
    }
}

/// Where each expected column is in `header`: every one exactly once, nothing else.
fn positions(header: &csv::StringRecord) -> Result<[usize; COLUMNS], RowError> {
    let found = header.iter().collect::<Vec<_>>().join(",");
    let wrong = |problem: String| RowError::Header { found: found.clone(), problem };
    let expected: Vec<&str> = OUTPUT_HEADER.split(',').collect();
    let mut positions = [usize::MAX; COLUMNS];
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

/// An empty field is an unknown coordinate; anything else must be a number.
fn coordinate(text: &str) -> Result<Option<String>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(Some(text.to_owned())),
        _ => Err(format!("{text:?} is not a number")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_header_read_is_the_zip_code_contracts_field_names() {
        let feed = zipster_core::feeds::builtin(zipster_core::feeds::ZIPCODES).unwrap();
        assert_eq!(zipster_core::transform::output_header(&feed.contract), OUTPUT_HEADER);
    }

    fn read_all(text: &str) -> Result<Vec<ZipRow>, RowError> {
        let mut reader = RowReader::new(text.as_bytes())?;
        let mut rows = Vec::new();
        while reader.next_batch(2, &mut rows)? > 0 {}
        Ok(rows)
    }

    #[test]
    fn reads_columns_by_name_in_any_order() {
        let text = "city,zipcode,zipcode_type,state,location_type,latitude,longitude,location,decommissioned\n\
                    PEQUANNOCK,07440,STANDARD,NJ,PRIMARY,40.94,-74.29,NA-US-NJ-PEQUANNOCK,false\n\
                    APO,09340,MILITARY,AE,PRIMARY,,,\"NA-XK-CAMP BONDSTEEL, KOSOVO\",true\n";
        let rows = read_all(text).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].zipcode, "07440");
        assert_eq!(rows[0].city, "PEQUANNOCK");
        assert_eq!(rows[0].latitude.as_deref(), Some("40.94"));
        assert!(!rows[0].decommissioned);
        assert_eq!(rows[1].latitude, None);
        assert_eq!(rows[1].location, "NA-XK-CAMP BONDSTEEL, KOSOVO");
        assert!(rows[1].decommissioned);
    }

    #[test]
    fn rejects_the_raw_export_header() {
        let text = "Zipcode,ZipCodeType,City,State,LocationType,Lat,Long,Location,Decommisioned\n";
        let err = RowReader::new(text.as_bytes()).err().unwrap();
        assert!(matches!(err, RowError::Header { .. }), "{err}");
        assert!(err.to_string().contains("unexpected column \"Zipcode\""), "{err}");
    }

    #[test]
    fn rejects_missing_and_duplicate_columns() {
        let missing = "zipcode,zipcode_type,city,state,location_type,latitude,longitude,location\n";
        let err = RowReader::new(missing.as_bytes()).err().unwrap();
        assert!(err.to_string().contains("missing column \"decommissioned\""), "{err}");
        let twice = format!("{OUTPUT_HEADER},city\n");
        let err = RowReader::new(twice.as_bytes()).err().unwrap();
        assert!(err.to_string().contains("\"city\" appears twice"), "{err}");
        assert_eq!(RowReader::new(&b""[..]).err(), Some(RowError::Empty));
    }

    #[test]
    fn reports_the_line_of_a_bad_row() {
        let text = format!(
            "{OUTPUT_HEADER}\n07440,STANDARD,PEQUANNOCK,NJ,PRIMARY,40.94,-74.29,X,false\n\
             07444,STANDARD,POMPTON PLAINS,NJ,PRIMARY,north,-74.3,X,false\n"
        );
        let err = read_all(&text).unwrap_err();
        assert_eq!(err, RowError::Row { line: 3, message: "latitude: \"north\" is not a number".to_owned() });
        let short = format!("{OUTPUT_HEADER}\n07440,STANDARD\n");
        assert!(read_all(&short).unwrap_err().to_string().contains("2 fields, expected 9"));
        let flag = format!("{OUTPUT_HEADER}\n07440,STANDARD,P,NJ,PRIMARY,1,2,X,FALSE\n");
        assert!(read_all(&flag).unwrap_err().to_string().contains("neither true nor false"));
    }
}
