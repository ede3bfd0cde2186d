//! What the load recorded: `LOADED_OBJECTS` rows, read for a person (`cargo xtask
//! status`) through the migrate function, the one function inside the VPC that may
//! read the tables for one. Only SELECTs, bounded, inside a read-only transaction.

use serde::{Deserialize, Serialize};
use sqlx::{Executor, MySqlConnection, MySqlPool};

use crate::DbError;

/// The most rows one request answers: a status page's worth, and a bounded Lambda answer.
pub const MAX_ROWS: u32 = 200;
/// The most keys one request names.
pub const MAX_KEYS: usize = 100;
/// S3's own limit on a key's length, in bytes (so is the column's).
pub const MAX_KEY_BYTES: usize = 1024;

/// The columns read, by name (`LoadedRecord` is built from the names, not the order):
/// a column the load adds later is one line here and one field there.
macro_rules! columns {
    () => {
        "ID, BUCKET, OBJECT_KEY, ETAG, VERSION_ID, SEQUENCER, FEED, CONTRACT_SHA256, STRATEGY, \
         ROWS_READ, ROWS_INSERTED, ROWS_UPDATED, ROWS_DELETED, SHRINK_ALLOWED, \
         CAST(UNIX_TIMESTAMP(LOADED_AT) * 1000 AS SIGNED) AS LOADED_AT_MS"
    };
}

/// One load of one object version, as `LOADED_OBJECTS` keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "SCREAMING_SNAKE_CASE")]
pub struct LoadedRecord {
    pub id: u64,
    pub bucket: String,
    pub object_key: String,
    pub etag: String,
    pub version_id: Option<String>,
    pub sequencer: Option<String>,
    /// The feed, its contract's hash and the strategy it loaded by (`None` for loads
    /// recorded before they were).
    pub feed: Option<String>,
    pub contract_sha256: Option<String>,
    pub strategy: Option<String>,
    pub rows_read: u32,
    pub rows_inserted: u32,
    pub rows_updated: u32,
    pub rows_deleted: u32,
    /// An operator let a replace delete more than its contract allows.
    pub shrink_allowed: bool,
    /// Milliseconds since the epoch: `UNIX_TIMESTAMP` of the stored instant, so the
    /// session's time zone cannot shift it.
    pub loaded_at_ms: i64,
}

/// A question about the records: the loads of `keys` in `bucket` (newest first, at
/// most `last` per key), or, without keys, the `last` loads of any object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadedQuery {
    #[serde(default)]
    pub bucket: Option<String>,
    #[serde(default)]
    pub keys: Vec<String>,
    #[serde(default)]
    pub last: Option<u32>,
}

/// The answer; `truncated` when [`MAX_ROWS`] cut it short.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loaded {
    pub records: Vec<LoadedRecord>,
    pub truncated: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueryError {
    #[error("name at most {MAX_KEYS} keys per request, not {0}")]
    TooManyKeys(usize),
    #[error("a key is at most {MAX_KEY_BYTES} bytes (S3's limit); one has {0}")]
    KeyTooLong(usize),
    #[error("keys need their bucket: add \"bucket\"")]
    NoBucket,
    #[error("\"last\" is 1 to {MAX_ROWS}, not {0}")]
    Last(u32),
    #[error("ask for \"keys\" (with their \"bucket\") or for the \"last\" N loads")]
    Empty,
}

impl LoadedQuery {
    /// The query's bounds, checked before anything is sent to the server.
    pub fn check(&self) -> Result<(), QueryError> {
        if let Some(last) = self.last
            && !(1..=MAX_ROWS).contains(&last)
        {
            return Err(QueryError::Last(last));
        }
        if self.keys.len() > MAX_KEYS {
            return Err(QueryError::TooManyKeys(self.keys.len()));
        }
        if let Some(long) = self.keys.iter().find(|k| k.len() > MAX_KEY_BYTES) {
            return Err(QueryError::KeyTooLong(long.len()));
        }
        match (self.keys.is_empty(), &self.bucket, self.last) {
            (false, None, _) => Err(QueryError::NoBucket),
            (true, _, None) => Err(QueryError::Empty),
            _ => Ok(()),
        }
    }
}

/// Runs `work` on a connection that cannot write. The migrate function's user may
/// create, alter and drop tables (it applies the migrations), so the guard is the
/// server's, not this module's care: `START TRANSACTION READ ONLY` refuses every
/// write to a table (error 1792); and since DDL commits the open transaction
/// implicitly and would then run outside it, the session itself is made read-only
/// first (`SET SESSION TRANSACTION READ ONLY`), which refuses DDL too. The connection
/// is closed afterwards instead of going back to the pool, so a session left
/// read-only can never serve the migrations.
pub async fn read_only<T, E: From<DbError>>(
    pool: &MySqlPool,
    work: impl AsyncFnOnce(&mut MySqlConnection) -> Result<T, E>,
) -> Result<T, E> {
    let mut connection = pool.acquire().await.map_err(DbError::sql("taking a connection for a read-only query"))?;
    connection.close_on_drop();
    // Text statements (no arguments): these two cannot be prepared.
    connection
        .execute("SET SESSION TRANSACTION READ ONLY")
        .await
        .map_err(DbError::sql("making the session read-only"))?;
    connection
        .execute("START TRANSACTION READ ONLY")
        .await
        .map_err(DbError::sql("starting a read-only transaction"))?;
    work(&mut connection).await
}

/// Why a question got no answer: its bounds, or the database.
#[derive(Debug, thiserror::Error)]
pub enum LoadedError {
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Answers `query` (checked first) in one read-only transaction.
pub async fn loaded(pool: &MySqlPool, query: &LoadedQuery) -> Result<Loaded, LoadedError> {
    query.check()?;
    read_only(pool, async |connection| answer(connection, query).await).await
}

async fn answer(connection: &mut MySqlConnection, query: &LoadedQuery) -> Result<Loaded, LoadedError> {
    let mut records: Vec<LoadedRecord> = Vec::new();
    let mut truncated = false;
    match &query.bucket {
        Some(bucket) if !query.keys.is_empty() => {
            let per_key = query.last.unwrap_or(MAX_ROWS);
            for key in &query.keys {
                let room = MAX_ROWS as usize - records.len();
                // One row more than fits tells a cut answer from an exact fit.
                let limit = per_key.min(u32::try_from(room + 1).unwrap_or(MAX_ROWS));
                let rows = of_key(connection, bucket, key, limit).await?;
                if rows.len() > room {
                    records.extend(rows.into_iter().take(room));
                    truncated = true;
                    break;
                }
                records.extend(rows);
            }
        }
        _ => {
            records = sqlx::query_as(concat!("SELECT ", columns!(), " FROM LOADED_OBJECTS ORDER BY ID DESC LIMIT ?"))
                .bind(query.last.unwrap_or(MAX_ROWS))
                .fetch_all(&mut *connection)
                .await
                .map_err(DbError::sql("reading the last loaded objects"))?;
        }
    }
    Ok(Loaded { records, truncated })
}

/// The loads of one key, newest first, through the (OBJECT_ID, ID) index as the load
/// itself reads them.
async fn of_key(
    connection: &mut MySqlConnection,
    bucket: &str,
    key: &str,
    limit: u32,
) -> Result<Vec<LoadedRecord>, DbError> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM LOADED_OBJECTS WHERE OBJECT_ID = UNHEX(SHA2(CONCAT(?, '/', ?), 256)) \
         AND BUCKET = ? AND OBJECT_KEY = ? ORDER BY ID DESC LIMIT ?"
    ))
    .bind(bucket)
    .bind(key)
    .bind(bucket)
    .bind(key)
    .bind(limit)
    .fetch_all(connection)
    .await
    .map_err(DbError::sql("reading the loads of an object"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn keys(bucket: Option<&str>, keys: &[&str], last: Option<u32>) -> LoadedQuery {
        LoadedQuery { bucket: bucket.map(str::to_owned), keys: keys.iter().map(|k| (*k).to_owned()).collect(), last }
    }

    #[test]
    fn a_query_is_bounded_before_it_reaches_the_server() {
        assert_eq!(keys(Some("b"), &["k"], None).check(), Ok(()));
        assert_eq!(keys(None, &[], Some(20)).check(), Ok(()));
        assert_eq!(keys(None, &[], Some(0)).check(), Err(QueryError::Last(0)));
        assert_eq!(keys(None, &[], Some(201)).check(), Err(QueryError::Last(201)));
        assert_eq!(keys(None, &["k"], None).check(), Err(QueryError::NoBucket));
        assert_eq!(keys(Some("b"), &[], None).check(), Err(QueryError::Empty));
        let many: Vec<String> = (0..=MAX_KEYS).map(|n| n.to_string()).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(keys(Some("b"), &many, None).check(), Err(QueryError::TooManyKeys(101)));
        let long = "k".repeat(MAX_KEY_BYTES + 1);
        assert_eq!(keys(Some("b"), &[&long], None).check(), Err(QueryError::KeyTooLong(1025)));
        assert_eq!(keys(Some("b"), &[&long[1..]], None).check(), Ok(()));
    }

    #[test]
    fn a_request_is_read_strictly() {
        let query: LoadedQuery = serde_json::from_str(r#"{"bucket": "b", "keys": ["a", "c"], "last": 1}"#).unwrap();
        assert_eq!(query, keys(Some("b"), &["a", "c"], Some(1)));
        assert!(serde_json::from_str::<LoadedQuery>(r#"{"last": 5, "delete": true}"#).is_err());
    }
}
