//! Zipster's extensions to Table Schema: custom properties, namespaced `zipster:` as the
//! spec recommends for custom properties, for what the standard does not say (see
//! `feeds/README.md`, "Extensions"). Each is parsed and checked here, once, like the
//! standard's properties: an unknown `zipster:` property is refused with its path.

use serde_json::{Map, Value};

use crate::matcher::Matcher;
use crate::table::LoadStrategy;

use crate::schema::{DescriptorError, FieldType, refuse};

pub(crate) const PREFIX: &str = "zipster:";

/// How a record with more or fewer cells than the header is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RaggedRows {
    /// As frictionless: an `extra-cell` per extra cell, a `missing-cell` per missing one,
    /// and the cells present validated.
    #[default]
    CellErrors,
    /// One error for the row (`extra-cell` or `missing-cell`, field `row`), its cells not
    /// validated: in a row that lost or gained a separator, every later cell is in the
    /// wrong column, so their errors would only mislead.
    OneError,
}

/// A file-level limit on rejects: over it, the file is halted (nothing staged).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Thresholds {
    /// Largest share of data rows (rejected / (accepted + rejected)) that may be rejected.
    pub max_rejected_ratio: Option<f64>,
    /// Largest number of rejected rows.
    pub max_rejected_count: Option<u64>,
}

impl Thresholds {
    /// Why the counts break a threshold, if they do.
    pub fn exceeded(&self, accepted: u64, rejected: u64) -> Option<String> {
        if let Some(max) = self.max_rejected_count
            && rejected > max
        {
            return Some(format!("{rejected} rows rejected, more than the feed's maximum of {max}"));
        }
        let rows = accepted + rejected;
        if let Some(max) = self.max_rejected_ratio
            && rows > 0
        {
            let ratio = rejected as f64 / rows as f64;
            if ratio > max {
                return Some(format!(
                    "{rejected} of {rows} rows rejected ({:.1} %), more than the feed's maximum of {:.1} %",
                    ratio * 100.0,
                    max * 100.0
                ));
            }
        }
        None
    }
}

/// The schema-level extensions.
#[derive(Debug, Clone, Default)]
pub(crate) struct SchemaExtensions {
    pub case_insensitive_labels: bool,
    pub ragged_rows: RaggedRows,
    /// A line of only spaces and tabs is a blank row too (frictionless reads it as a
    /// record whose first cell is the spaces).
    pub whitespace_lines_are_blank: bool,
    pub key_prefix: Option<String>,
    pub thresholds: Thresholds,
    /// `zipster:table`: the table's name, and the columns it has beyond the fields.
    pub table: Option<String>,
    pub derived_columns: Vec<String>,
    /// `zipster:table.key`: the table's primary key, by field names, where the file need
    /// not be unique on it (a later row replaces an earlier one in the table).
    pub table_key: Vec<String>,
    /// `zipster:table.strategy`: how a file changes the table (default: upsert with a
    /// key, append without).
    pub strategy: Option<LoadStrategy>,
    /// `zipster:table.maxDeletedShare`: a replace may delete at most this share of the
    /// table's rows unless told otherwise (a truncated upload must not empty it).
    pub max_deleted_share: Option<f64>,
    /// `zipster:table.lineageColumn`: the column that records which load last wrote a row.
    pub lineage_column: Option<String>,
}

pub(crate) fn schema(root: &Map<String, Value>) -> Result<SchemaExtensions, DescriptorError> {
    let mut ext = SchemaExtensions::default();
    for (key, value) in root.iter().filter(|(k, _)| k.starts_with(PREFIX)) {
        let path = key.as_str();
        match &key[PREFIX.len()..] {
            "caseInsensitiveLabels" => ext.case_insensitive_labels = flag(value, path)?,
            "whitespaceLinesAreBlank" => ext.whitespace_lines_are_blank = flag(value, path)?,
            "raggedRows" => {
                ext.ragged_rows = match value.as_str() {
                    Some("cell-errors") => RaggedRows::CellErrors,
                    Some("one-error") => RaggedRows::OneError,
                    _ => return refuse(path, "must be \"cell-errors\" or \"one-error\""),
                }
            }
            "keyPrefix" => match value.as_str() {
                Some(p) if !p.is_empty() && !p.starts_with('/') => ext.key_prefix = Some(p.to_owned()),
                _ => return refuse(path, "must be a non-empty key prefix, without a leading /"),
            },
            "thresholds" => ext.thresholds = thresholds(value, path)?,
            "table" => {
                let Some(o) = value.as_object() else {
                    return refuse(
                        path,
                        "must be an object: {\"name\", \"key\", \"derivedColumns\", \"strategy\", \"maxDeletedShare\", \"lineageColumn\"}",
                    );
                };
                for (k, v) in o {
                    let p = format!("{path}.{k}");
                    match k.as_str() {
                        "name" => ext.table = Some(sql_name(v, &p)?),
                        "derivedColumns" => {
                            let Some(list) = v.as_array() else { return refuse(p, "must be an array of column names") };
                            ext.derived_columns = list
                                .iter()
                                .enumerate()
                                .map(|(i, c)| sql_name(c, &format!("{p}[{i}]")))
                                .collect::<Result<_, _>>()?;
                        }
                        "key" => {
                            let Some(list) = v.as_array() else { return refuse(p, "must be an array of field names") };
                            ext.table_key = list
                                .iter()
                                .enumerate()
                                .map(|(i, c)| match c.as_str() {
                                    Some(name) => Ok(name.to_owned()),
                                    None => refuse(format!("{p}[{i}]"), "must be a field name"),
                                })
                                .collect::<Result<_, _>>()?;
                        }
                        "strategy" => {
                            ext.strategy = Some(match v.as_str() {
                                Some("upsert") => LoadStrategy::Upsert,
                                Some("append") => LoadStrategy::Append,
                                Some("replace") => LoadStrategy::Replace,
                                _ => return refuse(p, "must be \"upsert\", \"append\" or \"replace\""),
                            })
                        }
                        "maxDeletedShare" => match v.as_f64() {
                            Some(share) if (0.0..=1.0).contains(&share) => ext.max_deleted_share = Some(share),
                            _ => {
                                return refuse(
                                    p,
                                    "must be a number from 0 to 1 (0.1: a file may delete 10 % of the rows)",
                                );
                            }
                        },
                        "lineageColumn" => ext.lineage_column = Some(sql_name(v, &p)?),
                        _ => return refuse(p, "unsupported"),
                    }
                }
                check_strategy(&ext, root, path)?;
            }
            _ => return refuse(path, unknown()),
        }
    }
    Ok(ext)
}

/// A strategy that needs a key has one, and only a replace has a share of rows it may delete.
fn check_strategy(ext: &SchemaExtensions, root: &Map<String, Value>, path: &str) -> Result<(), DescriptorError> {
    let keyed =
        !ext.table_key.is_empty() || root.get("primaryKey").is_some_and(|k| k.as_array().is_none_or(|a| !a.is_empty()));
    match ext.strategy {
        Some(LoadStrategy::Upsert) if !keyed => refuse(
            format!("{path}.strategy"),
            "an upsert needs a key (primaryKey or zipster:table.key) to find the row it replaces",
        ),
        Some(LoadStrategy::Replace) if !keyed => refuse(
            format!("{path}.strategy"),
            "a replace needs a key (primaryKey or zipster:table.key): the rows it deletes are those whose key is not in the file",
        ),
        Some(LoadStrategy::Upsert | LoadStrategy::Append) | None if ext.max_deleted_share.is_some() => refuse(
            format!("{path}.maxDeletedShare"),
            "only a replace deletes rows: set \"strategy\": \"replace\" or remove it",
        ),
        _ => Ok(()),
    }
}

fn thresholds(value: &Value, path: &str) -> Result<Thresholds, DescriptorError> {
    let Some(o) = value.as_object() else {
        return refuse(path, "must be an object with maxRejectedRatio and/or maxRejectedCount");
    };
    let mut t = Thresholds::default();
    for (k, v) in o {
        let p = format!("{path}.{k}");
        match k.as_str() {
            "maxRejectedRatio" => match v.as_f64() {
                Some(r) if (0.0..=1.0).contains(&r) => t.max_rejected_ratio = Some(r),
                _ => return refuse(p, "must be a number from 0 to 1"),
            },
            "maxRejectedCount" => match v.as_u64() {
                Some(n) => t.max_rejected_count = Some(n),
                None => return refuse(p, "must be a non-negative integer"),
            },
            _ => return refuse(p, "unsupported"),
        }
    }
    Ok(t)
}

/// `zipster:requiredUnless`: a value is required unless another field's value is one of
/// a list (the zip codes' `NA` coordinates, allowed only for `MILITARY` ones).
#[derive(Debug, Clone)]
pub(crate) struct RequiredUnless {
    /// Resolved to the other field's index once every field is known.
    pub field: usize,
    pub field_name: String,
    pub values: Vec<String>,
}

/// The field-level extensions.
#[derive(Debug, Clone, Default)]
pub(crate) struct FieldExtensions {
    /// Header labels that also mean this field (the field's name always does).
    pub labels: Vec<String>,
    /// The lexical form a cell must have to be read as the type at all (XML Schema's
    /// `pattern` facet, which constrains the lexical space of any type).
    pub lexical: Option<(Matcher, String)>,
    /// A reason per check (`type`, `required`, a constraint's name, `decimals`) that
    /// replaces the generic one, so that a feed's owners read their own words.
    pub reasons: Vec<(String, String)>,
    /// Normalization: left-pad a string to this many characters with this one.
    pub pad_start: Option<(usize, char)>,
    /// Normalization of a number: exactly this many decimals (more is an error, never rounded).
    pub decimals: Option<u32>,
    pub required_unless: Option<RequiredUnless>,
    /// `zipster:column` and `zipster:sqlType`: the field's column, where the defaults
    /// (its name upper-case, the mapped type) must give way to an existing table.
    pub column: Option<String>,
    pub sql_type: Option<String>,
}

impl FieldExtensions {
    pub(crate) fn reason(&self, check: &str) -> Option<&str> {
        self.reasons.iter().find(|(k, _)| k == check).map(|(_, v)| v.as_str())
    }
}

/// The checks a reason may be given for.
const REASON_KEYS: [&str; 12] = [
    "type",
    "required",
    "unique",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "enum",
    "decimals",
];

pub(crate) fn field(
    o: &Map<String, Value>,
    path: &str,
    type_name: &str,
    kind: &FieldType,
) -> Result<FieldExtensions, DescriptorError> {
    let mut ext = FieldExtensions::default();
    for (key, value) in o.iter().filter(|(k, _)| k.starts_with(PREFIX)) {
        let p = format!("{path}.{key}");
        match &key[PREFIX.len()..] {
            "labels" => {
                let Some(list) = value.as_array() else {
                    return refuse(p, "must be an array of header labels");
                };
                for (i, label) in list.iter().enumerate() {
                    match label.as_str() {
                        Some(l) if !l.trim().is_empty() => ext.labels.push(l.trim().to_owned()),
                        _ => return refuse(format!("{p}[{i}]"), "must be a non-empty string"),
                    }
                }
            }
            "lexicalPattern" => {
                let Some(source) = value.as_str() else {
                    return refuse(p, "must be a string");
                };
                let matcher = Matcher::new(source).map_err(|e| DescriptorError {
                    path: p.clone(),
                    message: format!("not a regular expression: {e}"),
                })?;
                ext.lexical = Some((matcher, source.to_owned()));
            }
            "reasons" => {
                let Some(map) = value.as_object() else {
                    return refuse(p, "must be an object of check name to reason");
                };
                for (check, reason) in map {
                    if !REASON_KEYS.contains(&check.as_str()) {
                        return refuse(
                            format!("{p}.{check}"),
                            format!("not a check (one of {})", REASON_KEYS.join(", ")),
                        );
                    }
                    match reason.as_str() {
                        Some(r) if !r.trim().is_empty() => ext.reasons.push((check.clone(), r.to_owned())),
                        _ => return refuse(format!("{p}.{check}"), "must be a non-empty string"),
                    }
                }
            }
            "padStart" => {
                if type_name != "string" {
                    return refuse(p, format!("does not apply to type \"{type_name}\""));
                }
                let Some(m) = value.as_object() else {
                    return refuse(p, "must be {\"length\": N, \"with\": \"c\"}");
                };
                let length = m.get("length").and_then(Value::as_u64).and_then(|n| usize::try_from(n).ok());
                let mut with = m.get("with").and_then(Value::as_str).map(|s| s.chars());
                let pad = match (&mut with, m.len()) {
                    (Some(chars), 2) => chars.next().filter(|_| chars.next().is_none()),
                    _ => None,
                };
                match (length, pad) {
                    (Some(n), Some(c)) if n <= 1024 => ext.pad_start = Some((n, c)),
                    _ => return refuse(p, "must be {\"length\": N (at most 1024), \"with\": one character}"),
                }
            }
            "decimals" => {
                if !matches!(kind, FieldType::Number(f) if !f.integer) {
                    return refuse(p, format!("does not apply to type \"{type_name}\""));
                }
                match value.as_u64() {
                    Some(n) if n <= 30 => ext.decimals = Some(n as u32),
                    _ => return refuse(p, "must be an integer from 0 to 30"),
                }
            }
            "requiredUnless" => {
                let Some(m) = value.as_object() else {
                    return refuse(p, "must be {\"field\": NAME, \"in\": [values]}");
                };
                let name = m.get("field").and_then(Value::as_str);
                let values = m.get("in").and_then(Value::as_array);
                let (Some(name), Some(values), 2) = (name, values, m.len()) else {
                    return refuse(p, "must be {\"field\": NAME, \"in\": [values]}");
                };
                let values = values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| match v.as_str() {
                        Some(s) => Ok(s.to_owned()),
                        None => refuse(format!("{p}.in[{i}]"), "must be a string (the value as normalized)"),
                    })
                    .collect::<Result<_, _>>()?;
                ext.required_unless = Some(RequiredUnless { field: usize::MAX, field_name: name.to_owned(), values });
            }
            "column" => ext.column = Some(sql_name(value, &p)?),
            "sqlType" => match value.as_str() {
                // A type, not a statement: letters, digits, spaces, parentheses and commas.
                Some(t) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b" (),".contains(&b)) => {
                    ext.sql_type = Some(t.to_ascii_uppercase());
                }
                _ => return refuse(p, "must be a MySQL column type such as VARCHAR(16) or DECIMAL(5,2)"),
            },
            _ => return refuse(p, unknown()),
        }
    }
    Ok(ext)
}

/// A table or column name: it is written into SQL, so only letters, digits and `_`,
/// starting with a letter (no quoting needed, nothing to inject).
fn sql_name(value: &Value, path: &str) -> Result<String, DescriptorError> {
    match value.as_str() {
        Some(n)
            if n.len() <= 64
                && n.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
                && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
        {
            Ok(n.to_owned())
        }
        _ => refuse(path, "must be a name of letters, digits and _ (at most 64), starting with a letter"),
    }
}

fn flag(value: &Value, path: &str) -> Result<bool, DescriptorError> {
    match value {
        Value::Bool(b) => Ok(*b),
        _ => refuse(path, "must be true or false"),
    }
}

fn unknown() -> String {
    "not a zipster extension (see feeds/README.md for those there are)".to_owned()
}
