//! The MySQL table a contract declares: its name, one column per field with the type the
//! field's Table Schema type and constraints map to, `NOT NULL` for `required`, the
//! primary key and the `unique` fields. The mapping (documented in `feeds/README.md`,
//! "The table"):
//!
//! | field | column type |
//! |---|---|
//! | `string` with `maxLength` n | `VARCHAR(n)` |
//! | `string` with `enum` | `VARCHAR(longest value)` |
//! | `string` with a one-class `pattern` of at most n characters (`[A-Z]{2}`) | `VARCHAR(n)` |
//! | `string` padded to n (`zipster:padStart`) and at most n long | `CHAR(n)` |
//! | other `string`, `any` | `TEXT` |
//! | `integer` | the smallest of `TINYINT`…`BIGINT` (`UNSIGNED` when `minimum` ≥ 0) that holds both bounds; `BIGINT` without them |
//! | `number` with `zipster:decimals` d and both bounds | `DECIMAL(p, d)`, p the bounds' integer digits + d |
//! | other `number` | `DOUBLE` |
//! | `boolean`, `date` | `BOOLEAN`, `DATE` |
//! | `time`, `datetime` | `TIME(6)`, `DATETIME(6)` (to the microsecond, the most MySQL keeps) |
//! | `year` with bounds within 1901–2155 | `YEAR` (which holds no other year) |
//! | other `year` | `SMALLINT UNSIGNED` |
//!
//! Names: `zipster:table` (else the feed's name, upper-case) and `zipster:column` (else
//! the field's name, upper-case); `zipster:sqlType` replaces a column's mapped type where
//! an existing table must be kept as it is.
//!
//! Beyond the fields every table has its lineage column (`zipster:table.lineageColumn`,
//! default `_LOAD_ID`): `BIGINT UNSIGNED NULL`, a foreign key to `LOADED_OBJECTS.ID`, the
//! load that last wrote the row (`NULL` for rows written before loads were recorded).
//! How a file changes the table is the contract's `zipster:table.strategy`.

use crate::matcher::Matcher;
use crate::number::Head;
use crate::schema::{Bound, BoundKind, Check, Contract, EnumValues, Field, FieldType};
use crate::temporal::{self, Kind};

/// A table as the contract declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: String,
    pub columns: Vec<TableColumn>,
    /// Column names, in key order.
    pub primary_key: Vec<String>,
    /// Columns with a `unique` constraint.
    pub unique: Vec<String>,
    /// Columns the table has beyond the contract's (generated ones, like the zip codes'
    /// `COORDS`), named by `zipster:table.derivedColumns`.
    pub derived: Vec<String>,
    /// The column recording which load (`LOADED_OBJECTS.ID`) last wrote each row.
    pub lineage: String,
    pub strategy: LoadStrategy,
    /// A replace that would delete more than this share of the table's rows is refused.
    pub max_deleted_share: f64,
}

/// The lineage column's name unless the contract names another.
pub const LINEAGE_COLUMN: &str = "_LOAD_ID";

/// The share of a table a replace may delete unless the contract says otherwise: a
/// file that lost most of its rows on the way is far more likely than a data set that
/// shrank by a tenth overnight.
pub const MAX_DELETED_SHARE: f64 = 0.10;

/// How one file changes its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadStrategy {
    /// A row whose key is in the table replaces it; others are inserted.
    Upsert,
    /// Every row is inserted (a table without a key: events, readings).
    Append,
    /// The file is the whole data set: upserted, and rows whose key is not in the file
    /// are deleted, in the same transaction.
    Replace,
}

impl LoadStrategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upsert => "upsert",
            Self::Append => "append",
            Self::Replace => "replace",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableColumn {
    /// The field it holds.
    pub field: String,
    pub name: String,
    /// Upper-case MySQL type (`VARCHAR(64)`, `DECIMAL(5,2)`, `INT UNSIGNED`).
    pub sql_type: String,
    pub nullable: bool,
    /// How the field's normalized text is bound, from the field's type (never from
    /// `sql_type`, which an override may spell any way).
    pub kind: ValueKind,
}

/// What a column's normalized text is, for binding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// `true` / `false`.
    Boolean,
    /// An integer or a number, in plain notation.
    Number,
    /// A `datetime` in the spec's default form, possibly with a zone.
    DateTime,
    /// A `time` in the spec's default form, possibly with a zone.
    Time,
    /// Anything else, bound as text (dates in their default form).
    Text,
}

impl ValueKind {
    /// A staged value as its column takes it: a datetime or a time as its UTC wall clock
    /// when it has a zone (MySQL's columns keep none and refuse a literal with one), any
    /// other value as it is. `None` when a datetime or time is not in the staged form.
    pub fn database_text(self, staged: &str) -> Option<String> {
        let kind = match self {
            ValueKind::DateTime => Kind::DateTime,
            ValueKind::Time => Kind::Time,
            ValueKind::Boolean | ValueKind::Number | ValueKind::Text => return Some(staged.to_owned()),
        };
        let mut out = String::with_capacity(staged.len());
        temporal::parse_default(kind, staged)?.write_for_database(kind, &mut out);
        Some(out)
    }
}

impl Contract {
    /// The table of feed `feed` (its folder name, the table's default name).
    pub fn table(&self, feed: &str) -> Table {
        let column_name = |f: &Field| f.ext.column.clone().unwrap_or_else(|| identifier(&f.name));
        let columns = self
            .fields
            .iter()
            .map(|f| TableColumn {
                field: f.name.clone(),
                name: column_name(f),
                sql_type: f.ext.sql_type.clone().unwrap_or_else(|| sql_type(f)),
                nullable: !f.constraints.required,
                kind: match f.kind {
                    FieldType::Boolean { .. } => ValueKind::Boolean,
                    FieldType::Number(_) => ValueKind::Number,
                    FieldType::Temporal(Kind::DateTime, _) => ValueKind::DateTime,
                    FieldType::Temporal(Kind::Time, _) => ValueKind::Time,
                    _ => ValueKind::Text,
                },
            })
            .collect();
        let primary_key: Vec<String> = match self.primary_key.is_empty() {
            false => self.primary_key.iter().map(|&i| column_name(&self.fields[i])).collect(),
            true => self
                .ext
                .table_key
                .iter()
                .filter_map(|name| self.fields.iter().find(|f| &f.name == name))
                .map(column_name)
                .collect(),
        };
        // The descriptor's checks refused an upsert or a replace without a key.
        let keyed = if primary_key.is_empty() { LoadStrategy::Append } else { LoadStrategy::Upsert };
        Table {
            name: self.ext.table.clone().unwrap_or_else(|| identifier(feed)),
            columns,
            primary_key,
            unique: self.fields.iter().filter(|f| f.constraints.unique).map(column_name).collect(),
            derived: self.ext.derived_columns.clone(),
            lineage: self.ext.lineage_column.clone().unwrap_or_else(|| LINEAGE_COLUMN.to_owned()),
            strategy: self.ext.strategy.unwrap_or(keyed),
            max_deleted_share: self.ext.max_deleted_share.unwrap_or(MAX_DELETED_SHARE),
        }
    }
}

impl Table {
    /// `CREATE TABLE`, as a migration writes it (InnoDB, utf8mb4, binary collation: text
    /// compares as the contract compares it, byte for byte).
    pub fn create_statement(&self) -> String {
        let mut lines: Vec<String> = self
            .columns
            .iter()
            .map(|c| format!("    {} {} {}", c.name, c.sql_type, if c.nullable { "NULL" } else { "NOT NULL" }))
            .collect();
        lines.push(format!("    {} {LINEAGE_TYPE} NULL", self.lineage));
        if !self.primary_key.is_empty() {
            lines.push(format!("    PRIMARY KEY ({})", self.primary_key.join(", ")));
        }
        for u in &self.unique {
            lines.push(format!("    UNIQUE KEY {}_{u} ({u})", self.name));
        }
        lines.push(format!("    {}", self.lineage_reference()));
        format!(
            "CREATE TABLE {} (\n{}\n) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;\n",
            self.name,
            lines.join(",\n")
        )
    }
}

/// The lineage column's type: `LOADED_OBJECTS.ID`'s.
pub const LINEAGE_TYPE: &str = "BIGINT UNSIGNED";

impl Table {
    /// The lineage column's foreign key (unnamed: InnoDB names it, unique in the schema).
    pub fn lineage_reference(&self) -> String {
        format!("FOREIGN KEY ({}) REFERENCES LOADED_OBJECTS (ID)", self.lineage)
    }

    /// Whether the load may delete rows (and so needs `DELETE` on the table).
    pub fn deletes(&self) -> bool {
        self.strategy == LoadStrategy::Replace
    }
}

/// A name as an SQL identifier that needs no quoting: upper-case ASCII letters, digits
/// and `_` (anything else becomes `_`), never starting with a digit, at most 64.
fn identifier(name: &str) -> String {
    let mut id: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    if !id.starts_with(|c: char| c.is_ascii_alphabetic()) {
        id.insert_str(0, "C_");
    }
    id.chars().take(64).collect()
}

fn sql_type(f: &Field) -> String {
    let checks = &f.constraints.checks;
    let bound = |kind: BoundKind| {
        checks.iter().find_map(|c| match c {
            Check::Bound(k, Bound::Number(d), _) if *k == kind => Some(d.clone()),
            _ => None,
        })
    };
    match &f.kind {
        FieldType::String(_) => {
            let max_length = checks.iter().find_map(|c| match c {
                Check::MaxLength(n) => Some(*n),
                _ => None,
            });
            let enum_length = checks.iter().find_map(|c| match c {
                Check::Enum(EnumValues::Strings(set), _) => set.iter().map(|v| v.chars().count()).max(),
                _ => None,
            });
            let pattern_length = checks.iter().find_map(|c| match c {
                Check::Pattern(Matcher::Run { max, .. }, _) if *max <= 65_535 => Some(*max),
                _ => None,
            });
            let limit = max_length.or(enum_length).or(pattern_length);
            match (f.ext.pad_start, limit) {
                (Some((n, _)), Some(max)) if max <= n && n <= 255 => format!("CHAR({n})"),
                (_, Some(max)) if max <= 16_383 => format!("VARCHAR({})", max.max(1)),
                _ => "TEXT".to_owned(),
            }
        }
        FieldType::Number(format) if format.integer => {
            let (min, max) = (
                bound(BoundKind::Minimum).and_then(|d| d.as_i128()),
                bound(BoundKind::Maximum).and_then(|d| d.as_i128()),
            );
            integer_type(min, max)
        }
        FieldType::Number(_) => match (f.ext.decimals, bound(BoundKind::Minimum), bound(BoundKind::Maximum)) {
            (Some(d), Some(min), Some(max)) => {
                let digits = min.integer_digits().max(max.integer_digits()).max(1);
                format!("DECIMAL({},{d})", digits + d as usize)
            }
            _ => "DOUBLE".to_owned(),
        },
        FieldType::Boolean { .. } => "BOOLEAN".to_owned(),
        FieldType::Temporal(Kind::Date, _) => "DATE".to_owned(),
        FieldType::Temporal(Kind::Time, _) => "TIME(6)".to_owned(),
        FieldType::Temporal(Kind::DateTime, _) => "DATETIME(6)".to_owned(),
        FieldType::Year => {
            let year = |kinds: [BoundKind; 2]| {
                checks.iter().find_map(|c| match c {
                    Check::Bound(k, Bound::Year(y), _) if kinds.contains(k) => Some(*y),
                    _ => None,
                })
            };
            let min = year([BoundKind::Minimum, BoundKind::ExclusiveMinimum]);
            let max = year([BoundKind::Maximum, BoundKind::ExclusiveMaximum]);
            // MySQL's YEAR refuses 1900 and 2156; a year the contract lets past them is a number.
            match (min, max) {
                (Some(min), Some(max)) if min >= 1901 && max <= 2155 => "YEAR".to_owned(),
                _ => "SMALLINT UNSIGNED".to_owned(),
            }
        }
        FieldType::Any => "TEXT".to_owned(),
    }
}

/// The smallest integer type that holds `min..=max`.
fn integer_type(min: Option<i128>, max: Option<i128>) -> String {
    let (Some(min), Some(max)) = (min, max) else {
        return if min.is_some_and(|m| m >= 0) { "BIGINT UNSIGNED" } else { "BIGINT" }.to_owned();
    };
    let types = [("TINYINT", 8u32), ("SMALLINT", 16), ("MEDIUMINT", 24), ("INT", 32), ("BIGINT", 64)];
    for (name, bits) in types {
        if min >= 0 && max < (1i128 << bits) {
            return format!("{name} UNSIGNED");
        }
        if min >= -(1i128 << (bits - 1)) && max < (1i128 << (bits - 1)) {
            return name.to_owned();
        }
    }
    "DECIMAL(38,0)".to_owned()
}

impl crate::number::Decimal {
    /// The value as an integer, if it is one that fits.
    pub(crate) fn as_i128(&self) -> Option<i128> {
        let Head::Finite { negative, exp } = self.head else { return None };
        if self.digits.is_empty() {
            return Some(0);
        }
        let n = self.digits.len() as i64;
        if exp < n || exp > 38 {
            return None;
        }
        let mut value: i128 = 0;
        for k in 0..exp {
            let digit = self.digits.get(k as usize).map_or(0, |d| i128::from(d - b'0'));
            value = value.checked_mul(10)?.checked_add(digit)?;
        }
        Some(if negative { -value } else { value })
    }

    /// How many digits the value has before the point (0 for |value| < 1).
    pub(crate) fn integer_digits(&self) -> usize {
        match self.head {
            Head::Finite { exp, .. } if !self.digits.is_empty() => exp.max(0) as usize,
            _ => 0,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn table(fields: &str) -> Table {
        Contract::from_json(&format!(r#"{{"fields": [{fields}]}}"#)).unwrap().table("orders")
    }

    #[test]
    fn types_follow_the_documented_mapping() {
        let t = table(
            r#"{"name": "id", "type": "integer", "constraints": {"required": true, "minimum": 1, "maximum": 4000000000}},
               {"name": "small", "type": "integer", "constraints": {"minimum": -100, "maximum": 100}},
               {"name": "count", "type": "integer"},
               {"name": "code", "type": "string", "constraints": {"pattern": "[A-Z]{2}"}},
               {"name": "kind", "type": "string", "constraints": {"enum": ["A", "LONGEST"]}},
               {"name": "note", "type": "string", "constraints": {"maxLength": 300}},
               {"name": "text", "type": "string"},
               {"name": "price", "type": "number", "constraints": {"minimum": 0, "maximum": 99999}, "zipster:decimals": 2},
               {"name": "ratio", "type": "number"},
               {"name": "ok", "type": "boolean"},
               {"name": "day", "type": "date"},
               {"name": "at", "type": "datetime"},
               {"name": "alarm", "type": "time"},
               {"name": "year", "type": "year"},
               {"name": "season", "type": "year", "constraints": {"minimum": 1990, "exclusiveMaximum": 2100}}"#,
        );
        let types: Vec<(&str, &str, bool)> =
            t.columns.iter().map(|c| (c.name.as_str(), c.sql_type.as_str(), c.nullable)).collect();
        assert_eq!(
            types,
            [
                ("ID", "INT UNSIGNED", false),
                ("SMALL", "TINYINT", true),
                ("COUNT", "BIGINT", true),
                ("CODE", "VARCHAR(2)", true),
                ("KIND", "VARCHAR(7)", true),
                ("NOTE", "VARCHAR(300)", true),
                ("TEXT", "TEXT", true),
                ("PRICE", "DECIMAL(7,2)", true),
                ("RATIO", "DOUBLE", true),
                ("OK", "BOOLEAN", true),
                ("DAY", "DATE", true),
                ("AT", "DATETIME(6)", true),
                ("ALARM", "TIME(6)", true),
                ("YEAR", "SMALLINT UNSIGNED", true),
                ("SEASON", "YEAR", true),
            ]
        );
        assert_eq!(t.name, "ORDERS");
        let kind = |name: &str| t.columns.iter().find(|c| c.name == name).map(|c| c.kind);
        assert_eq!(
            [kind("OK"), kind("PRICE"), kind("ID"), kind("DAY"), kind("AT"), kind("ALARM"), kind("TEXT")],
            [
                ValueKind::Boolean,
                ValueKind::Number,
                ValueKind::Number,
                ValueKind::Text,
                ValueKind::DateTime,
                ValueKind::Time,
                ValueKind::Text
            ]
            .map(Some)
        );
        let odd = table(r#"{"name": "1st name; DROP"}, {"name": "naïve"}"#);
        let names: Vec<&str> = odd.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["C_1ST_NAME__DROP", "NA_VE"], "any field name becomes a plain identifier");
    }

    #[test]
    fn keys_and_the_create_statement() {
        let contract = Contract::from_json(
            r#"{"primaryKey": ["id"], "zipster:table": {"name": "ORDER_LINES"}, "fields": [
                {"name": "id", "type": "integer", "constraints": {"minimum": 0, "maximum": 255}},
                {"name": "sku", "type": "string", "zipster:column": "SKU_CODE", "constraints": {"unique": true, "maxLength": 12}}]}"#,
        )
        .unwrap();
        assert_eq!(
            contract.table("orders").create_statement(),
            "CREATE TABLE ORDER_LINES (\n    ID TINYINT UNSIGNED NOT NULL,\n    SKU_CODE VARCHAR(12) NULL,\n    _LOAD_ID BIGINT UNSIGNED NULL,\n    PRIMARY KEY (ID),\n    UNIQUE KEY ORDER_LINES_SKU_CODE (SKU_CODE),\n    FOREIGN KEY (_LOAD_ID) REFERENCES LOADED_OBJECTS (ID)\n) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;\n"
        );
    }

    fn strategy_of(descriptor: &str) -> Result<(LoadStrategy, f64, String), String> {
        let contract = Contract::from_json(descriptor).map_err(|e| e.to_string())?;
        let t = contract.table("feed");
        Ok((t.strategy, t.max_deleted_share, t.lineage))
    }

    #[test]
    fn the_strategy_defaults_to_upsert_with_a_key_and_append_without() {
        let keyed = r#"{"primaryKey": ["id"], "fields": [{"name": "id", "type": "integer"}]}"#;
        assert_eq!(strategy_of(keyed).unwrap(), (LoadStrategy::Upsert, MAX_DELETED_SHARE, "_LOAD_ID".to_owned()));
        let table_key = r#"{"zipster:table": {"key": ["id"]}, "fields": [{"name": "id"}]}"#;
        assert_eq!(strategy_of(table_key).unwrap().0, LoadStrategy::Upsert);
        let keyless = r#"{"fields": [{"name": "reading", "type": "number"}]}"#;
        assert_eq!(strategy_of(keyless).unwrap().0, LoadStrategy::Append);
        let replace = r#"{"primaryKey": "id", "zipster:table": {"strategy": "replace", "maxDeletedShare": 0.25, "lineageColumn": "LOADED_BY"}, "fields": [{"name": "id"}]}"#;
        assert_eq!(strategy_of(replace).unwrap(), (LoadStrategy::Replace, 0.25, "LOADED_BY".to_owned()));
        let append_keyed =
            r#"{"primaryKey": ["id"], "zipster:table": {"strategy": "append"}, "fields": [{"name": "id"}]}"#;
        assert_eq!(strategy_of(append_keyed).unwrap().0, LoadStrategy::Append);
    }

    #[test]
    fn a_strategy_the_table_cannot_follow_is_refused_with_its_path() {
        for (descriptor, path, words) in [
            (
                r#"{"zipster:table": {"strategy": "replace"}, "fields": [{"name": "a"}]}"#,
                "zipster:table.strategy",
                "needs a key",
            ),
            (
                r#"{"zipster:table": {"strategy": "upsert"}, "fields": [{"name": "a"}]}"#,
                "zipster:table.strategy",
                "needs a key",
            ),
            (
                r#"{"primaryKey": ["a"], "zipster:table": {"strategy": "merge"}, "fields": [{"name": "a"}]}"#,
                "zipster:table.strategy",
                "\"upsert\", \"append\" or \"replace\"",
            ),
            (
                r#"{"primaryKey": ["a"], "zipster:table": {"maxDeletedShare": 0.5}, "fields": [{"name": "a"}]}"#,
                "zipster:table.maxDeletedShare",
                "only a replace",
            ),
            (
                r#"{"primaryKey": ["a"], "zipster:table": {"strategy": "replace", "maxDeletedShare": 2}, "fields": [{"name": "a"}]}"#,
                "zipster:table.maxDeletedShare",
                "from 0 to 1",
            ),
            (
                r#"{"zipster:table": {"lineageColumn": "LOAD ID"}, "fields": [{"name": "a"}]}"#,
                "zipster:table.lineageColumn",
                "",
            ),
        ] {
            let error = strategy_of(descriptor).unwrap_err();
            assert!(error.contains(path) && error.contains(words), "{descriptor}: {error}");
        }
    }
}
