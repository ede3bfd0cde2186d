//! Loading a Table Schema v2 descriptor into a [`Contract`]: every property is either
//! understood or refused with its JSON path; nothing is silently ignored.

use serde_json::Value;

use crate::extension::{self, FieldExtensions, RaggedRows, SchemaExtensions, Thresholds};
use crate::matcher::Matcher;
use crate::number::{Decimal, NumberFormat};
use crate::temporal::{self, Kind, Moment, Pattern};

/// A descriptor that cannot be used, with the JSON path of what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct DescriptorError {
    pub path: String,
    pub message: String,
}

pub(crate) fn refuse<T>(path: impl Into<String>, message: impl Into<String>) -> Result<T, DescriptorError> {
    Err(DescriptorError { path: path.into(), message: message.into() })
}

/// How the header's labels are matched to the fields (`fieldsMatch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldsMatch {
    /// Same fields, same number, by position (the default).
    Exact,
    /// Same fields, by name, in any order.
    Equal,
    /// Every field, by name; more columns are allowed.
    Subset,
    /// Only declared fields, by name; fewer are allowed (not required ones).
    Superset,
    /// At least one field, by name.
    Partial,
}

/// A field's type with what reading it needs, compiled once.
#[derive(Debug, Clone)]
pub(crate) enum FieldType {
    String(StringFormat),
    Number(NumberFormat),
    Boolean { true_values: Vec<String>, false_values: Vec<String> },
    Temporal(Kind, Option<Pattern>),
    Year,
    Any,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StringFormat {
    Default,
    Email,
    Uri,
    Uuid,
}

/// A constraint value in the field's logical type.
#[derive(Debug, Clone)]
pub(crate) enum Bound {
    Number(Decimal),
    Moment(Moment),
    Year(u32),
}

/// A string `enum`'s values, looked up once per cell. The set is fixed by the descriptor,
/// so it is laid out once for speed: a value of up to 15 bytes is packed with its length
/// into a `u128` and found in an open-addressed table of them (one multiply, usually one
/// compare, no hashing loop or `memcmp`); longer values are binary-searched. A cell crafted
/// to collide can only cost its own probe sequence: a set that never grows cannot be flooded.
#[derive(Debug, Clone, Default)]
pub(crate) struct StringSet {
    /// The values as the descriptor lists them.
    values: Vec<String>,
    /// Packed short values (0: an empty slot; a packed value never is 0), a power of two long.
    slots: Box<[u128]>,
    /// Values longer than 15 bytes, sorted.
    long: Vec<String>,
}

impl StringSet {
    /// Inlined wherever it is used: a call cost as much as the lookup (register saves
    /// around a dozen instructions of work).
    #[inline(always)]
    pub(crate) fn contains(&self, value: &str) -> bool {
        let Some(packed) = pack(value) else {
            return self.long.binary_search_by(|v| v.as_str().cmp(value)).is_ok();
        };
        let mask = self.slots.len().wrapping_sub(1);
        let mut i = slot(packed, self.slots.len());
        for _ in 0..self.slots.len() {
            match self.slots[i] {
                0 => return false,
                v if v == packed => return true,
                _ => i = (i + 1) & mask,
            }
        }
        false
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &String> {
        self.values.iter()
    }
}

impl FromIterator<String> for StringSet {
    fn from_iter<I: IntoIterator<Item = String>>(values: I) -> StringSet {
        let mut set = StringSet { values: values.into_iter().collect(), ..StringSet::default() };
        let short: Vec<u128> = set.values.iter().filter_map(|v| pack(v)).collect();
        // At most half full, so a miss ends at an empty slot within a probe or two.
        let len = (2 * short.len()).next_power_of_two().max(2);
        let mut slots = vec![0u128; len].into_boxed_slice();
        for packed in short {
            let mut i = slot(packed, len);
            while slots[i] != 0 {
                i = (i + 1) & (len - 1);
            }
            slots[i] = packed;
        }
        set.slots = slots;
        set.long = set.values.iter().filter(|v| v.len() > 15).cloned().collect();
        set.long.sort();
        set
    }
}

/// A value of up to 15 bytes as one number: its bytes, then its length + 1 in the top byte.
#[inline(always)]
fn pack(value: &str) -> Option<u128> {
    let bytes = value.as_bytes();
    if bytes.len() > 15 {
        return None;
    }
    // The first eight bytes as one load when there are eight, the rest as two overlapping
    // loads (a copy of a variable length would be a call to `memcpy` per cell, and a byte
    // loop was 16 steps a zip code row).
    let (low, high) = bytes.split_at(bytes.len().min(8));
    let low = <[u8; 8]>::try_from(low).map_or_else(|_| short_word(low), u64::from_le_bytes);
    Some(u128::from(low) | (u128::from(short_word(high)) << 64) | (u128::from(bytes.len() as u8 + 1) << 120))
}

/// Up to seven bytes as a little-endian `u64` (zero above them): two loads that overlap in
/// the middle, where they hold the same bytes.
#[inline(always)]
fn short_word(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    match (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        (Some(first), Some(last)) => {
            u64::from(u32::from_le_bytes(*first)) | (u64::from(u32::from_le_bytes(*last)) << (8 * (n - 4)))
        }
        _ => match (bytes.first(), bytes.get(n / 2), bytes.last()) {
            (Some(&first), Some(&middle), Some(&last)) => {
                u64::from(first) | (u64::from(middle) << (8 * (n / 2))) | (u64::from(last) << (8 * (n - 1)))
            }
            _ => 0,
        },
    }
}

/// The first slot of a packed value in a table of `len` (a power of two) slots.
#[inline(always)]
fn slot(packed: u128, len: usize) -> usize {
    let folded = (packed as u64) ^ ((packed >> 64) as u64).rotate_left(29);
    let mixed = folded.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (mixed >> (64 - len.trailing_zeros().max(1))) as usize & (len - 1)
}

#[derive(Debug, Clone)]
pub(crate) enum EnumValues {
    Strings(StringSet),
    Numbers(Vec<Decimal>),
    Booleans(Vec<bool>),
    Moments(Vec<Moment>),
    Years(Vec<u32>),
}

/// Which bound a [`Check::Bound`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BoundKind {
    Minimum,
    Maximum,
    ExclusiveMinimum,
    ExclusiveMaximum,
}

impl BoundKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            BoundKind::Minimum => "minimum",
            BoundKind::Maximum => "maximum",
            BoundKind::ExclusiveMinimum => "exclusiveMinimum",
            BoundKind::ExclusiveMaximum => "exclusiveMaximum",
        }
    }
}

/// One constraint a value is checked against; `shown` is the descriptor's text of it.
#[derive(Debug, Clone)]
pub(crate) enum Check {
    MinLength(usize),
    MaxLength(usize),
    Pattern(Matcher, String),
    Bound(BoundKind, Bound, String),
    Enum(EnumValues, String),
}

impl Check {
    /// The spec's (and frictionless's) order, whatever the descriptor's key order.
    fn rank(&self) -> u8 {
        match self {
            Check::MinLength(_) => 0,
            Check::MaxLength(_) => 1,
            Check::Pattern(..) => 2,
            Check::Bound(kind, ..) => 3 + *kind as u8,
            Check::Enum(..) => 7,
        }
    }
}

/// A field's constraints: the two the validator itself applies, and the value checks,
/// only those the descriptor declares, so an unconstrained cell costs nothing.
#[derive(Debug, Clone, Default)]
pub(crate) struct Constraints {
    pub required: bool,
    pub unique: bool,
    pub checks: Vec<Check>,
}

/// One field of the contract.
#[derive(Debug, Clone)]
pub struct Field {
    pub(crate) name: String,
    pub(crate) type_name: &'static str,
    pub(crate) format_name: String,
    pub(crate) kind: FieldType,
    pub(crate) constraints: Constraints,
    pub(crate) missing_values: Vec<String>,
    pub(crate) ext: FieldExtensions,
}

impl Field {
    /// The field's name, as the header must spell it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether a value is required (by the constraint or by the primary key).
    pub fn required(&self) -> bool {
        self.constraints.required
    }

    /// The label a file is expected to use for it: its first `zipster:labels` entry, else
    /// its name.
    pub fn expected_label(&self) -> &str {
        self.ext.labels.first().unwrap_or(&self.name)
    }

    /// Whether a header label means this field (`zipster:labels`, case as the contract says).
    pub(crate) fn is_labelled(&self, label: &str, case_insensitive: bool) -> bool {
        let same = |name: &str| if case_insensitive { name.eq_ignore_ascii_case(label) } else { name == label };
        same(&self.name) || self.ext.labels.iter().any(|l| same(l))
    }
}

/// A Table Schema descriptor checked and compiled once; shared by every file it validates.
#[derive(Debug, Clone)]
pub struct Contract {
    pub(crate) fields: Vec<Field>,
    pub(crate) fields_match: FieldsMatch,
    pub(crate) primary_key: Vec<usize>,
    pub(crate) ext: SchemaExtensions,
}

/// Properties that document and never change what is valid.
const DOCUMENTATION: [&str; 4] = ["title", "description", "example", "rdfType"];

impl Contract {
    /// Reads a descriptor from its JSON text.
    pub fn from_json(text: &str) -> Result<Contract, DescriptorError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| DescriptorError { path: "$".into(), message: format!("not JSON: {e}") })?;
        Contract::from_value(&value)
    }

    /// Reads a descriptor already parsed as JSON.
    pub fn from_value(value: &Value) -> Result<Contract, DescriptorError> {
        let Some(root) = value.as_object() else {
            return refuse("$", "a Table Schema must be a JSON object");
        };
        for key in root.keys() {
            match key.as_str() {
                "fields" | "missingValues" | "primaryKey" | "fieldsMatch" | "$schema" => {}
                "foreignKeys" | "uniqueKeys" => return refuse(key.as_str(), "unsupported"),
                k if DOCUMENTATION.contains(&k) || k == "name" || k.starts_with(extension::PREFIX) => {}
                k => return refuse(k, "unsupported (an unknown property may change what is valid)"),
            }
        }
        if let Some(schema) = root.get("$schema")
            && !schema.is_string()
        {
            return refuse("$schema", "must be a string");
        }
        let ext = extension::schema(root)?;
        let missing_values = match root.get("missingValues") {
            Some(v) => missing_values(v, "missingValues")?,
            None => vec![String::new()],
        };
        let fields_match = match root.get("fieldsMatch") {
            None => FieldsMatch::Exact,
            Some(Value::String(s)) => match s.as_str() {
                "exact" => FieldsMatch::Exact,
                "equal" => FieldsMatch::Equal,
                "subset" => FieldsMatch::Subset,
                "superset" => FieldsMatch::Superset,
                "partial" => FieldsMatch::Partial,
                other => {
                    return refuse(
                        "fieldsMatch",
                        format!("\"{other}\" is not one of exact, equal, subset, superset, partial"),
                    );
                }
            },
            Some(_) => return refuse("fieldsMatch", "must be a string"),
        };
        let Some(list) = root.get("fields") else {
            return refuse("fields", "required");
        };
        let Some(list) = list.as_array() else {
            return refuse("fields", "must be an array of field descriptors");
        };
        if list.is_empty() {
            return refuse("fields", "must declare at least one field");
        }
        let mut fields = Vec::with_capacity(list.len());
        for (i, f) in list.iter().enumerate() {
            let field = field(f, &format!("fields[{i}]"), &missing_values)?;
            if fields.iter().any(|other: &Field| other.name == field.name) {
                // Allowed in v1 for positional matching, but a header then cannot say which
                // column is which, nor a key which field: refused rather than guessed.
                return refuse(format!("fields[{i}].name"), format!("\"{}\" is declared twice", field.name));
            }
            fields.push(field);
        }
        let primary_key = match root.get("primaryKey") {
            None => Vec::new(),
            Some(Value::String(name)) => vec![key_field(&fields, name, "primaryKey")?],
            Some(Value::Array(names)) => {
                let mut key = Vec::new();
                for (i, name) in names.iter().enumerate() {
                    let path = format!("primaryKey[{i}]");
                    let Some(name) = name.as_str() else {
                        return refuse(path, "must be a field name");
                    };
                    let index = key_field(&fields, name, &path)?;
                    if key.contains(&index) {
                        return refuse(path, format!("\"{name}\" is listed twice"));
                    }
                    key.push(index);
                }
                key
            }
            Some(_) => return refuse("primaryKey", "must be a field name or an array of them"),
        };
        // The spec: a primary key's fields cannot be null, as if `required: true`.
        for &i in &primary_key {
            fields[i].constraints.required = true;
        }
        resolve_extensions(&mut fields, &ext)?;
        Ok(Contract { fields, fields_match, primary_key, ext })
    }

    /// The input keys this feed owns: `zipster:keyPrefix`, by default `<name>/` (`None`
    /// when the descriptor names neither: the caller knows the feed by its folder).
    pub fn key_prefix(&self) -> Option<&str> {
        self.ext.key_prefix.as_deref()
    }

    pub fn thresholds(&self) -> Thresholds {
        self.ext.thresholds
    }

    pub fn ragged_rows(&self) -> RaggedRows {
        self.ext.ragged_rows
    }

    /// `zipster:whitespaceLinesAreBlank`: whether a line of only whitespace is a blank row.
    pub fn whitespace_lines_are_blank(&self) -> bool {
        self.ext.whitespace_lines_are_blank
    }

    /// The fields, in the descriptor's order (the order of normalized records).
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    pub fn fields_match(&self) -> FieldsMatch {
        self.fields_match
    }

    /// The primary key's field names.
    pub fn primary_key(&self) -> impl Iterator<Item = &str> {
        self.primary_key.iter().map(|&i| self.fields[i].name.as_str())
    }
}

/// Checks what the extensions say across fields: the field a `requiredUnless` names
/// exists, no label means two fields, the table's key names fields.
fn resolve_extensions(fields: &mut [Field], ext: &SchemaExtensions) -> Result<(), DescriptorError> {
    for (i, name) in ext.table_key.iter().enumerate() {
        if !fields.iter().any(|f| &f.name == name) {
            return refuse(format!("zipster:table.key[{i}]"), format!("\"{name}\" is not a field"));
        }
    }
    for i in 0..fields.len() {
        if let Some(rule) = &fields[i].ext.required_unless {
            let path = format!("fields[{i}].zipster:requiredUnless");
            let Some(other) = fields.iter().position(|f| f.name == rule.field_name) else {
                return refuse(path, format!("\"{}\" is not a field", rule.field_name));
            };
            if other == i {
                return refuse(path, "names the field itself");
            }
            if fields[i].constraints.required {
                return refuse(path, "the field is required already (constraint or primary key)");
            }
            if let Some(rule) = fields[i].ext.required_unless.as_mut() {
                rule.field = other;
            }
        }
        for label in fields[i].ext.labels.iter().chain(std::iter::once(&fields[i].name)) {
            if let Some(j) = (0..i).find(|&j| fields[j].is_labelled(label, ext.case_insensitive_labels)) {
                return refuse(
                    format!("fields[{i}].zipster:labels"),
                    format!("label \"{label}\" also means field \"{}\"", fields[j].name),
                );
            }
        }
    }
    Ok(())
}

fn key_field(fields: &[Field], name: &str, path: &str) -> Result<usize, DescriptorError> {
    match fields.iter().position(|f| f.name == name) {
        Some(i) => Ok(i),
        None => refuse(path, format!("\"{name}\" is not a field")),
    }
}

fn missing_values(value: &Value, path: &str) -> Result<Vec<String>, DescriptorError> {
    let Some(list) = value.as_array() else {
        return refuse(path, "must be an array of strings or of {value, label} objects");
    };
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    let mut labels: Vec<&str> = Vec::new();
    for (i, entry) in list.iter().enumerate() {
        let value = match entry {
            Value::String(s) => s.clone(),
            Value::Object(o) => {
                for k in o.keys() {
                    if k != "value" && k != "label" {
                        return refuse(format!("{path}[{i}].{k}"), "unsupported");
                    }
                }
                let Some(v) = o.get("value").and_then(Value::as_str) else {
                    return refuse(format!("{path}[{i}].value"), "required, a string");
                };
                if let Some(label) = o.get("label") {
                    let Some(label) = label.as_str() else {
                        return refuse(format!("{path}[{i}].label"), "must be a string");
                    };
                    if labels.contains(&label) {
                        return refuse(format!("{path}[{i}].label"), format!("\"{label}\" is not unique"));
                    }
                    labels.push(label);
                }
                v.to_owned()
            }
            _ => return refuse(format!("{path}[{i}]"), "must be a string or a {value, label} object"),
        };
        if out.contains(&value) {
            return refuse(format!("{path}[{i}]"), format!("\"{value}\" is listed twice"));
        }
        out.push(value);
    }
    Ok(out)
}

fn string_list(value: &Value, path: &str) -> Result<Vec<String>, DescriptorError> {
    let Some(list) = value.as_array() else {
        return refuse(path, "must be an array of strings");
    };
    list.iter()
        .enumerate()
        .map(|(i, v)| match v.as_str() {
            Some(s) => Ok(s.to_owned()),
            None => refuse(format!("{path}[{i}]"), "must be a string"),
        })
        .collect()
}

fn field(value: &Value, path: &str, schema_missing: &[String]) -> Result<Field, DescriptorError> {
    let Some(o) = value.as_object() else {
        return refuse(path, "a field must be a JSON object");
    };
    let name = match o.get("name") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(_) => return refuse(format!("{path}.name"), "must be a non-empty string"),
        None => return refuse(format!("{path}.name"), "required"),
    };
    let type_name: &'static str = match o.get("type") {
        // v2: a field without a type is `any`.
        None => "any",
        Some(Value::String(t)) => match t.as_str() {
            "string" => "string",
            "integer" => "integer",
            "number" => "number",
            "boolean" => "boolean",
            "date" => "date",
            "time" => "time",
            "datetime" => "datetime",
            "year" => "year",
            "any" => "any",
            other => return refuse(format!("{path}.type"), format!("\"{other}\" is not supported")),
        },
        Some(_) => return refuse(format!("{path}.type"), "must be a string"),
    };
    let format_name = match o.get("format") {
        None => "default".to_owned(),
        // v0's `fmt:` prefix, which the spec says to remove.
        Some(Value::String(f)) => f.strip_prefix("fmt:").unwrap_or(f).to_owned(),
        Some(_) => return refuse(format!("{path}.format"), "must be a string"),
    };
    let allowed_extra: &[&str] = match type_name {
        "integer" => &["groupChar", "bareNumber"],
        "number" => &["decimalChar", "groupChar", "bareNumber"],
        "boolean" => &["trueValues", "falseValues"],
        _ => &[],
    };
    for key in o.keys() {
        let k = key.as_str();
        let known = ["name", "type", "format", "constraints", "missingValues"].contains(&k)
            || k.starts_with(extension::PREFIX)
            || DOCUMENTATION.contains(&k)
            || allowed_extra.contains(&k);
        if !known {
            let why = match k {
                "categories" | "categoriesOrdered" => "unsupported".to_owned(),
                "decimalChar" | "groupChar" | "bareNumber" | "trueValues" | "falseValues" => {
                    format!("does not apply to type \"{type_name}\"")
                }
                _ => "unsupported (an unknown property may change what is valid)".to_owned(),
            };
            return refuse(format!("{path}.{k}"), why);
        }
    }
    let format_path = format!("{path}.format");
    let only_default = |what: &str| -> Result<(), DescriptorError> {
        if format_name == "default" {
            Ok(())
        } else {
            refuse(&format_path, format!("\"{format_name}\" is not a format of {what}"))
        }
    };
    let text = |key: &str, default: &str| -> Result<String, DescriptorError> {
        match o.get(key) {
            None => Ok(default.to_owned()),
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(_) => refuse(format!("{path}.{key}"), "must be a non-empty string"),
        }
    };
    let bare = match o.get("bareNumber") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return refuse(format!("{path}.bareNumber"), "must be true or false"),
    };
    let kind = match type_name {
        "string" => FieldType::String(match format_name.as_str() {
            "default" => StringFormat::Default,
            "email" => StringFormat::Email,
            "uri" => StringFormat::Uri,
            "uuid" => StringFormat::Uuid,
            "binary" => return refuse(&format_path, "\"binary\" is not supported"),
            other => return refuse(&format_path, format!("\"{other}\" is not a string format")),
        }),
        "integer" | "number" => {
            only_default(type_name)?;
            let integer = type_name == "integer";
            let group_char = o.contains_key("groupChar").then(|| text("groupChar", "")).transpose()?;
            let decimal_char = text("decimalChar", ".")?;
            for (key, value) in [("groupChar", group_char.as_deref()), ("decimalChar", Some(decimal_char.as_str()))] {
                if value.is_some_and(|v| v.bytes().any(|b| b.is_ascii_digit())) {
                    return refuse(format!("{path}.{key}"), "must not contain digits");
                }
            }
            if group_char.as_deref() == Some(decimal_char.as_str()) {
                return refuse(format!("{path}.groupChar"), "is the same as decimalChar");
            }
            FieldType::Number(NumberFormat { integer, group_char, decimal_char, bare })
        }
        "boolean" => {
            only_default("boolean")?;
            let true_values = match o.get("trueValues") {
                Some(v) => string_list(v, &format!("{path}.trueValues"))?,
                None => ["true", "True", "TRUE", "1"].map(String::from).to_vec(),
            };
            let false_values = match o.get("falseValues") {
                Some(v) => string_list(v, &format!("{path}.falseValues"))?,
                None => ["false", "False", "FALSE", "0"].map(String::from).to_vec(),
            };
            if let Some(both) = true_values.iter().find(|t| false_values.contains(t)) {
                return refuse(format!("{path}.falseValues"), format!("\"{both}\" is also a true value"));
            }
            FieldType::Boolean { true_values, false_values }
        }
        "date" | "time" | "datetime" => {
            let kind = match type_name {
                "date" => Kind::Date,
                "time" => Kind::Time,
                _ => Kind::DateTime,
            };
            let pattern = match format_name.as_str() {
                "default" => None,
                "any" => {
                    return refuse(&format_path, "\"any\" is not supported (the spec does not recommend it)");
                }
                p => Some(Pattern::compile(p).map_err(|m| DescriptorError { path: format_path.clone(), message: m })?),
            };
            FieldType::Temporal(kind, pattern)
        }
        "year" => {
            only_default("year")?;
            FieldType::Year
        }
        _ => {
            only_default("any")?;
            FieldType::Any
        }
    };
    let missing_values = match o.get("missingValues") {
        Some(v) => missing_values(v, &format!("{path}.missingValues"))?,
        None => schema_missing.to_vec(),
    };
    let ext = extension::field(o, path, type_name, &kind)?;
    let mut field =
        Field { name, type_name, format_name, kind, constraints: Constraints::default(), missing_values, ext };
    if let Some(c) = o.get("constraints") {
        field.constraints = constraints(&field, c, &format!("{path}.constraints"))?;
    }
    Ok(field)
}

fn constraints(field: &Field, value: &Value, path: &str) -> Result<Constraints, DescriptorError> {
    let Some(o) = value.as_object() else {
        return refuse(path, "must be a JSON object");
    };
    let t = field.type_name;
    let ordered = matches!(field.kind, FieldType::Number(_) | FieldType::Temporal(..) | FieldType::Year);
    let mut c = Constraints::default();
    for (key, v) in o {
        let p = format!("{path}.{key}");
        let flag = |v: &Value| match v {
            Value::Bool(b) => Ok(*b),
            _ => refuse(&p, "must be true or false"),
        };
        let length = |v: &Value| match v.as_u64().and_then(|n| usize::try_from(n).ok()) {
            Some(n) => Ok(n),
            None => refuse(&p, "must be a non-negative integer"),
        };
        let shown = v.to_string();
        match key.as_str() {
            "required" => c.required = flag(v)?,
            "unique" => c.unique = flag(v)?,
            "minLength" | "maxLength" if t == "string" => {
                let n = length(v)?;
                c.checks.push(if key == "minLength" { Check::MinLength(n) } else { Check::MaxLength(n) });
            }
            "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" if ordered => {
                let kind = match key.as_str() {
                    "minimum" => BoundKind::Minimum,
                    "maximum" => BoundKind::Maximum,
                    "exclusiveMinimum" => BoundKind::ExclusiveMinimum,
                    _ => BoundKind::ExclusiveMaximum,
                };
                c.checks.push(Check::Bound(kind, bound(field, v, &p)?, shown));
            }
            "pattern" if t == "string" => {
                let Some(p_text) = v.as_str() else {
                    return refuse(&p, "must be a string");
                };
                // The whole value must match (the matcher anchors it at both ends).
                let matcher = Matcher::new(p_text).map_err(|e| DescriptorError {
                    path: p.clone(),
                    message: format!("not a regular expression: {e}"),
                })?;
                c.checks.push(Check::Pattern(matcher, p_text.to_owned()));
            }
            "enum" => c.checks.push(Check::Enum(enum_values(field, v, &p)?, shown)),
            "minLength" | "maxLength" | "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" | "pattern" => {
                return refuse(&p, format!("does not apply to type \"{t}\""));
            }
            "jsonSchema" => return refuse(&p, "unsupported"),
            _ => return refuse(&p, "unsupported"),
        }
    }
    c.checks.sort_by_key(Check::rank);
    Ok(c)
}

/// A constraint value: a JSON number (numeric types) or a string read as a cell is.
fn bound(field: &Field, v: &Value, path: &str) -> Result<Bound, DescriptorError> {
    let bad = || refuse(path, format!("{v} is not a valid {}", field.type_name));
    match &field.kind {
        FieldType::Number(format) => {
            let parsed = match v {
                Value::Number(n) => Decimal::parse(&n.to_string(), &NumberFormat::plain(format.integer)),
                Value::String(s) => Decimal::parse(s, format),
                _ => None,
            };
            parsed.map(Bound::Number).map_or_else(bad, Ok)
        }
        FieldType::Year => {
            let parsed = match v {
                Value::Number(n) => n.as_u64().filter(|y| *y <= 9999).map(|y| y as u32),
                Value::String(s) => temporal::parse_year(s),
                _ => None,
            };
            parsed.map(Bound::Year).map_or_else(bad, Ok)
        }
        FieldType::Temporal(kind, pattern) => {
            let parsed = v.as_str().and_then(|s| read_moment(*kind, pattern.as_ref(), s));
            parsed.map(Bound::Moment).map_or_else(bad, Ok)
        }
        _ => bad(),
    }
}

pub(crate) fn read_moment(kind: Kind, pattern: Option<&Pattern>, s: &str) -> Option<Moment> {
    match pattern {
        Some(p) => p.parse(kind, s),
        None => temporal::parse_default(kind, s),
    }
}

fn enum_values(field: &Field, v: &Value, path: &str) -> Result<EnumValues, DescriptorError> {
    let Some(list) = v.as_array() else {
        return refuse(path, "must be an array");
    };
    let item = |i: usize| format!("{path}[{i}]");
    Ok(match &field.kind {
        FieldType::String(_) | FieldType::Any => EnumValues::Strings(
            list.iter()
                .enumerate()
                .map(|(i, v)| match v.as_str() {
                    Some(s) => Ok(s.to_owned()),
                    None => refuse(item(i), "must be a string (CSV cells are text)"),
                })
                .collect::<Result<_, _>>()?,
        ),
        FieldType::Boolean { true_values, false_values } => EnumValues::Booleans(
            list.iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::Bool(b) => Ok(*b),
                    Value::String(s) if true_values.contains(s) => Ok(true),
                    Value::String(s) if false_values.contains(s) => Ok(false),
                    _ => refuse(item(i), format!("{v} is not a boolean of this field")),
                })
                .collect::<Result<_, _>>()?,
        ),
        FieldType::Number(_) => EnumValues::Numbers(
            list.iter()
                .enumerate()
                .map(|(i, v)| match bound(field, v, &item(i))? {
                    Bound::Number(d) => Ok(d),
                    _ => refuse(item(i), "must be a number"),
                })
                .collect::<Result<_, _>>()?,
        ),
        FieldType::Temporal(..) => EnumValues::Moments(
            list.iter()
                .enumerate()
                .map(|(i, v)| match bound(field, v, &item(i))? {
                    Bound::Moment(m) => Ok(m),
                    _ => refuse(item(i), format!("must be a {}", field.type_name)),
                })
                .collect::<Result<_, _>>()?,
        ),
        FieldType::Year => EnumValues::Years(
            list.iter()
                .enumerate()
                .map(|(i, v)| match bound(field, v, &item(i))? {
                    Bound::Year(y) => Ok(y),
                    _ => refuse(item(i), "must be a year"),
                })
                .collect::<Result<_, _>>()?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_short_value_packs_as_its_bytes_then_its_length() {
        let text = "abcdefghijklmnop";
        for len in 0..=16 {
            let value = &text[..len];
            let expected = (len <= 15).then(|| {
                let bytes = value.bytes().rev().fold(0u128, |acc, b| (acc << 8) | u128::from(b));
                bytes | (u128::from(len as u8 + 1) << 120)
            });
            assert_eq!(pack(value), expected, "{len}");
        }
    }

    proptest! {
        #[test]
        fn a_string_set_holds_exactly_its_values(
            values in proptest::collection::vec("[a-cé ]{0,18}", 0..40),
            probe in "[a-cé ]{0,18}",
        ) {
            let set: StringSet = values.iter().cloned().collect();
            for v in &values {
                prop_assert!(set.contains(v), "{:?}", v);
            }
            prop_assert_eq!(set.contains(&probe), values.contains(&probe));
            prop_assert_eq!(set.iter().count(), values.len());
        }
    }
}
