//! Whether the tables the migrations built are the tables the feeds' contracts declare
//! ([`zipster_contract::Table`]): read back from the database (columns, types, `NULL`,
//! keys, unique and foreign keys, the load's rights) into an [`Existing`] and compared by
//! [`zipster_contract::migration::plan`], like `synth --check` for templates. A contract
//! changed without its migration, or a migration written by hand that disagrees with the
//! contract, is a difference; the same plan writes the migration that resolves it.

use sqlx::mysql::MySqlConnectOptions;
use sqlx::{Executor, MySqlPool};
// What the tables are compared with and how: the commands that print the comparison
// (`feed check`, `feed migration`) take them from here, with the reading.
pub use zipster_contract::migration;
use zipster_contract::migration::{Existing, ExistingColumn, ForeignKey, Index, plan};
pub use zipster_contract::{Table, ValueKind};

use crate::DbError;
use crate::connect::{self, LOAD_ROLE, Limits, quote_identifier};

/// Every difference between `table` and the database's table of that name, in words
/// (empty: they agree).
pub async fn table_drift(pool: &MySqlPool, table: &Table) -> Result<Vec<String>, DbError> {
    let existing = read_table(pool, &table.name).await?;
    Ok(plan(existing.as_ref(), table).differences.into_iter().map(|d| d.text).collect())
}

/// The table `name` of the pool's database as `information_schema` describes it, or
/// `None` when there is none.
pub async fn read_table(pool: &MySqlPool, name: &str) -> Result<Option<Existing>, DbError> {
    let sql = |source| DbError::Sql { context: "reading a table's definition from information_schema", source };
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
    )
    .bind(name)
    .fetch_all(pool)
    .await
    .map_err(sql)?;
    if columns.is_empty() {
        return Ok(None);
    }
    let primary_key: Vec<String> = sqlx::query_scalar(
        "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION",
    )
    .bind(name)
    .fetch_all(pool)
    .await
    .map_err(sql)?;
    let unique_columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND NON_UNIQUE = 0 AND INDEX_NAME <> 'PRIMARY' \
         ORDER BY INDEX_NAME, SEQ_IN_INDEX",
    )
    .bind(name)
    .fetch_all(pool)
    .await
    .map_err(sql)?;
    let mut unique: Vec<Index> = Vec::new();
    for (index, column) in unique_columns {
        match unique.last_mut() {
            Some(last) if last.name == index => last.columns.push(column),
            _ => unique.push(Index { name: index, columns: vec![column] }),
        }
    }
    let foreign_keys: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME \
         FROM information_schema.KEY_COLUMN_USAGE \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND REFERENCED_TABLE_NAME IS NOT NULL \
         ORDER BY CONSTRAINT_NAME, ORDINAL_POSITION",
    )
    .bind(name)
    .fetch_all(pool)
    .await
    .map_err(sql)?;
    // MariaDB lists a role's grants as granted to it with an empty host.
    let load_rights: Vec<String> = sqlx::query_scalar(
        "SELECT PRIVILEGE_TYPE FROM information_schema.TABLE_PRIVILEGES \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND GRANTEE = ? ORDER BY PRIVILEGE_TYPE",
    )
    .bind(name)
    .bind(format!("'{LOAD_ROLE}'@''"))
    .fetch_all(pool)
    .await
    .map_err(sql)?;
    Ok(Some(Existing {
        name: name.to_owned(),
        columns: columns
            .into_iter()
            .map(|(name, sql_type, nullable)| ExistingColumn { name, sql_type, nullable: nullable == "YES" })
            .collect(),
        primary_key,
        unique,
        foreign_keys: foreign_keys
            .into_iter()
            .map(|(name, column, references, referenced_column)| ForeignKey {
                name,
                column,
                references,
                referenced_column,
            })
            .collect(),
        load_rights,
    }))
}

/// The tables `names` as the committed migrations build them: every migration of
/// [`MIGRATOR`](crate::MIGRATOR) applied to a new database on `server`, read back, and
/// the database dropped (also when reading failed).
pub async fn migrated_tables(server: &MySqlConnectOptions, names: &[&str]) -> Result<Vec<Option<Existing>>, DbError> {
    let scratch = format!("zipster_scratch_{:016x}", crate::random());
    let pool = connect::pool_creating_database(server.clone().database(&scratch), Limits::default()).await?;
    let read = async {
        crate::migrate::apply(&pool).await?;
        let mut tables = Vec::with_capacity(names.len());
        for name in names {
            tables.push(read_table(&pool, name).await?);
        }
        Ok::<_, DbError>(tables)
    }
    .await;
    pool.close().await;
    let dropped = async {
        let pool = connect::pool(server.clone().database(""), Limits::default()).await?;
        let statement = format!("DROP DATABASE IF EXISTS {}", quote_identifier(&scratch));
        pool.execute(sqlx::AssertSqlSafe(statement)).await.map_err(DbError::sql("dropping the scratch database"))?;
        pool.close().await;
        Ok::<_, DbError>(())
    }
    .await;
    let tables = read?;
    dropped?;
    Ok(tables)
}
