//! A header matched to the contract's fields, then records validated and normalized in
//! order, with the state `unique` and `primaryKey` need across a file.

use crate::extension::{RaggedRows, RequiredUnless};
use crate::keys::{self, KeySet};
use crate::matcher::Matcher;
use crate::number::{self, Decimal, Head, NumberFormat, SmallBound};
use crate::schema::{
    Bound, BoundKind, Check, Contract, EnumValues, Field, FieldType, FieldsMatch, StringFormat, StringSet, read_moment,
};
use crate::temporal::{self, Kind, Moment, Pattern};

/// The Frictionless error types this crate reports, spelled as frictionless spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorType {
    ExtraLabel,
    MissingLabel,
    BlankLabel,
    DuplicateLabel,
    IncorrectLabel,
    BlankHeader,
    UnmatchedHeader,
    BlankRow,
    PrimaryKey,
    ExtraCell,
    MissingCell,
    TypeError,
    ConstraintError,
    UniqueError,
}

impl ErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::ExtraLabel => "extra-label",
            ErrorType::MissingLabel => "missing-label",
            ErrorType::BlankLabel => "blank-label",
            ErrorType::DuplicateLabel => "duplicate-label",
            ErrorType::IncorrectLabel => "incorrect-label",
            ErrorType::BlankHeader => "blank-header",
            ErrorType::UnmatchedHeader => "unmatched-header",
            ErrorType::BlankRow => "blank-row",
            ErrorType::PrimaryKey => "primary-key",
            ErrorType::ExtraCell => "extra-cell",
            ErrorType::MissingCell => "missing-cell",
            ErrorType::TypeError => "type-error",
            ErrorType::ConstraintError => "constraint-error",
            ErrorType::UniqueError => "unique-error",
        }
    }

    /// Whether a header with this error cannot be read as the contract says: the file is
    /// refused. (`blank-label` and `incorrect-label` are too: a column whose label is not
    /// its field's name under `exact` is a different file.)
    pub fn refuses_file(self) -> bool {
        matches!(
            self,
            ErrorType::ExtraLabel
                | ErrorType::MissingLabel
                | ErrorType::BlankLabel
                | ErrorType::DuplicateLabel
                | ErrorType::IncorrectLabel
                | ErrorType::BlankHeader
                | ErrorType::UnmatchedHeader
        )
    }
}

/// One error: its type, the field it concerns ("" for a row or an unnamed column), the
/// cell's or label's text, and why, for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorType,
    pub field: String,
    /// 1-based column of the source the error is about, when it is about one.
    pub column: Option<usize>,
    pub value: String,
    pub reason: String,
}

/// Where a source column goes: to a field (its index in the contract) or nowhere (a
/// column the contract lets through unread, or one beyond the fields under `exact`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Field(usize),
    Unread,
}

/// A header matched to a contract.
#[derive(Debug, Clone)]
pub struct Header {
    columns: Vec<Column>,
    /// The labels as read (trimmed), which name unread columns in errors.
    labels: Vec<String>,
    errors: Vec<Error>,
    /// The fields of the contract no column carries (their values are null).
    absent: Vec<usize>,
}

impl Header {
    /// Label errors (empty when the header is as the contract says).
    pub fn errors(&self) -> &[Error] {
        &self.errors
    }

    /// The labels of the columns no field reads (ignored), in file order.
    pub fn unread_labels(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().zip(&self.labels).filter(|(c, _)| **c == Column::Unread).map(|(_, l)| l.as_str())
    }

    /// How many columns the header has (a record is expected to have as many cells).
    pub fn width(&self) -> usize {
        self.columns.len()
    }
}

impl Contract {
    /// Matches a header row to the fields by the contract's `fieldsMatch`.
    pub fn header(&self, labels: &[&str]) -> Header {
        // Surrounding whitespace is not part of a label (as frictionless reads headers).
        let labels: Vec<&str> = labels.iter().map(|l| l.trim()).collect();
        let labels = labels.as_slice();
        let mut errors = Vec::new();
        let label_error = |kind, field: &str, column, label: &str, reason: String| Error {
            kind,
            field: field.to_owned(),
            column: Some(column),
            value: label.to_owned(),
            reason,
        };
        if labels.is_empty() || labels == [""] {
            errors.push(Error {
                kind: ErrorType::BlankHeader,
                field: String::new(),
                column: None,
                value: String::new(),
                reason: "the header row is empty".to_owned(),
            });
            return Header {
                columns: Vec::new(),
                labels: Vec::new(),
                errors,
                absent: (0..self.fields.len()).collect(),
            };
        }
        let n = self.fields.len();
        let case_insensitive = self.ext.case_insensitive_labels;
        let mut columns = Vec::with_capacity(labels.len());
        if self.fields_match == FieldsMatch::Exact {
            for (i, label) in labels.iter().enumerate() {
                let column = i + 1;
                let Some(field) = self.fields.get(i) else {
                    columns.push(Column::Unread);
                    errors.push(label_error(
                        ErrorType::ExtraLabel,
                        "",
                        column,
                        label,
                        format!("column {column} \"{label}\" is beyond the {n} fields of the contract"),
                    ));
                    continue;
                };
                columns.push(Column::Field(i));
                if label.is_empty() {
                    errors.push(label_error(
                        ErrorType::BlankLabel,
                        &field.name,
                        column,
                        label,
                        format!("column {column} has no label; expected \"{}\"", field.name),
                    ));
                } else if let Some(first) = labels[..i].iter().position(|l| l == label) {
                    errors.push(label_error(
                        ErrorType::DuplicateLabel,
                        &field.name,
                        column,
                        label,
                        format!("column {column} \"{label}\" repeats column {}", first + 1),
                    ));
                } else if !field.is_labelled(label, case_insensitive) {
                    errors.push(label_error(
                        ErrorType::IncorrectLabel,
                        &field.name,
                        column,
                        label,
                        format!("column {column} is \"{label}\"; expected \"{}\"", field.name),
                    ));
                }
            }
            for (i, field) in self.fields.iter().enumerate().skip(labels.len()) {
                errors.push(label_error(
                    ErrorType::MissingLabel,
                    &field.name,
                    i + 1,
                    "",
                    format!("no column for field \"{}\" (column {})", field.name, i + 1),
                ));
            }
            let absent = (labels.len().min(n)..n).collect();
            return Header { columns, labels: owned(labels), errors, absent };
        }
        // By name: a duplicate label makes the mapping ambiguous.
        let mut seen = vec![false; n];
        let extra_allowed = matches!(self.fields_match, FieldsMatch::Subset | FieldsMatch::Partial);
        for (i, label) in labels.iter().enumerate() {
            let column = i + 1;
            let found = self.fields.iter().position(|f| f.is_labelled(label, case_insensitive));
            let first = match found {
                // Two labels for one field (`Lat` and `latitude`) are a duplicate too.
                Some(f) if seen[f] => columns.iter().position(|c| *c == Column::Field(f)),
                _ => labels[..i].iter().position(|l| l == label),
            };
            if let Some(first) = first {
                columns.push(Column::Unread);
                let field = found.map_or("", |f| self.fields[f].name.as_str());
                errors.push(label_error(
                    ErrorType::DuplicateLabel,
                    field,
                    column,
                    label,
                    format!("column {column} \"{label}\" repeats column {}: columns are matched by name", first + 1),
                ));
                continue;
            }
            match found {
                Some(f) => {
                    seen[f] = true;
                    columns.push(Column::Field(f));
                }
                None => {
                    columns.push(Column::Unread);
                    if !extra_allowed {
                        errors.push(label_error(
                            ErrorType::ExtraLabel,
                            "",
                            column,
                            label,
                            format!("column {column} \"{label}\" is not a field of the contract"),
                        ));
                    }
                }
            }
        }
        if self.fields_match == FieldsMatch::Partial && !seen.iter().any(|s| *s) {
            errors.push(Error {
                kind: ErrorType::UnmatchedHeader,
                field: String::new(),
                column: None,
                value: labels.join(","),
                reason: "no column is a field of the contract".to_owned(),
            });
        }
        let fewer_allowed = matches!(self.fields_match, FieldsMatch::Superset | FieldsMatch::Partial);
        let absent: Vec<usize> = (0..n).filter(|&f| !seen[f]).collect();
        for (k, &f) in absent.iter().enumerate() {
            let field = &self.fields[f];
            if fewer_allowed && !field.constraints.required {
                continue;
            }
            errors.push(label_error(
                ErrorType::MissingLabel,
                &field.name,
                labels.len() + k + 1,
                "",
                format!("no column named \"{}\"", field.expected_label()),
            ));
        }
        Header { columns, labels: owned(labels), errors, absent }
    }
}

fn owned(labels: &[&str]) -> Vec<String> {
    labels.iter().map(|l| (*l).to_owned()).collect()
}

/// A record's outcome: its normalized values, in the contract's field order, and its
/// errors. Reused from row to row, so a valid record allocates nothing.
#[derive(Debug, Default, Clone)]
pub struct Record {
    /// The rows kept so far ([`Record::keep_row`]), then the current record's values.
    text: String,
    /// Where the current record's values start in `text`.
    kept: usize,
    /// Per field: the value's range in `text`, `None` for null.
    values: Vec<Option<(usize, usize)>>,
    errors: Vec<Error>,
    /// Whether `text` is the values in field order with a `,` between two ([`Record::row`]).
    joined: bool,
}

impl Record {
    /// The field's normalized value (`None`: null), by index in [`Contract::fields`].
    #[inline]
    pub fn value(&self, field: usize) -> Option<&str> {
        let (start, end) = (*self.values.get(field)?)?;
        self.text.get(start..end)
    }

    /// Appends every value in field order, `separator` between two (a null is empty), as
    /// bytes: the whole record in one call, for a writer that knows from [`Record::text`]
    /// that no value needs escaping.
    pub fn join_values(&self, separator: u8, out: &mut Vec<u8>) {
        let text = self.text.as_bytes();
        out.reserve(text.len() - self.kept + self.values.len());
        for (f, value) in self.values.iter().enumerate() {
            if f > 0 {
                out.push(separator);
            }
            let Some((start, end)) = *value else { continue };
            // A value of up to 16 bytes with 16 bytes of text from its start (all but the
            // last few) is copied as a fixed 16 bytes, then cut: no `memcpy` call per value.
            match text.get(start..start + 16) {
                Some(window) if end - start <= 16 => {
                    let at = out.len();
                    out.extend_from_slice(window);
                    out.truncate(at + (end - start));
                }
                _ => out.extend_from_slice(text.get(start..end).unwrap_or_default()),
            }
        }
    }

    /// Every non-null value's text, concatenated in the order the cells were read: one
    /// scan of it tells a writer whether any value needs escaping. (When [`Record::row`]
    /// is the row, this is the row, separators included.)
    #[inline]
    pub fn text(&self) -> &str {
        self.text.get(self.kept..).unwrap_or_default()
    }

    /// Every value in field order, a `,` between two (a null is empty), unquoted: the
    /// accepted row as one slice, when the header's columns carry every field in the
    /// contract's order (then the values are written so, as they are read) and no
    /// normalization adds a byte that needs quotes. A caller that knows no cell held one
    /// (its record had no quote and no `\r`) writes it as it is.
    #[inline]
    pub fn row(&self) -> Option<&[u8]> {
        self.joined.then(|| self.text().as_bytes())
    }

    /// Keeps the current record's [`Record::row`] and a line end after the rows kept
    /// before, where the next record does not overwrite it, so that a writer hands
    /// [`Record::kept_rows`] on a block at a time instead of copying each row out;
    /// `false` (nothing kept) when the values are not the row.
    #[inline]
    pub fn keep_row(&mut self) -> bool {
        if self.joined {
            self.text.push('\n');
            self.kept = self.text.len();
        }
        self.joined
    }

    /// The rows kept since the last [`Record::clear_kept_rows`], each ended by `\n`.
    pub fn kept_rows(&self) -> &[u8] {
        self.text.as_bytes().get(..self.kept).unwrap_or_default()
    }

    /// Forgets the kept rows (once written) and the current record's values.
    pub fn clear_kept_rows(&mut self) {
        self.text.clear();
        self.kept = 0;
        self.values.fill(None);
    }

    pub fn errors(&self) -> &[Error] {
        &self.errors
    }

    #[inline]
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }
}

/// The reason of a cell whose bytes are not UTF-8.
pub const NOT_TEXT: &str = "not valid UTF-8";

/// Validates a file's records in order against a contract and a header.
pub struct Validator<'c> {
    contract: &'c Contract,
    header: Header,
    /// Per `unique` field: each value's key and the line it was first seen on.
    unique: Vec<(usize, KeySet)>,
    primary: KeySet,
    /// Per field: whether `unique` or the primary key needs its key.
    keyed: Vec<bool>,
    /// The keys of the current record's values, the last number's digits: buffers kept
    /// for the validator's life, so that keying a row allocates nothing.
    reading: Reading,
    scratch: Vec<u8>,
    /// Whether records' values are written as their row ([`Record::row`]).
    joined: bool,
    /// The fields' cells as the common case reads them ([`Plan`]), when every field's
    /// type and constraints have one.
    plans: Option<Vec<Plan<'c>>>,
}

/// How a header column's cell is read in the common case, compiled once per file from its
/// field: one match arm per type with its checks laid out, no list of checks to walk and
/// no error to build. A record every cell of which reads so (or is a null where one is
/// valid) is valid but for its keys (nearly every record); any other (a null where a value
/// is required, a value that breaks a check, a ragged record, a cell that is not text, a
/// record of nulls only) is read again from the start by the general path, which says why,
/// so that what is accepted and reported is the general path's alone.
struct Plan<'c> {
    /// The 0-based column of the header, and the field it carries.
    column: usize,
    field: usize,
    /// Whether a `,` goes before the value ([`Record::row`]).
    separator: bool,
    keyed: bool,
    missing: Missing<'c>,
    /// Whether a null is valid here (not `required`, no `requiredUnless` to look at).
    nullable: bool,
    /// `zipster:requiredUnless`: a null is valid when the other field's value is one of
    /// these, which is looked at once the record is read.
    unless: Option<&'c RequiredUnless>,
    lexical: Option<&'c Matcher>,
    read: Read<'c>,
}

/// The field's missing values, the test every cell takes first.
enum Missing<'c> {
    None,
    /// Only the empty string (the default).
    Empty,
    Listed(&'c [String]),
}

enum Read<'c> {
    /// `string` (or `any`): the cell is the value, then padded.
    Text {
        format: StringFormat,
        /// `minLength` (0 when none), as characters and as the bytes that many characters
        /// take at most.
        min: usize,
        min_bytes: usize,
        /// `maxLength` (`usize::MAX` when none).
        max: usize,
        pattern: Option<&'c Matcher>,
        set: Option<&'c StringSet>,
        pad: Option<(usize, char)>,
    },
    Number {
        format: &'c NumberFormat,
        /// Whether the format is plain ([`NumberFormat::is_plain`]): its cells are nearly
        /// all of the common shape ([`number::scan_plain`]).
        plain: bool,
        bounds: Vec<(BoundKind, &'c Decimal)>,
        /// The bounds as [`SmallBound`]s, when every one is one: a small cell is then
        /// checked without its digits.
        small_bounds: Option<Vec<(BoundKind, SmallBound)>>,
        decimals: Option<u32>,
    },
    Boolean {
        true_values: &'c [String],
        false_values: &'c [String],
    },
    /// `date`, `time`, `datetime`: read in the field's format, written in the default form.
    Temporal {
        kind: Kind,
        pattern: Option<&'c Pattern>,
        bounds: Vec<(BoundKind, &'c Moment)>,
    },
    /// `year`: four digits, its own normal form.
    Year {
        bounds: Vec<(BoundKind, u32)>,
    },
}

impl<'c> Plan<'c> {
    /// The plan of field `f` at `column`; `None` for a type or a constraint only the
    /// general path reads (dates, years, an enum of numbers, a check no value of the type
    /// can meet).
    fn new(contract: &'c Contract, column: usize, f: usize, joined: bool, keyed: bool) -> Option<Plan<'c>> {
        let field = &contract.fields[f];
        let checks = &field.constraints.checks;
        let pad = field.ext.pad_start;
        let read = match &field.kind {
            FieldType::String(_) | FieldType::Any => {
                let format = match &field.kind {
                    FieldType::String(format) => *format,
                    _ => StringFormat::Default,
                };
                let (mut min, mut max, mut pattern, mut set) = (None, None, None, None);
                for c in checks {
                    let taken = match c {
                        Check::MinLength(n) => min.replace(*n).is_some(),
                        Check::MaxLength(n) => max.replace(*n).is_some(),
                        Check::Pattern(m, _) => pattern.replace(m).is_some(),
                        Check::Enum(EnumValues::Strings(values), _) => set.replace(values).is_some(),
                        // A bound or an enum of another type: no text meets it.
                        _ => true,
                    };
                    if taken {
                        return None;
                    }
                }
                let min = min.unwrap_or(0);
                Read::Text {
                    format,
                    min,
                    min_bytes: min.saturating_mul(4),
                    max: max.unwrap_or(usize::MAX),
                    pattern,
                    set,
                    pad,
                }
            }
            FieldType::Number(format) if pad.is_none() => {
                let mut bounds = Vec::new();
                for c in checks {
                    match c {
                        Check::Bound(kind, Bound::Number(bound), _) => bounds.push((*kind, bound)),
                        // Length and pattern checks are met by any number.
                        Check::MinLength(_) | Check::MaxLength(_) | Check::Pattern(..) => {}
                        _ => return None,
                    }
                }
                let small_bounds = bounds.iter().map(|(kind, b)| Some((*kind, SmallBound::of(b)?))).collect();
                Read::Number { format, plain: format.is_plain(), bounds, small_bounds, decimals: field.ext.decimals }
            }
            FieldType::Boolean { true_values, false_values } if pad.is_none() && checks.is_empty() => {
                Read::Boolean { true_values, false_values }
            }
            FieldType::Temporal(kind, pattern) if pad.is_none() => {
                let mut bounds = Vec::new();
                for c in checks {
                    match c {
                        Check::Bound(bound, Bound::Moment(m), _) => bounds.push((*bound, m)),
                        _ => return None,
                    }
                }
                Read::Temporal { kind: *kind, pattern: pattern.as_ref(), bounds }
            }
            FieldType::Year if pad.is_none() => {
                let mut bounds = Vec::new();
                for c in checks {
                    match c {
                        Check::Bound(bound, Bound::Year(y), _) => bounds.push((*bound, *y)),
                        _ => return None,
                    }
                }
                Read::Year { bounds }
            }
            _ => return None,
        };
        let missing = match field.missing_values.as_slice() {
            [] => Missing::None,
            [only] if only.is_empty() => Missing::Empty,
            listed => Missing::Listed(listed),
        };
        Some(Plan {
            column,
            field: f,
            separator: joined && f > 0,
            keyed,
            missing,
            nullable: !field.constraints.required && field.ext.required_unless.is_none(),
            unless: field.ext.required_unless.as_ref().filter(|_| !field.constraints.required),
            lexical: field.ext.lexical.as_ref().map(|(matcher, _)| matcher),
            read,
        })
    }
}

/// A cell read as its field's type.
enum Logical<'a> {
    Text(&'a str),
    /// The number, and how its cell was written.
    Number(Head, number::Written),
    Bool(bool),
    Moment(Moment),
    Year(u32),
}

impl<'c> Validator<'c> {
    pub fn new(contract: &'c Contract, header: Header) -> Validator<'c> {
        let unique = (0..contract.fields.len())
            .filter(|&f| contract.fields[f].constraints.unique)
            .map(|f| (f, KeySet::new()))
            .collect();
        // In order, each field once (unread columns between them are skipped), and no pad
        // character a CSV cell would need quotes for.
        let fields_in_order = header.columns.iter().filter_map(|c| match c {
            Column::Field(f) => Some(*f),
            Column::Unread => None,
        });
        let joined = fields_in_order.eq(0..contract.fields.len())
            && contract
                .fields
                .iter()
                .all(|f| f.ext.pad_start.is_none_or(|(_, c)| !matches!(c, ',' | '"' | '\n' | '\r')));
        let keyed: Vec<bool> = (0..contract.fields.len())
            .map(|f| contract.fields[f].constraints.unique || contract.primary_key.contains(&f))
            .collect();
        let plans: Option<Vec<Plan<'c>>> = header
            .columns
            .iter()
            .enumerate()
            .filter_map(|(i, c)| match c {
                Column::Field(f) => Some(Plan::new(contract, i, *f, joined, keyed[*f])),
                Column::Unread => None,
            })
            .collect();
        Validator {
            joined,
            contract,
            header,
            unique,
            primary: KeySet::new(),
            keyed,
            reading: Reading { keys: vec![(false, Vec::new()); contract.fields.len()], ..Reading::default() },
            scratch: Vec::new(),
            // A record of no field would pass for valid whatever its cells: not planned.
            plans: plans.filter(|p| !p.is_empty()),
        }
    }

    /// Validates the record on `line` (as the caller counts lines, named in duplicates).
    pub fn validate(&mut self, line: u64, cells: &[&str], out: &mut Record) {
        self.validate_cells(line, cells.len(), |i| cells[i], &[], out);
    }

    /// Validates the common record straight from its text, split at its commas as its
    /// fields' plans read its cells (no list of cells is made): `text` is a record without
    /// quotes (so that every comma separates two cells), not blank. `false` when it is not
    /// a record every cell of which its plan reads (a null where a value is required, a
    /// value that breaks a check, a ragged row): then nothing is recorded (no key is kept),
    /// and the caller validates it with [`Validator::validate_cells`], which says why.
    /// `true`: `out` is the record's outcome, as `validate_cells` would have made it (a
    /// duplicate key included).
    pub fn validate_line(&mut self, line: u64, text: &str, out: &mut Record) -> bool {
        let Some(plans) = &self.plans else { return false };
        start_record(out, self.joined, self.contract.fields.len(), &mut self.reading.keys);
        let columns = self.header.columns.len();
        if !planned_line(plans, text, columns, &mut self.reading, out) {
            return false;
        }
        self.integrity(line, out);
        true
    }

    /// [`Validator::validate`] over `count` cells read by `cell` (0-based), so that a
    /// caller holding a record's cells in its own form needs no per-record vector.
    /// `not_text` lists the cells (0-based, ascending) whose bytes were not UTF-8, which
    /// `cell` gives with replacement characters: each is a `type-error` whatever its
    /// field reads, so that replacement characters never pass for the data.
    pub fn validate_cells<'a>(
        &mut self,
        line: u64,
        count: usize,
        cell: impl Fn(usize) -> &'a str,
        not_text: &[usize],
        out: &mut Record,
    ) {
        start_record(out, self.joined, self.contract.fields.len(), &mut self.reading.keys);
        let columns = self.header.columns.len();
        if count == columns
            && not_text.is_empty()
            && let Some(plans) = &self.plans
        {
            if planned(plans, &cell, &mut self.reading, out) {
                // No value broke a check, no null is where one is required, and the record
                // is not blank.
                self.integrity(line, out);
                return;
            }
            start_record(out, self.joined, self.contract.fields.len(), &mut self.reading.keys);
        }
        if count != columns && count > 0 && self.contract.ext.ragged_rows == RaggedRows::OneError {
            let s = |n: usize| if n == 1 { "" } else { "s" };
            out.errors.push(Error {
                kind: if count > columns { ErrorType::ExtraCell } else { ErrorType::MissingCell },
                field: "row".to_owned(),
                column: None,
                value: format!("{count} field{}", s(count)),
                reason: format!("expected {columns} field{} as in the header, found {count}", s(columns)),
            });
            return;
        }
        let mut blank = 0;
        let mut conditional = false;
        for (i, column) in self.header.columns.iter().enumerate() {
            if i >= count {
                blank += 1;
                let field = match *column {
                    Column::Field(f) => {
                        let field = &self.contract.fields[f];
                        if field.constraints.required {
                            out.errors.push(constraint(field, i + 1, "", "required", "a value is required"));
                        }
                        conditional |= field.ext.required_unless.is_some();
                        field.name.as_str()
                    }
                    // frictionless reads an unread column as an `any` field named by its label.
                    Column::Unread => self.header.labels.get(i).map_or("", String::as_str),
                };
                out.errors.push(Error {
                    kind: ErrorType::MissingCell,
                    field: field.to_owned(),
                    column: Some(i + 1),
                    value: String::new(),
                    reason: format!("the record has {count} of {columns} cells"),
                });
                continue;
            }
            let cell = cell(i);
            let Column::Field(f) = *column else {
                // An unread column counts as blank only when its cell is empty (frictionless
                // reads it as an `any` field with the default missing values).
                blank += usize::from(cell.is_empty());
                continue;
            };
            let field = &self.contract.fields[f];
            if self.joined && f > 0 {
                // The separator before the value, so that `text` is the row (`Record::row`).
                out.text.push(',');
            }
            if !not_text.is_empty() && not_text.binary_search(&i).is_ok() {
                out.errors.push(Error {
                    kind: ErrorType::TypeError,
                    field: field.name.clone(),
                    column: Some(i + 1),
                    value: cell.to_owned(),
                    reason: NOT_TEXT.to_owned(),
                });
                continue;
            }
            if field.missing_values.iter().any(|m| m == cell) {
                blank += 1;
                if field.constraints.required {
                    out.errors.push(constraint(field, i + 1, cell, "required", "a value is required"));
                }
                conditional |= field.ext.required_unless.is_some();
                continue;
            }
            let start = out.text.len();
            let lexical_ok = field.ext.lexical.as_ref().is_none_or(|(matcher, _)| matcher.is_match(cell));
            match if lexical_ok { read(field, cell, &mut out.text, &mut self.reading.digits) } else { None } {
                Some(logical) => {
                    // Most fields have no constraint or no normalization: not even a call.
                    if !field.constraints.checks.is_empty() {
                        check(field, i + 1, cell, &logical, &self.reading.digits, &mut out.errors);
                    }
                    if (field.ext.pad_start.is_some() || field.ext.decimals.is_some())
                        && let Err(error) =
                            normalize(field, i + 1, cell, &logical, &self.reading.digits, start, &mut out.text)
                    {
                        out.errors.push(error);
                    }
                    out.values[f] = Some((start, out.text.len()));
                    if self.keyed[f] {
                        let key = &mut self.reading.keys[f];
                        key.0 = true;
                        match logical {
                            // The normalized text (a padded code is one value however written).
                            Logical::Text(_) => {
                                key.1.clear();
                                key.1.extend_from_slice(&out.text.as_bytes()[start..]);
                            }
                            _ => key_of(&logical, &self.reading.digits, &mut key.1),
                        }
                    }
                }
                None => {
                    out.text.truncate(start);
                    out.errors.push(Error {
                        kind: ErrorType::TypeError,
                        field: field.name.clone(),
                        column: Some(i + 1),
                        value: cell.to_owned(),
                        reason: field.ext.reason("type").map_or_else(|| type_reason(field), str::to_owned),
                    });
                }
            }
        }
        for i in columns..count {
            out.errors.push(Error {
                kind: ErrorType::ExtraCell,
                field: String::new(),
                column: Some(i + 1),
                value: cell(i).to_owned(),
                reason: format!("the record has {count} cells; the header has {columns}"),
            });
        }
        if columns > 0 && blank == columns {
            out.errors.clear();
            let cells: Vec<&str> = (0..count).map(&cell).collect();
            out.errors.push(Error {
                kind: ErrorType::BlankRow,
                field: String::new(),
                column: None,
                value: cells.join(","),
                reason: "the record has no values".to_owned(),
            });
        } else if conditional {
            self.required_unless(count, &cell, out);
        }
        self.integrity(line, out);
    }

    /// `zipster:requiredUnless`, once every value is read: a null where the other field's
    /// value is not one of the listed ones is a `required` constraint error.
    fn required_unless<'a>(&self, count: usize, cell: &impl Fn(usize) -> &'a str, out: &mut Record) {
        let before = out.errors.len();
        for (i, column) in self.header.columns.iter().enumerate() {
            let Column::Field(f) = *column else { continue };
            let field = &self.contract.fields[f];
            let Some(rule) = &field.ext.required_unless else { continue };
            let text = if i < count { cell(i) } else { "" };
            let is_null = out.values[f].is_none() && (i >= count || field.missing_values.iter().any(|m| m == text));
            if !is_null || rule.allows_null(out) {
                continue;
            }
            let generic =
                format!("a value is required unless {} is one of {}", rule.field_name, rule.values.join(", "));
            out.errors.push(constraint(field, i + 1, text, "required", &generic));
        }
        if out.errors.len() > before {
            // Keep errors in column order, as if each had been found where its cell is.
            out.errors.sort_by_key(|e| e.column.unwrap_or(usize::MAX));
        }
    }

    fn integrity(&mut self, line: u64, out: &mut Record) {
        for (f, seen) in &mut self.unique {
            let (true, key) = &self.reading.keys[*f] else { continue };
            let field = &self.contract.fields[*f];
            if let Some(first) = seen.first_or_insert(key, line) {
                let column = self.header.columns.iter().position(|c| *c == Column::Field(*f)).map(|c| c + 1);
                let value = out.value(*f).unwrap_or_default().to_owned();
                out.errors.push(Error {
                    kind: ErrorType::UniqueError,
                    field: field.name.clone(),
                    column,
                    reason: format!("\"{value}\" is already on line {first}; field \"{}\" is unique", field.name),
                    value,
                });
            }
        }
        let pk = &self.contract.primary_key;
        if pk.is_empty() || pk.iter().any(|f| self.header.absent.contains(f)) {
            // A key field without a column is a header error already; no row can be keyed.
            return;
        }
        self.scratch.clear();
        for &f in pk {
            let (true, key) = &self.reading.keys[f] else {
                out.errors.push(Error {
                    kind: ErrorType::PrimaryKey,
                    field: String::new(),
                    column: None,
                    value: String::new(),
                    reason: format!("primary key field \"{}\" has no value", self.contract.fields[f].name),
                });
                return;
            };
            // Each part's length first keeps a composite key one value; a key of one field
            // is its value's key as it is, which keeps a file sorted by it sorted in the set.
            if pk.len() > 1 {
                keys::put_varint(&mut self.scratch, key.len() as u64);
            }
            self.scratch.extend_from_slice(key);
        }
        if let Some(first) = self.primary.first_or_insert(&self.scratch, line) {
            let names: Vec<&str> = self.contract.primary_key().collect();
            let values: Vec<&str> = pk.iter().map(|&f| out.value(f).unwrap_or_default()).collect();
            out.errors.push(Error {
                kind: ErrorType::PrimaryKey,
                field: String::new(),
                column: None,
                value: values.join(","),
                reason: format!(
                    "primary key ({}) = ({}) is already on line {}",
                    names.join(", "),
                    values.join(", "),
                    first
                ),
            });
        }
    }
}

/// Empties `out` for the next record of `fields` fields and forgets the last record's
/// keys (a function of the parts it touches, so that a caller may hold the plans).
fn start_record(out: &mut Record, joined: bool, fields: usize, keys: &mut [(bool, Vec<u8>)]) {
    out.text.truncate(out.kept);
    out.errors.clear();
    out.joined = joined;
    out.values.clear();
    out.values.resize(fields, None);
    for key in keys {
        key.0 = false;
    }
}

/// Reads a record's cells by their [`Plan`]s, writing its values and keys as the general
/// path would; `false` as soon as a cell is not of the common case (then what was written
/// is to be discarded).
#[inline]
fn planned<'a>(plans: &[Plan<'_>], cell: &impl Fn(usize) -> &'a str, reading: &mut Reading, out: &mut Record) -> bool {
    reading.unless_null = false;
    for plan in plans {
        let cell = cell(plan.column);
        let Some(value) = read_planned(plan, cell, reading) else { return false };
        if plan.separator {
            out.text.push(',');
        }
        let start = out.text.len();
        out.text.push_str(value.text(cell, &reading.normalized));
        keep(plan, value, start, cell, reading, out);
    }
    // A record of nulls only may be a blank row: the general path says.
    out.values.iter().any(Option::is_some) && (!reading.unless_null || nulls_allowed(plans, out))
}

/// Whether every null of a field with `zipster:requiredUnless` is allowed by the value of
/// the field it names (the zip codes' military rows, with no coordinates).
#[inline]
fn nulls_allowed(plans: &[Plan<'_>], out: &Record) -> bool {
    plans.iter().all(|plan| plan.unless.is_none_or(|rule| out.values[plan.field].is_some() || rule.allows_null(out)))
}

impl RequiredUnless {
    /// Whether the other field's value in `out` is one for which this field may be null.
    fn allows_null(&self, out: &Record) -> bool {
        out.value(self.field).is_some_and(|v| self.values.iter().any(|allowed| allowed == v))
    }
}

/// [`planned`] over the text of a record without quotes, split at its commas as its cells
/// are read (no list of cells first): `false` also when it has not `columns` cells.
///
/// When the record's values are its row ([`Record::row`]), a value that is its cell as it
/// is (nearly every one) is not copied by itself: the run of such cells, the commas between
/// them included, is copied in one piece when a value that is not (a padded code, a
/// boolean written anew, a missing value), a column no field reads, or the record's end
/// ends it (one copy of the zip codes' first eight cells where there were eight).
#[inline]
fn planned_line(plans: &[Plan<'_>], text: &str, columns: usize, reading: &mut Reading, out: &mut Record) -> bool {
    reading.unless_null = false;
    let bytes = text.as_bytes();
    // Where the cell of `column` starts, and where the last one read ended.
    let (mut start, mut column, mut end) = (0, 0, 0);
    // The start in `text` of the run of cells as they are not yet copied to `out.text`.
    let mut run: Option<usize> = None;
    for plan in plans {
        let adjacent = column == plan.column && column > 0;
        // Columns no field reads, before this field's.
        while column < plan.column {
            let Some(comma) = next_comma(bytes, start) else { return false };
            start = comma + 1;
            column += 1;
        }
        let previous_end = end;
        end = next_comma(bytes, start).unwrap_or(bytes.len());
        let Some(cell) = text.get(start..end) else { return false };
        let Some(value) = read_planned(plan, cell, reading) else { return false };
        let from = match (out.joined, value, run) {
            (true, Value::AsIs, Some(from)) if adjacent => {
                // The run goes on: this cell and the comma before it are in it.
                out.text.len() + start - from
            }
            // Two arms, not one with a test inside: the merged form measured 2% more
            // instructions on every feed (cachegrind).
            (true, Value::AsIs, _) => {
                end_run(out, text, run.replace(start), previous_end, plan.separator);
                out.text.len()
            }
            _ => {
                end_run(out, text, run.take(), previous_end, plan.separator);
                let from = out.text.len();
                out.text.push_str(value.text(cell, &reading.normalized));
                from
            }
        };
        keep(plan, value, from, cell, reading, out);
        start = end + 1;
        column += 1;
    }
    if let Some(from) = run {
        out.text.push_str(text.get(from..end).unwrap_or_default());
    }
    if !out.values.iter().any(Option::is_some) || (reading.unless_null && !nulls_allowed(plans, out)) {
        // A record of nulls only may be a blank row: the general path says.
        return false;
    }
    // As many cells after the last field's as the header has columns after it.
    match columns.checked_sub(column) {
        Some(0) => end == bytes.len(),
        Some(after) => end < bytes.len() && bytes.get(start..).is_some_and(|rest| count_commas(rest) == after - 1),
        None => false,
    }
}

/// Copies the run of cells as they are that started at `run` in `text` and ended at `end`,
/// then the separator of the value that follows it.
#[inline(always)]
fn end_run(out: &mut Record, text: &str, run: Option<usize>, end: usize, separator: bool) {
    if let Some(from) = run {
        out.text.push_str(text.get(from..end).unwrap_or_default());
    }
    if separator {
        out.text.push(',');
    }
}

/// The first comma of `bytes` from `from` on, eight bytes at a time (cells are short: a
/// `memchr` call per cell costs more), the last few as the record's last eight.
#[inline]
fn next_comma(bytes: &[u8], from: usize) -> Option<usize> {
    let commas = |word: u64| byte_mask(word, b',');
    let mut at = from;
    while let Some(word) = bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        let found = commas(u64::from_le_bytes(*word));
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    if at >= bytes.len() {
        return None;
    }
    match bytes.last_chunk::<8>() {
        Some(last) => {
            // The bytes before `at` in the last word are read already.
            let seen = 8 * (at + 8 - bytes.len()) as u32;
            let found = (commas(u64::from_le_bytes(*last)) >> seen) << seen;
            (found != 0).then(|| bytes.len() - 8 + (found.trailing_zeros() / 8) as usize)
        }
        None => bytes.get(at..)?.iter().position(|&b| b == b',').map(|i| at + i),
    }
}

/// The commas in `bytes`, eight bytes at a time (the zip codes' trailing cells are a
/// dozen or two bytes: a byte loop took 60 instructions a row).
fn count_commas(bytes: &[u8]) -> usize {
    let mut words = bytes.chunks_exact(8);
    let in_words: u32 = words
        .by_ref()
        .filter_map(|w| w.first_chunk::<8>())
        .map(|w| byte_mask(u64::from_le_bytes(*w), b',').count_ones())
        .sum();
    in_words as usize + words.remainder().iter().filter(|&&b| b == b',').count()
}

/// The high bit of each byte of `word` that equals `byte`, exactly (no borrow between
/// bytes): eight bytes looked at in a few operations, for the short searches of a record
/// where a `memchr` call costs more than the search (this crate's and the transform's).
#[inline(always)]
pub fn byte_mask(word: u64, byte: u8) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let x = word ^ (u64::from(byte) * 0x0101_0101_0101_0101);
    // A byte of `x` is zero iff neither its low seven bits carry into bit 7 nor bit 7 is set.
    !(((x & LOW7) + LOW7) | x) & !LOW7
}

/// What the plans' reading of a record needs besides the record: buffers kept for the
/// validator's life, so that reading a row allocates nothing.
#[derive(Default)]
struct Reading {
    /// The last number's significant digits ([`number::parse_cell`]).
    digits: Vec<u8>,
    /// The last value that is not its cell as it is ([`Value::Normalized`]).
    normalized: String,
    /// Per field: the key of the current record's value, and whether it has one (null:
    /// no).
    keys: Vec<(bool, Vec<u8>)>,
    /// Whether the current record has a null that `zipster:requiredUnless` allows only for
    /// some values of another field ([`nulls_allowed`] then looks).
    unless_null: bool,
}

/// A cell's value as its plan read it.
#[derive(Clone, Copy)]
enum Value {
    /// Null: no value, no key.
    Null,
    /// The cell as it is (nearly every value).
    AsIs,
    /// A boolean, written anew.
    Fixed(&'static str),
    /// Written anew in [`Reading::normalized`] (a padded code, a number or a moment in its
    /// normal form).
    Normalized,
}

impl Value {
    #[inline(always)]
    fn text<'a>(self, cell: &'a str, normalized: &'a str) -> &'a str {
        match self {
            Value::Null => "",
            Value::AsIs => cell,
            Value::Fixed(text) => text,
            Value::Normalized => normalized,
        }
    }
}

/// Records the value the plan of a field read, written to `out.text` from `start`: its
/// range, and its key when the field is keyed.
#[inline(always)]
fn keep(plan: &Plan<'_>, value: Value, start: usize, cell: &str, reading: &mut Reading, out: &mut Record) {
    if matches!(value, Value::Null) {
        return;
    }
    let text = value.text(cell, &reading.normalized);
    out.values[plan.field] = Some((start, start + text.len()));
    if plan.keyed {
        let key = &mut reading.keys[plan.field];
        key.0 = true;
        if let Read::Text { .. } = plan.read {
            // The normalized text (a padded code is one value however written); the key of
            // a value of another type is made as it is read.
            key.1.clear();
            key.1.extend_from_slice(text.as_bytes());
        }
    }
}

/// The key of a keyed field's value of a type other than text, made as it is read.
#[inline]
fn key_planned(plan: &Plan<'_>, logical: &Logical<'_>, digits: &[u8], keys: &mut [(bool, Vec<u8>)]) {
    if plan.keyed
        && let Some(key) = keys.get_mut(plan.field)
    {
        key_of(logical, digits, &mut key.1);
    }
}

/// Reads one cell by its field's [`Plan`]: `None` when the cell is not of the common case.
/// A value that is not its cell as it is goes to [`Reading::normalized`].
#[inline(always)]
fn read_planned(plan: &Plan<'_>, cell: &str, reading: &mut Reading) -> Option<Value> {
    let null = match plan.missing {
        Missing::None => false,
        Missing::Empty => cell.is_empty(),
        Missing::Listed(values) => values.iter().any(|m| m == cell),
    };
    if null {
        // Null, as the general path leaves it (no value, no key): a valid cell where
        // nothing requires one (an empty optional field is common: one city in nine).
        if plan.nullable {
            return Some(Value::Null);
        }
        reading.unless_null = true;
        return plan.unless.map(|_| Value::Null);
    }
    if plan.lexical.is_some_and(|m| !m.is_match(cell)) {
        return None;
    }
    match &plan.read {
        Read::Text { format, min, min_bytes, max, pattern, set, pad } => {
            let format_ok = match format {
                StringFormat::Default => true,
                StringFormat::Email => is_email(cell),
                StringFormat::Uri => is_uri(cell),
                StringFormat::Uuid => is_uuid(cell),
            };
            // As `satisfies` measures lengths: the byte length decides most alone.
            let ok = format_ok
                && (cell.len() >= *min_bytes || cell.chars().count() >= *min)
                && (cell.len() <= *max || cell.chars().count() <= *max)
                && pattern.is_none_or(|m| m.is_match(cell))
                && set.is_none_or(|s| s.contains(cell));
            if !ok {
                return None;
            }
            match *pad {
                Some((length, with)) if padded_length(cell) < length => {
                    let text = &mut reading.normalized;
                    text.clear();
                    text.push_str(cell);
                    pad_start(text, 0, length, with);
                    Some(Value::Normalized)
                }
                _ => Some(Value::AsIs),
            }
        }
        Read::Number { format, plain, bounds, small_bounds, decimals } => {
            let digits = &mut reading.digits;
            // The common cell is read in one pass, its digits left in it until a key, a
            // bound or a value written anew needs them; any other by the general reader.
            let scanned = if *plain { number::scan_plain(cell.as_bytes(), format.integer) } else { None };
            let (head, written) = match &scanned {
                Some(p) => (p.head, p.written),
                None => number::parse_cell(cell, format, digits)?,
            };
            let mut need_digits = scanned.as_ref();
            let in_bounds = match (scanned.and_then(|p| p.small), small_bounds) {
                (Some(value), Some(small)) => {
                    // A loop, not `all`: its closure was compiled out of line, a call per bound.
                    let mut ok = true;
                    for (kind, bound) in small {
                        ok &= meets(*kind, Some(bound.compare(value)));
                    }
                    ok
                }
                _ => {
                    if let Some(p) = need_digits.take() {
                        p.digits(digits);
                    }
                    bounds.iter().all(|(kind, bound)| meets(*kind, number::compare(head, digits, bound)))
                }
            };
            if !in_bounds {
                return None;
            }
            let as_is = match decimals {
                None => written.is_canonical(head),
                Some(d) => written.is_fixed(head, *d),
            };
            if (plan.keyed || !as_is)
                && let Some(p) = need_digits
            {
                p.digits(digits);
            }
            key_planned(plan, &Logical::Number(head, written), digits, &mut reading.keys);
            if as_is {
                return Some(Value::AsIs);
            }
            let text = &mut reading.normalized;
            text.clear();
            match decimals {
                None => number::write_canonical(head, digits, text),
                Some(d) => {
                    if !number::write_fixed(head, digits, *d, text) {
                        return None;
                    }
                }
            }
            Some(Value::Normalized)
        }
        Read::Boolean { true_values, false_values } => {
            let value = if true_values.iter().any(|t| t == cell) {
                true
            } else if false_values.iter().any(|f| f == cell) {
                false
            } else {
                return None;
            };
            key_planned(plan, &Logical::Bool(value), &[], &mut reading.keys);
            let text = if value { "true" } else { "false" };
            Some(if cell == text { Value::AsIs } else { Value::Fixed(text) })
        }
        Read::Temporal { kind, pattern, bounds } => {
            let text = &mut reading.normalized;
            text.clear();
            let moment = planned_moment(*kind, *pattern, bounds, cell, text)?;
            key_planned(plan, &Logical::Moment(moment), &[], &mut reading.keys);
            Some(if *text == cell { Value::AsIs } else { Value::Normalized })
        }
        Read::Year { bounds } => {
            let year = planned_year(bounds, cell)?;
            key_planned(plan, &Logical::Year(year), &[], &mut reading.keys);
            Some(Value::AsIs)
        }
    }
}

/// The characters a pad counts in `cell` (an ASCII code, the usual, has as many as bytes).
#[inline]
fn padded_length(cell: &str) -> usize {
    if cell.is_ascii() { cell.len() } else { cell.chars().count() }
}

/// A date, time or datetime by its plan. This and [`planned_year`] are out of line, so
/// that [`read_planned`] stays the code it was for the feeds without dates: inlined, the
/// zip codes' 10x file took 150 ms of CPU at best of 15 runs against 130 ms without
/// (a 10 ms clock, on a noisy machine).
#[inline(never)]
fn planned_moment(
    kind: Kind,
    pattern: Option<&Pattern>,
    bounds: &[(BoundKind, &Moment)],
    cell: &str,
    text: &mut String,
) -> Option<Moment> {
    let moment = read_moment(kind, pattern, cell)?;
    if !bounds.iter().all(|(bound, b)| meets(*bound, Some(moment.compare(b)))) {
        return None;
    }
    moment.write(kind, text);
    Some(moment)
}

/// A year by its plan: four ASCII digits, the cell its own normal form.
#[inline(never)]
fn planned_year(bounds: &[(BoundKind, u32)], cell: &str) -> Option<u32> {
    let year = temporal::parse_year(cell)?;
    bounds.iter().all(|(bound, b)| meets(*bound, Some(year.cmp(b)))).then_some(year)
}

/// Reads a cell as its field's type, writing the normalized text; `None`: not of the type.
#[inline]
fn read<'a>(field: &Field, cell: &'a str, out: &mut String, digits: &mut Vec<u8>) -> Option<Logical<'a>> {
    match &field.kind {
        FieldType::Any => {
            out.push_str(cell);
            Some(Logical::Text(cell))
        }
        FieldType::String(format) => {
            let ok = match format {
                StringFormat::Default => true,
                StringFormat::Email => is_email(cell),
                StringFormat::Uri => is_uri(cell),
                StringFormat::Uuid => is_uuid(cell),
            };
            ok.then(|| {
                out.push_str(cell);
                Logical::Text(cell)
            })
        }
        FieldType::Number(format) => {
            let (head, written) = number::parse_cell(cell, format, digits)?;
            // `zipster:decimals` writes its own form (`normalize`).
            if field.ext.decimals.is_none() {
                if written.is_canonical(head) {
                    out.push_str(cell);
                } else {
                    number::write_canonical(head, digits, out);
                }
            }
            Some(Logical::Number(head, written))
        }
        FieldType::Boolean { true_values, false_values } => {
            let value = if true_values.iter().any(|t| t == cell) {
                true
            } else if false_values.iter().any(|f| f == cell) {
                false
            } else {
                return None;
            };
            out.push_str(if value { "true" } else { "false" });
            Some(Logical::Bool(value))
        }
        FieldType::Temporal(kind, pattern) => {
            let m = read_moment(*kind, pattern.as_ref(), cell)?;
            m.write(*kind, out);
            Some(Logical::Moment(m))
        }
        FieldType::Year => {
            let y = temporal::parse_year(cell)?;
            // Four ASCII digits: the cell is its own normal form.
            out.push_str(cell);
            Some(Logical::Year(y))
        }
    }
}

fn type_reason(field: &Field) -> String {
    let what = match (&field.kind, field.format_name.as_str()) {
        (FieldType::Temporal(..), f) if f != "default" => format!("a {} in the format \"{f}\"", field.type_name),
        (FieldType::String(_), f) if f != "default" => format!("a valid {f}"),
        (FieldType::Boolean { true_values, false_values }, _) => {
            format!("a boolean (one of {} or {})", true_values.join("/"), false_values.join("/"))
        }
        (FieldType::Number(f), _) if f.group_char.is_some() || f.decimal_char != "." || !f.bare => {
            format!(
                "a{} {} as the field's groupChar/decimalChar/bareNumber say",
                if field.type_name == "integer" { "n" } else { "" },
                field.type_name
            )
        }
        (FieldType::Number(f), _) if f.integer => "an integer".to_owned(),
        _ => format!("a {}", field.type_name),
    };
    format!("not {what}")
}

fn constraint(field: &Field, column: usize, cell: &str, name: &str, reason: &str) -> Error {
    Error {
        kind: ErrorType::ConstraintError,
        field: field.name.clone(),
        column: Some(column),
        value: cell.to_owned(),
        reason: match field.ext.reason(name) {
            Some(own) => own.to_owned(),
            None => format!("{reason} (constraint \"{name}\")"),
        },
    }
}

/// The extensions' normalizations of a value already written to `text` from `start`:
/// `zipster:padStart` and `zipster:decimals`.
#[inline]
fn normalize(
    field: &Field,
    column: usize,
    cell: &str,
    value: &Logical<'_>,
    digits: &[u8],
    start: usize,
    text: &mut String,
) -> Result<(), Error> {
    if let Some((length, with)) = field.ext.pad_start {
        pad_start(text, start, length, with);
    }
    if let (Some(decimals), Logical::Number(head, written)) = (field.ext.decimals, value)
        && !(if written.is_fixed(*head, decimals) {
            text.push_str(cell);
            true
        } else {
            number::write_fixed(*head, digits, decimals, text)
        })
    {
        text.truncate(start);
        text.push_str(cell);
        return Err(constraint(
            field,
            column,
            cell,
            "decimals",
            &format!("not a finite number with at most {decimals} decimals"),
        ));
    }
    Ok(())
}

/// `zipster:padStart`: the value written to `text` from `start`, `with` before it up to
/// `length` characters.
#[inline]
fn pad_start(text: &mut String, start: usize, length: usize, with: char) {
    let have = padded_length(text.get(start..).unwrap_or_default());
    if have < length {
        text.insert_str(start, &with.to_string().repeat(length - have));
    }
}

/// Every constraint of the field the value breaks, in the spec's order.
#[inline]
fn check(field: &Field, column: usize, cell: &str, value: &Logical<'_>, digits: &[u8], errors: &mut Vec<Error>) {
    for c in &field.constraints.checks {
        if !satisfies(c, value, digits) {
            let (name, reason) = failure(c, value);
            errors.push(constraint(field, column, cell, name, &reason));
        }
    }
}

/// Whether the value meets the check: every valid cell runs this, so it builds no text.
/// A check of another type than the value's (which the descriptor's loading refuses) is
/// met, except a bound or an enum, which nothing of another type meets.
#[inline]
fn satisfies(c: &Check, value: &Logical<'_>, digits: &[u8]) -> bool {
    use std::cmp::Ordering::Equal;
    match (c, value) {
        // A character is one to four bytes: the byte length decides most lengths alone.
        (Check::MinLength(min), Logical::Text(s)) => s.len() >= min.saturating_mul(4) || s.chars().count() >= *min,
        (Check::MaxLength(max), Logical::Text(s)) => s.len() <= *max || s.chars().count() <= *max,
        (Check::Pattern(matcher, _), Logical::Text(s)) => matcher.is_match(s),
        (Check::Bound(kind, bound, _), _) => meets(*kind, bound_order(value, bound, digits)),
        (Check::Enum(values, _), _) => match (values, value) {
            (EnumValues::Strings(set), Logical::Text(s)) => set.contains(s),
            (EnumValues::Numbers(list), Logical::Number(h, _)) => {
                list.iter().any(|v| number::compare(*h, digits, v) == Some(Equal))
            }
            (EnumValues::Booleans(list), Logical::Bool(b)) => list.contains(b),
            (EnumValues::Moments(list), Logical::Moment(m)) => list.iter().any(|v| m.compare(v) == Equal),
            (EnumValues::Years(list), Logical::Year(y)) => list.contains(y),
            _ => false,
        },
        _ => true,
    }
}

/// Whether a value in `order` to a bound meets it; no order (NaN) meets no bound.
#[inline]
fn meets(kind: BoundKind, order: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::{Greater, Less};
    match kind {
        BoundKind::Minimum => order.is_some_and(|o| o != Less),
        BoundKind::Maximum => order.is_some_and(|o| o != Greater),
        BoundKind::ExclusiveMinimum => order == Some(Greater),
        BoundKind::ExclusiveMaximum => order == Some(Less),
    }
}

#[inline]
fn bound_order(value: &Logical<'_>, bound: &Bound, digits: &[u8]) -> Option<std::cmp::Ordering> {
    match (value, bound) {
        (Logical::Number(h, _), Bound::Number(b)) => number::compare(*h, digits, b),
        (Logical::Moment(m), Bound::Moment(b)) => Some(m.compare(b)),
        (Logical::Year(y), Bound::Year(b)) => Some(y.cmp(b)),
        _ => None,
    }
}

/// The constraint's name and why a value that does not meet the check breaks it.
#[cold]
fn failure(c: &Check, value: &Logical<'_>) -> (&'static str, String) {
    let chars = || if let Logical::Text(s) = value { s.chars().count() } else { 0 };
    match c {
        Check::MinLength(min) => ("minLength", format!("{} characters, fewer than {min}", chars())),
        Check::MaxLength(max) => ("maxLength", format!("{} characters, more than {max}", chars())),
        Check::Pattern(_, source) => ("pattern", format!("does not match {source}")),
        Check::Bound(kind, _, shown) => {
            let words = match kind {
                BoundKind::Minimum => "below the minimum",
                BoundKind::Maximum => "above the maximum",
                BoundKind::ExclusiveMinimum => "not above the exclusive minimum",
                BoundKind::ExclusiveMaximum => "not below the exclusive maximum",
            };
            (kind.name(), format!("{words} {shown}"))
        }
        Check::Enum(_, shown) => ("enum", format!("not one of {shown}")),
    }
}

fn key_of(value: &Logical<'_>, digits: &[u8], out: &mut Vec<u8>) {
    out.clear();
    match value {
        Logical::Text(s) => out.extend_from_slice(s.as_bytes()),
        Logical::Number(h, _) => number::key(*h, digits, out),
        Logical::Bool(b) => out.push(u8::from(*b)),
        Logical::Moment(m) => m.key(out),
        Logical::Year(y) => out.extend_from_slice(&y.to_le_bytes()),
    }
}

/// An address `local@domain`: a dot-atom local part (ASCII or Latin letters, as
/// frictionless's validator allows) and a DNS name whose last label ends with a letter.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    if domain.contains('@') || local.is_empty() || local.chars().count() > 64 || domain.len() > 253 {
        return false;
    }
    let atom_char =
        |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{}|~-".contains(c) || ('\u{a0}'..='\u{24f}').contains(&c);
    if !local.split('.').all(|atom| !atom.is_empty() && atom.chars().all(atom_char)) {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
        && labels.last().is_some_and(|tld| tld.bytes().last().is_some_and(|b| b.is_ascii_alphabetic()))
}

/// An absolute URI (RFC 3986): a scheme, then only characters a URI may hold.
fn is_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else { return false };
    let scheme_ok = scheme.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    let bytes = rest.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            if !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            {
                return false;
            }
            i += 3;
            continue;
        }
        if !(b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=".contains(&b)) {
            return false;
        }
        i += 1;
    }
    scheme_ok
}

/// RFC 4122's string form: 8-4-4-4-12 hexadecimal digits.
fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter()
            .enumerate()
            .all(|(i, c)| if [8, 13, 18, 23].contains(&i) { *c == b'-' } else { c.is_ascii_hexdigit() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every kind of field a [`Plan`] reads, with every check and normalization it lays out.
    const DESCRIPTOR: &str = r#"{"primaryKey": "id", "fields": [
        {"name": "id", "type": "integer", "constraints": {"minimum": 1}},
        {"name": "code", "type": "string", "constraints": {"pattern": "[0-9]{1,5}", "minLength": 2},
         "zipster:padStart": {"length": 5, "with": "0"}},
        {"name": "kind", "type": "string", "constraints": {"enum": ["A", "BB", "é"], "maxLength": 1}},
        {"name": "lat", "type": "number", "missingValues": ["NA"],
         "constraints": {"minimum": -90, "exclusiveMaximum": 90},
         "zipster:lexicalPattern": "-?[0-9]{1,3}(\\.[0-9]{0,2})?", "zipster:decimals": 2,
         "zipster:requiredUnless": {"field": "kind", "in": ["A"]}},
        {"name": "x", "type": "number", "constraints": {"unique": true, "maximum": 500}},
        {"name": "flag", "type": "boolean", "trueValues": ["TRUE", "y"], "falseValues": ["FALSE"],
         "constraints": {"required": true}},
        {"name": "free"},
        {"name": "mail", "type": "string", "format": "email"},
        {"name": "at", "type": "datetime", "constraints": {"minimum": "2000-01-01T00:00:00Z"}},
        {"name": "day", "type": "date", "format": "%d/%m/%Y", "constraints": {"exclusiveMaximum": "01/01/2030"}},
        {"name": "season", "type": "year", "constraints": {"minimum": 1990}}
    ]}"#;

    fn cell() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("NA".to_owned()),
            "[0-9]{1,4}",
            "-?0?[0-9]{1,3}\\.[0-9]{0,3}",
            "[0-9]{1,2}[eE][0-9]",
            Just("A".to_owned()),
            Just("BB".to_owned()),
            Just("é".to_owned()),
            Just("TRUE".to_owned()),
            Just("y".to_owned()),
            Just("FALSE".to_owned()),
            Just("a@b.co".to_owned()),
            "[a-z0-9.,é ]{0,5}",
            "(19|20)[0-9]{2}-0[1-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9](\\.[0-9]{1,3})?(Z|[+-]0[0-9]:[03]0)?",
            "[0-3]?[0-9]/[01]?[0-9]/(19|20)[0-9]{2}",
            "(19|20)[0-9]{2}",
        ]
    }

    /// A record that is mostly valid (each column's own kind of cell), now and then with a
    /// cell of any column's kind, a cell fewer or one more.
    fn record() -> impl Strategy<Value = Vec<String>> {
        let columns = (
            "[1-9][0-9]{1,5}",
            "[0-9]{2,5}",
            "A|é",
            "-?[0-9]{1,2}(\\.[0-9]{1,2})?|-?[0-9]{1,3}(\\.[0-9]{0,3})?|NA",
            "[0-9]{2,4}(\\.[0-9]{1,2}0?)?|00[0-9]|1e2",
            "TRUE|y|FALSE",
            "[a-z,é]{0,3}",
            "a@b\\.co|",
            "20[0-3][0-9]-0[1-9]-[0-2][0-9]T[01][0-9]:[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,3})?(Z|-05:00)?|",
            "[0-2]?[1-9]/[01]?[1-9]/20[0-3][0-9]|",
            "(19|20)[0-9]{2}|",
        );
        (columns, proptest::collection::vec((0..24usize, cell()), 0..2), 0..16usize).prop_map(
            |((a, b, c, d, e, f, g, h, i, j, k), odd, shape)| {
                let mut cells = vec![a, b, c, d, e, f, g, h, i, j, k];
                for (i, cell) in odd {
                    if let Some(slot) = cells.get_mut(i) {
                        *slot = cell;
                    }
                }
                match shape {
                    0 => {
                        cells.pop();
                    }
                    1 => cells.push("extra".to_owned()),
                    _ => {}
                }
                cells
            },
        )
    }

    #[test]
    fn the_next_comma_is_found_from_every_position() {
        for len in 0..20 {
            for comma in 0..len {
                let mut bytes = vec![b'x'; len];
                bytes[comma] = b',';
                for from in 0..=len + 1 {
                    let expected = (from <= comma).then_some(comma);
                    assert_eq!(next_comma(&bytes, from), expected, "{len} {comma} {from}");
                }
            }
            assert_eq!(next_comma(&vec![b'x'; len], 0), None);
        }
    }

    proptest! {
        #[test]
        fn the_plans_read_every_record_as_the_general_path_does(
            rows in proptest::collection::vec(record(), 1..24),
            layout in 0..4usize,
        ) {
            let contract = Contract::from_json(DESCRIPTOR).unwrap_or_else(|e| panic!("{e}"));
            let mut labels: Vec<&str> = contract.fields.iter().map(|f| f.name.as_str()).collect();
            // The header's columns: the fields in order; a column no field reads after them
            // or between two of them (the run of cells copied as they are stops at it); two
            // fields swapped (the values are not the row).
            let mut rows = rows;
            let unread_at = match layout {
                1 => Some(labels.len()),
                2 => Some(3),
                _ => None,
            };
            if let Some(at) = unread_at {
                labels.insert(at, "unread");
                for row in &mut rows {
                    let at = at.min(row.len());
                    row.insert(at, "u".to_owned());
                }
            }
            if layout == 3 {
                labels.swap(1, 2);
                for row in &mut rows {
                    if row.len() > 2 {
                        row.swap(1, 2);
                    }
                }
            }
            let mut planned = Validator::new(&contract, contract.header(&labels));
            prop_assert!(planned.plans.is_some());
            let mut general = Validator::new(&contract, contract.header(&labels));
            general.plans = None;
            // A record's text read by `validate_line` (its cells as its commas split it),
            // and the same cells read by the general path.
            let mut by_line = Validator::new(&contract, contract.header(&labels));
            let mut general_split = Validator::new(&contract, contract.header(&labels));
            general_split.plans = None;
            let (mut a, mut b, mut c, mut d) = (Record::default(), Record::default(), Record::default(), Record::default());
            for (line, row) in rows.iter().enumerate() {
                let line = line as u64 + 2;
                let cells: Vec<&str> = row.iter().map(String::as_str).collect();
                planned.validate(line, &cells, &mut a);
                general.validate(line, &cells, &mut b);
                let text = cells.join(",");
                let split: Vec<&str> = text.split(',').collect();
                if text.is_empty() || !by_line.validate_line(line, &text, &mut c) {
                    by_line.validate(line, &split, &mut c);
                }
                general_split.validate(line, &split, &mut d);
                for (ours, theirs, cells) in [(&a, &b, &cells), (&c, &d, &split)] {
                    prop_assert_eq!(&ours.errors, &theirs.errors, "{:?}", cells);
                    prop_assert_eq!(&ours.text, &theirs.text, "{:?}", cells);
                    prop_assert_eq!(&ours.values, &theirs.values, "{:?}", cells);
                    prop_assert_eq!(ours.row(), theirs.row(), "{:?}", cells);
                }
            }
        }
    }
}
