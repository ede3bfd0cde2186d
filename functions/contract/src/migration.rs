//! From the table a feed's migrations build to the table its contract declares: every
//! difference in words, and the migration that makes the one the other when it keeps
//! every value. The database's side is what `information_schema` says ([`Existing`],
//! read by `zipster_db::contracts`); this is pure, so the drift check (`feed check`) and
//! the migration writer (`feed migration`) decide alike and are tested without a server.
//!
//! | change | migration |
//! |---|---|
//! | no table | `CREATE TABLE` and the load's grants |
//! | a new nullable field | `ADD COLUMN … NULL` |
//! | a new required field | refused: the existing rows have no value for it |
//! | a wider type (`VARCHAR(n)`→`VARCHAR(m>n)`, `INT`→`BIGINT`, `DECIMAL(p,s)`→`DECIMAL(p',s')` keeping the integer digits and `s'`≥`s`), `NOT NULL`→`NULL` | `MODIFY COLUMN` |
//! | a new `unique` | `ADD UNIQUE KEY` (fails, changing nothing, if values repeat) |
//! | a dropped column, a narrower type or another type family, `NULL`→`NOT NULL`, another primary key, a dropped unique index | lossy: refused unless asked for, then listed at the top of the migration |
//! | a derived column the table lacks | refused: its definition is not in the contract |

use std::fmt;

use crate::table::{LINEAGE_TYPE, Table};

/// A table as the database has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    pub name: String,
    /// In the table's order.
    pub columns: Vec<ExistingColumn>,
    /// Column names, in key order (empty: no primary key).
    pub primary_key: Vec<String>,
    /// Unique indexes other than the primary key.
    pub unique: Vec<Index>,
    pub foreign_keys: Vec<ForeignKey>,
    /// What the load's role may do with the table (`SELECT`, `INSERT`…, upper-case).
    pub load_rights: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    pub name: String,
    pub column: String,
    pub references: String,
    pub referenced_column: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingColumn {
    pub name: String,
    /// As `information_schema.COLUMNS.COLUMN_TYPE` spells it (`int(10) unsigned`).
    pub sql_type: String,
    pub nullable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub name: String,
    pub columns: Vec<String>,
}

/// One way the table differs from the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// `CITIES.NAME: the table has varchar(200), the contract declares VARCHAR(300)`.
    pub text: String,
    pub effect: Effect,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// The migration keeps every value.
    Keeps,
    /// The migration can lose or change values (why): written only when asked for.
    Loses(String),
    /// No migration can be written from the contract (why, and what to do instead).
    Refused(String),
}

/// Everything that differs between a table and its contract, and the statements that
/// make the table the contract's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub table: String,
    pub differences: Vec<Difference>,
    verb: Verb,
    statements: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Create,
    Alter,
}

/// A migration to write: its statements and the lossy changes it makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    pub table: String,
    pub verb: Verb,
    /// What it changes, one line each.
    pub changes: Vec<String>,
    /// The changes that can lose data, each with why (empty unless allowed).
    pub data_loss: Vec<String>,
    pub statements: Vec<String>,
}

/// Why no migration was written: each change that loses data or cannot be migrated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub table: String,
    /// Changes no flag lets through.
    pub refused: Vec<String>,
    /// Changes `--allow-data-loss` would write.
    pub lossy: Vec<String>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.refused.len() + self.lossy.len();
        write!(f, "no migration written for {}: {count} change(s) would lose data or cannot be migrated", self.table)?;
        for line in &self.refused {
            write!(f, "\n  - {line}")?;
        }
        for line in &self.lossy {
            write!(f, "\n  - {line} (lossy: --allow-data-loss writes it, listed at the top of the migration)")?;
        }
        Ok(())
    }
}

impl std::error::Error for Refusal {}

/// The role the migrations grant the load's tables to (see
/// `db/migrations/*_grant_the_load_its_tables.sql`); on the host,
/// `infra/host/database-access.sh` creates it and gives it to the load user. Here,
/// where the migrations' grants are written; `zipster_db::connect` uses it too.
pub const LOAD_ROLE: &str = "zipster_loader";

/// What the load does with a feed's table: reads and writes rows, and deletes those a
/// replace's file no longer has.
pub fn load_rights(table: &Table) -> Vec<&'static str> {
    let mut rights = vec!["SELECT", "INSERT", "UPDATE"];
    if table.deletes() {
        rights.push("DELETE");
    }
    rights
}

/// The load's rights on a feed's table.
pub fn grants(table: &Table) -> String {
    format!("GRANT {} ON {} TO {LOAD_ROLE};", load_rights(table).join(", "), table.name)
}

/// A column the contract declares: a field's, or the lineage column.
struct Wanted<'a> {
    name: &'a str,
    sql_type: &'a str,
    nullable: bool,
    /// `field name`, `the lineage column`.
    holds: String,
}

/// What differs between `existing` (`None`: the table does not exist) and `table`.
pub fn plan(existing: Option<&Existing>, table: &Table) -> Plan {
    let Some(existing) = existing else {
        return Plan {
            table: table.name.clone(),
            differences: vec![Difference {
                text: format!("table {} does not exist: no migration creates it", table.name),
                effect: Effect::Keeps,
            }],
            verb: Verb::Create,
            statements: vec![table.create_statement(), grants(table)],
        };
    };
    let t = &table.name;
    let mut differences = Vec::new();
    let (mut drops, mut adds, mut modifies, mut keys) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let lineage = Wanted {
        name: &table.lineage,
        sql_type: LINEAGE_TYPE,
        nullable: true,
        holds: "the lineage column (the load that last wrote the row)".to_owned(),
    };
    let wanted: Vec<Wanted<'_>> = table
        .columns
        .iter()
        .map(|c| Wanted {
            name: &c.name,
            sql_type: &c.sql_type,
            nullable: c.nullable,
            holds: format!("field {}", c.field),
        })
        .chain([lineage])
        .collect();
    let mut previous: Option<&str> = None;
    for want in &wanted {
        let after = previous.map_or_else(|| "FIRST".to_owned(), |p| format!("AFTER {p}"));
        previous = Some(want.name);
        let Some(have) = existing.columns.iter().find(|c| c.name == want.name) else {
            let text = format!("{t}: no column {} for {}", want.name, want.holds);
            if want.nullable {
                adds.push(format!("ADD COLUMN {} {} NULL {after}", want.name, want.sql_type));
                differences.push(Difference { text, effect: Effect::Keeps });
            } else {
                differences.push(Difference {
                    text,
                    effect: Effect::Refused(
                        "a new column must allow NULL: the table's existing rows have no value for it, and a \
                         contract declares no default. Add the field without `required`, migrate and fill it, \
                         then make it required (NULL to NOT NULL, written with --allow-data-loss)"
                            .to_owned(),
                    ),
                });
            }
            continue;
        };
        let (from, to) = (SqlType::parse(&have.sql_type), SqlType::parse(want.sql_type));
        let type_effect = match from.fit(&to) {
            Fit::Same => None,
            Fit::Wider => Some(Effect::Keeps),
            Fit::Narrower(why) => Some(Effect::Loses(why.to_owned())),
        };
        let null_effect = match (have.nullable, want.nullable) {
            (true, false) => Some(Effect::Loses(
                "rows holding NULL make the ALTER fail, or get the type's zero value in a non-strict session"
                    .to_owned(),
            )),
            (false, true) => Some(Effect::Keeps),
            _ => None,
        };
        if let Some(effect) = type_effect.clone() {
            differences.push(Difference {
                text: format!(
                    "{t}.{}: the table has {}, the contract declares {}",
                    want.name, have.sql_type, want.sql_type
                ),
                effect,
            });
        }
        if let Some(effect) = null_effect.clone() {
            differences.push(Difference {
                text: format!(
                    "{t}.{}: the table has {}, the contract declares {}",
                    want.name,
                    null_word(have.nullable),
                    null_word(want.nullable)
                ),
                effect,
            });
        }
        if type_effect.is_some() || null_effect.is_some() {
            modifies.push(format!("MODIFY COLUMN {} {} {}", want.name, want.sql_type, null_word(want.nullable)));
        }
    }
    for have in &existing.columns {
        if !wanted.iter().any(|c| c.name == have.name) && !table.derived.contains(&have.name) {
            differences.push(Difference {
                text: format!("{t}.{}: a column no field of the contract holds", have.name),
                effect: Effect::Loses("dropping it deletes its values".to_owned()),
            });
            drops.push(format!("DROP COLUMN {}", quote(&have.name)));
        }
    }
    for derived in &table.derived {
        if !existing.columns.iter().any(|c| &c.name == derived) {
            differences.push(Difference {
                text: format!("{t}: no derived column {derived}"),
                effect: Effect::Refused(
                    "its definition is not in the contract: write its ADD COLUMN by hand".to_owned(),
                ),
            });
        }
    }
    if existing.primary_key != table.primary_key {
        differences.push(Difference {
            text: format!(
                "{t}: the primary key is ({}), the contract declares ({})",
                existing.primary_key.join(", "),
                table.primary_key.join(", ")
            ),
            effect: Effect::Loses(
                "rows that share the new key make the ALTER fail, and the load upserts by the key".to_owned(),
            ),
        });
        if !existing.primary_key.is_empty() {
            drops.insert(0, "DROP PRIMARY KEY".to_owned());
        }
        if !table.primary_key.is_empty() {
            keys.push(format!("ADD PRIMARY KEY ({})", table.primary_key.join(", ")));
        }
    }
    for index in &existing.unique {
        if !(index.columns.len() == 1 && table.unique.contains(&index.columns[0])) {
            differences.push(Difference {
                text: format!(
                    "{t}: unique index {} ({}), which the contract does not declare",
                    index.name,
                    index.columns.join(", ")
                ),
                effect: Effect::Loses("without it the table takes duplicates it refuses today".to_owned()),
            });
            drops.push(format!("DROP INDEX {}", quote(&index.name)));
        }
    }
    for unique in &table.unique {
        if !existing.unique.iter().any(|i| i.columns == [unique.as_str()]) {
            differences.push(Difference {
                text: format!("{t}.{unique}: no unique index, the contract declares it unique"),
                effect: Effect::Keeps,
            });
            keys.push(format!("ADD UNIQUE KEY {t}_{unique} ({unique})"));
        }
    }
    let lineage_key =
        |k: &ForeignKey| k.column == table.lineage && k.references == "LOADED_OBJECTS" && k.referenced_column == "ID";
    for key in existing.foreign_keys.iter().filter(|k| !lineage_key(k)) {
        differences.push(Difference {
            text: format!(
                "{t}.{}: foreign key {} to {}.{}, which the contract does not declare",
                key.column, key.name, key.references, key.referenced_column
            ),
            effect: Effect::Loses("without it the column can hold values the other table does not".to_owned()),
        });
        drops.push(format!("DROP FOREIGN KEY {}", quote(&key.name)));
    }
    if !existing.foreign_keys.iter().any(lineage_key) {
        differences.push(Difference {
            text: format!("{t}.{}: no foreign key to LOADED_OBJECTS.ID", table.lineage),
            effect: Effect::Keeps,
        });
        keys.push(format!("ADD {}", table.lineage_reference()));
    }
    let clauses: Vec<String> = drops.into_iter().chain(adds).chain(modifies).chain(keys).collect();
    let mut statements = match clauses.is_empty() {
        true => Vec::new(),
        false => vec![format!("ALTER TABLE {t}\n    {};\n", clauses.join(",\n    "))],
    };
    let needed = load_rights(table);
    let missing: Vec<&str> = needed.iter().copied().filter(|r| !existing.load_rights.iter().any(|h| h == r)).collect();
    let extra: Vec<&str> = existing.load_rights.iter().map(String::as_str).filter(|h| !needed.contains(h)).collect();
    if !missing.is_empty() {
        differences.push(Difference {
            text: format!("{t}: the load may not {} it ({} strategy)", missing.join(", "), table.strategy.as_str()),
            effect: Effect::Keeps,
        });
        statements.push(format!("GRANT {} ON {t} TO {LOAD_ROLE};\n", missing.join(", ")));
    }
    if !extra.is_empty() {
        differences.push(Difference {
            text: format!(
                "{t}: the load may {} it, which its {} strategy never does",
                extra.join(", "),
                table.strategy.as_str()
            ),
            effect: Effect::Keeps,
        });
        statements.push(format!("REVOKE {} ON {t} FROM {LOAD_ROLE};\n", extra.join(", ")));
    }
    Plan { table: t.clone(), differences, verb: Verb::Alter, statements }
}

impl Plan {
    /// The migration to write: `None` when the table is already the contract's; refused
    /// when a change cannot be migrated, or loses data without `allow_data_loss`.
    pub fn migration(&self, allow_data_loss: bool) -> Result<Option<Migration>, Refusal> {
        if self.differences.is_empty() {
            return Ok(None);
        }
        let mut refusal = Refusal { table: self.table.clone(), refused: Vec::new(), lossy: Vec::new() };
        let mut data_loss = Vec::new();
        for d in &self.differences {
            match &d.effect {
                Effect::Keeps => {}
                Effect::Refused(why) => refusal.refused.push(format!("{}: {why}", d.text)),
                Effect::Loses(why) if allow_data_loss => data_loss.push(format!("{}: {why}", d.text)),
                Effect::Loses(why) => refusal.lossy.push(format!("{}: {why}", d.text)),
            }
        }
        if !refusal.refused.is_empty() || !refusal.lossy.is_empty() {
            return Err(refusal);
        }
        Ok(Some(Migration {
            table: self.table.clone(),
            verb: self.verb,
            changes: self.differences.iter().map(|d| d.text.clone()).collect(),
            data_loss,
            statements: self.statements.clone(),
        }))
    }
}

impl Migration {
    /// `<version>_create_<feed>.sql` or `<version>_alter_<feed>.sql`.
    pub fn file_name(&self, version: &str, feed: &str) -> String {
        let verb = match self.verb {
            Verb::Create => "create",
            Verb::Alter => "alter",
        };
        format!("{version}_{verb}_{}.sql", feed.replace('-', "_"))
    }

    /// The file's text: the data it can lose first (where a reviewer cannot miss it),
    /// then what it is and what it changes, then the statements.
    pub fn sql(&self, feed: &str) -> String {
        let mut text = String::new();
        if !self.data_loss.is_empty() {
            text.push_str("-- DATA LOSS: written with `--allow-data-loss`. Each of these changes can lose or alter\n");
            text.push_str("-- existing rows; check the data before applying it:\n");
            for line in &self.data_loss {
                text.push_str(&format!("--   {line}\n"));
            }
            text.push_str("--\n");
        }
        match self.verb {
            Verb::Create => text.push_str(&format!(
                "-- The {feed} feed's table, as feeds/{feed}/schema.json declares it (written by\n\
                 -- `cargo xtask feed migration {feed}`; `cargo xtask feed check` checks they agree).\n"
            )),
            Verb::Alter => {
                text.push_str(&format!(
                    "-- The {feed} feed's table, from what the earlier migrations build to what\n\
                     -- feeds/{feed}/schema.json declares (written by `cargo xtask feed migration {feed}`;\n\
                     -- `cargo xtask feed check` checks they agree):\n"
                ));
                for line in &self.changes {
                    text.push_str(&format!("--   {line}\n"));
                }
            }
        }
        let mut rights_said = false;
        for statement in &self.statements {
            if !rights_said && (statement.starts_with("GRANT") || statement.starts_with("REVOKE")) {
                rights_said = true;
                text.push_str("\n-- The load's rights on it, as its strategy needs them.\n");
            }
            text.push_str(statement);
            if !statement.ends_with('\n') {
                text.push('\n');
            }
        }
        text
    }
}

fn null_word(nullable: bool) -> &'static str {
    if nullable { "NULL" } else { "NOT NULL" }
}

/// A name read from the database, which may need quoting (the contract's never do).
fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A column type, as far as widening is concerned: `int(10) unsigned` (as MariaDB reports
/// it) is the contract's `INT UNSIGNED`, `tinyint(1)` its `BOOLEAN`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SqlType {
    Integer {
        bytes: u8,
        unsigned: bool,
    },
    Boolean,
    Decimal {
        precision: u64,
        scale: u64,
        unsigned: bool,
    },
    Float {
        bytes: u8,
    },
    Char(u64),
    VarChar(u64),
    /// Its largest value in bytes.
    Text(u64),
    /// `date`, `time`, `datetime`, `timestamp`, `year`, with fractional digits.
    Temporal {
        kind: String,
        fraction: u64,
    },
    /// Anything else, compared as lower-case text.
    Other(String),
}

enum Fit {
    Same,
    Wider,
    Narrower(&'static str),
}

impl SqlType {
    fn parse(sql: &str) -> SqlType {
        let t = sql.split_whitespace().collect::<Vec<_>>().join(" ").to_ascii_lowercase();
        let end = t.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(t.len());
        let (base, after) = (&t[..end], t[end..].trim_start());
        let (args, rest) = match after.strip_prefix('(').and_then(|a| a.split_once(')')) {
            Some((args, rest)) => (args, rest),
            None => ("", after),
        };
        let numbers: Vec<u64> = args.split(',').filter_map(|n| n.trim().parse().ok()).collect();
        let first = |default| numbers.first().copied().unwrap_or(default);
        let unsigned = rest.split_whitespace().any(|w| w == "unsigned");
        let integer = |bytes| SqlType::Integer { bytes, unsigned };
        match base {
            "boolean" | "bool" => SqlType::Boolean,
            // MariaDB creates BOOLEAN as, and reports it as, tinyint(1).
            "tinyint" if numbers == [1] && !unsigned => SqlType::Boolean,
            "tinyint" => integer(1),
            "smallint" => integer(2),
            "mediumint" => integer(3),
            "int" | "integer" => integer(4),
            "bigint" => integer(8),
            "decimal" | "numeric" | "dec" | "fixed" => {
                SqlType::Decimal { precision: first(10), scale: numbers.get(1).copied().unwrap_or(0), unsigned }
            }
            "float" => SqlType::Float { bytes: 4 },
            "double" | "real" => SqlType::Float { bytes: 8 },
            "char" => SqlType::Char(first(1)),
            "varchar" => SqlType::VarChar(first(0)),
            "tinytext" => SqlType::Text(255),
            "text" => SqlType::Text(65_535),
            "mediumtext" => SqlType::Text(16_777_215),
            "longtext" => SqlType::Text(4_294_967_295),
            "date" | "year" => SqlType::Temporal { kind: base.to_owned(), fraction: 0 },
            "time" | "datetime" | "timestamp" => SqlType::Temporal { kind: base.to_owned(), fraction: first(0) },
            _ => SqlType::Other(t),
        }
    }

    /// Whether every value of `self` is a value of `to`.
    fn fit(&self, to: &SqlType) -> Fit {
        use SqlType::*;
        if self == to {
            return Fit::Same;
        }
        let wider = match (self, to) {
            (Integer { bytes: a, unsigned: ua }, Integer { bytes: b, unsigned: ub }) => {
                if ua == ub {
                    b >= a
                } else {
                    *ua && b > a
                }
            }
            (Decimal { precision: p, scale: s, unsigned: ua }, Decimal { precision: q, scale: r, unsigned: ub }) => {
                r >= s && q.saturating_sub(*r) >= p.saturating_sub(*s) && (*ua || !ub)
            }
            (Float { bytes: a }, Float { bytes: b }) => b >= a,
            (Char(n), Char(m)) | (Char(n) | VarChar(n), VarChar(m)) => m >= n,
            // utf8mb4: up to 4 bytes a character.
            (Char(n) | VarChar(n), Text(bytes)) => *bytes >= 4 * n,
            (Text(a), Text(b)) => b >= a,
            (Temporal { kind: a, fraction: f }, Temporal { kind: b, fraction: g }) if a == b => g >= f,
            _ => {
                return Fit::Narrower(
                    "another type: values are converted, and those that do not convert are lost or refused",
                );
            }
        };
        match wider {
            true => Fit::Wider,
            false => Fit::Narrower("a narrower type: values it cannot hold are truncated or refused"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::Contract;

    fn table(descriptor: &str) -> Table {
        Contract::from_json(descriptor).unwrap().table("orders")
    }

    const ORDERS: &str = r#"{"primaryKey": "id", "fields": [
        {"name": "id", "type": "integer", "constraints": {"minimum": 1, "maximum": 4000000000}},
        {"name": "sku", "type": "string", "constraints": {"maxLength": 12, "required": true}},
        {"name": "price", "type": "number", "constraints": {"minimum": 0, "maximum": 999}, "zipster:decimals": 2},
        {"name": "note", "type": "string", "constraints": {"maxLength": 40}}]}"#;

    /// The table `t`'s CREATE builds, as information_schema reports it.
    fn built(t: &Table) -> Existing {
        let reported = |sql: &str| match sql {
            "INT UNSIGNED" => "int(10) unsigned".to_owned(),
            "BOOLEAN" => "tinyint(1)".to_owned(),
            other => other.to_ascii_lowercase(),
        };
        let lineage =
            ExistingColumn { name: t.lineage.clone(), sql_type: "bigint(20) unsigned".to_owned(), nullable: true };
        Existing {
            name: t.name.clone(),
            columns: t
                .columns
                .iter()
                .map(|c| ExistingColumn { name: c.name.clone(), sql_type: reported(&c.sql_type), nullable: c.nullable })
                .chain([lineage])
                .collect(),
            primary_key: t.primary_key.clone(),
            foreign_keys: vec![ForeignKey {
                name: format!("{}_ibfk_1", t.name),
                column: t.lineage.clone(),
                references: "LOADED_OBJECTS".to_owned(),
                referenced_column: "ID".to_owned(),
            }],
            load_rights: load_rights(t).into_iter().map(str::to_owned).collect(),
            unique: t
                .unique
                .iter()
                .map(|u| Index { name: format!("{}_{u}", t.name), columns: vec![u.clone()] })
                .collect(),
        }
    }

    /// ORDERS with `from` replaced by `to` in its descriptor.
    fn changed(from: &str, to: &str) -> Table {
        assert!(ORDERS.contains(from), "{from}");
        table(&ORDERS.replacen(from, to, 1))
    }

    fn texts(plan: &Plan) -> Vec<&str> {
        plan.differences.iter().map(|d| d.text.as_str()).collect()
    }

    #[test]
    fn a_table_as_its_contract_declares_it_needs_nothing() {
        let t = table(ORDERS);
        let plan = plan(Some(&built(&t)), &t);
        assert_eq!(texts(&plan), Vec::<&str>::new());
        assert_eq!(plan.migration(false), Ok(None));
    }

    #[test]
    fn no_table_is_created_with_the_loads_grants() {
        let t = table(ORDERS);
        let migration = plan(None, &t).migration(false).unwrap().unwrap();
        assert_eq!(migration.file_name("20261201000000", "orders"), "20261201000000_create_orders.sql");
        let sql = migration.sql("orders");
        assert!(sql.contains(&t.create_statement()), "{sql}");
        assert!(sql.ends_with("GRANT SELECT, INSERT, UPDATE ON ORDERS TO zipster_loader;\n"), "{sql}");
        assert!(!sql.contains("DATA LOSS"), "{sql}");
    }

    #[test]
    fn a_new_optional_field_is_added_after_its_neighbour_and_a_wider_column_modified_in_one_alter() {
        let before = table(ORDERS);
        let after = table(&ORDERS.replace(r#""maxLength": 40"#, r#""maxLength": 400"#).replace(
            r#"{"name": "price""#,
            r#"{"name": "color", "type": "string", "constraints": {"enum": ["red", "blue"]}}, {"name": "price""#,
        ));
        let plan = plan(Some(&built(&before)), &after);
        assert_eq!(
            texts(&plan),
            [
                "ORDERS: no column COLOR for field color",
                "ORDERS.NOTE: the table has varchar(40), the contract declares VARCHAR(400)"
            ]
        );
        let migration = plan.migration(false).unwrap().unwrap();
        assert_eq!(migration.file_name("20261201000000", "my-orders"), "20261201000000_alter_my_orders.sql");
        assert_eq!(
            migration.statements,
            [
                "ALTER TABLE ORDERS\n    ADD COLUMN COLOR VARCHAR(4) NULL AFTER SKU,\n    MODIFY COLUMN NOTE VARCHAR(400) NULL;\n"
            ]
        );
        let sql = migration.sql("orders");
        assert!(sql.contains("--   ORDERS: no column COLOR for field color\n"), "the changes are listed: {sql}");
        assert!(!sql.contains("GRANT"), "the table's grants are already there: {sql}");
    }

    #[test]
    fn every_widening_keeps_the_values() {
        let cases = [
            (r#""maximum": 4000000000}"#, r#""maximum": 9000000000}"#, "INT UNSIGNED", "BIGINT UNSIGNED"),
            (
                r#""maximum": 999}, "zipster:decimals": 2"#,
                r#""maximum": 99999}, "zipster:decimals": 3"#,
                "DECIMAL(5,2)",
                "DECIMAL(8,3)",
            ),
            (
                r#""maxLength": 12, "required": true"#,
                r#""maxLength": 13, "required": true"#,
                "VARCHAR(12)",
                "VARCHAR(13)",
            ),
            (r#""maxLength": 12, "required": true"#, r#""required": true"#, "VARCHAR(12)", "TEXT"),
        ];
        for (from, to, had, has) in cases {
            let plan = plan(Some(&built(&table(ORDERS))), &changed(from, to));
            assert_eq!(plan.differences.len(), 1, "{had} -> {has}: {:?}", plan.differences);
            assert_eq!(plan.differences[0].effect, Effect::Keeps, "{had} -> {has}");
            let migration = plan.migration(false).unwrap().unwrap();
            assert!(migration.statements[0].contains(&format!(" {has} ")), "{has}: {:?}", migration.statements);
        }
        let required = built(&table(ORDERS));
        let optional = changed(r#""maxLength": 12, "required": true"#, r#""maxLength": 12"#);
        let plan = plan(Some(&required), &optional);
        assert_eq!(texts(&plan), ["ORDERS.SKU: the table has NOT NULL, the contract declares NULL"]);
        assert_eq!(
            plan.migration(false).unwrap().unwrap().statements,
            ["ALTER TABLE ORDERS\n    MODIFY COLUMN SKU VARCHAR(12) NULL;\n"]
        );
        for (from, to) in [
            ("tinyint unsigned", "smallint"),
            ("int", "bigint"),
            ("decimal(5,2) unsigned", "decimal(5,2)"),
            ("float", "double"),
            ("char(5)", "varchar(5)"),
            ("varchar(16383)", "text"),
            ("text", "longtext"),
            ("datetime", "datetime(6)"),
        ] {
            assert!(matches!(SqlType::parse(from).fit(&SqlType::parse(to)), Fit::Wider), "{from} -> {to}");
        }
        let same = |a: &str, b: &str| SqlType::parse(a) == SqlType::parse(b);
        assert!(
            same("int(10) unsigned", "INT UNSIGNED") && same("tinyint(1)", "BOOLEAN") && same("bigint(20)", "BIGINT")
        );
        assert!(same("year(4)", "YEAR") && same("decimal(5,2)", "DECIMAL(5, 2)") && !same("tinyint(4)", "BOOLEAN"));
        for (from, to) in
            [("int unsigned", "int"), ("int", "int unsigned"), ("varchar(5)", "char(5)"), ("double", "float")]
        {
            assert!(matches!(SqlType::parse(from).fit(&SqlType::parse(to)), Fit::Narrower(_)), "{from} -> {to}");
        }
    }

    #[test]
    fn a_new_required_field_is_refused_even_when_data_loss_is_allowed() {
        let after = changed(
            r#"{"name": "note""#,
            r#"{"name": "qty", "type": "integer", "constraints": {"required": true}}, {"name": "note""#,
        );
        let refusal = plan(Some(&built(&table(ORDERS))), &after).migration(true).unwrap_err();
        assert_eq!(refusal.refused.len(), 1, "{refusal}");
        assert!(refusal.refused[0].starts_with("ORDERS: no column QTY for field qty: a new column must allow NULL: the table's existing rows have no value for it"), "{refusal}");
    }

    #[test]
    fn each_lossy_change_is_refused_with_its_reason_then_written_under_a_warning_when_allowed() {
        let before = built(&table(ORDERS));
        let cases: [(&str, &str, &str); 4] = [
            (
                r#""maxLength": 40"#,
                r#""maxLength": 20"#,
                "ORDERS.NOTE: the table has varchar(40), the contract declares VARCHAR(20): a narrower type",
            ),
            (
                r#""maximum": 999}, "zipster:decimals": 2"#,
                r#""maximum": 999}, "zipster:decimals": 1"#,
                "ORDERS.PRICE: the table has decimal(5,2), the contract declares DECIMAL(4,1): a narrower type",
            ),
            (
                r#""maxLength": 40}"#,
                r#""maxLength": 40, "required": true}"#,
                "ORDERS.NOTE: the table has NULL, the contract declares NOT NULL: rows holding NULL",
            ),
            (
                r#""minimum": 0, "maximum": 999}, "zipster:decimals": 2"#,
                r#""minimum": 0, "maximum": 999}"#,
                "ORDERS.PRICE: the table has decimal(5,2), the contract declares DOUBLE: another type",
            ),
        ];
        for (from, to, expected) in cases {
            let after = changed(from, to);
            let plan = plan(Some(&before), &after);
            let refusal = plan.migration(false).unwrap_err();
            assert_eq!(refusal.lossy.len(), 1, "{refusal}");
            assert!(refusal.lossy[0].starts_with(expected), "{refusal}");
            assert!(refusal.to_string().contains("--allow-data-loss"), "{refusal}");
            let migration = plan.migration(true).unwrap().unwrap();
            let sql = migration.sql("orders");
            assert!(sql.starts_with("-- DATA LOSS: written with `--allow-data-loss`"), "{sql}");
            assert!(sql.contains(&format!("--   {expected}")), "{sql}");
        }
        // A dropped column, another key, a dropped unique index.
        let mut wider = before.clone();
        wider.columns.push(ExistingColumn { name: "legacy".to_owned(), sql_type: "text".to_owned(), nullable: true });
        wider
            .unique
            .push(Index { name: "ORDERS_SKU_NOTE".to_owned(), columns: vec!["SKU".to_owned(), "NOTE".to_owned()] });
        let rekeyed = changed(r#""primaryKey": "id""#, r#""primaryKey": ["id", "sku"]"#);
        let plan = plan(Some(&wider), &rekeyed);
        let refusal = plan.migration(false).unwrap_err();
        assert_eq!(
            refusal.lossy,
            [
                "ORDERS.legacy: a column no field of the contract holds: dropping it deletes its values",
                "ORDERS: the primary key is (ID), the contract declares (ID, SKU): rows that share the new key make the ALTER fail, and the load upserts by the key",
                "ORDERS: unique index ORDERS_SKU_NOTE (SKU, NOTE), which the contract does not declare: without it the table takes duplicates it refuses today",
            ]
        );
        assert_eq!(
            plan.migration(true).unwrap().unwrap().statements,
            [
                "ALTER TABLE ORDERS\n    DROP PRIMARY KEY,\n    DROP COLUMN `legacy`,\n    DROP INDEX `ORDERS_SKU_NOTE`,\n    ADD PRIMARY KEY (ID, SKU);\n"
            ]
        );
    }

    #[test]
    fn a_new_unique_field_gets_its_index_and_a_missing_derived_column_is_refused() {
        let before = built(&table(ORDERS));
        let unique =
            changed(r#""maxLength": 12, "required": true"#, r#""maxLength": 12, "required": true, "unique": true"#);
        let plan_unique = plan(Some(&before), &unique);
        assert_eq!(texts(&plan_unique), ["ORDERS.SKU: no unique index, the contract declares it unique"]);
        assert_eq!(
            plan_unique.migration(false).unwrap().unwrap().statements,
            ["ALTER TABLE ORDERS\n    ADD UNIQUE KEY ORDERS_SKU (SKU);\n"]
        );
        let derived = table(&ORDERS.replacen('{', r#"{"zipster:table": {"derivedColumns": ["TOTAL"]},"#, 1));
        let refusal = plan(Some(&before), &derived).migration(true).unwrap_err();
        assert_eq!(
            refusal.refused,
            ["ORDERS: no derived column TOTAL: its definition is not in the contract: write its ADD COLUMN by hand"]
        );
        let mut with_derived = before.clone();
        with_derived.columns.push(ExistingColumn {
            name: "TOTAL".to_owned(),
            sql_type: "double".to_owned(),
            nullable: true,
        });
        assert_eq!(
            plan(Some(&with_derived), &derived).migration(false),
            Ok(None),
            "a derived column the table has is the contract's"
        );
    }

    #[test]
    fn a_table_without_its_lineage_gets_the_column_and_its_key_and_a_replace_may_delete() {
        let t = table(ORDERS);
        let mut before = built(&t);
        before.columns.pop();
        before.foreign_keys.clear();
        let plan = plan(Some(&before), &t);
        assert_eq!(
            texts(&plan),
            [
                "ORDERS: no column _LOAD_ID for the lineage column (the load that last wrote the row)",
                "ORDERS._LOAD_ID: no foreign key to LOADED_OBJECTS.ID"
            ]
        );
        assert_eq!(
            plan.migration(false).unwrap().unwrap().statements,
            [
                "ALTER TABLE ORDERS\n    ADD COLUMN _LOAD_ID BIGINT UNSIGNED NULL AFTER NOTE,\n    ADD FOREIGN KEY (_LOAD_ID) REFERENCES LOADED_OBJECTS (ID);\n"
            ]
        );
        let replace =
            changed(r#""primaryKey": "id","#, r#""primaryKey": "id", "zipster:table": {"strategy": "replace"},"#);
        let to_replace = plan_of(&built(&t), &replace);
        assert_eq!(texts(&to_replace), ["ORDERS: the load may not DELETE it (replace strategy)"]);
        let sql = to_replace.migration(false).unwrap().unwrap().sql("orders");
        assert!(
            sql.ends_with(
                "-- The load's rights on it, as its strategy needs them.\nGRANT DELETE ON ORDERS TO zipster_loader;\n"
            ),
            "{sql}"
        );
        let back = plan_of(&built(&replace), &t);
        assert_eq!(texts(&back), ["ORDERS: the load may DELETE it, which its upsert strategy never does"]);
        assert_eq!(
            back.migration(false).unwrap().unwrap().statements,
            ["REVOKE DELETE ON ORDERS FROM zipster_loader;\n"]
        );
        assert!(grants(&replace).starts_with("GRANT SELECT, INSERT, UPDATE, DELETE ON ORDERS"));
        let mut foreign = built(&t);
        foreign.foreign_keys.push(ForeignKey {
            name: "ORDERS_SKU".to_owned(),
            column: "SKU".to_owned(),
            references: "SKUS".to_owned(),
            referenced_column: "CODE".to_owned(),
        });
        let refusal = plan_of(&foreign, &t).migration(false).unwrap_err();
        assert_eq!(refusal.lossy.len(), 1, "{refusal}");
        assert!(
            refusal.lossy[0]
                .starts_with("ORDERS.SKU: foreign key ORDERS_SKU to SKUS.CODE, which the contract does not declare"),
            "{refusal}"
        );
    }

    fn plan_of(existing: &Existing, t: &Table) -> Plan {
        plan(Some(existing), t)
    }
}
