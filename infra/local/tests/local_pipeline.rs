//! The whole local stage, through `cargo xtask local`'s code: the local template
//! deployed to its own moto, the real transform and load bootstraps, its own
//! database. Files go in; staged CSV, rejects, summaries and rows come out.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/fault_proxy.rs"]
mod fault_proxy;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fault_proxy::{Fault, FaultProxy};
use hyper::Method;
use serde_json::Value;
use zipster_db::testing::{RowLock, TestDb};
use zipster_deploy::StageClients;
use zipster_deploy::ui::Recorder;
use zipster_local::function::{LogSink, Outcome as Attempt};
use zipster_local::pipeline::{self, LocalStage, Options, Outcome, Trace};
use zipster_local::{deploy, target_debug};
use zipster_tools::moto::MotoServer;
use zipster_tools::{database, project_root};

fn logs() -> (LogSink, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    (Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned())), lines)
}

fn case(name: &str, file: &str) -> PathBuf {
    project_root().join("testdata/zipcodes/cases").join(name).join(file)
}

fn database_url(db: &TestDb) -> String {
    database::with_database(&database::server_url(), &db.name)
}

async fn zipcodes(db: &TestDb) -> Vec<String> {
    sqlx::query_scalar("SELECT ZIPCODE FROM ZIPCODES ORDER BY ZIPCODE").fetch_all(&db.pool).await.unwrap()
}

/// The zip codes the transform accepts from `input`, by the feed's own rules.
fn accepted_zipcodes(input: &[u8]) -> Vec<String> {
    let mut accepted = Vec::new();
    zipster_core::transform(
        &zipster_core::feeds::builtin(zipster_core::feeds::ZIPCODES).expect("the zip code feed").contract,
        input,
        &mut accepted,
        std::io::sink(),
        &zipster_core::Limits::default(),
    )
    .unwrap();
    let mut zips: Vec<String> =
        String::from_utf8(accepted).unwrap().lines().skip(1).map(|l| l.split(',').next().unwrap().to_owned()).collect();
    zips.sort();
    zips
}

/// How many times `key` is recorded as loaded.
async fn load_records(db: &TestDb, key: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM LOADED_OBJECTS WHERE OBJECT_KEY = ?")
        .bind(key)
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

fn notifications_on<'a>(trace: &'a Trace, topic: &str) -> Vec<&'a str> {
    trace.notifications.iter().filter(|n| n.topic == topic).map(|n| n.message.as_str()).collect()
}

/// `cargo xtask redrive --stage local`'s code: each waiting record given once more to
/// its function through the local Lambda service, deleted only if that succeeded.
async fn redrive(stage: &LocalStage) -> Vec<zipster_operate::redrive::Redriven> {
    let stack = deploy::stack_name(&project_root()).unwrap();
    let operate = zipster_operate::Stage::open(stage.clients.clone(), &stack, Duration::from_millis(50)).await.unwrap();
    zipster_operate::redrive::redrive(&operate, stage.service.as_ref(), false).await.unwrap()
}

/// The local stage on its own moto, deployed with the real deploy code, running the
/// host bootstraps against `database_url`, their log lines captured.
struct Harness {
    moto: MotoServer,
    clients: StageClients,
    stage: LocalStage,
    lines: Arc<Mutex<Vec<String>>>,
}

async fn harness(database_url: &str) -> Harness {
    let root = project_root();
    let moto = MotoServer::start().unwrap();
    let clients = StageClients::local(&moto.endpoint).await;
    let mut ui = Recorder { answer: true, ..Recorder::default() };
    let stack_name = deploy::deploy(&root, &clients, &mut ui).await.unwrap();
    let (sink, lines) = logs();
    let bootstraps = pipeline::host_bootstraps(&target_debug());
    let mut options = Options::new(&moto.endpoint, &stack_name, database_url, bootstraps, sink);
    options.retry_delays = vec![Duration::from_millis(50); 2];
    let stage = LocalStage::start(options).await.unwrap();
    Harness { moto, clients, stage, lines }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_go_through_the_local_stage_end_to_end() {
    let Some((db, _)) = TestDb::migrated("files_go_through_the_local_stage_end_to_end").await else { return };
    let root = project_root();
    let Harness { moto, clients, stage, lines } = harness(&database_url(&db)).await;

    // Good and bad rows: the feed's every-rule case, with its golden outputs.
    let trace =
        stage.put(&case("every_rule", "input.csv"), "incoming/every rule.csv", Duration::from_secs(120)).await.unwrap();
    assert_eq!(trace.outcome, Outcome::Loaded, "{}", trace.render(0));
    let staging = stage.bucket("StagingBucket").unwrap().to_owned();
    let errors = stage.bucket("ErrorsBucket").unwrap().to_owned();
    let staged = stage.object_text(&staging, "incoming/every rule.csv").await.unwrap();
    assert_eq!(staged, std::fs::read_to_string(case("every_rule", "accepted.csv")).unwrap());
    let rejects = stage.object_text(&errors, "incoming/every rule.csv.rejects.jsonl").await.unwrap();
    assert_eq!(rejects, std::fs::read_to_string(case("every_rule", "rejects.jsonl")).unwrap());
    let golden: Value =
        serde_json::from_str(&std::fs::read_to_string(case("every_rule", "summary.json")).unwrap()).unwrap();
    let summary = &trace.transform.as_ref().unwrap()["summary"];
    for field in ["accepted", "rejected", "blank", "errors_by_field"] {
        assert_eq!(summary[field], golden[field], "{field}");
    }
    let input = std::fs::read(case("every_rule", "input.csv")).unwrap();
    assert_eq!(zipcodes(&db).await, accepted_zipcodes(&input), "the database holds exactly the accepted rows");
    assert_eq!(notifications_on(&trace, "TransformTopic").len(), 1, "{:?}", trace.notifications);
    assert_eq!(notifications_on(&trace, "LoadTopic").len(), 1, "{:?}", trace.notifications);
    assert!(notifications_on(&trace, "AlertsTopic").is_empty(), "{:?}", trace.notifications);
    assert!(lines.lock().unwrap().iter().any(|l| l.starts_with("     load |")), "function logs are prefixed");

    // The same S3 event again: the load reports it already loaded and changes nothing.
    let load_event = stage
        .service
        .deliveries()
        .into_iter()
        .find(|d| d.function == "LoadFunction" && d.succeeded())
        .expect("the load was delivered")
        .event;
    let served = stage.service.served("LoadFunction").unwrap();
    let replay = stage.service.invoke_async(served, load_event.clone()).await.unwrap();
    let Some(Attempt::Success(body)) = replay.attempts.last() else { panic!("replay failed: {:?}", replay.attempts) };
    let body: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(body["objects"][0]["status"], "already_loaded", "{body}");
    assert_eq!(zipcodes(&db).await, accepted_zipcodes(&input));

    // A newer version of the key, then the older version's event arriving late: the
    // older is "superseded" and the newer rows stay.
    let zip = accepted_zipcodes(&input)[0].clone();
    let scratch = tempfile::tempdir().unwrap();
    let newer = scratch.path().join("newer.csv");
    let header = "Zipcode,ZipCodeType,City,State,LocationType,Lat,Long,Location,Decommisioned";
    std::fs::write(
        &newer,
        format!("{header}\n{zip},STANDARD,NEWER TOWN,CT,PRIMARY,41.00,-73.00,NA-US-CT-NEWER,FALSE\n"),
    )
    .unwrap();
    let trace = stage.put(&newer, "incoming/every rule.csv", Duration::from_secs(120)).await.unwrap();
    assert_eq!(trace.outcome, Outcome::Loaded, "{}", trace.render(0));
    let city = || sqlx::query_scalar::<_, String>("SELECT CITY FROM ZIPCODES WHERE ZIPCODE = ?").bind(&zip);
    assert_eq!(city().fetch_one(&db.pool).await.unwrap(), "NEWER TOWN");
    let late = stage.service.invoke_async(served, load_event).await.unwrap();
    let Some(Attempt::Success(body)) = late.attempts.last() else { panic!("late event failed: {:?}", late.attempts) };
    let body: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(body["objects"][0]["status"], "superseded", "{body}");
    assert_eq!(city().fetch_one(&db.pool).await.unwrap(), "NEWER TOWN", "the newer version wins");
    assert_eq!(zipcodes(&db).await, accepted_zipcodes(&input));

    // The database unreachable for the load: retried, then the on-failure queue and an alarm.
    stage.service.set_env("LoadFunction", "DATABASE_URL", "mysql://root@127.0.0.1:1/closed").await.unwrap();
    let sample = root.join("testdata/zipcodes/sample.csv");
    let trace = stage.put(&sample, "sample.csv", Duration::from_secs(120)).await.unwrap();
    assert_eq!(trace.outcome, Outcome::Failed, "{}", trace.render(0));
    let failed = stage.service.deliveries().into_iter().rfind(|d| d.function == "LoadFunction").unwrap();
    assert_eq!(failed.attempts.len(), 3, "one attempt and two retries: {:?}", failed.attempts);
    assert!(failed.dead_lettered);
    let alarms: Vec<_> =
        trace.notifications.iter().filter(|n| n.topic == "AlertsTopic" && n.subject.starts_with("ALARM")).collect();
    assert_eq!(alarms.len(), 1, "{:?}", trace.notifications);
    let input_bucket = stage.bucket("InputBucket").unwrap().to_owned();
    assert!(stage.object_text(&input_bucket, "sample.csv").await.is_ok(), "the input stays");
    assert!(stage.object_text(&staging, "sample.csv").await.is_ok(), "the staged object stays");
    assert_eq!(zipcodes(&db).await, accepted_zipcodes(&input), "nothing of the failed file is loaded");

    let queue = stage.stack.function("LoadFunction").unwrap().on_failure_queue.clone().unwrap();
    let peek = clients.sqs.receive_message().queue_url(&queue).visibility_timeout(0).send().await.unwrap();
    let record: Value = serde_json::from_str(peek.messages()[0].body().unwrap()).unwrap();
    assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 3);
    assert!(record["requestContext"]["functionArn"].as_str().unwrap().contains(":function:zipster-local-load"));
    assert_eq!(record["requestPayload"], failed.event);
    assert!(record["responsePayload"]["errorMessage"].as_str().unwrap().contains("no database connection"), "{record}");
    assert_eq!(record["responsePayload"]["errorType"], "DatabaseError", "{record}");

    // The database back: re-driving the record loads the file fully.
    stage.service.set_env("LoadFunction", "DATABASE_URL", &database_url(&db)).await.unwrap();
    let redriven = redrive(&stage).await;
    assert_eq!(redriven.len(), 1);
    assert!(redriven[0].deleted, "{redriven:?}");
    let mut expected = accepted_zipcodes(&input);
    expected.extend(accepted_zipcodes(&std::fs::read(&sample).unwrap()));
    expected.sort();
    expected.dedup();
    assert_eq!(zipcodes(&db).await, expected);
    let left = clients.sqs.receive_message().queue_url(&queue).send().await.unwrap();
    assert!(left.messages().is_empty(), "the on-failure queue is empty after the re-drive");

    stage.stop().await.unwrap();
    drop(moto);
}

/// A password no one could guess or find by accident: hex of two random hashes.
fn generated_password() -> String {
    use std::hash::{BuildHasher, Hasher};
    let random = || std::collections::hash_map::RandomState::new().build_hasher().finish();
    format!("Zp{:016x}{:016x}", random(), random())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_password_is_in_no_log_notification_output_or_dead_letter() {
    let Some((db, _)) = TestDb::migrated("the_database_password_is_in_no_log").await else { return };
    // A user of its own with a generated password, as the stack's secret gives the load.
    let password = generated_password();
    let user = format!("zp_{}", &password[2..12]);
    for statement in [
        format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"),
        format!("GRANT ALL ON `{}`.* TO '{user}'@'%'", db.name),
    ] {
        // Hex and a fixed prefix only: nothing here needs binding.
        sqlx::query(sqlx::AssertSqlSafe(statement)).execute(&db.pool).await.unwrap();
    }
    let plain = database_url(&db);
    let (scheme, rest) = plain.split_once("://").unwrap();
    let host_and_db = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let with_password = format!("{scheme}://{user}:{password}@{host_and_db}");
    let wrong_password = format!("{scheme}://{user}:{password}X@{host_and_db}");

    let root = project_root();
    let Harness { moto, clients, stage, lines } = harness(&with_password).await;

    let loaded = stage.put(&case("every_rule", "input.csv"), "good.csv", Duration::from_secs(120)).await.unwrap();
    assert_eq!(loaded.outcome, Outcome::Loaded, "{}", loaded.render(0));
    // Refused by the server: the error travels through logs, alert and dead letter.
    stage.service.set_env("LoadFunction", "DATABASE_URL", &wrong_password).await.unwrap();
    let refused =
        stage.put(&root.join("testdata/zipcodes/sample.csv"), "refused.csv", Duration::from_secs(120)).await.unwrap();
    assert_eq!(refused.outcome, Outcome::Failed, "{}", refused.render(0));
    let queue = stage.stack.function("LoadFunction").unwrap().on_failure_queue.clone().unwrap();
    let dead_letters = clients.sqs.receive_message().queue_url(&queue).visibility_timeout(0).send().await.unwrap();
    assert_eq!(dead_letters.messages().len(), 1);

    let mut captured: Vec<String> = lines.lock().unwrap().clone();
    assert!(captured.iter().any(|l| l.contains("load |")), "the load's logs were captured");
    for trace in [&loaded, &refused] {
        captured.extend(trace.notifications.iter().map(|n| format!("{} {}", n.subject, n.message)));
        captured.push(trace.render(0));
    }
    assert!(refused.notifications.iter().any(|n| n.topic == "AlertsTopic"), "an alert was published");
    captured.extend(dead_letters.messages().iter().filter_map(|m| m.body().map(str::to_owned)));
    captured.extend(stage.service.deliveries().iter().map(|d| format!("{:?}", d.attempts)));
    let errors = stage.bucket("ErrorsBucket").unwrap().to_owned();
    for key in ["good.csv.summary.json", "good.csv.rejects.jsonl", "refused.csv.summary.json"] {
        captured.push(stage.object_text(&errors, key).await.unwrap());
    }
    // The connection's details do reach the captured text (so a printed password would
    // be caught); the password, nor the wrong one whose prefix it is, never does.
    assert!(captured.iter().any(|text| text.contains(&user)), "the user name is logged: {captured:#?}");
    let leaks: Vec<&String> = captured.iter().filter(|text| text.contains(&password)).collect();
    assert!(leaks.is_empty(), "the database password leaked into: {leaks:#?}");

    stage.stop().await.unwrap();
    drop(moto);
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP USER '{user}'@'%'"))).execute(&db.pool).await.unwrap();
}

/// The pids of this process's children running `name` (the bootstraps are our children).
fn children_named(name: &str) -> Vec<u32> {
    let me = std::process::id().to_string();
    let output = std::process::Command::new("pgrep").args(["-P", &me, "-x", name]).output().unwrap();
    String::from_utf8_lossy(&output.stdout).lines().filter_map(|l| l.trim().parse().ok()).collect()
}

/// Holds the row lock of the file's last zip code, so that each load attempt stops
/// there, inside its transaction, with its other rows written; `interrupt` strikes
/// the first attempt that waits (given its connection id); then the lock is released
/// for the retry. Returns the file's trace.
async fn interrupt_the_first_load(
    stage: &LocalStage,
    db: &TestDb,
    key: &str,
    interrupt: impl AsyncFnOnce(&mut RowLock, i64),
) -> Trace {
    let file = case("every_rule", "input.csv");
    let expected = accepted_zipcodes(&std::fs::read(&file).unwrap());
    let mut lock = RowLock::hold(db, expected.last().unwrap()).await.unwrap();
    let interrupter = async {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let load = loop {
            if let Some(load) = lock.waiting_load(Duration::from_millis(200)).await.unwrap() {
                break load;
            }
            assert!(std::time::Instant::now() < deadline, "no load waited on the lock");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        interrupt(&mut lock, load).await;
        // Let the retry start waiting on the lock, then release it.
        tokio::time::sleep(Duration::from_millis(500)).await;
        lock.release().await.unwrap();
    };
    let (trace, ()) = tokio::join!(stage.put(&file, key, Duration::from_secs(120)), interrupter);
    let trace = trace.unwrap();
    assert_eq!(trace.outcome, Outcome::Loaded, "{}", trace.render(0));
    let load = stage.service.deliveries().into_iter().rfind(|d| d.function == "LoadFunction").unwrap();
    assert!(load.attempts.len() == 2 && load.succeeded() && !load.dead_lettered, "{:?}", load.attempts);
    assert_eq!(zipcodes(db).await, expected, "every accepted row, once");
    assert_eq!(load_records(db, key).await, 1, "the interrupted attempt left no record; the retry left one");
    trace
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_process_killed_mid_load_is_retried_and_loads_the_file_once() {
    let Some((db, _)) = TestDb::migrated("the_load_process_killed_mid_load").await else { return };
    let Harness { moto, stage, .. } = harness(&database_url(&db)).await;
    interrupt_the_first_load(&stage, &db, "killed.csv", async |_, _| {
        let pids = children_named("load");
        assert!(!pids.is_empty(), "the load process is running");
        for pid in pids {
            std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap();
        }
    })
    .await;
    let load = stage.service.deliveries().into_iter().rfind(|d| d.function == "LoadFunction").unwrap();
    assert!(matches!(load.attempts[0], Attempt::Crashed(_)), "died with its process: {:?}", load.attempts);

    stage.stop().await.unwrap();
    drop(moto);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_connection_dropped_mid_load_rolls_back_and_the_retry_loads_once() {
    let Some((db, _)) = TestDb::migrated("the_database_connection_dropped").await else { return };
    let Harness { moto, stage, .. } = harness(&database_url(&db)).await;
    let trace = interrupt_the_first_load(&stage, &db, "dropped.csv", async |lock, load| {
        lock.kill_connection(load).await.unwrap();
    })
    .await;
    let load = stage.service.deliveries().into_iter().rfind(|d| d.function == "LoadFunction").unwrap();
    let Attempt::HandlerError(error) = &load.attempts[0] else { panic!("{:?}", load.attempts) };
    let error: Value = serde_json::from_slice(error).unwrap();
    assert_eq!(error["errorType"], "DatabaseError", "{error}");
    let alerts = notifications_on(&trace, "AlertsTopic");
    assert!(alerts.len() == 1 && alerts[0].contains("dropped.csv"), "one alert naming the file: {alerts:?}");

    stage.stop().await.unwrap();
    drop(moto);
}

/// Whether a log line (JSON) matches a CloudWatch Logs filter pattern of the one form
/// the template uses, `{ $.a.b = "value" }`.
fn matches_filter(pattern: &str, line: &Value) -> bool {
    let inner = pattern.trim().trim_start_matches('{').trim_end_matches('}').trim();
    let (path, value) = inner.split_once(" = ").expect("a `$.path = \"value\"` pattern");
    let path = path.trim().strip_prefix("$.").expect("a JSON path");
    let found = path.split('.').fold(line, |node, key| &node[key]);
    found.as_str() == Some(value.trim().trim_matches('"'))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_summary_that_cannot_be_published_does_not_stop_the_data() {
    let Some((db, _)) = TestDb::migrated("a_summary_that_cannot_be_published").await else { return };
    let Harness { moto, stage, lines, .. } = harness(&database_url(&db)).await;
    // Topics that do not exist: every publish of either summary fails. JSON logs, as the
    // template's `LoggingConfig` gives the functions in AWS.
    let missing = "arn:aws:sns:us-east-1:123456789012:zipster-local-deleted-topic";
    for (function, topic) in [("TransformFunction", "TRANSFORM_TOPIC_ARN"), ("LoadFunction", "LOAD_TOPIC_ARN")] {
        stage.service.set_env(function, topic, missing).await.unwrap();
        stage.service.set_env(function, "AWS_LAMBDA_LOG_FORMAT", "JSON").await.unwrap();
    }

    let file = case("every_rule", "input.csv");
    // Neither summary comes; the file is followed through the functions' own results,
    // never through the notifications' text, so it is through as soon as it is loaded.
    let trace = stage.put(&file, "unpublished.csv", Duration::from_secs(60)).await.unwrap();
    assert_eq!(trace.outcome, Outcome::Loaded, "{}", trace.render(0));
    assert!(notifications_on(&trace, "TransformTopic").is_empty(), "{:?}", trace.notifications);
    assert!(notifications_on(&trace, "LoadTopic").is_empty(), "{:?}", trace.notifications);
    assert!(notifications_on(&trace, "AlertsTopic").is_empty(), "nothing failed: {:?}", trace.notifications);
    assert_eq!(zipcodes(&db).await, accepted_zipcodes(&std::fs::read(&file).unwrap()), "the rows are loaded");
    assert_eq!(load_records(&db, "unpublished.csv").await, 1);
    let staging = stage.bucket("StagingBucket").unwrap().to_owned();
    assert_eq!(
        stage.object_text(&staging, "unpublished.csv").await.unwrap(),
        std::fs::read_to_string(case("every_rule", "accepted.csv")).unwrap()
    );
    for function in ["TransformFunction", "LoadFunction"] {
        let deliveries: Vec<_> = stage.service.deliveries().into_iter().filter(|d| d.function == function).collect();
        assert!(
            deliveries.len() == 1 && deliveries[0].attempts.len() == 1 && deliveries[0].succeeded(),
            "a failed publish is not a failed {function}: {deliveries:?}"
        );
    }

    // Each failure is a log line that the function's metric filter in the template counts.
    let template: Value =
        serde_json::from_str(&std::fs::read_to_string(project_root().join("infra/templates/local.json")).unwrap())
            .unwrap();
    let logged = lines.lock().unwrap().clone();
    for (function, label) in [("TransformFunction", "transform |"), ("LoadFunction", "load |")] {
        let filter = &template["Resources"][format!("{function}PublishFailures")]["Properties"];
        let pattern = filter["FilterPattern"].as_str().unwrap();
        let counted = logged
            .iter()
            .filter_map(|l| l.trim_start().strip_prefix(label))
            .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
            .filter(|line| matches_filter(pattern, line))
            .count();
        assert_eq!(counted, 1, "{function}: one line counted by {pattern}: {logged:#?}");
    }

    stage.stop().await.unwrap();
    drop(moto);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_errors_and_timeouts_on_read_and_write_fail_the_attempt_and_nothing_is_lost() {
    let Some((db, _)) = TestDb::migrated("s3_errors_and_timeouts").await else { return };
    let Harness { moto, clients, stage, .. } = harness(&database_url(&db)).await;
    // The functions reach S3 (and SNS) through the proxy; this test reads moto directly.
    let proxy = FaultProxy::start(&moto.endpoint).await;
    for function in ["TransformFunction", "LoadFunction"] {
        stage.service.set_env(function, "AWS_ENDPOINT_URL", &proxy.endpoint).await.unwrap();
    }
    let input = stage.bucket("InputBucket").unwrap().to_owned();
    let staging = stage.bucket("StagingBucket").unwrap().to_owned();
    let errors = stage.bucket("ErrorsBucket").unwrap().to_owned();
    let file = case("every_rule", "input.csv");
    let expected = accepted_zipcodes(&std::fs::read(&file).unwrap());
    let accepted_csv = std::fs::read_to_string(case("every_rule", "accepted.csv")).unwrap();
    let attempts_of = |function: &str, key: &str| -> Vec<Vec<Attempt>> {
        let deliveries = stage.service.deliveries().into_iter();
        deliveries.filter(|d| d.function == function && d.event.to_string().contains(key)).map(|d| d.attempts).collect()
    };

    // Three faults in a row outlast the SDK's own three attempts (a body that stalls
    // midway is not retried by the SDK: one is enough): the invocation fails with an
    // alert, and Lambda's retry of the event goes through.
    let passing = [
        ("read-error.csv", Method::GET, &input, Fault::Error, "TransformFunction", "GetObject"),
        ("write-timeout.csv", Method::PUT, &staging, Fault::Stall, "TransformFunction", "PutObject"),
        ("read-timeout.csv", Method::GET, &staging, Fault::Stall, "LoadFunction", "GetObject"),
        ("read-stalled.csv", Method::GET, &staging, Fault::StallBody, "LoadFunction", "GetObject (body)"),
    ];
    for (key, method, bucket, fault, function, operation) in passing {
        let (cause, times) = match fault {
            Fault::Error => ("InternalError", 3),
            Fault::Stall => ("timeout", 3),
            Fault::StallBody => ("minimum throughput", 1),
        };
        proxy.inject(method, bucket, key, fault, times);
        let trace = stage.put(&file, key, Duration::from_secs(150)).await.unwrap();
        assert_eq!(trace.outcome, Outcome::Loaded, "{key}: {}", trace.render(0));
        assert_eq!(proxy.pending(), 0, "{key}: every fault was injected: {:?}", proxy.injected());
        let attempts = attempts_of(function, key);
        assert!(
            matches!(attempts.as_slice(), [a] if matches!(a.as_slice(), [Attempt::HandlerError(_), Attempt::Success(_)])),
            "{key}: one failed attempt, then the retry: {attempts:?}"
        );
        let alerts = notifications_on(&trace, "AlertsTopic");
        assert!(
            alerts.len() == 1 && [key, operation, cause].iter().all(|word| alerts[0].contains(word)),
            "{key}: one alert naming the file, {operation} and {cause}: {alerts:?}"
        );
        assert_eq!(stage.object_text(&input, key).await.unwrap(), std::fs::read_to_string(&file).unwrap());
        assert_eq!(stage.object_text(&staging, key).await.unwrap(), accepted_csv, "{key}");
        assert_eq!(load_records(&db, key).await, 1, "{key} is loaded once");
        assert_eq!(zipcodes(&db).await, expected, "{key}: every accepted row, once");
    }

    // Writes failing for every attempt of every retry: the event is dead-lettered with
    // an alarm, nothing is staged; once S3 is back, a re-drive takes the file through.
    let key = "write-error.csv";
    proxy.inject(Method::PUT, &errors, &format!("{key}.rejects.jsonl"), Fault::Error, 9);
    let trace = stage.put(&file, key, Duration::from_secs(150)).await.unwrap();
    assert_eq!(trace.outcome, Outcome::Failed, "{}", trace.render(0));
    assert_eq!(proxy.pending(), 0, "{:?}", proxy.injected());
    let attempts = attempts_of("TransformFunction", key);
    assert!(
        matches!(attempts.as_slice(), [a] if a.len() == 3 && a.iter().all(|a| matches!(a, Attempt::HandlerError(_)))),
        "{attempts:?}"
    );
    let alerts = notifications_on(&trace, "AlertsTopic");
    assert_eq!(alerts.iter().filter(|a| a.contains(key) && a.contains("InternalError")).count(), 3, "{alerts:?}");
    assert!(trace.notifications.iter().any(|n| n.subject.starts_with("ALARM")), "{:?}", trace.notifications);
    assert!(stage.object_text(&input, key).await.is_ok(), "the input stays");
    assert!(stage.object_text(&staging, key).await.is_err(), "nothing is staged");
    assert_eq!(load_records(&db, key).await, 0);

    let queue = stage.stack.function("TransformFunction").unwrap().on_failure_queue.clone().unwrap();
    let peek = clients.sqs.receive_message().queue_url(&queue).visibility_timeout(0).send().await.unwrap();
    let record: Value = serde_json::from_str(peek.messages()[0].body().unwrap()).unwrap();
    assert_eq!(record["responsePayload"]["errorType"], "StorageError", "{record}");
    let mark = stage.mark();
    let redriven = redrive(&stage).await;
    assert!(redriven.len() == 1 && redriven[0].deleted, "{redriven:?}");
    let trace = stage.follow(key, &mark, Duration::ZERO, Duration::from_secs(120)).await.unwrap();
    assert_eq!(trace.outcome, Outcome::Loaded, "{}", trace.render(0));
    assert_eq!(stage.object_text(&staging, key).await.unwrap(), accepted_csv);
    assert_eq!(load_records(&db, key).await, 1);
    assert_eq!(zipcodes(&db).await, expected);
    let left = clients.sqs.receive_message().queue_url(&queue).send().await.unwrap();
    assert!(left.messages().is_empty(), "the on-failure queue is empty after the re-drive");

    stage.stop().await.unwrap();
    drop(moto);
}
