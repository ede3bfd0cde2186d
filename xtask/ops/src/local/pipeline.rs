//! The local stage assembled: the deployed stack read back, its plumbing wired, the
//! local Lambda service running; then files sent through it and followed from the
//! upload to the rows in the database.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use aws_sdk_s3::primitives::ByteStream;
use serde_json::Value;
use sqlx::MySqlPool;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::aws::{self as local_aws, Clients, sdk_error};
use super::function::LogSink;
use super::plumbing::{self, Notification, Wiring};
use super::service::{RETRY_DELAYS, Runner, Service};
use super::stack::{self, LocalStack, Place};

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
    [("TransformFunction", "transform"), ("LoadFunction", "load"), ("MigrateFunction", "migrate")]
        .into_iter()
        .map(|(id, bin)| (id.to_owned(), target_dir.join(bin)))
        .filter(|(_, path)| path.exists())
        .collect()
}

pub struct LocalStage {
    pub clients: Clients,
    pub stack: LocalStack,
    pub wiring: Wiring,
    pub service: Arc<Service>,
    pub pool: MySqlPool,
    stop: watch::Sender<bool>,
    serving: JoinHandle<Result<()>>,
}

impl LocalStage {
    pub async fn start(options: Options) -> Result<Self> {
        let clients = Clients::new(&options.endpoint).await;
        let (template, deployed) = plumbing::deployed(&clients, &options.stack_name).await?;
        let place = Place { region: local_aws::REGION.to_owned(), account: local_aws::ACCOUNT.to_owned() };
        let stack = stack::read(&template, &deployed, &place)?;
        let wiring = plumbing::wire(&clients, &stack).await?;
        for queue in wiring.watch_queues.values() {
            // Old notifications (an earlier run) would be mistaken for this run's.
            let _ = clients.sqs.purge_queue().queue_url(queue).send().await;
        }
        let mut overrides: BTreeMap<String, String> =
            local_aws::function_overrides(&options.endpoint).into_iter().collect();
        overrides.insert("DATABASE_URL".to_owned(), options.database_url.clone());
        let runner = Runner {
            bootstraps: options.bootstraps,
            overrides,
            function_overrides: options.function_overrides,
            logs: options.logs,
            retry_delays: options.retry_delays,
        };
        let service = Arc::new(Service::new(clients.clone(), &stack, wiring.trigger_queues.clone(), &runner).await?);
        let pool = zipster_db::connect::pool(
            super::mariadb::prepare(&options.database_url).await?,
            zipster_db::connect::Limits::default(),
        )
        .await?;
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

    /// Uploads `file` as `key` to the input bucket and follows it through.
    pub async fn put(&self, file: &Path, key: &str, within: Duration) -> Result<Trace> {
        let input = self.bucket("InputBucket")?.to_owned();
        let started = Instant::now();
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
            .map_err(|e| anyhow!("PutObject s3://{input}/{key}: {}", sdk_error(e)))?;
        let uploaded = started.elapsed();
        self.follow(key, started, uploaded, within).await
    }

    /// Reads the topics' notifications until the key's load is reported, its file
    /// refused, an alarm raised, or `within` has passed.
    pub async fn follow(&self, key: &str, started: Instant, uploaded: Duration, within: Duration) -> Result<Trace> {
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
        // The transform publishes its summary after staging, so the load's line can
        // arrive first: the file is through only when both (or a refusal, or an alarm) are seen.
        let (mut transformed, mut loaded, mut alarmed) = (None, None, false);
        loop {
            for (topic, queue) in &self.wiring.watch_queues {
                for notification in plumbing::drain(&self.clients, topic, queue, 0).await? {
                    let message = &notification.message;
                    // The transform's failure alerts name the input too: only its summary counts.
                    if transformed.is_none() && topic == "TransformTopic" && message.contains(&trace.input) {
                        transformed = Some(started.elapsed());
                        if message.contains("REFUSED") {
                            trace.outcome = Outcome::Refused;
                        }
                    } else if loaded.is_none() && message.starts_with(&format!("{} (ETag", trace.staged)) {
                        loaded = Some(started.elapsed());
                        trace.load = Some(message.clone());
                        trace.outcome = Outcome::Loaded;
                    } else if notification.subject.starts_with("ALARM") {
                        alarmed = true;
                        trace.outcome = Outcome::Failed;
                    }
                    trace.notifications.push(notification);
                }
            }
            // An alarm means a function gave up on its retries: nothing more will come.
            let through = trace.outcome == Outcome::Refused || alarmed || (transformed.is_some() && loaded.is_some());
            if through || started.elapsed() > within {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        if let Some(at) = transformed {
            trace.steps.push(("transform".to_owned(), at.saturating_sub(uploaded)));
        }
        if let Some(at) = loaded {
            trace.steps.push(("load".to_owned(), at.saturating_sub(transformed.unwrap_or(uploaded))));
        }
        trace.steps.push(("total".to_owned(), started.elapsed()));
        trace.transform = self.object_json(errors, &format!("{key}.summary.json")).await.ok();
        Ok(trace)
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
            .map_err(|e| anyhow!("GetObject s3://{bucket}/{key}: {}", sdk_error(e)))?;
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
    /// The load topic's line for this key.
    pub load: Option<String>,
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
            out.push_str(&format!("  load: {load}\n"));
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
