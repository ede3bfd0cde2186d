//! The local Lambda Runtime API and process supervisor, with the real transform
//! bootstrap (built for this machine) against its own moto server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use zipster_deploy::StageClients;
use zipster_local::build_bootstraps;
use zipster_local::function::{Function, FunctionSpec, LogSink, Outcome};
use zipster_local::pipeline::moto_environment;
use zipster_local::service::{Runner, Service};
use zipster_local::stack::{LocalFunction, LocalStack};
use zipster_tools::moto::MotoServer;
use zipster_tools::project_root;

const STAGING: &str = "rt-staging";
const ERRORS: &str = "rt-errors";
const INPUT: &str = "rt-input";

fn transform_bootstrap() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| build_bootstraps(&project_root()).expect("cargo build of the functions").join("transform"))
        .clone()
}

/// Captures log lines so a test can look at what the process printed.
fn captured() -> (LogSink, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    (Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned())), lines)
}

struct World {
    moto: MotoServer,
    clients: StageClients,
    topic: String,
}

async fn world() -> World {
    let moto = MotoServer::start().unwrap();
    let clients = StageClients::local(&moto.endpoint).await;
    for bucket in [STAGING, ERRORS, INPUT] {
        clients.s3.create_bucket().bucket(bucket).send().await.unwrap();
    }
    let topic = clients.sns.create_topic().name("rt-transform").send().await.unwrap().topic_arn.unwrap();
    World { moto, clients, topic }
}

impl World {
    fn env(&self) -> BTreeMap<String, String> {
        let mut env = moto_environment(&self.moto.endpoint);
        env.insert("STAGING_BUCKET".into(), STAGING.into());
        env.insert("ERRORS_BUCKET".into(), ERRORS.into());
        env.insert("DEFAULT_FEED".into(), "zipcodes".into());
        env.insert("TRANSFORM_TOPIC_ARN".into(), self.topic.clone());
        env
    }

    fn spec(&self, timeout: Duration) -> FunctionSpec {
        FunctionSpec {
            name: "rt-transform".into(),
            label: "transform".into(),
            arn: "arn:aws:lambda:us-east-1:123456789012:function:rt-transform".into(),
            bootstrap: transform_bootstrap(),
            memory_mb: 512,
            timeout,
            env: self.env(),
        }
    }

    async fn upload(&self, key: &str, body: Vec<u8>) {
        self.clients.s3.put_object().bucket(INPUT).key(key).body(body.into()).send().await.unwrap();
    }

    async fn exists(&self, bucket: &str, key: &str) -> bool {
        self.clients.s3.head_object().bucket(bucket).key(key).send().await.is_ok()
    }
}

fn s3_event(key: &str) -> Value {
    json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventName": "ObjectCreated:Put", "eventTime": "2026-01-01T00:00:00.000Z", "userIdentity": {"principalId": "AWS:TEST"}, "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "s3": {"bucket": {"name": INPUT}, "object": {"key": key, "size": 1}}}]})
}

fn payload(event: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(event).unwrap())
}

/// The real data set, repeated: large enough that downloading and transforming it
/// takes far longer than the short deadlines and delays below.
fn large_input() -> Vec<u8> {
    let data = std::fs::read(project_root().join("db/seed/zipcodes.csv")).unwrap();
    let body_start = data.iter().position(|&b| b == b'\n').unwrap() + 1;
    let mut out = data.clone();
    for _ in 0..15 {
        out.extend_from_slice(&data[body_start..]);
    }
    out
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().contains(") Z ")
}

#[tokio::test]
async fn a_good_event_is_answered_through_response_and_the_outputs_exist() {
    let world = world().await;
    world.upload("good.csv", std::fs::read(project_root().join("testdata/zipcodes/sample.csv")).unwrap()).await;
    let (logs, _) = captured();
    let mut function = Function::new(world.spec(Duration::from_secs(30)), logs).await.unwrap();
    let outcome = function.invoke("req-1", payload(&s3_event("good.csv"))).await;
    let Outcome::Success(body) = outcome else { panic!("expected success, got {outcome:?}") };
    let response: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(response["objects"][0]["status"], "staged", "{response}");
    assert!(world.exists(STAGING, "good.csv").await);
    assert!(world.exists(ERRORS, "good.csv.summary.json").await);
    function.stop().await;
}

#[tokio::test]
async fn a_handler_error_comes_back_through_error_and_the_process_lives_on() {
    let world = world().await;
    let (logs, _) = captured();
    let mut function = Function::new(world.spec(Duration::from_secs(30)), logs).await.unwrap();
    let pid = function.ensure_running().await.unwrap();
    let outcome = function.invoke("req-garbage", payload(&json!({"hello": "not an S3 or SNS event"}))).await;
    let Outcome::HandlerError(body) = outcome else { panic!("expected a handler error, got {outcome:?}") };
    let error: Value = serde_json::from_slice(&body).unwrap();
    assert!(error["errorMessage"].as_str().unwrap().contains("event"), "{error}");
    assert!(error["errorType"].is_string(), "{error}");
    // A handler error is an answer, not a crash: the same process takes the next event.
    let outcome = function.invoke("req-garbage-2", payload(&json!({"Records": "nope"}))).await;
    assert!(matches!(outcome, Outcome::HandlerError(_)), "{outcome:?}");
    assert_eq!(function.ensure_running().await.unwrap(), pid);
    function.stop().await;
}

#[tokio::test]
async fn a_process_killed_mid_invocation_is_detected_and_the_event_retried_in_a_new_one() {
    let world = world().await;
    world.upload("large.csv", large_input()).await;
    let (logs, _) = captured();
    let local = LocalFunction {
        logical_id: "TransformFunction".into(),
        name: "rt-transform".into(),
        arn: "arn:aws:lambda:us-east-1:123456789012:function:rt-transform".into(),
        memory_mb: 512,
        timeout: Duration::from_secs(60),
        env: world.env(),
        trigger_topics: vec![],
        max_retries: 2,
        on_failure_queue: None,
        on_failure_alarm: None,
    };
    let stack = LocalStack { functions: vec![local], buckets: vec![], topics: BTreeMap::new() };
    let runner = Runner {
        bootstraps: BTreeMap::from([("TransformFunction".to_owned(), transform_bootstrap())]),
        overrides: BTreeMap::new(),
        function_overrides: BTreeMap::new(),
        logs,
        cloudwatch: false,
        retry_delays: vec![Duration::from_millis(50); 2],
    };
    let service = Service::new(world.clients.clone(), &stack, BTreeMap::new(), &runner).await.unwrap();
    let served = service.served("TransformFunction").unwrap();
    let first_pid = served.function.lock().await.ensure_running().await.unwrap();
    let killer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        std::process::Command::new("kill").args(["-9", &first_pid.to_string()]).status().unwrap()
    });
    let delivery = service.invoke_async(served, s3_event("large.csv")).await.unwrap();
    assert!(killer.await.unwrap().success());

    assert!(
        matches!(&delivery.attempts[0], Outcome::Crashed(reason) if reason.contains("signal: 9")),
        "{:?}",
        delivery.attempts
    );
    assert!(delivery.succeeded(), "the retry should succeed: {:?}", delivery.attempts);
    assert_eq!(delivery.attempts.len(), 2);
    let second_pid = served.function.lock().await.ensure_running().await.unwrap();
    assert_ne!(first_pid, second_pid);
    assert!(world.exists(STAGING, "large.csv").await);
    service.shutdown().await;
}

#[tokio::test]
async fn a_function_past_its_deadline_is_stopped() {
    let world = world().await;
    world.upload("large.csv", large_input()).await;
    let (logs, _) = captured();
    let mut function = Function::new(world.spec(Duration::from_millis(100)), logs).await.unwrap();
    let pid = function.ensure_running().await.unwrap();
    // Past its cold start, so the deadline is spent on the event alone.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    let outcome = function.invoke("req-slow", payload(&s3_event("large.csv"))).await;
    assert_eq!(outcome, Outcome::Timeout(Duration::from_millis(100)));
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(!alive(pid), "the process must be killed at the deadline");
    assert!(!world.exists(STAGING, "large.csv").await, "a stopped function stages nothing");
    // The next event gets a fresh process.
    assert_ne!(function.ensure_running().await.unwrap(), pid);
    function.stop().await;
}

#[tokio::test]
async fn a_bootstrap_that_cannot_start_is_an_init_error() {
    let world = world().await;
    let (logs, lines) = captured();
    let mut spec = world.spec(Duration::from_secs(30));
    spec.env.remove("STAGING_BUCKET");
    let mut function = Function::new(spec, logs).await.unwrap();
    let outcome = function.invoke("req-init", payload(&s3_event("x.csv"))).await;
    let Outcome::InitError(reason) = outcome else { panic!("expected an init error, got {outcome:?}") };
    assert!(reason.contains("STAGING_BUCKET"), "{reason}");
    assert!(lines.lock().unwrap().iter().any(|l| l.starts_with("transform |") && l.contains("STAGING_BUCKET")));
}

#[tokio::test]
async fn a_process_that_died_while_waiting_for_an_event_is_replaced() {
    let world = world().await;
    world.upload("good.csv", std::fs::read(project_root().join("testdata/zipcodes/sample.csv")).unwrap()).await;
    let (logs, _) = captured();
    let mut function = Function::new(world.spec(Duration::from_secs(20)), logs).await.unwrap();
    let pid = function.ensure_running().await.unwrap();
    // Let it reach its long-poll on /next, then kill it there.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(std::process::Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap().success());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    let outcome = function.invoke("req-after-death", payload(&s3_event("good.csv"))).await;
    assert!(outcome.is_success(), "{outcome:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "the dead process's poll must not take the event");
    assert_ne!(function.ensure_running().await.unwrap(), pid);
    function.stop().await;
}
