//! The local stage assembled: the deployed stack read back, its plumbing wired, the
//! local Lambda service running; then files sent through it and followed from the
//! upload to the rows in the database.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use aws_sdk_s3::primitives::ByteStream;
use serde_json::Value;
use sqlx::MySqlPool;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use zipster_deploy::{LOCAL_ACCOUNT, LOCAL_REGION, StageClients};
use zipster_infra::functions::{LOAD, TRANSFORM};

use crate::function::LogSink;
use crate::plumbing::{self, Notification, Wiring};
use crate::service::{Delivery, RETRY_DELAYS, Runner, Service};
use crate::stack::{self, LocalStack, Place};

/// What the stage needs besides the deployed stack.
pub struct Options {
    pub endpoint: String,
    pub stack_name: String,
    pub database_url: String,
    /// Function logical id → host-built bootstrap.
    pub bootstraps: BTreeMap<String, PathBuf>,
    /// Per function logical id, e.g. a `DATABASE_URL` that points nowhere.
    pub function_overrides: BTreeMap<String, BTreeMap<String, String>>,
    pub logs: LogSink,
    pub retry_delays: Vec<Duration>,
}

impl Options {
    pub fn new(
        endpoint: &str,
        stack_name: &str,
        database_url: &str,
        bootstraps: BTreeMap<String, PathBuf>,
        logs: LogSink,
    ) -> Self {
        Self {
            endpoint: endpoint.to_owned(),
            stack_name: stack_name.to_owned(),
            database_url: database_url.to_owned(),
            bootstraps,
            function_overrides: BTreeMap::new(),
            logs,
            retry_delays: RETRY_DELAYS.to_vec(),
        }
    }
}

/// The host-built bootstraps in `target_dir` (`target/debug`), by function logical id.
pub fn host_bootstraps(target_dir: &Path) -> BTreeMap<String, PathBuf> {
    zipster_infra::FUNCTIONS
        .iter()
        .map(|f| (f.logical_id().to_owned(), target_dir.join(f.binary)))
        .filter(|(_, path)| path.exists())
        .collect()
}

pub struct LocalStage {
    pub clients: StageClients,
    pub stack: LocalStack,
    pub wiring: Wiring,
    pub service: Arc<Service>,
    pub pool: MySqlPool,
    stop: watch::Sender<bool>,
    serving: JoinHandle<Result<()>>,
}

impl LocalStage {
    pub async fn start(options: Options) -> Result<Self> {
        let clients = StageClients::local(&options.endpoint).await;
        let (template, deployed) = plumbing::deployed(&clients, &options.stack_name).await?;
        let place = Place { region: LOCAL_REGION.to_owned(), account: LOCAL_ACCOUNT.to_owned() };
        let stack = stack::read(&template, &deployed, &place)?;
        let wiring = plumbing::wire(&clients, &stack).await?;
        for queue in wiring.watch_queues.values() {
            // Old notifications (an earlier run) would be mistaken for this run's.
            let _ = clients.sqs.purge_queue().queue_url(queue).send().await;
        }
        let mut overrides = moto_environment(&options.endpoint);
        overrides.insert("DATABASE_URL".to_owned(), options.database_url.clone());
        let runner = Runner {
            bootstraps: options.bootstraps,
            overrides,
            function_overrides: options.function_overrides,
            logs: options.logs,
            cloudwatch: true,
            retry_delays: options.retry_delays,
        };
        let service = Arc::new(Service::new(clients.clone(), &stack, wiring.trigger_queues.clone(), &runner).await?);
        let pool = open_database(&options.database_url).await?;
        let (stop, stopped) = watch::channel(false);
        let serving = tokio::spawn({
            let service = Arc::clone(&service);
            async move { service.run(stopped).await }
        });
        Ok(Self { clients, stack, wiring, service, pool, stop, serving })
    }

    pub fn bucket(&self, logical_id: &str) -> Result<&str> {
        self.stack.bucket(logical_id).with_context(|| format!("the stack has no {logical_id}"))
    }

    /// Where a file's journey starts: now, and the invocations recorded so far (a
    /// file is followed through the ones that come after).
    pub fn mark(&self) -> Mark {
        Mark { started: Instant::now(), deliveries: self.service.delivery_count() }
    }

    /// Uploads `file` as `key` to the input bucket and follows it through.
    pub async fn put(&self, file: &Path, key: &str, within: Duration) -> Result<Trace> {
        let input = self.bucket("InputBucket")?.to_owned();
        let mark = self.mark();
        let body = ByteStream::from_path(file).await.with_context(|| format!("reading {}", file.display()))?;
        self.clients
            .s3
            .put_object()
            .bucket(&input)
            .key(key)
            .content_type("text/csv")
            .body(body)
            .send()
            .await
            .map_err(self.clients.error("PutObject", format!("s3://{input}/{key}")))?;
        let uploaded = mark.started.elapsed();
        self.follow(key, &mark, uploaded, within).await
    }

    /// Follows `key` through the invocations after `mark`, as the local Lambda service
    /// recorded them: the transform's result (staged or refused), then the load's, or
    /// an invocation that failed every retry; gives up after `within`. What the topics
    /// received is collected to be shown, never read to decide.
    pub async fn follow(&self, key: &str, mark: &Mark, uploaded: Duration, within: Duration) -> Result<Trace> {
        let (input, staging, errors) =
            (self.bucket("InputBucket")?, self.bucket("StagingBucket")?, self.bucket("ErrorsBucket")?);
        let mut trace = Trace {
            key: key.to_owned(),
            input: format!("s3://{input}/{key}"),
            staged: format!("s3://{staging}/{key}"),
            rejects: format!("s3://{errors}/{key}.rejects.jsonl"),
            summary: format!("s3://{errors}/{key}.summary.json"),
            steps: vec![("upload".to_owned(), uploaded)],
            ..Trace::default()
        };
        let (mut transformed, mut loaded) = (None, None);
        loop {
            self.collect_notifications(&mut trace).await?;
            let since = self.service.deliveries_since(mark.deliveries);
            if transformed.is_none()
                && let Some((delivery, result)) = latest_result(&since, TRANSFORM.logical_id(), input, key)
            {
                transformed = Some(delivery.finished.saturating_duration_since(mark.started));
                trace.outcome = match result {
                    Some(object) if object["status"] == "refused" => Outcome::Refused,
                    Some(_) => trace.outcome,
                    None => Outcome::Failed,
                };
            }
            // The transform stages the file before it publishes its summary, so the load
            // can finish first: the file is through only once the transform answered too.
            if loaded.is_none()
                && transformed.is_some()
                && trace.outcome == Outcome::TimedOut
                && let Some((delivery, result)) = latest_result(&since, LOAD.logical_id(), staging, key)
            {
                loaded = Some(delivery.finished.saturating_duration_since(mark.started));
                trace.outcome = if result.is_some() { Outcome::Loaded } else { Outcome::Failed };
                trace.load = result;
            }
            if trace.outcome != Outcome::TimedOut || mark.started.elapsed() > within {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        // What the functions published before they answered is in the queues by now.
        self.collect_notifications(&mut trace).await?;
        if let Some(at) = transformed {
            trace.steps.push(("transform".to_owned(), at.saturating_sub(uploaded)));
        }
        if let Some(at) = loaded {
            trace.steps.push(("load".to_owned(), at.saturating_sub(transformed.unwrap_or(uploaded))));
        }
        trace.steps.push(("total".to_owned(), mark.started.elapsed()));
        trace.transform = self.object_json(errors, &format!("{key}.summary.json")).await.ok();
        Ok(trace)
    }

    async fn collect_notifications(&self, trace: &mut Trace) -> Result<()> {
        for (topic, queue) in &self.wiring.watch_queues {
            trace.notifications.extend(plumbing::drain(&self.clients, topic, queue, 0).await?);
        }
        Ok(())
    }

    pub async fn object_text(&self, bucket: &str, key: &str) -> Result<String> {
        let object = self
            .clients
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(self.clients.error("GetObject", format!("s3://{bucket}/{key}")))?;
        let bytes = object.body.collect().await.context("reading the object")?.into_bytes();
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    async fn object_json(&self, bucket: &str, key: &str) -> Result<Value> {
        Ok(serde_json::from_str(&self.object_text(bucket, key).await?)?)
    }

    pub async fn row_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM ZIPCODES").fetch_one(&self.pool).await?)
    }

    /// Stops polling and the bootstrap processes.
    pub async fn stop(self) -> Result<()> {
        self.stop.send_replace(true);
        let served = self.serving.await.context("the local Lambda service panicked")?;
        self.service.shutdown().await;
        self.pool.close().await;
        served
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Outcome {
    #[default]
    TimedOut,
    Loaded,
    /// The transform refused the whole file.
    Refused,
    /// An invocation failed every retry: the event is in the on-failure queue.
    Failed,
}

/// One file's way through the stage.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub key: String,
    pub input: String,
    pub staged: String,
    pub rejects: String,
    pub summary: String,
    pub outcome: Outcome,
    /// Step name → how long it took (`total` from the upload's start).
    pub steps: Vec<(String, Duration)>,
    pub notifications: Vec<Notification>,
    /// The transform's `<key>.summary.json`.
    pub transform: Option<Value>,
    /// The load's result for this key (`status`, `rows`, `inserted`…).
    pub load: Option<Value>,
}

impl Trace {
    pub fn step(&self, name: &str) -> Option<Duration> {
        self.steps.iter().find(|(n, _)| n == name).map(|(_, d)| *d)
    }

    /// The summary the CLI prints.
    pub fn render(&self, rows_in_database: i64) -> String {
        let count = |field: &str| {
            self.transform
                .as_ref()
                .and_then(|t| t.pointer(&format!("/summary/{field}")))
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        let mut out = String::new();
        out.push_str("\nNotifications the topics received:\n");
        for n in &self.notifications {
            out.push_str(&format!("  [{}] {}\n      {}\n", n.topic, n.subject, n.message.replace('\n', "\n      ")));
        }
        out.push_str(&format!("\n{} → {:?}\n", self.input, self.outcome));
        out.push_str(&format!(
            "  rows accepted {}, rejected {}, blank lines {}\n",
            count("accepted"),
            count("rejected"),
            count("blank")
        ));
        if let Some(load) = &self.load {
            let field = |name: &str| load.get(name).map_or_else(String::new, |v| v.to_string());
            out.push_str(&format!(
                "  load: {} ({} rows: {} inserted, {} updated, {} unchanged)\n",
                load.get("status").and_then(Value::as_str).unwrap_or("?"),
                field("rows"),
                field("inserted"),
                field("updated"),
                field("unchanged")
            ));
        }
        out.push_str(&format!("  rows in the database now: {rows_in_database}\n"));
        out.push_str(&format!(
            "  staged:  {}\n  rejects: {}\n  summary: {}\n",
            self.staged, self.rejects, self.summary
        ));
        let steps: Vec<String> =
            self.steps.iter().map(|(n, d)| format!("{n} {:.0} ms", d.as_secs_f64() * 1000.0)).collect();
        out.push_str(&format!("  time: {}\n", steps.join(", ")));
        out
    }
}

/// Where a file's journey starts (see [`LocalStage::mark`]).
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    pub started: Instant,
    /// How many invocations the service had recorded.
    pub deliveries: usize,
}

/// The newest finished invocation of `function` whose event names `bucket/key`, and
/// the function's own result for that object: `Some` when it succeeded (the object
/// in its `{"objects": [...]}` answer), `None` when it failed every retry.
pub fn latest_result<'a>(
    deliveries: &'a [Delivery],
    function: &str,
    bucket: &str,
    key: &str,
) -> Option<(&'a Delivery, Option<Value>)> {
    let names_object = |delivery: &Delivery| delivery.objects.iter().any(|(b, k)| b == bucket && k == key);
    let delivery = deliveries.iter().rev().find(|d| d.function == function && names_object(d))?;
    if !delivery.succeeded() {
        return Some((delivery, None));
    }
    let input = format!("s3://{bucket}/{key}");
    let payload = delivery.attempts.last().map(crate::function::Outcome::payload).unwrap_or_default();
    let object = payload["objects"].as_array().and_then(|objects| {
        objects.iter().find(|o| o["input"] == input.as_str() || (o["bucket"] == bucket && o["key"] == key)).cloned()
    });
    // A success that does not mention the object is not this object's answer yet.
    object.map(|object| (delivery, Some(object)))
}

/// A pool on the database `url` names, created first if needed.
pub async fn open_database(url: &str) -> Result<MySqlPool> {
    let options = zipster_db::connect::parse_url(url)?;
    Ok(zipster_db::connect::pool_creating_database(options, zipster_db::connect::Limits::default()).await?)
}

/// The variables that point a function's SDK at moto, with fake credentials.
pub fn moto_environment(endpoint: &str) -> BTreeMap<String, String> {
    [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_REGION", LOCAL_REGION),
        ("AWS_DEFAULT_REGION", LOCAL_REGION),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}
