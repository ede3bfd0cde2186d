#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is the failure report
//! How a file changes its table, by the contract's strategy, on the real server: upsert
//! with lineage, append, replace with its wipe guard; and idempotency by content *and*
//! contract (the same file under a changed contract loads again, once).

use std::io::Cursor;

use sqlx::MySqlPool;
use zipster_core::feeds::Catalog;
use zipster_db::DbError;
use zipster_db::load::{
    Downloaded, LoadCounts, LoadOutcome, ObjectVersion, Overrides, Target, load_csv, load_object, load_table,
};
use zipster_db::rows::OUTPUT_HEADER;
use zipster_db::testing::TestDb;

/// A feed of country codes: a reference table, replaced by each file.
const CODES: &str = r#"{"primaryKey": ["code"], "zipster:table": {"name": "CODES", "strategy": "replace"},
    "fields": [{"name": "code", "type": "string", "constraints": {"maxLength": 8}},
               {"name": "name", "type": "string", "constraints": {"maxLength": 40}}]}"#;

/// Meter readings: no key, every file appended.
const READINGS: &str = r#"{"zipster:table": {"name": "READINGS"},
    "fields": [{"name": "meter", "type": "integer"}, {"name": "kwh", "type": "number"}]}"#;

/// The feed's target, its table created as a migration written from it would.
async fn target(db: &TestDb, feed: &str, descriptor: &str) -> Target {
    let catalog = Catalog::from_sources([(feed, descriptor)]).unwrap();
    let target = Target::of(catalog.get(feed).unwrap());
    sqlx::raw_sql(sqlx::AssertSqlSafe(target.table.create_statement())).execute(&db.pool).await.unwrap();
    target
}

fn object(key: &str, etag: &str) -> ObjectVersion {
    ObjectVersion { bucket: "staging".into(), key: key.into(), etag: etag.into(), version_id: None, sequencer: None }
}

fn codes(range: std::ops::Range<u32>, name: &str) -> Vec<u8> {
    let mut file = String::from("code,name\n");
    for i in range {
        file.push_str(&format!("C{i:03},{name} {i}\n"));
    }
    file.into_bytes()
}

async fn count(pool: &MySqlPool, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await.unwrap()
}

fn replaced(rows: u64, inserted: u64, updated: u64, unchanged: u64, deleted: u64) -> LoadOutcome {
    LoadOutcome::Loaded(LoadCounts {
        strategy: zipster_contract::LoadStrategy::Replace,
        deleted,
        ..LoadCounts::upsert(rows, inserted, updated, unchanged)
    })
}

#[tokio::test]
async fn a_replace_deletes_what_the_file_no_longer_has_and_refuses_to_wipe_the_table() {
    let Some((db, _)) = TestDb::migrated("strategy_replace").await else { return };
    let codes_feed = target(&db, "codes", CODES).await;
    let load = |etag: &str, file: Vec<u8>, allow_shrink| {
        let (pool, target, object) = (db.pool.clone(), codes_feed.clone(), object("codes/all.csv", etag));
        async move { load_table(&pool, &target, &object, Overrides { allow_shrink }, Cursor::new(file)).await }
    };
    assert_eq!(load("e1", codes(0..20, "Land"), false).await.unwrap(), replaced(20, 20, 0, 0, 0));
    // One of twenty gone (5 %, within the default 10 %), one renamed, one new.
    let mut next = String::from_utf8(codes(1..20, "Land")).unwrap().replace("Land 7\n", "Renamed 7\n");
    next.push_str("C100,New 100\n");
    assert_eq!(load("e2", next.into_bytes(), false).await.unwrap(), replaced(20, 1, 1, 18, 1));
    assert_eq!(count(&db.pool, "SELECT COUNT(*) FROM CODES WHERE CODE = 'C000'").await, 0);

    // A truncated upload: 9 of the 20 rows would go. Refused with the counts; nothing changed.
    let truncated = codes(1..12, "Land");
    let refused = load("e3", truncated.clone(), false).await.unwrap_err();
    assert!(matches!(refused, DbError::WouldShrink { before: 20, deleted: 9, .. }), "{refused:?}");
    let said = refused.to_string();
    assert!(
        said.contains("delete 9 of CODES's 20 rows") && said.contains("10 %") && said.contains("--allow-shrink"),
        "{said}"
    );
    assert_eq!(count(&db.pool, "SELECT COUNT(*) FROM CODES").await, 20, "nothing deleted");
    assert_eq!(count(&db.pool, "SELECT COUNT(*) FROM LOADED_OBJECTS").await, 2, "the refused load is not recorded");
    assert_eq!(count(&db.pool, "SELECT COUNT(*) FROM CODES WHERE NAME = 'Renamed 7'").await, 1, "nor its updates");

    // The operator's override lets the same file through, and the record says so.
    assert_eq!(load("e3", truncated, true).await.unwrap(), replaced(11, 0, 1, 10, 9));
    assert_eq!(count(&db.pool, "SELECT COUNT(*) FROM CODES").await, 11);
    let allowed: (String, i8, u32) =
        sqlx::query_as("SELECT STRATEGY, SHRINK_ALLOWED, ROWS_DELETED FROM LOADED_OBJECTS ORDER BY ID DESC LIMIT 1")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(allowed, ("replace".to_owned(), 1, 9));
    // The key table of the session is gone: the next load on the pool starts clean.
    assert_eq!(load("e4", codes(1..12, "Land"), false).await.unwrap(), replaced(11, 0, 0, 11, 0));
}

#[tokio::test]
async fn every_row_records_the_load_that_last_changed_it() {
    let Some((db, _)) = TestDb::migrated("strategy_lineage").await else { return };
    let row = |zip: &str, city: &str| format!("{zip},STANDARD,{city},NJ,PRIMARY,40.94,-74.29,NA-US-NJ-{city},false");
    let file = |rows: &[String]| format!("{OUTPUT_HEADER}\n{}\n", rows.join("\n")).into_bytes();
    let first = file(&[row("07440", "PEQUANNOCK"), row("07444", "POMPTON")]);
    load_csv(&db.pool, &object("zipcodes/a.csv", "a"), Cursor::new(first)).await.unwrap();
    let second = file(&[row("07440", "PEQUANNOCK"), row("07444", "POMPTON PLAINS"), row("07446", "RAMSEY")]);
    let outcome = load_csv(&db.pool, &object("zipcodes/b.csv", "b"), Cursor::new(second)).await.unwrap();
    assert_eq!(outcome, LoadOutcome::Loaded(LoadCounts::upsert(3, 1, 1, 1)), "unchanged still counts");
    let lineage: Vec<(String, String)> = sqlx::query_as(
        "SELECT Z.ZIPCODE, L.OBJECT_KEY FROM ZIPCODES Z JOIN LOADED_OBJECTS L ON L.ID = Z._LOAD_ID ORDER BY Z.ZIPCODE",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let keys: Vec<(&str, &str)> = lineage.iter().map(|(z, k)| (z.as_str(), k.as_str())).collect();
    assert_eq!(keys, [("07440", "zipcodes/a.csv"), ("07444", "zipcodes/b.csv"), ("07446", "zipcodes/b.csv")]);
    let record: (String, String, String, u32, u32, u32) = sqlx::query_as(
        "SELECT FEED, CONTRACT_SHA256, STRATEGY, ROWS_READ, ROWS_INSERTED, ROWS_UPDATED FROM LOADED_OBJECTS \
         WHERE OBJECT_KEY = 'zipcodes/b.csv'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let zipcodes = Target::zipcodes().unwrap();
    assert_eq!(record, ("zipcodes".into(), zipcodes.contract_sha256, "upsert".into(), 3, 1, 1));
    // The lineage is a real reference: a row cannot name a load that was never recorded.
    let orphan = sqlx::query("UPDATE ZIPCODES SET _LOAD_ID = 999999 WHERE ZIPCODE = '07440'").execute(&db.pool).await;
    assert!(orphan.unwrap_err().to_string().contains("foreign key constraint fails"));
}

#[tokio::test]
async fn an_append_inserts_every_row_of_each_file_once() {
    let Some((db, _)) = TestDb::migrated("strategy_append").await else { return };
    let readings = target(&db, "readings", READINGS).await;
    let file = b"meter,kwh\n1,10.5\n2,3\n1,10.5\n".to_vec();
    let appended = |rows| {
        LoadOutcome::Loaded(LoadCounts {
            strategy: zipster_contract::LoadStrategy::Append,
            ..LoadCounts::upsert(rows, rows, 0, 0)
        })
    };
    let load = |etag: &str| {
        let (pool, target, object, file) =
            (db.pool.clone(), readings.clone(), object("readings/x.csv", etag), file.clone());
        async move { load_table(&pool, &target, &object, Overrides::default(), Cursor::new(file)).await.unwrap() }
    };
    assert_eq!(load("r1").await, appended(3), "a repeated row is a second reading");
    assert_eq!(load("r1").await, LoadOutcome::AlreadyLoaded, "the same file is loaded once");
    assert_eq!(load("r2").await, appended(3), "a new version is appended");
    assert_eq!(count(&db.pool, "SELECT COUNT(*) FROM READINGS").await, 6);
    assert_eq!(count(&db.pool, "SELECT COUNT(DISTINCT _LOAD_ID) FROM READINGS").await, 2);
}

#[tokio::test]
async fn the_same_file_loads_again_once_under_a_changed_contract_and_never_under_another_s_stage() {
    let Some((db, _)) = TestDb::migrated("strategy_contract_change").await else { return };
    let v1 = target(&db, "codes", CODES).await;
    let v2 = Target { contract_sha256: "f".repeat(64), ..v1.clone() };
    let obj = zipster_core::event::ObjectRef {
        bucket: "staging".into(),
        key: "codes/all.csv".into(),
        version_id: None,
        etag: None,
        sequencer: None,
        size: None,
    };
    let load = |target: &Target, staged_under: Option<&str>| {
        let downloaded = Downloaded {
            etag: "same".into(),
            contract_sha256: staged_under.map(str::to_owned),
            ..Downloaded::default()
        };
        let (pool, target, obj) = (db.pool.clone(), target.clone(), obj.clone());
        async move { load_object(&pool, &target, &obj, downloaded, Cursor::new(codes(0..5, "Land"))).await }
    };
    let loaded = |r: Result<zipster_db::load::ObjectResult, DbError>| r.unwrap().outcome;
    assert_eq!(loaded(load(&v1, Some(&v1.contract_sha256)).await), replaced(5, 5, 0, 0, 0));
    assert_eq!(loaded(load(&v1, Some(&v1.contract_sha256)).await), LoadOutcome::AlreadyLoaded);
    // After a rule change, the reprocessed file (same content) loads again, once.
    assert_eq!(loaded(load(&v2, Some(&v2.contract_sha256)).await), replaced(5, 0, 0, 5, 0));
    assert_eq!(loaded(load(&v2, Some(&v2.contract_sha256)).await), LoadOutcome::AlreadyLoaded);
    // Staged by a transform of another build than this load's: refused, not guessed.
    let mixed = load(&v2, Some(&v1.contract_sha256)).await.unwrap_err();
    assert!(matches!(mixed, DbError::StagedUnderAnotherContract { .. }), "{mixed:?}");
    assert!(mixed.to_string().contains("cargo xtask reprocess"), "{mixed}");
    assert_eq!(count(&db.pool, "SELECT COUNT(*) FROM LOADED_OBJECTS").await, 2);
}
