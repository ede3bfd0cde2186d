//! The load: one normalized CSV into its feed's table (as the contract declares it,
//! [`zipster_contract::Table`]), all or nothing, recorded in `LOADED_OBJECTS` in the same
//! transaction so that a retry or a duplicate event changes nothing. The contract's
//! strategy says how the file changes the table: `upsert` (a row whose key is there
//! replaces it), `append` (every row inserted), `replace` (upserted, then the rows whose
//! key the file lacks deleted, unless that is more of the table than the contract allows).
//! Every row written records the load's `LOADED_OBJECTS.ID` in the lineage column; a row
//! the file leaves as it was keeps the load that last changed it.

use std::fmt;
use std::io::{Read, Seek, SeekFrom};
use std::time::Duration;

use serde::Serialize;
use serde::ser::SerializeStruct;
use sqlx::{AssertSqlSafe, MySql, MySqlPool, Transaction};
use zipster_contract::{LoadStrategy, Table};
use zipster_core::event::ObjectRef;
use zipster_core::feeds::Feed;

use crate::DbError;
use crate::idempotency::{Decision, PriorLoad, decide};
use crate::rows::{RowReader, Value};

/// Rows per `INSERT`: large enough that round trips do not dominate, far below the
/// protocol's 65,535 placeholders and the default 16 MiB packet (fewer for a table wide
/// enough that 1000 rows would pass the placeholder limit).
pub const ROWS_PER_STATEMENT: usize = 1000;

fn rows_per_statement(table: &Table) -> usize {
    ROWS_PER_STATEMENT.min(60_000 / (table.columns.len() + 1)).max(1)
}

/// What a load writes into and records: a feed's table as one version of its contract
/// declares it.
#[derive(Debug, Clone)]
pub struct Target {
    pub feed: String,
    /// SHA-256 of the contract's descriptor ([`Feed::hash`]): with the object's ETag, what
    /// makes a load idempotent.
    pub contract_sha256: String,
    pub table: Table,
}

impl Target {
    pub fn of(feed: &Feed) -> Self {
        Self { feed: feed.name.clone(), contract_sha256: feed.hash.clone(), table: feed.contract.table(&feed.name) }
    }

    /// The zip code feed's, which the seed and [`load_csv`] load.
    pub fn zipcodes() -> Result<Self, DbError> {
        Ok(Self::of(zipster_core::feeds::builtin(zipster_core::feeds::ZIPCODES)?))
    }
}

/// What an operator allows one load beyond its contract (`cargo xtask reprocess
/// --allow-shrink`), as the transform passed it on with the staged object.
pub use zipster_core::event::Overrides;

/// What the store handed over with a staged object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Downloaded {
    pub etag: String,
    pub version_id: Option<String>,
    /// The contract the transform staged it under, from the object's metadata (`None`
    /// for a file staged before the transform recorded it, or a seed).
    pub contract_sha256: Option<String>,
    pub overrides: Overrides,
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

/// What one load did to its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadCounts {
    pub strategy: LoadStrategy,
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub deleted: u64,
}

impl LoadCounts {
    /// An upsert's counts (the zip code feed's), as the tests write them.
    pub fn upsert(rows: u64, inserted: u64, updated: u64, unchanged: u64) -> Self {
        Self { strategy: LoadStrategy::Upsert, rows, inserted, updated, unchanged, deleted: 0 }
    }
}

/// The counts its strategy can have: an append neither updates nor deletes, an upsert
/// never deletes.
impl Serialize for LoadCounts {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("LoadCounts", 6)?;
        s.serialize_field("strategy", self.strategy.as_str())?;
        s.serialize_field("rows", &self.rows)?;
        s.serialize_field("inserted", &self.inserted)?;
        if self.strategy != LoadStrategy::Append {
            s.serialize_field("updated", &self.updated)?;
            s.serialize_field("unchanged", &self.unchanged)?;
        }
        if self.strategy == LoadStrategy::Replace {
            s.serialize_field("deleted", &self.deleted)?;
        }
        s.end()
    }
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
            LoadOutcome::Loaded(c) => match c.strategy {
                LoadStrategy::Upsert => write!(
                    f,
                    "loaded {} rows: {} inserted, {} updated, {} unchanged",
                    c.rows, c.inserted, c.updated, c.unchanged
                ),
                LoadStrategy::Append => write!(f, "loaded {} rows: {} appended", c.rows, c.inserted),
                LoadStrategy::Replace => write!(
                    f,
                    "loaded {} rows: {} inserted, {} updated, {} unchanged, {} deleted (the file replaces the table)",
                    c.rows, c.inserted, c.updated, c.unchanged, c.deleted
                ),
            },
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
    /// The version loaded, when the bucket keeps versions: what tells this load of the
    /// key from an earlier one of the same content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    pub feed: String,
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
/// ETag and version are what the store handed over (what was downloaded is what is
/// recorded, whatever the event claimed). A file staged under another contract than
/// `target`'s is refused: its columns or rules may not be this table's. See [`load_table`].
pub async fn load_object<R: Read + Seek>(
    pool: &MySqlPool,
    target: &Target,
    obj: &ObjectRef,
    downloaded: Downloaded,
    input: R,
) -> Result<ObjectResult, DbError> {
    if let Some(staged) = downloaded.contract_sha256.filter(|staged| staged != &target.contract_sha256) {
        return Err(DbError::StagedUnderAnotherContract {
            feed: target.feed.clone(),
            staged,
            ours: target.contract_sha256.clone(),
        });
    }
    let object = ObjectVersion {
        bucket: obj.bucket.clone(),
        key: obj.key.clone(),
        etag: downloaded.etag,
        version_id: downloaded.version_id.or_else(|| obj.version_id.clone()),
        sequencer: obj.sequencer.clone(),
    };
    let outcome = load_table(pool, target, &object, downloaded.overrides, input).await?;
    Ok(ObjectResult {
        bucket: object.bucket,
        key: object.key,
        etag: object.etag,
        version_id: object.version_id,
        feed: target.feed.clone(),
        outcome,
    })
}

/// The statement for `rows` rows of `table`: placeholders only, never data. Names come
/// from the contract, which admits only letters, digits and `_` in them. Each row ends
/// with the load's ID for the lineage column.
pub fn write_sql(table: &Table, rows: usize) -> String {
    let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    let placeholders = format!("({})", vec!["?"; names.len() + 1].join(","));
    let lineage = &table.lineage;
    let mut sql = format!("INSERT INTO {} ({}, {lineage}) VALUES ", table.name, names.join(", "));
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&placeholders);
    }
    if table.strategy == LoadStrategy::Append || table.primary_key.is_empty() {
        return sql;
    }
    let updated: Vec<&str> = names.iter().copied().filter(|n| !table.primary_key.iter().any(|k| k == n)).collect();
    // VALUES(col) rather than MySQL 8's row alias: MariaDB has no row alias. The lineage
    // is assigned first because MySQL evaluates the assignments in order and a later one
    // would see the new values: a row the file leaves as it was keeps the load that last
    // changed it, so "unchanged" still counts rows that did not change.
    let same: Vec<String> = updated.iter().map(|n| format!("{n} <=> VALUES({n})")).collect();
    let lineage_update = match same.is_empty() {
        true => format!("{lineage} = {lineage}"),
        false => format!("{lineage} = IF({}, {lineage}, VALUES({lineage}))", same.join(" AND ")),
    };
    sql.push_str(" ON DUPLICATE KEY UPDATE ");
    sql.push_str(&lineage_update);
    for n in updated {
        sql.push_str(&format!(", {n} = VALUES({n})"));
    }
    sql
}

/// Loads a normalized CSV of the zip code feed as `object`: see [`load_table`].
pub async fn load_csv<R: Read + Seek>(
    pool: &MySqlPool,
    object: &ObjectVersion,
    input: R,
) -> Result<LoadOutcome, DbError> {
    load_table(pool, &Target::zipcodes()?, object, Overrides::default(), input).await
}

/// Loads a normalized CSV into `target`'s table as `object`: nothing if this content,
/// under this contract, is already the key's latest load, or a later version is loaded;
/// otherwise every row, in one transaction, by the table's strategy.
///
/// The header is checked before the database is touched; any error afterwards rolls
/// the whole file back. Concurrent loads of overlapping files can deadlock: InnoDB
/// then rolls one back and asks to restart it, which this does from the start of
/// the input, up to [`DEADLOCK_RETRIES`] times.
pub async fn load_table<R: Read + Seek>(
    pool: &MySqlPool,
    target: &Target,
    object: &ObjectVersion,
    overrides: Overrides,
    mut input: R,
) -> Result<LoadOutcome, DbError> {
    let mut retries = 0;
    loop {
        // Boxed: inlined, this future's type nests deep enough in the migrate function
        // (migrations, then seed, then this) to overflow rustc's layout depth limit.
        match Box::pin(load_once(pool, target, object, overrides, &mut input)).await {
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
    target: &Target,
    object: &ObjectVersion,
    overrides: Overrides,
    input: R,
) -> Result<LoadOutcome, DbError> {
    let mut reader = RowReader::new(input, &target.table)?;
    let mut tx = pool.begin().await.map_err(DbError::sql("starting the load transaction"))?;
    match load_in(&mut tx, target, object, overrides, &mut reader).await {
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
    target: &Target,
    object: &ObjectVersion,
    overrides: Overrides,
    reader: &mut RowReader<R>,
) -> Result<LoadOutcome, DbError> {
    let history = prior_loads(tx, object).await?;
    match decide(&history, &object.etag, &target.contract_sha256, object.sequencer.as_deref()) {
        Decision::AlreadyLoaded => return Ok(LoadOutcome::AlreadyLoaded),
        Decision::Superseded { by } => return Ok(LoadOutcome::Superseded { by_sequencer: by }),
        Decision::Load => {}
    }
    let table = &target.table;
    let load_id = begin_record(tx, target, object, overrides).await?;
    let before = count_rows(tx, table).await?;
    // A replace of an empty table deletes nothing: no need to remember the file's keys.
    let keys = match table.strategy {
        LoadStrategy::Replace if before > 0 => Some(KeyTable::create(tx, table).await?),
        LoadStrategy::Replace | LoadStrategy::Upsert | LoadStrategy::Append => None,
    };
    let per_statement = rows_per_statement(table);
    let full = write_sql(table, per_statement);
    let mut batch = Vec::with_capacity(per_statement);
    let (mut rows, mut affected) = (0_u64, 0_u64);
    while reader.next_batch(per_statement, &mut batch)? > 0 {
        affected += write(tx, table, &full, per_statement, &batch, load_id).await?;
        if let Some(keys) = &keys {
            keys.add(tx, &batch).await?;
        }
        rows += batch.len() as u64;
        batch.clear();
    }
    let inserted = count_rows(tx, table).await?.saturating_sub(before);
    let deleted = match &keys {
        Some(keys) => keys.delete_the_rest(tx, before, overrides).await?,
        None => 0,
    };
    // The driver asks for "found rows": 1 per insert, 2 per changed row, 1 per row
    // left as it was; so what exceeds one per row is the changed rows.
    let updated = affected.saturating_sub(rows);
    let counts = LoadCounts {
        strategy: table.strategy,
        rows,
        inserted,
        updated,
        unchanged: rows.saturating_sub(inserted + updated),
        deleted,
    };
    finish_record(tx, load_id, &counts).await?;
    Ok(LoadOutcome::Loaded(counts))
}

/// Earlier loads of the key, newest first, locked until the load commits so that two
/// loads of one key run one after the other.
async fn prior_loads(tx: &mut Transaction<'_, MySql>, object: &ObjectVersion) -> Result<Vec<PriorLoad>, DbError> {
    let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT ETAG, SEQUENCER, CONTRACT_SHA256 FROM LOADED_OBJECTS \
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
    Ok(rows.into_iter().map(|(etag, sequencer, contract)| PriorLoad { etag, sequencer, contract }).collect())
}

async fn count_rows(tx: &mut Transaction<'_, MySql>, table: &Table) -> Result<u64, DbError> {
    let sql = format!("SELECT COUNT(*) FROM {}", table.name);
    let count: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
        .fetch_one(&mut **tx)
        .await
        .map_err(DbError::sql("counting the table's rows"))?;
    Ok(u64::try_from(count).unwrap_or(0))
}

fn bind_row<'q>(
    mut query: sqlx::query::Query<'q, MySql, sqlx::mysql::MySqlArguments>,
    row: impl IntoIterator<Item = &'q Value>,
) -> sqlx::query::Query<'q, MySql, sqlx::mysql::MySqlArguments> {
    for value in row {
        query = match value {
            Value::Null => query.bind(None::<&str>),
            Value::Boolean(b) => query.bind(*b),
            Value::Text(text) => query.bind(text.as_str()),
        };
    }
    query
}

async fn write(
    tx: &mut Transaction<'_, MySql>,
    table: &Table,
    full: &str,
    per_statement: usize,
    batch: &[Vec<Value>],
    load_id: u64,
) -> Result<u64, DbError> {
    let tail_sql;
    let mut query = if batch.len() == per_statement {
        sqlx::query(AssertSqlSafe(full))
    } else {
        tail_sql = write_sql(table, batch.len());
        sqlx::query(AssertSqlSafe(tail_sql.as_str()))
    };
    for row in batch {
        query = bind_row(query, row).bind(load_id);
    }
    let result = query.execute(&mut **tx).await.map_err(DbError::sql("writing the rows"))?;
    Ok(result.rows_affected())
}

/// The keys of a replace's file, in a temporary table of its own session (so no other
/// load sees it, and no `DROP` right on any real table is needed): after the rows are
/// written, the table's rows whose key is not among them are the ones the file no
/// longer has.
struct KeyTable {
    /// `DELETE` of the table's rows whose key is not in the file.
    delete: String,
    /// `INSERT IGNORE INTO` the key table: a key may repeat in a file whose table key
    /// is not unique in it (`zipster:table.key`).
    insert_keys: String,
    insert_one: String,
    /// Positions of the key's columns in a row.
    positions: Vec<usize>,
    table: String,
    max_deleted_share: f64,
}

const KEY_TABLE: &str = "_ZIPSTER_LOAD_KEYS";

impl KeyTable {
    async fn create(tx: &mut Transaction<'_, MySql>, table: &Table) -> Result<Self, DbError> {
        let key = table.primary_key.join(", ");
        let positions =
            table.primary_key.iter().filter_map(|k| table.columns.iter().position(|c| &c.name == k)).collect();
        // Temporary tables outlive a rollback on the pooled connection: one a failed load
        // left behind is dropped first. Neither statement ends the transaction.
        sqlx::query(AssertSqlSafe(format!("DROP TEMPORARY TABLE IF EXISTS {KEY_TABLE}")))
            .execute(&mut **tx)
            .await
            .map_err(DbError::sql("dropping a previous load's key table"))?;
        // Built from the table itself so that the keys compare exactly as the table's do
        // (types, collation).
        sqlx::query(AssertSqlSafe(format!(
            "CREATE TEMPORARY TABLE {KEY_TABLE} (PRIMARY KEY ({key})) SELECT {key} FROM {} LIMIT 0",
            table.name
        )))
        .execute(&mut **tx)
        .await
        .map_err(DbError::sql("creating the replace's key table"))?;
        // No alias for the table: MariaDB before 11.6 has none in a single-table DELETE.
        let t = &table.name;
        let matches: Vec<String> = table.primary_key.iter().map(|k| format!("K.{k} = {t}.{k}")).collect();
        Ok(Self {
            delete: format!(
                "DELETE FROM {t} WHERE NOT EXISTS (SELECT 1 FROM {KEY_TABLE} K WHERE {})",
                matches.join(" AND ")
            ),
            insert_one: format!("({})", vec!["?"; table.primary_key.len()].join(",")),
            insert_keys: format!("INSERT IGNORE INTO {KEY_TABLE} ({key}) VALUES "),
            positions,
            table: table.name.clone(),
            max_deleted_share: table.max_deleted_share,
        })
    }

    async fn add(&self, tx: &mut Transaction<'_, MySql>, batch: &[Vec<Value>]) -> Result<(), DbError> {
        let sql = format!("{}{}", self.insert_keys, vec![self.insert_one.as_str(); batch.len()].join(","));
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for row in batch {
            query = bind_row(query, self.positions.iter().filter_map(|&i| row.get(i)));
        }
        query.execute(&mut **tx).await.map_err(DbError::sql("recording the file's keys"))?;
        Ok(())
    }

    /// Deletes the rows the file does not have, unless they are more of the table than
    /// its contract allows and nobody said otherwise; returns how many. One statement:
    /// when it deleted too many, the error rolls the whole load back, so nothing changed.
    async fn delete_the_rest(
        &self,
        tx: &mut Transaction<'_, MySql>,
        before: u64,
        overrides: Overrides,
    ) -> Result<u64, DbError> {
        let deleted = sqlx::query(AssertSqlSafe(self.delete.as_str()))
            .execute(&mut **tx)
            .await
            .map_err(DbError::sql("deleting the rows the file no longer has"))?
            .rows_affected();
        if deleted as f64 > self.max_deleted_share * before as f64 && !overrides.allow_shrink {
            return Err(DbError::WouldShrink {
                table: self.table.clone(),
                before,
                deleted,
                max_share: self.max_deleted_share,
            });
        }
        sqlx::query(AssertSqlSafe(format!("DROP TEMPORARY TABLE {KEY_TABLE}")))
            .execute(&mut **tx)
            .await
            .map_err(DbError::sql("dropping the replace's key table"))?;
        Ok(deleted)
    }
}

/// The load's record, first: its ID is every written row's lineage. Its counts follow
/// in [`finish_record`], in the same transaction.
async fn begin_record(
    tx: &mut Transaction<'_, MySql>,
    target: &Target,
    object: &ObjectVersion,
    overrides: Overrides,
) -> Result<u64, DbError> {
    let result = sqlx::query(
        "INSERT INTO LOADED_OBJECTS \
         (BUCKET, OBJECT_KEY, ETAG, VERSION_ID, SEQUENCER, FEED, CONTRACT_SHA256, STRATEGY, SHRINK_ALLOWED, \
          ROWS_READ, ROWS_INSERTED, ROWS_UPDATED) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0)",
    )
    .bind(&object.bucket)
    .bind(&object.key)
    .bind(&object.etag)
    .bind(object.version_id.as_deref())
    .bind(object.sequencer.as_deref())
    .bind(&target.feed)
    .bind(&target.contract_sha256)
    .bind(target.table.strategy.as_str())
    .bind(overrides.allow_shrink)
    .execute(&mut **tx)
    .await
    .map_err(DbError::sql("recording the loaded object"))?;
    Ok(result.last_insert_id())
}

async fn finish_record(tx: &mut Transaction<'_, MySql>, load_id: u64, counts: &LoadCounts) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE LOADED_OBJECTS SET ROWS_READ = ?, ROWS_INSERTED = ?, ROWS_UPDATED = ?, ROWS_DELETED = ? WHERE ID = ?",
    )
    .bind(counts.rows)
    .bind(counts.inserted)
    .bind(counts.updated)
    .bind(counts.deleted)
    .bind(load_id)
    .execute(&mut **tx)
    .await
    .map_err(DbError::sql("recording the load's counts"))?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn statement_has_one_placeholder_per_value() {
        let table = Target::zipcodes().unwrap().table;
        let sql = write_sql(&table, 3);
        assert_eq!(sql.matches('?').count(), 30, "nine fields and the lineage, per row");
        assert!(sql.starts_with("INSERT INTO ZIPCODES (ZIPCODE, ZIPCODE_TYPE, CITY, STATE, LOCATION_TYPE, LATITUDE, LONGITUDE, LOCATION, DECOMISSIONED, _LOAD_ID) VALUES "), "{sql}");
        assert!(sql.contains("(?,?,?,?,?,?,?,?,?,?),(?,?,?,?,?,?,?,?,?,?),(?,?,?,?,?,?,?,?,?,?) ON DUPLICATE KEY UPDATE _LOAD_ID = IF(ZIPCODE_TYPE <=> VALUES(ZIPCODE_TYPE) AND "), "{sql}");
        assert!(sql.contains("DECOMISSIONED <=> VALUES(DECOMISSIONED), _LOAD_ID, VALUES(_LOAD_ID)), ZIPCODE_TYPE = VALUES(ZIPCODE_TYPE), "), "the lineage first: {sql}");
        assert!(!sql.contains("ZIPCODE = VALUES(ZIPCODE)"), "the key is not updated");
        assert!(write_sql(&table, rows_per_statement(&table)).matches('?').count() < 65_535);
        let mut appended = table.clone();
        appended.strategy = LoadStrategy::Append;
        assert!(!write_sql(&appended, 1).contains("ON DUPLICATE"), "an append inserts every row");
        let mut only_key = table.clone();
        only_key.columns.truncate(1);
        assert!(
            write_sql(&only_key, 1).ends_with("ON DUPLICATE KEY UPDATE _LOAD_ID = _LOAD_ID"),
            "a table of keys only"
        );
    }

    #[test]
    fn outcomes_read_as_one_line_with_their_strategy_s_counts() {
        let loaded = LoadOutcome::Loaded(LoadCounts::upsert(3, 2, 1, 0));
        assert_eq!(loaded.to_string(), "loaded 3 rows: 2 inserted, 1 updated, 0 unchanged");
        assert_eq!(LoadOutcome::AlreadyLoaded.to_string(), "already loaded");
        assert_eq!(
            serde_json::to_value(&loaded).unwrap(),
            serde_json::json!({"status": "loaded", "strategy": "upsert", "rows": 3, "inserted": 2, "updated": 1, "unchanged": 0})
        );
        let replaced = LoadOutcome::Loaded(LoadCounts {
            strategy: LoadStrategy::Replace,
            deleted: 4,
            ..LoadCounts::upsert(3, 1, 1, 1)
        });
        assert_eq!(
            replaced.to_string(),
            "loaded 3 rows: 1 inserted, 1 updated, 1 unchanged, 4 deleted (the file replaces the table)"
        );
        assert_eq!(serde_json::to_value(&replaced).unwrap()["deleted"], 4);
        let appended =
            LoadOutcome::Loaded(LoadCounts { strategy: LoadStrategy::Append, ..LoadCounts::upsert(5, 5, 0, 0) });
        assert_eq!(appended.to_string(), "loaded 5 rows: 5 appended");
        assert_eq!(
            serde_json::to_value(&appended).unwrap(),
            serde_json::json!({"status": "loaded", "strategy": "append", "rows": 5, "inserted": 5})
        );
    }
}
