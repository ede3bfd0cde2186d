//! The handler against in-memory storage and topics, with the sample S3 and
//! SNS-wrapped events.

use std::path::Path;

use serde_json::{Value, json};
use zipster_aws::handler::ErrorKind;
use zipster_aws::memory::{MemoryNotify, MemoryStorage};
use zipster_core::Limits;
use zipster_transform::{Config, handle};

fn config(dir: &Path) -> Config {
    Config {
        staging_bucket: "staging".into(),
        errors_bucket: "errors".into(),
        topic_arn: "arn:topic:transform".into(),
        alerts_topic_arn: Some("arn:topic:alerts".into()),
        limits: Limits::default(),
        work_dir: dir.to_path_buf(),
        default_feed: Some("zipcodes".into()),
        region: Some("eu-west-1".into()),
    }
}

fn testdata(path: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(path)).expect("testdata file")
}

fn event(name: &str) -> Value {
    serde_json::from_slice(&testdata(&format!("events/{name}"))).expect("event JSON")
}

#[tokio::test]
async fn direct_event_stages_accepted_rows_and_reports_rejects() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = MemoryStorage::default();
    let notify = MemoryNotify::default();
    let key = "incoming/zip codes été+1.csv";
    let input = testdata("zipcodes/sample.csv");
    storage.put("zipster-dev-input", key, input.clone());

    let result = handle(event("s3-put.json"), &storage, &notify, &config(dir.path())).await.expect("handled");

    assert_eq!(result["objects"][0]["status"], "staged");
    let staged = storage.get("staging", key).expect("staged object");
    let mut expected_rows = Vec::new();
    zipster_core::transform(
        &zipster_core::feeds::builtin(zipster_core::feeds::ZIPCODES).expect("the zip code feed").contract,
        &input[..],
        &mut expected_rows,
        Vec::new(),
        &Limits::default(),
    )
    .expect("transform");
    assert_eq!(staged.body, expected_rows);
    let zipcodes = zipster_core::feeds::builtin(zipster_core::feeds::ZIPCODES).expect("the zip code feed");
    assert_eq!(
        staged.metadata,
        zipster_aws::staged::metadata(&zipcodes.hash, false),
        "the load learns the contract from the staged object"
    );
    let rejects = storage.get("errors", &format!("{key}.rejects.jsonl")).expect("rejects");
    assert_eq!(String::from_utf8_lossy(&rejects.body).lines().count(), 5);
    let summary: Value =
        serde_json::from_slice(&storage.get("errors", &format!("{key}.summary.json")).expect("summary").body)
            .expect("JSON");
    assert_eq!(summary["summary"]["accepted"], 9);
    assert_eq!(summary["summary"]["rejected"], 5);
    assert_eq!(summary["version_id"], "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY");
    let zipcodes = zipster_core::feeds::builtin("zipcodes").expect("the zip code feed");
    assert_eq!(summary["feed"], "zipcodes");
    let page = storage.get("errors", &format!("{key}.report.html")).expect("the data-quality page");
    assert_eq!(page.content_type, "text/html; charset=utf-8");
    let html = String::from_utf8(page.body).expect("UTF-8");
    assert!(
        html.contains(zipcodes.hash.as_str()) && html.contains("must be 1 to 5 digits"),
        "the page shows the feed's rejects"
    );
    assert_eq!(summary["contract"], zipcodes.hash.as_str());
    // The input is untouched.
    assert_eq!(storage.get("zipster-dev-input", key).expect("input").body, input);

    let published = notify.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].topic_arn, "arn:topic:transform");
    // A key under no prefix is the stage's default feed's, and its summary says so.
    assert_eq!(published[0].feed.as_deref(), Some("zipcodes"));
    assert!(published[0].message.contains("9 rows accepted, 5 rejected"), "{}", published[0].message);
    let (staged, rejects, summary) = (
        format!("s3://staging/{key}"),
        format!("s3://errors/{key}.rejects.jsonl"),
        format!("s3://errors/{key}.summary.json"),
    );
    assert!(
        published[0]
            .message
            .contains(&format!("Staged: {staged}. Rejects: {rejects}. Page: s3://errors/{key}.report.html (https://")),
        "{}",
        published[0].message
    );
    let page = format!("s3://errors/{key}.report.html");
    let outputs = &result["objects"][0]["outputs"];
    assert_eq!(outputs["page"], page.as_str());
    assert!(
        outputs["page_console"]
            .as_str()
            .is_some_and(|url| url.starts_with("https://eu-west-1.console.aws.amazon.com/s3/object/errors?"))
    );
    assert_eq!(
        json!({"staged": outputs["staged"], "rejects": outputs["rejects"], "summary": outputs["summary"]}),
        json!({"staged": staged, "rejects": rejects, "summary": summary})
    );
    // Scratch files are gone.
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
}

#[tokio::test]
async fn sns_wrapped_event_processes_every_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = MemoryStorage::default();
    let notify = MemoryNotify::default();
    let sample = testdata("zipcodes/sample.csv");
    for key in ["a.csv", "b.csv", "dir/c d.csv"] {
        storage.put("zipster-dev-input", key, sample.clone());
    }
    handle(event("sns-wrapped.json"), &storage, &notify, &config(dir.path())).await.expect("handled");
    for key in ["a.csv", "b.csv", "dir/c d.csv"] {
        assert!(storage.get("staging", key).is_some(), "{key} staged");
    }
    assert_eq!(notify.published().len(), 3);
}

#[tokio::test]
async fn refused_file_stages_nothing_and_alerts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = MemoryStorage::default();
    let notify = MemoryNotify::default();
    let key = "incoming/zip codes été+1.csv";
    storage.put("zipster-dev-input", key, testdata("zipcodes/cases/missing_columns/input.csv"));

    let result = handle(event("s3-put.json"), &storage, &notify, &config(dir.path())).await.expect("handled");

    assert_eq!(result["objects"][0]["status"], "refused");
    assert!(storage.get("staging", key).is_none());
    let summary =
        String::from_utf8(storage.get("errors", &format!("{key}.summary.json")).expect("summary").body).expect("UTF-8");
    assert!(summary.contains("lacks required column: ZipCodeType"), "{summary}");
    let published = notify.published();
    let topics: Vec<_> = published.iter().map(|p| p.topic_arn.as_str()).collect();
    assert_eq!(topics, ["arn:topic:transform", "arn:topic:alerts"]);
    assert!(published.iter().all(|p| p.feed.as_deref() == Some("zipcodes")), "the feed's owners hear of its refusal");
    let report = format!("s3://errors/{key}.summary.json");
    let page = format!("s3://errors/{key}.report.html");
    let console = "https://eu-west-1.console.aws.amazon.com/s3/object/errors?region=eu-west-1&prefix=incoming%2Fzip%20codes%20%C3%A9t%C3%A9%2B1%2Ecsv%2Ereport%2Ehtml";
    assert!(
        published[1].message.ends_with(&format!("Nothing was staged. Report: {report}. Page: {page} ({console})")),
        "{}",
        published[1].message
    );
    let html =
        String::from_utf8(storage.get("errors", &format!("{key}.report.html")).expect("the page").body).expect("UTF-8");
    assert!(html.contains("lacks required column: ZipCodeType"), "the refusal's reason is on the page");
    assert_eq!(result["objects"][0]["outputs"]["staged"], Value::Null);
    assert_eq!(result["objects"][0]["outputs"]["summary"], report.as_str());
}

#[tokio::test]
async fn a_key_no_feed_claims_is_refused_with_the_feeds_listed_when_the_stage_has_no_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = MemoryStorage::default();
    let notify = MemoryNotify::default();
    let key = "incoming/zip codes été+1.csv";
    storage.put("zipster-dev-input", key, testdata("zipcodes/sample.csv"));
    let mut config = config(dir.path());
    config.default_feed = None;

    let result = handle(event("s3-put.json"), &storage, &notify, &config).await.expect("handled");

    assert_eq!(result["objects"][0]["status"], "refused");
    assert!(storage.get("staging", key).is_none());
    let summary: Value =
        serde_json::from_slice(&storage.get("errors", &format!("{key}.summary.json")).expect("summary").body)
            .expect("JSON");
    assert_eq!(summary["summary"]["error_type"], "unrouted-key");
    assert_eq!(summary["feed"], Value::Null);
    let error = summary["summary"]["error"].as_str().expect("an error");
    assert!(error.contains("zipcodes/… → zipcodes"), "{error}");
    let published = notify.published();
    let alert = published.iter().find(|p| p.topic_arn == "arn:topic:alerts").expect("an alert");
    assert!(alert.message.contains("REFUSED") && alert.message.contains("no feed claims key"), "{}", alert.message);
    // No feed, no feed attribute: only the stage-wide subscribers get these.
    assert_eq!(published.len(), 2);
    assert!(published.iter().all(|p| p.feed.is_none()), "{published:?}");
    // The input is untouched.
    assert_eq!(storage.get("zipster-dev-input", key).expect("input").body, testdata("zipcodes/sample.csv"));
}

#[tokio::test]
async fn oversized_file_is_refused_before_reading() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = MemoryStorage::default();
    let notify = MemoryNotify::default();
    storage.put("zipster-dev-input", "incoming/zip codes été+1.csv", testdata("zipcodes/sample.csv"));
    let mut config = config(dir.path());
    config.limits.max_input_bytes = 100;
    let result = handle(event("s3-put.json"), &storage, &notify, &config).await.expect("handled");
    assert_eq!(result["objects"][0]["status"], "refused");
    assert!(result["objects"][0]["summary"]["error"].as_str().is_some_and(|e| e.contains("over the limit of 100")));
}

#[tokio::test]
async fn failed_upload_fails_the_invocation_and_stages_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = MemoryStorage::default();
    let notify = MemoryNotify::default();
    let key = "incoming/zip codes été+1.csv";
    storage.put("zipster-dev-input", key, testdata("zipcodes/sample.csv"));
    storage.fail_uploads_to("errors");

    let error = handle(event("s3-put.json"), &storage, &notify, &config(dir.path())).await.expect_err("must fail");

    assert!(error.to_string().starts_with("PutObject s3://errors/"), "one object: the error itself, {error}");
    assert_eq!(error.error_type(), "StorageError");
    assert!(storage.get("staging", key).is_none(), "nothing staged before the report is durable");
    assert!(storage.get("zipster-dev-input", key).is_some());
    let alert = &notify.published()[0];
    assert_eq!(alert.topic_arn, "arn:topic:alerts");
    assert_eq!(alert.feed.as_deref(), Some("zipcodes"), "a failed file's alert names its feed");
}

#[tokio::test]
async fn a_key_under_a_feeds_prefix_is_published_with_that_feed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = MemoryStorage::default();
    let notify = MemoryNotify::default();
    let key = "cities/good.csv";
    storage.put("zipster-dev-input", key, testdata("cities/cases/good/input.csv"));
    let mut event = event("s3-put.json");
    event["Records"][0]["s3"]["object"]["key"] = json!(key);

    let result = handle(event, &storage, &notify, &config(dir.path())).await.expect("handled");

    assert_eq!(result["objects"][0]["status"], "staged");
    let published = notify.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].topic_arn, "arn:topic:transform");
    assert_eq!(published[0].feed.as_deref(), Some("cities"), "not the stage's default feed");
    assert!(published[0].message.contains("8 rows accepted, 0 rejected"), "{}", published[0].message);
}

#[tokio::test]
async fn a_reprocess_override_travels_with_the_staged_object_and_a_mistyped_one_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = MemoryStorage::default();
    let notify = MemoryNotify::default();
    let key = "incoming/zip codes été+1.csv";
    storage.put("zipster-dev-input", key, testdata("zipcodes/sample.csv"));
    let mut allowed = event("s3-put.json");
    allowed["zipster"] = json!({"allowShrink": true});
    handle(allowed, &storage, &notify, &config(dir.path())).await.expect("handled");
    let staged = storage.get("staging", key).expect("staged");
    assert!(zipster_aws::staged::allow_shrink(&staged.metadata), "{:?}", staged.metadata);

    let mut mistyped = event("s3-put.json");
    mistyped["zipster"] = json!({"allowShrinks": true});
    let error = handle(mistyped, &storage, &notify, &config(dir.path())).await.expect_err("refused");
    assert!(error.to_string().contains("allowShrinks"), "{error}");
}

#[tokio::test]
async fn one_failed_object_of_two_fails_the_event_with_the_first_failure_and_its_kind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = MemoryStorage::default();
    let notify = MemoryNotify::default();
    let key = "incoming/zip codes été+1.csv";
    storage.put("zipster-dev-input", key, testdata("zipcodes/sample.csv"));
    // The sample event's record, then the same record naming an object that is not there.
    let mut two = event("s3-put.json");
    let mut missing = two["Records"][0].clone();
    missing["s3"]["object"]["key"] = json!("incoming/gone.csv");
    two["Records"].as_array_mut().expect("records").push(missing);

    let error = handle(two, &storage, &notify, &config(dir.path())).await.expect_err("one object is missing");

    assert!(error.to_string().starts_with("1 of 2 objects failed; first: "), "{error}");
    assert!(error.to_string().contains("incoming/gone.csv does not exist"), "{error}");
    assert_eq!(error.error_type(), "StorageError");
    assert!(storage.get("staging", key).is_some(), "the good object is still staged");
}

#[tokio::test]
async fn missing_object_and_garbage_events_fail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = MemoryStorage::default();
    let notify = MemoryNotify::default();
    let error = handle(event("s3-put.json"), &storage, &notify, &config(dir.path())).await.expect_err("no object");
    assert!(error.to_string().contains("does not exist"), "{error}");
    let error = handle(json!({"not": "an event"}), &storage, &notify, &config(dir.path())).await.expect_err("garbage");
    assert!(error.to_string().starts_with("event:"), "{error}");
    assert_eq!(error.error_type(), "InvalidEvent");
}

#[tokio::test]
async fn publish_failure_does_not_fail_a_transform() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = MemoryStorage::default();
    let notify = MemoryNotify::default();
    notify.set_failing(true);
    storage.put("zipster-dev-input", "incoming/zip codes été+1.csv", testdata("zipcodes/sample.csv"));
    handle(event("s3-put.json"), &storage, &notify, &config(dir.path())).await.expect("handled");
    assert!(storage.get("staging", "incoming/zip codes été+1.csv").is_some());
}

#[test]
fn config_from_env_names_what_is_missing() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    };
    let err = Config::from_env(env(&[("STAGING_BUCKET", "s")])).expect_err("missing");
    assert_eq!(err.to_string(), "environment variable ERRORS_BUCKET is not set");
    let err = Config::from_env(env(&[
        ("STAGING_BUCKET", "s"),
        ("ERRORS_BUCKET", "e"),
        ("TRANSFORM_TOPIC_ARN", "t"),
        ("MAX_LINE_BYTES", "lots"),
    ]))
    .expect_err("bad number");
    assert!(err.to_string().contains("MAX_LINE_BYTES"));
    let ok = Config::from_env(env(&[("STAGING_BUCKET", "s"), ("ERRORS_BUCKET", "e"), ("TRANSFORM_TOPIC_ARN", "t")]))
        .expect("config");
    assert_eq!(ok.alerts_topic_arn, None);
}
