#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is the failure report
//! The migrate handler on a fresh database, with the seed in an in-memory bucket.

use serde_json::json;
use zipster_aws::handler::ErrorKind;
use zipster_aws::memory::MemoryStorage;
use zipster_db::MIGRATOR;
use zipster_db::testing::TestDb;

#[tokio::test]
async fn migrates_then_loads_the_staged_seed_once() {
    let Some(db) = TestDb::create("migrate_handler_seed").await else { return };
    let storage = MemoryStorage::default();
    let raw = std::fs::read(zipster_db::seed::default_seed_file()).unwrap();
    let (accepted, summary) = zipster_db::seed::transform_export(&raw).unwrap();
    storage.put("zipster-dev-staging", "seed/zipcodes.csv", accepted);
    let event = json!({"seed": {"bucket": "zipster-dev-staging", "key": "seed/zipcodes.csv"}});

    let first = zipster_migrate::handle(&storage, &db.pool, &event).await.unwrap();
    assert_eq!(first["applied"].as_array().unwrap().len(), MIGRATOR.iter().count());
    assert_eq!(first["applied"][0]["description"], "create zipcodes");
    assert_eq!(first["loaded"]["status"], "loaded");
    assert_eq!(first["loaded"]["inserted"], summary.accepted);

    let second = zipster_migrate::handle(&storage, &db.pool, &event).await.unwrap();
    assert_eq!(second["applied"], json!([]));
    assert_eq!(second["loaded"]["status"], "already_loaded");

    let only_migrate = zipster_migrate::handle(&storage, &db.pool, &json!({})).await.unwrap();
    assert_eq!(only_migrate, json!({"applied": [], "loaded": null}));
    let error = zipster_migrate::handle(&storage, &db.pool, &json!({"seed": "x"})).await.unwrap_err();
    assert_eq!(error.error_type(), "InvalidEvent", "{error}");
}
