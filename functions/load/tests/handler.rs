#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is the failure report
//! The handler against in-memory S3/SNS fakes and the real database (a fresh one per
//! test, see `zipster_db::testing`).

use std::time::Duration;

use serde_json::{Value, json};
use sqlx::MySqlPool;
use zipster_aws::handler::ErrorKind;
use zipster_aws::memory::{MemoryNotify, MemoryStorage};
use zipster_db::connect::{Limits, lazy_pool, parse_url};
use zipster_db::rows::OUTPUT_HEADER;
use zipster_db::testing::TestDb;
use zipster_load::{Config, Loader};

const STAGING: &str = "zipster-dev-staging";
const KEY: &str = "incoming/zip codes (1).csv";
/// How S3 writes `KEY` in an event: form-encoded.
const ENCODED_KEY: &str = "incoming/zip+codes+%281%29.csv";

/// The sample S3 notification (`testdata/events/s3-put.json`) for our object.
fn s3_event(encoded_key: &str, sequencer: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/events/s3-put.json");
    let mut event: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let s3 = &mut event["Records"][0]["s3"];
    s3["bucket"]["name"] = json!(STAGING);
    s3["bucket"]["arn"] = json!(format!("arn:aws:s3:::{STAGING}"));
    s3["object"]["key"] = json!(encoded_key);
    s3["object"]["sequencer"] = json!(sequencer);
    s3["object"].as_object_mut().unwrap().remove("versionId");
    event
}

fn sns_wrapped(inner: &Value) -> Value {
    json!({"Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:staging-created:1",
        "Sns": {
            "Type": "Notification",
            "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:staging-created",
            "Subject": "Amazon S3 Notification",
            "Message": inner.to_string(),
            "Timestamp": "2026-11-25T10:00:01.000Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/cert.pem",
            "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/unsubscribe",
            "MessageAttributes": {}
        }
    }]})
}

fn config() -> Config {
    Config {
        load_topic_arn: "arn:load".to_owned(),
        alerts_topic_arn: "arn:alerts".to_owned(),
        max_object_bytes: 1 << 20,
        database_connections: 2,
        default_feed: Some("zipcodes".to_owned()),
    }
}

fn loader(pool: MySqlPool) -> Loader<MemoryStorage, MemoryNotify> {
    Loader { storage: MemoryStorage::default(), notify: MemoryNotify::default(), pool, config: config() }
}

fn staged(rows: &[&str]) -> String {
    let mut text = format!("{OUTPUT_HEADER}\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text
}

const PEQUANNOCK: &str = "07440,STANDARD,PEQUANNOCK,NJ,PRIMARY,40.94,-74.29,NA-US-NJ-PEQUANNOCK,false";
const POMPTON: &str = "07444,STANDARD,POMPTON PLAINS,NJ,PRIMARY,40.96,-74.30,NA-US-NJ-POMPTON PLAINS,false";

async fn cities(pool: &MySqlPool) -> Vec<(String, String)> {
    sqlx::query_as("SELECT ZIPCODE, CITY FROM ZIPCODES ORDER BY ZIPCODE").fetch_all(pool).await.unwrap()
}

#[tokio::test]
async fn a_direct_s3_event_loads_and_a_redelivery_via_sns_is_already_loaded() {
    let Some((db, _)) = TestDb::migrated("handler_direct_then_sns").await else { return };
    let loader = loader(db.pool.clone());
    loader.storage.put(STAGING, KEY, staged(&[PEQUANNOCK, POMPTON]));

    let output = loader.handle(&s3_event(ENCODED_KEY, "0055AED6DCD90281E5")).await.unwrap();
    assert_eq!(output["objects"][0]["key"], KEY);
    assert_eq!(output["objects"][0]["status"], "loaded");
    assert_eq!(output["objects"][0]["inserted"], 2);
    assert_eq!(cities(&db.pool).await.len(), 2);

    let again = loader.handle(&sns_wrapped(&s3_event(ENCODED_KEY, "0055AED6DCD90281E5"))).await.unwrap();
    assert_eq!(again["objects"][0]["status"], "already_loaded");

    let published = loader.notify.published();
    assert_eq!(published.len(), 2);
    assert!(published.iter().all(|p| p.topic_arn == "arn:load"));
    assert!(published.iter().all(|p| p.feed.as_deref() == Some("zipcodes")), "{published:?}");
    assert_eq!(published[0].subject, "Zipster load: zip codes (1).csv");
    assert!(published[0].message.starts_with(&format!("s3://{STAGING}/{KEY} (ETag ")), "{}", published[0].message);
    assert!(published[0].message.ends_with(": loaded 2 rows: 2 inserted, 0 updated, 0 unchanged"));
    assert!(published[1].message.ends_with(": already loaded"));
    assert!(!published[0].message.contains('\n'));
    // The staged object is never deleted.
    assert!(loader.storage.get(STAGING, KEY).is_some());
}

#[tokio::test]
async fn a_new_version_via_sns_updates_the_rows() {
    let Some((db, _)) = TestDb::migrated("handler_new_version").await else { return };
    let loader = loader(db.pool.clone());
    loader.storage.put(STAGING, KEY, staged(&[PEQUANNOCK, POMPTON]));
    loader.handle(&sns_wrapped(&s3_event(ENCODED_KEY, "0055AED6DCD90281E5"))).await.unwrap();
    loader.storage.put(STAGING, KEY, staged(&[&PEQUANNOCK.replace(",PEQUANNOCK,", ",PEQUANNOCK TWP,")]));
    let output = loader.handle(&sns_wrapped(&s3_event(ENCODED_KEY, "0055AED6DCD90281F0"))).await.unwrap();
    assert_eq!(output["objects"][0]["updated"], 1);
    assert_eq!(
        cities(&db.pool).await,
        [("07440".to_owned(), "PEQUANNOCK TWP".to_owned()), ("07444".to_owned(), "POMPTON PLAINS".to_owned())]
    );
}

#[tokio::test]
async fn a_summary_that_cannot_be_published_does_not_fail_a_committed_load() {
    let Some((db, _)) = TestDb::migrated("handler_publish_fails").await else { return };
    let loader = loader(db.pool.clone());
    loader.notify.set_failing(true);
    loader.storage.put(STAGING, KEY, staged(&[PEQUANNOCK, POMPTON]));
    let output = loader.handle(&s3_event(ENCODED_KEY, "0055AED6DCD90281E5")).await.expect("the rows are loaded");
    assert_eq!(output["objects"][0]["status"], "loaded");
    assert_eq!(cities(&db.pool).await.len(), 2);
    assert!(loader.notify.published().is_empty());
}

#[tokio::test]
async fn one_failed_object_of_two_fails_the_event_with_the_first_failure_and_its_kind() {
    let Some((db, _)) = TestDb::migrated("handler_one_of_two_fails").await else { return };
    let loader = loader(db.pool.clone());
    loader.storage.put(STAGING, KEY, staged(&[PEQUANNOCK]));
    let mut two = s3_event(ENCODED_KEY, "01");
    let missing = s3_event("incoming/gone.csv", "02")["Records"][0].clone();
    two["Records"].as_array_mut().unwrap().push(missing);

    let err = loader.handle(&two).await.unwrap_err();
    assert!(err.to_string().starts_with("1 of 2 objects failed to load: "), "{err}");
    assert!(err.to_string().contains("incoming/gone.csv does not exist"), "{err}");
    assert_eq!(err.error_type(), "StorageError");
    assert_eq!(cities(&db.pool).await.len(), 1, "the good object is loaded");
}

#[tokio::test]
async fn a_bad_file_alerts_fails_and_loads_nothing() {
    let Some((db, _)) = TestDb::migrated("handler_bad_file").await else { return };
    let loader = loader(db.pool.clone());
    loader.storage.put(STAGING, KEY, "Zipcode,City\n07440,PEQUANNOCK\n");
    let err = loader.handle(&s3_event(ENCODED_KEY, "01")).await.unwrap_err();
    assert!(err.to_string().contains("wrong header"), "{err}");
    let published = loader.notify.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].topic_arn, "arn:alerts");
    assert_eq!(published[0].feed.as_deref(), Some("zipcodes"), "the feed's owners hear of its failed load");
    assert!(published[0].message.contains(KEY) && published[0].message.contains("wrong header"));
    assert_eq!(cities(&db.pool).await, []);
    assert!(loader.storage.get(STAGING, KEY).is_some());
}

#[tokio::test]
async fn a_missing_object_alerts_and_fails() {
    let Some((db, _)) = TestDb::migrated("handler_missing_object").await else { return };
    let loader = loader(db.pool.clone());
    let err = loader.handle(&s3_event(ENCODED_KEY, "01")).await.unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert_eq!(loader.notify.published()[0].topic_arn, "arn:alerts");
}

#[tokio::test]
async fn a_database_that_is_down_is_one_clear_error_and_an_alert() {
    // Nothing listens on port 1: the connection is refused, and the pool gives up
    // after its connect limit rather than hanging.
    let options = parse_url("mysql://root@127.0.0.1:1/zipster").unwrap();
    let pool = lazy_pool(options, Limits { connect: Duration::from_secs(1), ..Limits::default() });
    let loader = loader(pool);
    loader.storage.put(STAGING, KEY, staged(&[PEQUANNOCK]));
    let err = loader.handle(&s3_event(ENCODED_KEY, "01")).await.unwrap_err();
    assert!(err.to_string().contains("no database connection within the connect timeout"), "{err}");
    assert_eq!(err.error_type(), "DatabaseError");
    let published = loader.notify.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].topic_arn, "arn:alerts");
}

#[tokio::test]
async fn garbage_events_alert_and_fail() {
    let options = parse_url("mysql://root@127.0.0.1:1/zipster").unwrap();
    let loader = loader(lazy_pool(options, Limits::default()));
    let err = loader.handle(&json!({"hello": "world"})).await.unwrap_err();
    assert_eq!(err.error_type(), "InvalidEvent", "{err}");
    let published = loader.notify.published();
    assert_eq!(published[0].topic_arn, "arn:alerts");
    assert_eq!(published[0].feed, None, "an event that names no file is about no feed");
}

#[tokio::test]
async fn a_staged_file_loads_into_its_feeds_table_and_a_key_of_no_feed_is_refused() {
    let Some((db, _)) = TestDb::migrated("handler_feeds").await else { return };
    let mut loader = loader(db.pool.clone());
    let staged_cities = "geonameid,name,latitude,longitude,countrycode,population,timezone,admin1code,alternatenames\n\
                         490,Lavāsān,35.82159,51.64444,IR,18146,Asia/Tehran,26,Lavasan;لواسان\n\
                         1819729,Hong Kong,22.27832,114.17469,HK,7396076,Asia/Hong_Kong,,\n";
    loader.storage.put(STAGING, "cities/top.csv", staged_cities);
    let output = loader.handle(&s3_event("cities/top.csv", "0055AED6DCD90281E5")).await.unwrap();
    assert_eq!(output["objects"][0]["status"], "loaded", "{output}");
    assert_eq!(output["objects"][0]["inserted"], 2);
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM CITIES").fetch_one(&db.pool).await.unwrap();
    assert_eq!(count, 2);
    assert!(cities(&db.pool).await.is_empty(), "nothing went to ZIPCODES");
    let summary = loader.notify.published().pop().unwrap();
    assert_eq!((summary.topic_arn.as_str(), summary.feed.as_deref()), ("arn:load", Some("cities")));

    loader.config.default_feed = None;
    loader.storage.put(STAGING, "elsewhere/x.csv", staged(&[PEQUANNOCK]));
    let err = loader.handle(&s3_event("elsewhere/x.csv", "0055AED6DCD90281E6")).await.unwrap_err();
    assert_eq!(err.error_type(), "InvalidEvent");
    assert!(err.to_string().contains("no feed claims key \"elsewhere/x.csv\""), "{err}");
    let alert = loader.notify.published().pop().unwrap();
    assert_eq!(alert.topic_arn, "arn:alerts");
    assert_eq!(alert.feed, None, "a key no feed claims reaches only the stage-wide subscribers");
}

#[tokio::test]
async fn the_staged_contract_and_override_come_with_the_object() {
    let Some((db, _)) = TestDb::migrated("handler_staged_metadata").await else { return };
    let loader = loader(db.pool.clone());
    let cities = zipster_core::feeds::builtin("cities").unwrap();
    let header = "geonameid,name,latitude,longitude,countrycode,population,timezone,admin1code,alternatenames\n";
    let rows: String = (1..=20).map(|i| format!("{i},City {i},1,2,FR,{i}000,Europe/Paris,,\n")).collect();
    let staged =
        |metadata| loader.storage.put_with_metadata(STAGING, "cities/all.csv", format!("{header}{rows}"), metadata);
    staged(zipster_aws::staged::metadata(&cities.hash, false));
    let output = loader.handle(&s3_event("cities/all.csv", "01")).await.unwrap();
    assert_eq!(
        (output["objects"][0]["strategy"].as_str(), output["objects"][0]["inserted"].as_u64()),
        (Some("replace"), Some(20))
    );

    // Staged by a transform with another contract (a deploy half done): refused, alerted.
    let other = "0".repeat(64);
    loader.storage.put_with_metadata(
        STAGING,
        "cities/all.csv",
        format!("{header}1,Renamed,1,2,FR,1000,Europe/Paris,,\n"),
        zipster_aws::staged::metadata(&other, false),
    );
    let err = loader.handle(&s3_event("cities/all.csv", "02")).await.unwrap_err();
    assert!(err.to_string().contains("staged under the cities feed's contract 000000000000…"), "{err}");
    let alert = loader.notify.published().pop().unwrap();
    assert!(alert.topic_arn == "arn:alerts" && alert.message.contains("cargo xtask reprocess"), "{alert:?}");

    // One row left of twenty: the replace is refused, unless the staged object says an
    // operator allowed it.
    let one = format!("{header}1,City 1,1,2,FR,1000,Europe/Paris,,\n");
    loader.storage.put_with_metadata(
        STAGING,
        "cities/all.csv",
        one.clone(),
        zipster_aws::staged::metadata(&cities.hash, false),
    );
    let err = loader.handle(&s3_event("cities/all.csv", "03")).await.unwrap_err();
    assert!(err.to_string().contains("would delete 19 of CITIES's 20 rows"), "{err}");
    loader.storage.put_with_metadata(STAGING, "cities/all.csv", one, zipster_aws::staged::metadata(&cities.hash, true));
    let output = loader.handle(&s3_event("cities/all.csv", "04")).await.unwrap();
    assert_eq!(output["objects"][0]["deleted"], 19, "{output}");
}
