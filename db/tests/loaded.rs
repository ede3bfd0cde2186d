//! `zipster_db::loaded` on the real server: what the load recorded, read back by key
//! (newest first, per-key and overall bounds) and by recency, in a session that
//! refuses writes and DDL.

#![allow(clippy::unwrap_used)]

use sqlx::Executor;
use zipster_db::DbError;
use zipster_db::connect::{self, Limits};
use zipster_db::loaded::{LoadedError, LoadedQuery, MAX_ROWS, loaded, read_only};
use zipster_db::testing::TestDb;

/// 2026-12-01T10:00:00Z, in epoch milliseconds.
const T0: i64 = 1_796_119_200_000;

async fn record(db: &TestDb, bucket: &str, key: &str, etag: &str, rows: u32, at_ms: i64) {
    let mut connection = db.pool.acquire().await.unwrap();
    // LOADED_AT is a TIMESTAMP: written here in UTC, read back as an instant.
    connection.execute("SET time_zone = '+00:00'").await.unwrap();
    sqlx::query(
        "INSERT INTO LOADED_OBJECTS \
         (BUCKET, OBJECT_KEY, ETAG, VERSION_ID, SEQUENCER, ROWS_READ, ROWS_INSERTED, ROWS_UPDATED, LOADED_AT) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, FROM_UNIXTIME(? / 1000))",
    )
    .bind(bucket)
    .bind(key)
    .bind(etag)
    .bind(format!("v-{etag}"))
    .bind(None::<&str>)
    .bind(rows)
    .bind(rows - 1)
    .bind(1_u32)
    .bind(at_ms)
    .execute(&mut *connection)
    .await
    .unwrap();
}

fn query(bucket: Option<&str>, keys: &[&str], last: Option<u32>) -> LoadedQuery {
    LoadedQuery { bucket: bucket.map(str::to_owned), keys: keys.iter().map(|k| (*k).to_owned()).collect(), last }
}

#[tokio::test]
async fn the_loads_of_keys_and_the_last_loads_are_read_back_newest_first() {
    let Some((db, _)) = TestDb::migrated("loaded_by_key").await else { return };
    record(&db, "staging", "a.csv", "e1", 10, T0 + 123).await;
    record(&db, "staging", "b.csv", "e2", 5, T0 + 1000).await;
    record(&db, "staging", "a.csv", "e3", 12, T0 + 2000).await;
    record(&db, "seeds", "a.csv", "e4", 7, T0 + 3000).await;

    let answer = loaded(&db.pool, &query(Some("staging"), &["a.csv", "missing.csv", "b.csv"], None)).await.unwrap();
    assert!(!answer.truncated);
    let seen: Vec<(&str, &str)> = answer.records.iter().map(|r| (r.object_key.as_str(), r.etag.as_str())).collect();
    assert_eq!(seen, [("a.csv", "e3"), ("a.csv", "e1"), ("b.csv", "e2")], "the other bucket's a.csv is not its");
    let newest = &answer.records[0];
    assert_eq!(
        (newest.bucket.as_str(), newest.version_id.as_deref(), newest.sequencer.as_deref()),
        ("staging", Some("v-e3"), None)
    );
    assert_eq!((newest.rows_read, newest.rows_inserted, newest.rows_updated), (12, 11, 1));
    assert_eq!(newest.loaded_at_ms, T0 + 2000);
    assert_eq!(answer.records[1].loaded_at_ms, T0 + 123, "milliseconds kept, whatever the session's time zone");

    let one_each = loaded(&db.pool, &query(Some("staging"), &["a.csv", "b.csv"], Some(1))).await.unwrap();
    let etags: Vec<&str> = one_each.records.iter().map(|r| r.etag.as_str()).collect();
    assert_eq!(etags, ["e3", "e2"]);

    let last = loaded(&db.pool, &query(None, &[], Some(2))).await.unwrap();
    let etags: Vec<&str> = last.records.iter().map(|r| r.etag.as_str()).collect();
    assert_eq!(etags, ["e4", "e3"]);

    let refused = loaded(&db.pool, &query(None, &["a.csv"], None)).await.unwrap_err();
    assert!(matches!(refused, LoadedError::Query(_)), "{refused}");
}

#[tokio::test]
async fn an_answer_stops_at_its_bound_and_says_so() {
    let Some((db, _)) = TestDb::migrated("loaded_bound").await else { return };
    for n in 0..=MAX_ROWS {
        record(&db, "staging", "many.csv", &format!("e{n}"), 1, T0 + i64::from(n)).await;
    }
    record(&db, "staging", "after.csv", "x", 1, T0).await;
    let answer = loaded(&db.pool, &query(Some("staging"), &["many.csv", "after.csv"], None)).await.unwrap();
    assert_eq!(answer.records.len(), MAX_ROWS as usize);
    assert!(answer.truncated);
    assert_eq!(answer.records[0].etag, format!("e{MAX_ROWS}"), "newest first");
    let exact = loaded(&db.pool, &query(Some("staging"), &["after.csv"], None)).await.unwrap();
    assert_eq!((exact.records.len(), exact.truncated), (1, false));
}

/// The guard itself: inside `read_only` the server refuses a row write, a temporary
/// table and DDL (which would otherwise commit the transaction and run outside it),
/// and afterwards the pool's connections still write.
#[tokio::test]
async fn nothing_can_be_written_inside_the_read_only_session() {
    let Some((db, _)) = TestDb::migrated("loaded_read_only").await else { return };
    // One connection: the one the guard used is the one written with afterwards.
    let pool = connect::pool(db.options.clone(), Limits { max_connections: 1, ..Limits::default() }).await.unwrap();
    for statement in [
        "INSERT INTO LOADED_OBJECTS (BUCKET, OBJECT_KEY, ETAG, ROWS_READ, ROWS_INSERTED, ROWS_UPDATED) \
         VALUES ('b', 'k', 'e', 1, 1, 0)",
        "DELETE FROM ZIPCODES",
        "CREATE TEMPORARY TABLE SCRATCH (A INT)",
        "DROP TABLE LOADED_OBJECTS",
        "CREATE TABLE SNEAKY (A INT)",
    ] {
        let refused: Result<(), DbError> = read_only(&pool, async |connection| {
            connection.execute(statement).await.map(drop).map_err(DbError::sql("the write"))
        })
        .await;
        let Err(DbError::Sql { source: sqlx::Error::Database(error), .. }) = refused else {
            panic!("{statement}: not refused ({refused:?})");
        };
        assert_eq!(error.code().as_deref(), Some("25006"), "{statement}: {error}");
    }
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
         AND TABLE_NAME IN ('LOADED_OBJECTS', 'SNEAKY')",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(tables, 1, "LOADED_OBJECTS is still there and SNEAKY was never made");
    let written = sqlx::query(
        "INSERT INTO LOADED_OBJECTS (BUCKET, OBJECT_KEY, ETAG, ROWS_READ, ROWS_INSERTED, ROWS_UPDATED) \
         VALUES ('b', 'k', 'e', 1, 1, 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(written.rows_affected(), 1, "the connection the guard used never went back to the pool read-only");
}
