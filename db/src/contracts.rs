//! Whether the tables the migrations built are the tables the feeds' contracts declare
//! ([`zipster_contract::Table`]): read back from the database, column by column, like
//! `synth --check` for templates. A contract changed without its migration, or a
//! migration written by hand that disagrees with the contract, is a difference.

use sqlx::MySqlPool;
use zipster_contract::Table;

use crate::DbError;

/// Every difference between `table` and the database's table of that name, in words
/// (empty: they agree).
pub async fn table_drift(pool: &MySqlPool, table: &Table) -> Result<Vec<String>, DbError> {
    let sql = |source| DbError::Sql { context: "reading a table's columns from information_schema", source };
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
    )
    .bind(&table.name)
    .fetch_all(pool)
    .await
    .map_err(sql)?;
    if columns.is_empty() {
        return Ok(vec![format!(
            "table {} does not exist: no migration creates it (`cargo xtask feed migration <feed>` writes one)",
            table.name
        )]);
    }
    let key: Vec<String> = sqlx::query_scalar(
        "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION",
    )
    .bind(&table.name)
    .fetch_all(pool)
    .await
    .map_err(sql)?;
    let mut drift = Vec::new();
    for want in &table.columns {
        match columns.iter().find(|(name, _, _)| name == &want.name) {
            None => drift.push(format!("{}: no column {} for field {}", table.name, want.name, want.field)),
            Some((_, have, nullable)) => {
                if normalize(have) != normalize(&want.sql_type) {
                    drift.push(format!(
                        "{}.{}: the table has {have}, the contract declares {}",
                        table.name, want.name, want.sql_type
                    ));
                }
                if (nullable == "YES") != want.nullable {
                    let say = |n: bool| if n { "NULL" } else { "NOT NULL" };
                    drift.push(format!(
                        "{}.{}: the table has {}, the contract declares {}",
                        table.name,
                        want.name,
                        say(nullable == "YES"),
                        say(want.nullable)
                    ));
                }
            }
        }
    }
    for (name, _, _) in &columns {
        if !table.columns.iter().any(|c| &c.name == name) && !table.derived.contains(name) {
            drift.push(format!("{}.{name}: a column no field of the contract holds", table.name));
        }
    }
    if key != table.primary_key {
        drift.push(format!(
            "{}: the primary key is ({}), the contract declares ({})",
            table.name,
            key.join(", "),
            table.primary_key.join(", ")
        ));
    }
    Ok(drift)
}

/// A column type as MariaDB reports it and as a contract writes it, compared alike:
/// lower case, integer display widths dropped, `BOOLEAN` as the `tinyint(1)` it is.
fn normalize(sql_type: &str) -> String {
    let t = sql_type.trim().to_ascii_lowercase();
    if t == "boolean" || t == "bool" || t == "tinyint(1)" {
        return "boolean".to_owned();
    }
    for integer in ["tinyint", "smallint", "mediumint", "int", "bigint", "year"] {
        if let Some(rest) = t.strip_prefix(integer)
            && rest.starts_with('(')
            && let Some(end) = rest.find(')')
        {
            return format!("{integer}{}", &rest[end + 1..]);
        }
    }
    t
}

#[cfg(test)]
mod tests {
    #[test]
    fn types_compare_as_mariadb_reports_them() {
        use super::normalize;
        assert_eq!(normalize("int(10) unsigned"), normalize("INT UNSIGNED"));
        assert_eq!(normalize("bigint(20)"), "bigint");
        assert_eq!(normalize("tinyint(1)"), normalize("BOOLEAN"));
        assert_eq!(normalize("tinyint(4)"), "tinyint");
        assert_eq!(normalize("decimal(5,2)"), normalize("DECIMAL(5,2)"));
        assert_ne!(normalize("varchar(16)"), normalize("VARCHAR(8)"));
        assert_eq!(normalize("year(4)"), "year");
    }
}
