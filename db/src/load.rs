//! The load: one normalized CSV into its feed's table (as the contract declares it,
//! [`zipster_contract::Table`]), all or nothing, recorded in `LOADED_OBJECTS` in the same
//! transaction so that a retry or a duplicate event changes nothing. A table with a key
//! is upserted (a row for a key already there replaces it); one without is appended to.

use std::fmt;
use std::io::{Read, Seek, SeekFrom};
use std::time::Duration;

use serde::Serialize;
use sqlx::{AssertSqlSafe, MySql, MySqlPool, Transaction};
use zipster_core::event::ObjectRef;

use crate::DbError;
use crate::idempotency::{Decision, PriorLoad, decide};
use crate::rows::{RowReader, Value};
use zipster_contract::Table;

/// Rows per `INSERT`: large enough that round trips do not dominate, far below the
/// protocol's 65,535 placeholders and the default 16 MiB packet (fewer for a table wide
/// enough that 1000 rows would pass the placeholder limit).
pub const ROWS_PER_STATEMENT: usize = 1000;

fn rows_per_statement(table: &Table) -> usize {
    ROWS_PER_STATEMENT.min(60_000 / table.columns.len().max(1)).max(1)
}

/// The zip code feed's table, which the seed and `load_csv` load.
fn zipcodes() -> Result<Table, DbError> {
    let feed = zipster_core::feeds::builtin(zipster_core::feeds::ZIPCODES)?;
    Ok(feed.contract.table(&feed.name))
}

/// The S3 object version being loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectVersion {
    pub bucket: String,
    pub key: String,
    pub etag: String,
    pub version_id: Option<String>,
    pub sequencer: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct LoadCounts {
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LoadOutcome {
    Loaded(LoadCounts),
    AlreadyLoaded,
    Superseded { by_sequencer: String },
}

impl fmt::Display for LoadOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadOutcome::Loaded(c) => write!(
                f,
                "loaded {} rows: {} inserted, {} updated, {} unchanged",
                c.rows, c.inserted, c.updated, c.unchanged
            ),
            LoadOutcome::AlreadyLoaded => f.write_str("already loaded"),
            LoadOutcome::Superseded { by_sequencer } => {
                write!(f, "superseded: a later version (sequencer {by_sequencer}) is already loaded")
            }
        }
    }
}

/// What one object's load did, as the functions publish and return it.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectResult {
    pub bucket: String,
    pub key: String,
    pub etag: String,
    #[serde(flatten)]
    pub outcome: LoadOutcome,
}

impl ObjectResult {
    /// The load topic's one line.
    pub fn summary_line(&self) -> String {
        format!("s3://{}/{} (ETag {}): {}", self.bucket, self.key, self.etag, self.outcome)
    }
}

/// Loads `input`, the content of the object `obj` names as it was downloaded: its
/// `etag` and `version_id` are what the store handed over (what was downloaded is what
/// is recorded, whatever the event claimed). See [`load_csv`].
pub async fn load_object<R: Read + Seek>(
    pool: &MySqlPool,
    table: &Table,
    obj: &ObjectRef,
    etag: String,
    version_id: Option<String>,
    input: R,
) -> Result<ObjectResult, DbError> {
    let object = ObjectVersion {
        bucket: obj.bucket.clone(),
        key: obj.key.clone(),
        etag,
        version_id: version_id.or_else(|| obj.version_id.clone()),
        sequencer: obj.sequencer.clone(),
    };
    let outcome = load_table(pool, table, &object, input).await?;
    Ok(ObjectResult { bucket: object.bucket, key: object.key, etag: object.etag, outcome })
}

/// The statement for `rows` rows of `table`: placeholders only, never data. Names come
/// from the contract, which admits only letters, digits and `_` in them.
pub fn upsert_sql(table: &Table, rows: usize) -> String {
    let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    let placeholders = format!("({})", vec!["?"; names.len()].join(","));
    let mut sql = format!("INSERT INTO {} ({}) VALUES ", table.name, names.join(", "));
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&placeholders);
    }
    let updated: Vec<String> = names
        .iter()
        .filter(|n| !table.primary_key.iter().any(|k| k == *n))
        .map(|n| format!("{n} = VALUES({n})"))
        .collect();
    if !table.primary_key.is_empty() && !updated.is_empty() {
        // VALUES(col) rather than MySQL 8's row alias: MariaDB has no row alias.
        sql.push_str(" ON DUPLICATE KEY UPDATE ");
        sql.push_str(&updated.join(", "));
    }
    sql
}

/// Loads a normalized CSV as `object`: nothing if this content is already the key's
/// latest load or a later version is loaded; otherwise every row, in one transaction.
///
/// The header is checked before the database is touched; any error afterwards rolls
/// the whole file back. Concurrent loads of overlapping files can deadlock: InnoDB
/// then rolls one back and asks to restart it, which this does from the start of
/// the input, up to [`DEADLOCK_RETRIES`] times.
pub async fn load_csv<R: Read + Seek>(
    pool: &MySqlPool,
    object: &ObjectVersion,
    input: R,
) -> Result<LoadOutcome, DbError> {
    load_table(pool, &zipcodes()?, object, input).await
}

/// [`load_csv`] into any feed's table.
pub async fn load_table<R: Read + Seek>(
    pool: &MySqlPool,
    table: &Table,
    object: &ObjectVersion,
    mut input: R,
) -> Result<LoadOutcome, DbError> {
    let mut retries = 0;
    loop {
        // Boxed: inlined, this future's type nests deep enough in the migrate function
        // (migrations, then seed, then this) to overflow rustc's layout depth limit.
        match Box::pin(load_once(pool, table, object, &mut input)).await {
            Err(err) if err.is_deadlock() && retries < DEADLOCK_RETRIES => {
                retries += 1;
                let pause = deadlock_pause(retries);
                tracing::warn!(key = %object.key, retries, ?pause, "deadlock with another load; restarting the file");
                tokio::time::sleep(pause).await;
                input.seek(SeekFrom::Start(0)).map_err(|e| DbError::Rewind(e.to_string()))?;
            }
            outcome => return outcome,
        }
    }
}

/// Restarts of one file after a deadlock; each victim gives the others a head start.
pub const DEADLOCK_RETRIES: u32 = 8;

/// 25, 50, 100… ms, each with up to as much again at random, so that two victims of
/// the same deadlock do not collide again at once.
fn deadlock_pause(retry: u32) -> Duration {
    let base = 25_u64 << retry.min(6);
    let jitter = crate::random() % (base + 1);
    Duration::from_millis(base + jitter)
}

async fn load_once<R: Read>(
    pool: &MySqlPool,
    table: &Table,
    object: &ObjectVersion,
    input: R,
) -> Result<LoadOutcome, DbError> {
    let mut reader = RowReader::new(input, table)?;
    let mut tx = pool.begin().await.map_err(DbError::sql("starting the load transaction"))?;
    match load_in(&mut tx, table, object, &mut reader).await {
        Ok(outcome) => {
            tx.commit().await.map_err(DbError::sql("committing the load"))?;
            Ok(outcome)
        }
        Err(err) => {
            // Explicitly, not on drop: sqlx defers a dropped transaction's rollback to
            // the connection's next use, and until then its row and metadata locks
            // would block every other load of the key.
            if let Err(rollback) = tx.rollback().await {
                tracing::warn!(error = %rollback, "rollback after a failed load failed; the connection is dropped");
            }
            Err(err)
        }
    }
}

async fn load_in<R: Read>(
    tx: &mut Transaction<'_, MySql>,
    table: &Table,
    object: &ObjectVersion,
    reader: &mut RowReader<R>,
) -> Result<LoadOutcome, DbError> {
    match decide(&prior_loads(tx, object).await?, &object.etag, object.sequencer.as_deref()) {
        Decision::AlreadyLoaded => return Ok(LoadOutcome::AlreadyLoaded),
        Decision::Superseded { by } => return Ok(LoadOutcome::Superseded { by_sequencer: by }),
        Decision::Load => {}
    }
    let before = count_rows(tx, table).await?;
    let per_statement = rows_per_statement(table);
    let full = upsert_sql(table, per_statement);
    let mut batch = Vec::with_capacity(per_statement);
    let (mut rows, mut affected) = (0_u64, 0_u64);
    while reader.next_batch(per_statement, &mut batch)? > 0 {
        affected += upsert(tx, table, &full, per_statement, &batch).await?;
        rows += batch.len() as u64;
        batch.clear();
    }
    let inserted = count_rows(tx, table).await?.saturating_sub(before);
    // The driver asks for "found rows": 1 per insert, 2 per changed row, 1 per row
    // left as it was; so what exceeds one per row is the changed rows.
    let updated = affected.saturating_sub(rows);
    let counts = LoadCounts { rows, inserted, updated, unchanged: rows.saturating_sub(inserted + updated) };
    record(tx, object, &counts).await?;
    Ok(LoadOutcome::Loaded(counts))
}

/// Earlier loads of the key, newest first, locked until the load commits so that two
/// loads of one key run one after the other.
async fn prior_loads(tx: &mut Transaction<'_, MySql>, object: &ObjectVersion) -> Result<Vec<PriorLoad>, DbError> {
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT ETAG, SEQUENCER FROM LOADED_OBJECTS \
         WHERE OBJECT_ID = UNHEX(SHA2(CONCAT(?, '/', ?), 256)) AND BUCKET = ? AND OBJECT_KEY = ? \
         ORDER BY ID DESC FOR UPDATE",
    )
    .bind(&object.bucket)
    .bind(&object.key)
    .bind(&object.bucket)
    .bind(&object.key)
    .fetch_all(&mut **tx)
    .await
    .map_err(DbError::sql("reading earlier loads of the object"))?;
    Ok(rows.into_iter().map(|(etag, sequencer)| PriorLoad { etag, sequencer }).collect())
}

async fn count_rows(tx: &mut Transaction<'_, MySql>, table: &Table) -> Result<u64, DbError> {
    let sql = format!("SELECT COUNT(*) FROM {}", table.name);
    let count: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
        .fetch_one(&mut **tx)
        .await
        .map_err(DbError::sql("counting the table's rows"))?;
    Ok(u64::try_from(count).unwrap_or(0))
}

async fn upsert(
    tx: &mut Transaction<'_, MySql>,
    table: &Table,
    full: &str,
    per_statement: usize,
    batch: &[Vec<Value>],
) -> Result<u64, DbError> {
    let tail_sql;
    let mut query = if batch.len() == per_statement {
        sqlx::query(AssertSqlSafe(full))
    } else {
        tail_sql = upsert_sql(table, batch.len());
        sqlx::query(AssertSqlSafe(tail_sql.as_str()))
    };
    for row in batch {
        for value in row {
            query = match value {
                Value::Null => query.bind(None::<&str>),
                Value::Boolean(b) => query.bind(*b),
                Value::Text(text) => query.bind(text.as_str()),
            };
        }
    }
    let result = query.execute(&mut **tx).await.map_err(DbError::sql("upserting the rows"))?;
    Ok(result.rows_affected())
}

async fn record(tx: &mut Transaction<'_, MySql>, object: &ObjectVersion, counts: &LoadCounts) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO LOADED_OBJECTS \
         (BUCKET, OBJECT_KEY, ETAG, VERSION_ID, SEQUENCER, ROWS_READ, ROWS_INSERTED, ROWS_UPDATED) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&object.bucket)
    .bind(&object.key)
    .bind(&object.etag)
    .bind(object.version_id.as_deref())
    .bind(object.sequencer.as_deref())
    .bind(counts.rows)
    .bind(counts.inserted)
    .bind(counts.updated)
    .execute(&mut **tx)
    .await
    .map_err(DbError::sql("recording the loaded object"))?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn statement_has_one_placeholder_per_value() {
        let table = zipcodes().unwrap();
        let sql = upsert_sql(&table, 3);
        assert_eq!(sql.matches('?').count(), 27);
        assert!(sql.starts_with("INSERT INTO ZIPCODES (ZIPCODE, ZIPCODE_TYPE, CITY, STATE, LOCATION_TYPE, LATITUDE, LONGITUDE, LOCATION, DECOMISSIONED) VALUES "), "{sql}");
        assert!(sql.contains("(?,?,?,?,?,?,?,?,?),(?,?,?,?,?,?,?,?,?),(?,?,?,?,?,?,?,?,?) ON DUPLICATE KEY UPDATE ZIPCODE_TYPE = VALUES(ZIPCODE_TYPE), "), "{sql}");
        assert!(!sql.contains("ZIPCODE = VALUES(ZIPCODE)"), "the key is not updated");
        assert!(upsert_sql(&table, rows_per_statement(&table)).matches('?').count() < 65_535);
        let mut appended = table.clone();
        appended.primary_key.clear();
        assert!(!upsert_sql(&appended, 1).contains("ON DUPLICATE"), "no key: rows are appended");
    }

    #[test]
    fn outcomes_read_as_one_line() {
        let loaded = LoadOutcome::Loaded(LoadCounts { rows: 3, inserted: 2, updated: 1, unchanged: 0 });
        assert_eq!(loaded.to_string(), "loaded 3 rows: 2 inserted, 1 updated, 0 unchanged");
        assert_eq!(LoadOutcome::AlreadyLoaded.to_string(), "already loaded");
        assert_eq!(
            serde_json::to_value(&loaded).unwrap(),
            serde_json::json!({"status": "loaded", "rows": 3, "inserted": 2, "updated": 1, "unchanged": 0})
        );
    }
}
