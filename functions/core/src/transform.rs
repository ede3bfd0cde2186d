//! The transform: one pass over an input CSV against a feed's contract, writing accepted
//! rows as normalized CSV and rejected or skipped lines as JSON Lines while it reads, so
//! memory stays flat whatever the file's size. Validation and normalization are the
//! contract's ([`zipster_contract::Validator`]); this module frames records, keeps their
//! physical line numbers and raw text, and writes the outputs.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};

use zipster_contract::{Contract, ErrorType, Validator, byte_mask};
use zipster_report::{Builder, ErrorRef};

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
    /// Set when the whole file was refused or halted; the counts then cover what was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The Frictionless error type of `error` (`missing-label`, `source-error`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
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
    MissingColumns(Vec<String>),
    #[error("the header (line 1) names column {0} twice")]
    DuplicateColumn(String),
    #[error("the header (line 1) does not match the feed's contract: {reason}")]
    Header { kind: ErrorType, reason: String },
    #[error("halted: {0}; nothing was staged (see the rejects report)")]
    Halted(String),
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

impl FileError {
    /// The Frictionless error type a refusal maps to (`reject-threshold`, Zipster's own,
    /// for a halted file: frictionless has no thresholds).
    pub fn error_type(&self) -> &'static str {
        match self {
            FileError::HeaderNotUtf8 => "encoding-error",
            FileError::MissingColumns(_) => ErrorType::MissingLabel.as_str(),
            FileError::DuplicateColumn(_) => ErrorType::DuplicateLabel.as_str(),
            FileError::Header { kind, .. } => kind.as_str(),
            FileError::Halted(_) => "reject-threshold",
            FileError::Write(_) => "general-error",
            FileError::Empty
            | FileError::Compressed(_)
            | FileError::NoRows
            | FileError::LineTooLong { .. }
            | FileError::UnclosedQuote { .. }
            | FileError::Read(_) => "source-error",
        }
    }
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

#[derive(Serialize)]
struct RejectLine<'a> {
    line: u64,
    raw: &'a str,
    errors: &'a [ErrorJson<'a>],
}

#[derive(Serialize)]
struct ErrorJson<'a> {
    field: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    value: &'a str,
    reason: &'a str,
}

/// Transforms `input` against `contract` into `accepted` (normalized CSV, a header of
/// the contract's field names) and `rejects` (JSON Lines), both streamed.
pub fn transform(
    contract: &Contract,
    mut input: impl Read,
    mut accepted: impl Write,
    mut rejects: impl Write,
    limits: &Limits,
) -> Result<Summary, Box<Failure>> {
    transform_dyn(contract, &mut input, &mut accepted, &mut rejects, limits, None).0
}

/// [`transform`], also building the file's data-quality page from the same pass: each
/// rejected or blank line goes to the page's builder (complete counts, a bounded sample),
/// for the caller to render with what it knows of the file (key, feed, time, links).
pub fn transform_with_report(
    contract: &Contract,
    mut input: impl Read,
    mut accepted: impl Write,
    mut rejects: impl Write,
    limits: &Limits,
    max_lines: usize,
) -> (Result<Summary, Box<Failure>>, Builder) {
    let (result, report) = transform_dyn(contract, &mut input, &mut accepted, &mut rejects, limits, Some(max_lines));
    (result, report.unwrap_or_else(|| Builder::new(&[], max_lines)))
}

/// Not generic on purpose: a generic body would be compiled in each caller's crate
/// with the caller's optimization level (unoptimized in xtask's dev profile); behind
/// `dyn` it is compiled once, here, optimized. The indirection costs one virtual call
/// per 256 KiB read or 128 KiB written.
fn transform_dyn(
    contract: &Contract,
    input: &mut dyn Read,
    accepted: &mut dyn Write,
    rejects: &mut dyn Write,
    limits: &Limits,
    report_lines: Option<usize>,
) -> (Result<Summary, Box<Failure>>, Option<Builder>) {
    let mut state = State::new(input, accepted, rejects, limits);
    state.rows.report_lines = report_lines;
    let result = match state.run(contract) {
        Ok(()) => Ok(state.summary()),
        Err(error) => {
            let mut summary = state.summary();
            summary.error = Some(error.to_string());
            summary.error_type = Some(error.error_type().to_owned());
            Err(Box::new(Failure { error, summary }))
        }
    };
    (result, state.rows.report.take())
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
    /// Accepted rows not yet handed to `accepted` (the header, rows the validator's record
    /// did not keep, and those it kept before them); written in large blocks.
    out: Vec<u8>,
    splitter: FieldSplitter,
    record: zipster_contract::Record,
    /// The data-quality page's builder, once the header is read, when one is asked for.
    report: Option<Builder>,
    report_lines: Option<usize>,
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
                record: zipster_contract::Record::default(),
                report: None,
                report_lines: None,
            },
        }
    }

    fn summary(&self) -> Summary {
        let mut summary = self.rows.summary.clone();
        summary.lines_read = self.records.lines_read();
        summary.bytes_read = self.records.bytes_read();
        summary
    }

    fn run(&mut self, contract: &Contract) -> Result<(), FileError> {
        let Self { records, rows } = self;
        let Some(header) = records.next_record()? else {
            return Err(FileError::Empty);
        };
        if header.bytes.starts_with(&[0x1f, 0x8b]) {
            return Err(FileError::Compressed("gzip"));
        }
        if header.bytes.starts_with(b"PK\x03\x04") {
            return Err(FileError::Compressed("zip"));
        }
        let mut validator = rows.header(contract, header.bytes)?;
        rows.out.extend_from_slice(output_header(contract).as_bytes());
        rows.out.push(b'\n');
        let mut count = 0u64;
        records.for_each_record(|record| {
            count += 1;
            rows.row(&record, contract, &mut validator)
        })?;
        if count == 0 {
            return Err(FileError::NoRows);
        }
        let summary = &rows.summary;
        if let Some(why) = contract.thresholds().exceeded(summary.accepted, summary.rejected) {
            rows.rejects.flush().map_err(FileError::Write)?;
            return Err(FileError::Halted(why));
        }
        rows.write_block()?;
        rows.accepted.flush().map_err(FileError::Write)?;
        rows.rejects.flush().map_err(FileError::Write)?;
        Ok(())
    }
}

impl<A: Write, J: Write> Rows<A, J> {
    /// Matches the header to the contract; a header the contract cannot read refuses the file.
    fn header<'c>(&mut self, contract: &'c Contract, header: &[u8]) -> Result<Validator<'c>, FileError> {
        let header = std::str::from_utf8(header).map_err(|_| FileError::HeaderNotUtf8)?;
        let header = header.strip_prefix('\u{feff}').unwrap_or(header);
        self.splitter.split(header.as_bytes());
        let labels: Vec<String> = (0..self.splitter.len())
            .map(|i| String::from_utf8_lossy(self.splitter.field(header.as_bytes(), i)).into_owned())
            .collect();
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        if let Some(max_lines) = self.report_lines {
            self.report = Some(Builder::new(&labels, max_lines));
        }
        let matched = contract.header(&labels);
        let errors = matched.errors();
        let missing: Vec<String> = errors
            .iter()
            .filter(|e| e.kind == ErrorType::MissingLabel)
            .filter_map(|e| contract.fields().iter().find(|f| f.name() == e.field))
            .map(|f| f.expected_label().to_owned())
            .collect();
        if !missing.is_empty() {
            return Err(FileError::MissingColumns(missing));
        }
        if let Some(e) = errors.iter().find(|e| e.kind == ErrorType::DuplicateLabel) {
            return Err(FileError::DuplicateColumn(e.value.clone()));
        }
        if let Some(e) = errors.iter().find(|e| e.kind.refuses_file()) {
            return Err(FileError::Header { kind: e.kind, reason: e.reason.clone() });
        }
        self.summary.ignored_columns = matched.unread_labels().map(str::to_owned).collect();
        Ok(Validator::new(contract, matched))
    }

    fn row(
        &mut self,
        record: &Record<'_>,
        contract: &Contract,
        validator: &mut Validator<'_>,
    ) -> Result<(), FileError> {
        let (line, raw, quoted) = (record.line, record.bytes, record.quoted);
        // An empty line is a record with no cells, frictionless's blank row; a line of
        // spaces is one too only where the contract says so.
        // Either is validated as a record of no cells, so that key checks still see it.
        let blank_line =
            raw.is_empty() || (contract.whitespace_lines_are_blank() && raw.iter().all(u8::is_ascii_whitespace));
        // Nearly every record: plain text (no quote, no `\r`), read by its fields' plans as
        // it is split (one pass, no list of cells); any other is split first and read cell
        // by cell. A plain record's values hold no comma, quote or line end: the row the
        // validator built is written as it is.
        let planned =
            !blank_line && record.plain.is_some_and(|text| validator.validate_line(line, text, &mut self.record));
        if planned && self.record.is_valid() {
            return self.accept(contract, true);
        }
        self.splitter.split_known(raw, quoted);
        let splitter = &self.splitter;
        let count = if blank_line { 0 } else { splitter.len() };
        // One UTF-8 check for the whole record (nearly every record passes); its fields are
        // split at ASCII separators, so each is a slice of it on character boundaries.
        let text = splitter.text(raw);
        let lossy: Vec<std::borrow::Cow<'_, str>> = match text {
            Some(_) => Vec::new(),
            None => (0..count).map(|i| String::from_utf8_lossy(splitter.field(raw, i))).collect(),
        };
        let cell = |i: usize| match text {
            Some(text) => {
                let (start, end) = splitter.range(i);
                text.get(start..end).unwrap_or_default()
            }
            None => lossy.get(i).map_or("", |cell| cell.as_ref()),
        };
        // Only a record that is not text (rare) is looked at cell by cell.
        let not_text: Vec<usize> = match text {
            Some(_) => Vec::new(),
            None => (0..count).filter(|&i| std::str::from_utf8(splitter.field(raw, i)).is_err()).collect(),
        };
        if !planned {
            validator.validate_cells(line, count, cell, &not_text, &mut self.record);
        }
        if self.record.is_valid() {
            let plain = !quoted && !self.splitter.has_cr();
            return self.accept(contract, plain);
        }
        let errors: Vec<ErrorJson<'_>> = self
            .record
            .errors()
            .iter()
            .map(|e| ErrorJson {
                field: if e.field.is_empty() { "row" } else { e.field.as_str() },
                kind: e.kind.as_str(),
                // A blank line's fate, in the transform's words.
                value: if blank_line && e.kind == ErrorType::BlankRow { "" } else { &e.value },
                reason: if blank_line && e.kind == ErrorType::BlankRow { "blank line, skipped" } else { &e.reason },
            })
            .collect();
        if let Some(report) = &mut self.report {
            let cells: Vec<&str> = (0..count).map(&cell).collect();
            let columns = self.record.errors().iter().map(|e| e.column.map(|c| c - 1));
            let refs: Vec<ErrorRef<'_>> = errors.iter().zip(columns).map(|(e, column)| e.as_ref(column)).collect();
            report.reject(line, &cells, &refs);
        }
        // A blank row is skipped, not rejected, even when a key check also reports it.
        if errors.iter().any(|e| e.kind == ErrorType::BlankRow.as_str()) {
            self.summary.blank += 1;
        } else {
            self.summary.rejected += 1;
            for e in &errors {
                *self.summary.errors_by_field.entry(e.field.to_owned()).or_default() += 1;
            }
        }
        write_reject(&mut self.rejects, line, raw, &errors)
    }
}

impl<A: Write, J: Write> Rows<A, J> {
    /// Writes the valid record the validator read. `plain`: its record had no quote (so no
    /// cell holds a comma, a quote or a line end) and no lone `\r`, so that the row the
    /// validator built is kept where it was built, with the rows before it, and written
    /// with them, no copy (nearly every row). Otherwise the rows kept so far go to `out`
    /// first, then the row: a row no value of which needs quotes (one scan of all of them)
    /// has each copied as it is, any other is written cell by cell.
    fn accept(&mut self, contract: &Contract, plain: bool) -> Result<(), FileError> {
        self.summary.accepted += 1;
        if !(plain && self.record.keep_row()) {
            self.out.extend_from_slice(self.record.kept_rows());
            if self.record.row().is_none() && !any_needs_quotes(self.record.text().as_bytes()) {
                self.record.join_values(b',', &mut self.out);
            } else {
                for f in 0..contract.fields().len() {
                    if f > 0 {
                        self.out.push(b',');
                    }
                    if let Some(value) = self.record.value(f) {
                        write_cell(&mut self.out, value);
                    }
                }
            }
            self.out.push(b'\n');
            self.record.clear_kept_rows();
        }
        if self.out.len() + self.record.kept_rows().len() >= OUT_BLOCK {
            self.write_block()?;
        }
        Ok(())
    }

    /// Hands the accepted rows not yet written to `accepted`: those in `out`, then those
    /// the record kept after them.
    fn write_block(&mut self) -> Result<(), FileError> {
        self.accepted.write_all(&self.out).map_err(FileError::Write)?;
        self.accepted.write_all(self.record.kept_rows()).map_err(FileError::Write)?;
        self.out.clear();
        self.record.clear_kept_rows();
        Ok(())
    }
}

impl ErrorJson<'_> {
    /// The error as the data-quality page takes it, about 0-based cell `column`.
    fn as_ref(&self, column: Option<usize>) -> ErrorRef<'_> {
        // The page names a whole-line error by its own words, not by the pseudo-field.
        let field = if column.is_none() && self.field == "row" { "" } else { self.field };
        ErrorRef { field, column, kind: self.kind, value: self.value, reason: self.reason }
    }
}

/// The accepted CSV's header line (without its line end): the contract's field names.
pub fn output_header(contract: &Contract) -> String {
    let mut line = Vec::new();
    for (i, field) in contract.fields().iter().enumerate() {
        if i > 0 {
            line.push(b',');
        }
        write_cell(&mut line, field.name());
    }
    String::from_utf8_lossy(&line).into_owned()
}

/// Bytes that make a CSV cell need quotes.
static NEEDS_QUOTES: [bool; 256] = {
    let mut table = [false; 256];
    table[b',' as usize] = true;
    table[b'"' as usize] = true;
    table[b'\n' as usize] = true;
    table[b'\r' as usize] = true;
    table
};

/// Whether any byte of `bytes` makes a CSV cell need quotes: eight bytes at a time, one
/// pass for the four bytes (two memchr calls cost more on a row's few dozen bytes).
fn any_needs_quotes(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    let found = words.by_ref().any(|w| {
        let w = u64::from_le_bytes(<[u8; 8]>::try_from(w).unwrap_or_default());
        (byte_mask(w, b',') | byte_mask(w, b'"') | byte_mask(w, b'\n') | byte_mask(w, b'\r')) != 0
    });
    found || words.remainder().iter().any(|&b| NEEDS_QUOTES[usize::from(b)])
}

/// Appends a value as one CSV cell, quoted (quotes doubled) only when it must be.
fn write_cell(out: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    if bytes.iter().any(|&b| NEEDS_QUOTES[usize::from(b)]) {
        out.push(b'"');
        for &b in bytes {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(bytes);
    }
}

impl From<LineError> for FileError {
    fn from(e: LineError) -> FileError {
        match e {
            LineError::TooLong { line, limit } => FileError::LineTooLong { line, limit },
            LineError::UnclosedQuote { line } => FileError::UnclosedQuote { line },
            LineError::Io(e) => FileError::Read(e),
        }
    }
}

fn write_reject(out: &mut impl Write, line: u64, raw: &[u8], errors: &[ErrorJson<'_>]) -> Result<(), FileError> {
    let raw = String::from_utf8_lossy(raw);
    let reject = RejectLine { line, raw: &raw, errors };
    serde_json::to_writer(&mut *out, &reject).map_err(|e| FileError::Write(e.into()))?;
    out.write_all(b"\n").map_err(FileError::Write)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted(descriptor: &str, input: &[u8]) -> String {
        let contract = Contract::from_json(descriptor).expect("a contract");
        let mut out = Vec::new();
        let summary = transform(&contract, input, &mut out, Vec::new(), &Limits::default()).expect("read");
        assert_eq!(summary.rejected, 0, "{summary:?}");
        String::from_utf8(out).expect("UTF-8 output")
    }

    #[test]
    fn a_row_written_in_one_copy_is_quoted_wherever_a_value_needs_it() {
        let two = r#"{"fields": [{"name": "a"}, {"name": "b", "type": "string"}]}"#;
        // A lone `\r` inside an unquoted record, a quoted comma, a quote, a null.
        assert_eq!(
            accepted(two, b"a,b\nx\ry,z\n\"p,q\",\"s\"\"t\"\n,w\n"),
            "a,b\n\"x\ry\",z\n\"p,q\",\"s\"\"t\"\n,w\n"
        );
        // A pad character that needs quotes: the row is written value by value.
        let padded = r#"{"fields": [{"name": "a", "type": "string", "zipster:padStart": {"length": 3, "with": ","}},
            {"name": "b"}]}"#;
        assert_eq!(accepted(padded, b"a,b\n1,2\n"), "a,b\n\",,1\",2\n");
        // Columns in another order than the fields: values are joined in field order.
        let by_name = r#"{"fieldsMatch": "equal", "fields": [{"name": "a"}, {"name": "b"}]}"#;
        assert_eq!(accepted(by_name, b"b,a\n1,2\n3,\n"), "a,b\n2,1\n,3\n");
    }

    #[test]
    fn rows_kept_where_they_were_built_and_rows_written_anew_keep_their_order() {
        let two = r#"{"fields": [{"name": "a"}, {"name": "b", "type": "integer"}]}"#;
        // Runs of rows kept by the validator's record, broken by quoted rows written cell
        // by cell, over several output blocks.
        // Every row is already in its normal form (a value holding a comma stays quoted), so
        // the accepted CSV is the input itself.
        let mut input = String::from("a,b\n");
        for i in 0..100_000 {
            if i % 7 == 3 {
                input.push_str(&format!("\"v{i},x\",{i}\n"));
            } else {
                input.push_str(&format!("v{i},{i}\n"));
            }
        }
        assert!(input.len() > 4 * OUT_BLOCK);
        assert_eq!(accepted(two, input.as_bytes()), input);
    }

    #[test]
    fn a_byte_that_needs_quotes_is_found_in_every_position() {
        for len in 0..20 {
            assert!(!any_needs_quotes(&vec![b'a'; len]), "{len}");
            for at in 0..len {
                for special in [b',', b'"', b'\n', b'\r'] {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = special;
                    assert!(any_needs_quotes(&bytes), "{len} {at} {special}");
                }
                // Bytes next to the special ones (and UTF-8 continuation bytes) are not.
                let mut bytes = vec![b'a'; len];
                bytes[at] = [b'+', b'-', b'!', b'#', b'\t', 0x0b, 0xac, 0xa2][at % 8];
                assert!(!any_needs_quotes(&bytes), "{len} {at}");
            }
        }
    }
}
