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

#[tokio::test]
async fn a_near_query_answers_the_radius_search_and_changes_nothing() {
    let Some(db) = TestDb::create("migrate_handler_near").await else { return };
    let storage = MemoryStorage::default();
    let raw = std::fs::read(zipster_db::seed::default_seed_file()).unwrap();
    let (accepted, _) = zipster_db::seed::transform_export(&raw).unwrap();
    storage.put("staging", "seed/zipcodes.csv", accepted);
    zipster_migrate::handle(&storage, &db.pool, &json!({"seed": {"bucket": "staging", "key": "seed/zipcodes.csv"}}))
        .await
        .unwrap();
    let expected = zipster_db::radius::near(&db.pool, "07440", 2.0).await.unwrap();

    let answer = zipster_migrate::handle(&storage, &db.pool, &json!({"near": {"zipcode": "07440", "miles": 2.0}}))
        .await
        .unwrap();

    let found: Vec<(String, f64)> = answer["near"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["zipcode"].as_str().unwrap().to_owned(), n["miles"].as_f64().unwrap()))
        .collect();
    assert_eq!(found, expected.iter().map(|n| (n.zipcode.clone(), n.miles)).collect::<Vec<_>>());
    assert!(found.len() > 1, "07440 has neighbors within 2 miles");
    assert!(answer.get("applied").is_none(), "a query migrates nothing");
    for bad in [json!({"near": {"zipcode": "07440", "miles": -1}}), json!({"near": {"zipcode": "07440"}})] {
        let error = zipster_migrate::handle(&storage, &db.pool, &bad).await.unwrap_err();
        assert_eq!(error.error_type(), "InvalidEvent", "{error}");
    }
}
