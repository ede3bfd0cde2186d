//! The transform handler: for each input object an event names, stream it through
//! [`zipster_core::transform`] and publish the results. Generic over [`Storage`] and
//! [`Notify`], so it is tested with in-memory fakes.
//!
//! Order matters: the rejects report and summary go to the errors bucket first and
//! the accepted rows to the staging bucket last, because the staging object is what
//! triggers the load. The input object is only ever read.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Value, json};
use zipster_aws::{Notify, Storage, StorageError};
use zipster_core::event::{ObjectRef, object_refs};
use zipster_core::{Limits, Summary};

/// Where outputs go, read from the function's environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub staging_bucket: String,
    pub errors_bucket: String,
    pub topic_arn: String,
    pub alerts_topic_arn: Option<String>,
    pub limits: Limits,
    /// Scratch space for the input and outputs (Lambda's writable `/tmp`).
    pub work_dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} must be a whole number of bytes, got {value:?}")]
    NotANumber { name: &'static str, value: String },
}

impl Config {
    /// Reads `STAGING_BUCKET`, `ERRORS_BUCKET`, `TRANSFORM_TOPIC_ARN`, and optionally
    /// `ALERTS_TOPIC_ARN`, `MAX_LINE_BYTES`, `MAX_INPUT_BYTES`, `WORK_DIR`.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| var(name).filter(|v| !v.is_empty()).ok_or(ConfigError::Missing(name));
        let number = |name: &'static str, default: u64| match var(name) {
            Some(value) => value.trim().parse::<u64>().map_err(|_| ConfigError::NotANumber { name, value }),
            None => Ok(default),
        };
        let defaults = Limits::default();
        let max_line_bytes = number("MAX_LINE_BYTES", defaults.max_line_bytes as u64)?;
        Ok(Self {
            staging_bucket: required("STAGING_BUCKET")?,
            errors_bucket: required("ERRORS_BUCKET")?,
            topic_arn: required("TRANSFORM_TOPIC_ARN")?,
            alerts_topic_arn: var("ALERTS_TOPIC_ARN").filter(|v| !v.is_empty()),
            limits: Limits {
                max_line_bytes: usize::try_from(max_line_bytes).unwrap_or(usize::MAX),
                max_input_bytes: number("MAX_INPUT_BYTES", defaults.max_input_bytes)?,
            },
            work_dir: var("WORK_DIR").map_or_else(std::env::temp_dir, PathBuf::from),
        })
    }
}

/// Errors that make the invocation fail, so that Lambda retries it and finally
/// hands it to the on-failure destination. A bad *file* is not one of them: it is
/// reported and the invocation succeeds, since retrying cannot fix it.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("event: {0}")]
    Event(#[from] zipster_core::event::EventError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("scratch files in {dir}: {source}")]
    Scratch { dir: String, source: std::io::Error },
    #[error("{failed} of {total} objects failed; first: {first}")]
    Objects { failed: usize, total: usize, first: Box<HandlerError> },
}

impl HandlerError {
    /// Lambda's `errorType`: what kind of failure, for dead-letter records and metric filters.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Event(_) => "InvalidEvent",
            Self::Storage(_) => "StorageError",
            Self::Scratch { .. } => "ScratchError",
            Self::Objects { first, .. } => first.error_type(),
        }
    }
}

/// What became of one input object.
#[derive(Debug, Serialize)]
pub struct Outcome {
    pub input: String,
    pub status: Status,
    pub summary: Summary,
    pub outputs: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Accepted rows are staged (possibly with some rows rejected).
    Staged,
    /// The whole file was refused; nothing was staged.
    Refused,
}

pub async fn handle<S: Storage, N: Notify>(
    event: Value,
    storage: &S,
    notify: &N,
    config: &Config,
) -> Result<Value, HandlerError> {
    let objects = object_refs(&event)?;
    let mut outcomes = Vec::with_capacity(objects.len());
    let mut failures = Vec::new();
    for object in &objects {
        match transform_object(object, storage, notify, config).await {
            Ok(outcome) => outcomes.push(outcome),
            Err(error) => {
                tracing::error!(bucket = %object.bucket, key = %object.key, %error, "transform failed");
                alert(notify, config, &format!("transform failed for s3://{}/{}: {error}", object.bucket, object.key))
                    .await;
                failures.push(error);
            }
        }
    }
    match failures.len() {
        0 => Ok(json!({ "objects": outcomes })),
        1 if objects.len() == 1 => Err(failures.remove(0)),
        failed => Err(HandlerError::Objects { failed, total: objects.len(), first: Box::new(failures.swap_remove(0)) }),
    }
}

async fn transform_object<S: Storage, N: Notify>(
    object: &ObjectRef,
    storage: &S,
    notify: &N,
    config: &Config,
) -> Result<Outcome, HandlerError> {
    let scratch = tempfile::Builder::new()
        .prefix("zipster-transform-")
        .tempdir_in(&config.work_dir)
        .map_err(|source| HandlerError::Scratch { dir: config.work_dir.display().to_string(), source })?;
    let dir = scratch.path().to_path_buf();
    let input = format!("s3://{}/{}", object.bucket, object.key);
    let (input_path, accepted_path, rejects_path, summary_path) =
        (dir.join("input.csv"), dir.join("accepted.csv"), dir.join("rejects.jsonl"), dir.join("summary.json"));

    let transformed = match storage.download(object, &input_path, config.limits.max_input_bytes).await {
        Ok(_) => run_transform(&input_path, &accepted_path, &rejects_path, config.limits).await?,
        Err(StorageError::TooLarge { size, limit, .. }) => {
            std::fs::write(&rejects_path, b"").map_err(|source| scratch_error(&dir, source))?;
            Err(Summary {
                error: Some(format!("the file is {size} bytes, over the limit of {limit} bytes for one invocation")),
                ..Summary::default()
            })
        }
        Err(e) => return Err(e.into()),
    };
    let (status, summary) = match transformed {
        Ok(summary) => (Status::Staged, summary),
        Err(summary) => (Status::Refused, summary),
    };
    let report = json!({ "input": input, "version_id": object.version_id, "status": status, "summary": summary });
    let report = serde_json::to_vec_pretty(&report).unwrap_or_default();
    std::fs::write(&summary_path, report).map_err(|source| scratch_error(&dir, source))?;

    let rejects_key = format!("{}.rejects.jsonl", object.key);
    let summary_key = format!("{}.summary.json", object.key);
    storage.upload(&config.errors_bucket, &rejects_key, &rejects_path, "application/x-ndjson").await?;
    storage.upload(&config.errors_bucket, &summary_key, &summary_path, "application/json").await?;
    let mut outputs = vec![
        format!("s3://{}/{rejects_key}", config.errors_bucket),
        format!("s3://{}/{summary_key}", config.errors_bucket),
    ];
    if status == Status::Staged {
        storage.upload(&config.staging_bucket, &object.key, &accepted_path, "text/csv").await?;
        outputs.insert(0, format!("s3://{}/{}", config.staging_bucket, object.key));
    }

    let outcome = Outcome { input, status, summary, outputs };
    let message = headline(&outcome);
    tracing::info!(input = %outcome.input, status = ?outcome.status, accepted = outcome.summary.accepted,
        rejected = outcome.summary.rejected, blank = outcome.summary.blank, "transformed");
    publish(notify, &config.topic_arn, "Zipster transform", &message).await;
    if status == Status::Refused {
        alert(notify, config, &message).await;
    }
    Ok(outcome)
}

/// The CPU-bound pass runs on a blocking thread so the runtime stays responsive.
/// `Err` carries the summary of a refused file.
async fn run_transform(
    input: &Path,
    accepted: &Path,
    rejects: &Path,
    limits: Limits,
) -> Result<Result<Summary, Summary>, HandlerError> {
    let (input, accepted, rejects) = (input.to_path_buf(), accepted.to_path_buf(), rejects.to_path_buf());
    let dir = input.parent().map(Path::to_path_buf).unwrap_or_default();
    let result = tokio::task::spawn_blocking(move || -> std::io::Result<Result<Summary, Summary>> {
        let reader = std::fs::File::open(&input)?;
        let accepted = std::fs::File::create(&accepted)?;
        let rejects = std::fs::File::create(&rejects)?;
        Ok(zipster_core::transform(reader, accepted, rejects, &limits).map_err(|failure| failure.summary))
    })
    .await
    .map_err(|join| scratch_error(&dir, std::io::Error::other(join.to_string())))?;
    result.map_err(|source| scratch_error(&dir, source))
}

fn scratch_error(dir: &Path, source: std::io::Error) -> HandlerError {
    HandlerError::Scratch { dir: dir.display().to_string(), source }
}

/// The one-paragraph message subscribers (email, SMS) receive.
pub fn headline(outcome: &Outcome) -> String {
    let s = &outcome.summary;
    match (&outcome.status, &s.error) {
        (Status::Refused, error) => format!(
            "Zipster transform REFUSED {}: {}. Nothing was staged. Report: {}",
            outcome.input,
            error.as_deref().unwrap_or("unknown error"),
            outcome.outputs.last().map_or("-", String::as_str),
        ),
        (Status::Staged, _) => format!(
            "Zipster transform of {}: {} rows accepted, {} rejected, {} blank lines skipped. Staged: {}. Rejects: {}",
            outcome.input,
            s.accepted,
            s.rejected,
            s.blank,
            outcome.outputs.first().map_or("-", String::as_str),
            outcome.outputs.get(1).map_or("-", String::as_str),
        ),
    }
}

/// A summary that cannot be published must not undo a transform whose outputs are
/// already durable: the failure is logged (and counted by the log metric) instead.
async fn publish<N: Notify>(notify: &N, topic: &str, subject: &str, message: &str) {
    if let Err(error) = notify.publish(topic, subject, message).await {
        tracing::warn!(%error, counter = "publish_failures", "summary not published");
    }
}

async fn alert<N: Notify>(notify: &N, config: &Config, message: &str) {
    if let Some(topic) = &config.alerts_topic_arn {
        publish(notify, topic, "Zipster ALERT: transform", message).await;
    }
}
