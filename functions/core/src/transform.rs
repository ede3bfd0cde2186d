//! The transform: one pass over an input CSV, writing accepted rows as normalized
//! CSV and rejected or skipped lines as JSON Lines while it reads, so memory stays
//! flat whatever the file's size.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};

use crate::feed::{self, Field, Invalid};
use crate::lines::{FieldSplitter, LineError, Record, RecordReader};

/// Accepted rows are handed to the writer in blocks of about this size.
const OUT_BLOCK: usize = 128 * 1024;

/// Bounds that keep one invocation's memory and time predictable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest physical line (or quoted multi-line record) accepted.
    pub max_line_bytes: usize,
    /// Largest input one invocation takes; checked by the caller before reading.
    pub max_input_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_line_bytes: 64 * 1024, max_input_bytes: 4 * 1024 * 1024 * 1024 }
    }
}

/// What one file's transform did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Physical lines read, the header included.
    pub lines_read: u64,
    pub bytes_read: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// Blank lines, skipped (and listed in the rejects report).
    pub blank: u64,
    /// Invalid values per field (`row` for a wrong field count).
    pub errors_by_field: BTreeMap<String, u64>,
    /// Header columns that are not part of the feed and were dropped.
    pub ignored_columns: Vec<String>,
    /// Set when the whole file was refused; the counts then cover what was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Why a whole file is refused. Nothing it produced may be published.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("the file is empty: expected a header line")]
    Empty,
    #[error("the file looks {0}-compressed: upload the uncompressed CSV")]
    Compressed(&'static str),
    #[error("the header (line 1) is not valid UTF-8 text: is this a CSV file?")]
    HeaderNotUtf8,
    #[error("the header (line 1) lacks required column{}: {}", if .0.len() == 1 { "" } else { "s" }, .0.join(", "))]
    MissingColumns(Vec<&'static str>),
    #[error("the header (line 1) names column {0} twice")]
    DuplicateColumn(String),
    #[error("no data rows after the header")]
    NoRows,
    #[error("line {line} is longer than {limit} bytes (the limit for one line)")]
    LineTooLong { line: u64, limit: usize },
    #[error("line {line}: a quoted field is not closed within the line limit")]
    UnclosedQuote { line: u64 },
    #[error("reading the input: {0}")]
    Read(io::Error),
    #[error("writing the output: {0}")]
    Write(io::Error),
}

/// A refused file: the error and the counts up to the point of refusal.
#[derive(Debug)]
pub struct Failure {
    pub error: FileError,
    pub summary: Summary,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for Failure {}

/// Where each of the nine fields sits in the input.
struct Columns {
    index: [usize; 9],
    count: usize,
}

impl Columns {
    fn from_header(header: &[u8], splitter: &mut FieldSplitter, ignored: &mut Vec<String>) -> Result<Self, FileError> {
        let header = std::str::from_utf8(header).map_err(|_| FileError::HeaderNotUtf8)?;
        let header = header.strip_prefix('\u{feff}').unwrap_or(header);
        splitter.split(header.as_bytes());
        let mut index = [usize::MAX; 9];
        for i in 0..splitter.len() {
            let cell = String::from_utf8_lossy(splitter.field(header.as_bytes(), i)).into_owned();
            match Field::from_header(&cell) {
                Some(field) if index[field as usize] != usize::MAX => return Err(FileError::DuplicateColumn(cell)),
                Some(field) => index[field as usize] = i,
                None => ignored.push(cell),
            }
        }
        let missing: Vec<_> =
            Field::ALL.into_iter().filter(|f| index[*f as usize] == usize::MAX).map(Field::export_name).collect();
        if !missing.is_empty() {
            return Err(FileError::MissingColumns(missing));
        }
        Ok(Self { index, count: splitter.len() })
    }
}

#[derive(Serialize)]
struct RejectLine<'a> {
    line: u64,
    raw: &'a str,
    errors: &'a [FieldErrorJson<'a>],
}

#[derive(Serialize)]
struct FieldErrorJson<'a> {
    field: &'static str,
    value: std::borrow::Cow<'a, str>,
    reason: std::borrow::Cow<'static, str>,
}

/// Transforms `input` into `accepted` (normalized CSV with [`feed::OUTPUT_HEADER`])
/// and `rejects` (JSON Lines), both streamed.
pub fn transform(
    mut input: impl Read,
    mut accepted: impl Write,
    mut rejects: impl Write,
    limits: &Limits,
) -> Result<Summary, Box<Failure>> {
    transform_dyn(&mut input, &mut accepted, &mut rejects, limits)
}

/// Not generic on purpose: a generic body would be compiled in each caller's crate
/// with the caller's optimization level (unoptimized in xtask's dev profile); behind
/// `dyn` it is compiled once, here, optimized. The indirection costs one virtual call
/// per 256 KiB read or 128 KiB written.
fn transform_dyn(
    input: &mut dyn Read,
    accepted: &mut dyn Write,
    rejects: &mut dyn Write,
    limits: &Limits,
) -> Result<Summary, Box<Failure>> {
    let mut state = State::new(input, accepted, rejects, limits);
    match state.run() {
        Ok(()) => Ok(state.summary()),
        Err(error) => {
            let mut summary = state.summary();
            summary.error = Some(error.to_string());
            Err(Box::new(Failure { error, summary }))
        }
    }
}

struct State<R, A: Write, J: Write> {
    records: RecordReader<R>,
    rows: Rows<A, J>,
}

/// Everything a row touches, apart from the reader that lends the row's bytes.
struct Rows<A: Write, J: Write> {
    accepted: A,
    rejects: io::BufWriter<J>,
    summary: Summary,
    /// Accepted rows not yet handed to `accepted`; written in large blocks.
    out: Vec<u8>,
    splitter: FieldSplitter,
}

impl<R: Read, A: Write, J: Write> State<R, A, J> {
    fn new(input: R, accepted: A, rejects: J, limits: &Limits) -> Self {
        Self {
            records: RecordReader::new(input, limits.max_line_bytes),
            rows: Rows {
                accepted,
                rejects: io::BufWriter::with_capacity(64 * 1024, rejects),
                summary: Summary::default(),
                out: Vec::with_capacity(OUT_BLOCK + 1024),
                splitter: FieldSplitter::default(),
            },
        }
    }

    fn summary(&self) -> Summary {
        let mut summary = self.rows.summary.clone();
        summary.lines_read = self.records.lines_read();
        summary.bytes_read = self.records.bytes_read();
        summary
    }

    fn run(&mut self) -> Result<(), FileError> {
        let Self { records, rows } = self;
        let Some(header) = records.next_record().map_err(line_error)? else {
            return Err(FileError::Empty);
        };
        if header.bytes.starts_with(&[0x1f, 0x8b]) {
            return Err(FileError::Compressed("gzip"));
        }
        if header.bytes.starts_with(b"PK\x03\x04") {
            return Err(FileError::Compressed("zip"));
        }
        let columns = Columns::from_header(header.bytes, &mut rows.splitter, &mut rows.summary.ignored_columns)?;
        rows.out.extend_from_slice(feed::OUTPUT_HEADER.as_bytes());
        rows.out.push(b'\n');
        let mut count = 0u64;
        while let Some(record) = records.next_record().map_err(line_error)? {
            count += 1;
            rows.row(&record, &columns)?;
        }
        if count == 0 {
            return Err(FileError::NoRows);
        }
        rows.accepted.write_all(&rows.out).map_err(FileError::Write)?;
        rows.out.clear();
        rows.accepted.flush().map_err(FileError::Write)?;
        rows.rejects.flush().map_err(FileError::Write)?;
        Ok(())
    }
}

impl<A: Write, J: Write> Rows<A, J> {
    fn row(&mut self, record: &Record<'_>, columns: &Columns) -> Result<(), FileError> {
        let (line, record, quoted) = (record.line, record.bytes, record.quoted);
        if record.iter().all(u8::is_ascii_whitespace) {
            self.summary.blank += 1;
            let errors = [FieldErrorJson { field: "row", value: "".into(), reason: "blank line, skipped".into() }];
            return write_reject(&mut self.rejects, line, record, &errors);
        }
        self.splitter.split_known(record, quoted);
        if self.splitter.len() != columns.count {
            self.summary.rejected += 1;
            *self.summary.errors_by_field.entry("row".to_owned()).or_default() += 1;
            let errors = [FieldErrorJson {
                field: "row",
                value: format!("{} field{}", self.splitter.len(), if self.splitter.len() == 1 { "" } else { "s" })
                    .into(),
                reason: format!("expected {} fields as in the header, found {}", columns.count, self.splitter.len())
                    .into(),
            }];
            return write_reject(&mut self.rejects, line, record, &errors);
        }
        let field = |f: Field| self.splitter.field(record, columns.index[f as usize]);
        match validate(field) {
            Ok(row) => {
                row.write_csv(&mut self.out);
                self.summary.accepted += 1;
                if self.out.len() >= OUT_BLOCK {
                    self.accepted.write_all(&self.out).map_err(FileError::Write)?;
                    self.out.clear();
                }
                Ok(())
            }
            Err(invalid) => {
                self.summary.rejected += 1;
                let errors: Vec<FieldErrorJson<'_>> = invalid
                    .iter()
                    .map(|(f, why)| {
                        let value = field(*f);
                        let reason = if std::str::from_utf8(value).is_err() { Invalid::NotUtf8 } else { *why };
                        FieldErrorJson {
                            field: f.name(),
                            value: String::from_utf8_lossy(value),
                            reason: reason.reason().into(),
                        }
                    })
                    .collect();
                for (f, _) in &invalid {
                    *self.summary.errors_by_field.entry(f.name().to_owned()).or_default() += 1;
                }
                write_reject(&mut self.rejects, line, record, &errors)
            }
        }
    }
}

fn line_error(e: LineError) -> FileError {
    match e {
        LineError::TooLong { line, limit } => FileError::LineTooLong { line, limit },
        LineError::UnclosedQuote { line } => FileError::UnclosedQuote { line },
        LineError::Io(e) => FileError::Read(e),
    }
}

fn write_reject(out: &mut impl Write, line: u64, raw: &[u8], errors: &[FieldErrorJson<'_>]) -> Result<(), FileError> {
    let raw = String::from_utf8_lossy(raw);
    let reject = RejectLine { line, raw: &raw, errors };
    serde_json::to_writer(&mut *out, &reject).map_err(|e| FileError::Write(e.into()))?;
    out.write_all(b"\n").map_err(FileError::Write)
}

/// A valid row, borrowing the input; only coordinates and booleans change form.
pub struct Row<'a> {
    pub zipcode: [u8; 5],
    pub zipcode_type: &'a [u8],
    pub city: &'a [u8],
    pub state: &'a [u8],
    pub location_type: &'a [u8],
    pub latitude: Option<feed::Hundredths>,
    pub longitude: Option<feed::Hundredths>,
    pub location: &'a [u8],
    pub decommissioned: bool,
}

impl Row<'_> {
    /// Appends the row as one normalized CSV line; only `location` may hold a comma,
    /// so it is the only field that can need quotes (no field may hold a quote).
    fn write_csv(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.zipcode);
        for part in [self.zipcode_type, self.city, self.state, self.location_type] {
            out.push(b',');
            out.extend_from_slice(part);
        }
        for coordinate in [self.latitude, self.longitude] {
            out.push(b',');
            if let Some(c) = coordinate {
                let (buf, len) = c.format();
                out.extend_from_slice(&buf[..len]);
            }
        }
        out.push(b',');
        if memchr::memchr(b',', self.location).is_some() {
            out.push(b'"');
            out.extend_from_slice(self.location);
            out.push(b'"');
        } else {
            out.extend_from_slice(self.location);
        }
        out.extend_from_slice(if self.decommissioned { b",true\n" } else { b",false\n" });
    }
}

/// Applies every rule to a row given a way to read its fields; reports every
/// invalid field, not just the first.
pub fn validate<'a>(field: impl Fn(Field) -> &'a [u8]) -> Result<Row<'a>, Vec<(Field, Invalid)>> {
    let mut errors = Vec::new();
    let mut check = |f: Field, result: Result<(), Invalid>| {
        if let Err(e) = result {
            errors.push((f, e));
        }
    };
    let zipcode = feed::zipcode(field(Field::Zipcode));
    check(Field::Zipcode, zipcode.map(drop));
    let zipcode_type = field(Field::ZipcodeType);
    check(Field::ZipcodeType, feed::zipcode_type(zipcode_type));
    check(Field::City, feed::city(field(Field::City)));
    check(Field::State, feed::state(field(Field::State)));
    check(Field::LocationType, feed::location_type(field(Field::LocationType)));
    let military = zipcode_type == b"MILITARY";
    let coordinate = |value: &[u8], rule: fn(&[u8]) -> Result<feed::Hundredths, Invalid>| {
        if value == feed::UNKNOWN {
            if military { Ok(None) } else { Err(Invalid::UnknownOnlyForMilitary) }
        } else {
            rule(value).map(Some)
        }
    };
    let latitude = coordinate(field(Field::Latitude), feed::latitude);
    check(Field::Latitude, latitude.map(drop));
    let longitude = coordinate(field(Field::Longitude), feed::longitude);
    check(Field::Longitude, longitude.map(drop));
    check(Field::Location, feed::location(field(Field::Location)));
    let decommissioned = feed::decommissioned(field(Field::Decommissioned));
    check(Field::Decommissioned, decommissioned.map(drop));
    match (zipcode, latitude, longitude, decommissioned) {
        (Ok(zipcode), Ok(latitude), Ok(longitude), Ok(decommissioned)) if errors.is_empty() => Ok(Row {
            zipcode,
            zipcode_type,
            city: field(Field::City),
            state: field(Field::State),
            location_type: field(Field::LocationType),
            latitude,
            longitude,
            location: field(Field::Location),
            decommissioned,
        }),
        _ => Err(errors),
    }
}
