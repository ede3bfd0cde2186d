//! The transform handler: for each input object an event names, find its feed by the
//! key ([`Catalog::route`]), stream it through [`zipster_core::transform`] with the
//! feed's contract and publish the results. Generic over [`Storage`] and
//! [`Notify`], so it is tested with in-memory fakes.
//!
//! Order matters: the rejects report and summary go to the errors bucket first and
//! the accepted rows to the staging bucket last, because the staging object is what
//! triggers the load. The input object is only ever read.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;
use zipster_aws::config::{ConfigError, Env};
use zipster_aws::handler::{ErrorKind, ResultError, SeveralObjects, for_each_object, objects_result, publish_summary};
use zipster_aws::{Metadata, Notify, Storage, StorageError, staged};
use zipster_core::event::{ObjectRef, Overrides, object_refs};
use zipster_core::feeds::Feed;
use zipster_core::{FileError, Limits, Summary};
use zipster_report::{Builder, Counts, Outcome as PageOutcome, Page};

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
    /// The feed of keys under no feed's prefix (`DEFAULT_FEED`, from stages.toml);
    /// without one, such a key is refused.
    pub default_feed: Option<String>,
    /// The region (`AWS_REGION`, set by Lambda), for the console links in messages.
    pub region: Option<String>,
}

impl Config {
    /// Reads `STAGING_BUCKET`, `ERRORS_BUCKET`, `TRANSFORM_TOPIC_ARN`, and optionally
    /// `ALERTS_TOPIC_ARN`, `MAX_LINE_BYTES`, `MAX_INPUT_BYTES`, `WORK_DIR`, `DEFAULT_FEED`.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(var);
        let defaults = Limits::default();
        let max_line_bytes = env.bytes("MAX_LINE_BYTES", defaults.max_line_bytes as u64)?;
        Ok(Self {
            staging_bucket: env.required("STAGING_BUCKET")?,
            errors_bucket: env.required("ERRORS_BUCKET")?,
            topic_arn: env.required("TRANSFORM_TOPIC_ARN")?,
            alerts_topic_arn: env.optional("ALERTS_TOPIC_ARN"),
            limits: Limits {
                max_line_bytes: usize::try_from(max_line_bytes).unwrap_or(usize::MAX),
                max_input_bytes: env.bytes("MAX_INPUT_BYTES", defaults.max_input_bytes)?,
            },
            work_dir: env.raw("WORK_DIR").map_or_else(std::env::temp_dir, PathBuf::from),
            default_feed: env.optional("DEFAULT_FEED"),
            region: env.optional("AWS_REGION"),
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
    #[error(transparent)]
    Result(#[from] ResultError),
    #[error(transparent)]
    SeveralObjects(#[from] SeveralObjects<HandlerError>),
}

impl ErrorKind for HandlerError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::Event(error) => error.error_type(),
            Self::Storage(error) => error.error_type(),
            Self::Scratch { .. } => "ScratchError",
            Self::Result(error) => error.error_type(),
            Self::SeveralObjects(several) => several.error_type(),
        }
    }
}

/// What became of one input object.
#[derive(Debug, Serialize)]
pub struct Outcome {
    pub input: String,
    pub status: Status,
    pub summary: Summary,
    pub outputs: Outputs,
}

/// The objects a transform wrote, as `s3://` URLs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outputs {
    /// The accepted rows; `None` when the file was refused.
    pub staged: Option<String>,
    /// One line per rejected row.
    pub rejects: String,
    /// The summary report (`<key>.summary.json`).
    pub summary: String,
    /// The data-quality page (`<key>.report.html`), and where the S3 console shows it.
    pub page: String,
    pub page_console: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Accepted rows are staged (possibly with some rows rejected).
    Staged,
    /// The whole file was refused; nothing was staged.
    Refused,
    /// Read through, but more rows were rejected than the feed's thresholds allow;
    /// the reports are written, nothing was staged.
    Halted,
}

pub async fn handle<S: Storage, N: Notify>(
    event: Value,
    storage: &S,
    notify: &N,
    config: &Config,
) -> Result<Value, HandlerError> {
    let objects = object_refs(&event)?;
    let overrides = zipster_core::event::overrides(&event)?;
    let outcomes = for_each_object(&objects, async |object| {
        let outcome = transform_object(object, overrides, storage, notify, config).await;
        if let Err(error) = &outcome {
            tracing::error!(bucket = %object.bucket, key = %object.key, %error, "transform failed");
            // The failed file's feed, found again by the rule that routed it (a prefix
            // scan), so that the feed's owners hear of it too.
            let feed = zipster_core::feeds::route_builtin(&object.key, config.default_feed.as_deref()).ok();
            let message = format!("transform failed for s3://{}/{}: {error}", object.bucket, object.key);
            alert(notify, config, &message, feed.map(|f| f.name.as_str())).await;
        }
        outcome
    })
    .await?;
    Ok(objects_result(&outcomes)?)
}

/// The summary report in the errors bucket.
#[derive(Serialize)]
struct Report<'a> {
    input: &'a str,
    version_id: Option<&'a str>,
    /// The feed and the SHA-256 of the contract the file was transformed with (absent
    /// when no feed claimed the key).
    feed: Option<&'a str>,
    contract: Option<&'a str>,
    status: Status,
    summary: &'a Summary,
}

async fn transform_object<S: Storage, N: Notify>(
    object: &ObjectRef,
    overrides: Overrides,
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
    let (input_path, accepted_path, rejects_path, summary_path, page_path) = (
        dir.join("input.csv"),
        dir.join("accepted.csv"),
        dir.join("rejects.jsonl"),
        dir.join("summary.json"),
        dir.join("report.html"),
    );

    let refused = |error: String, error_type: &str| {
        std::fs::write(&rejects_path, b"").map_err(|source| scratch_error(&dir, source))?;
        Ok::<_, HandlerError>((
            Status::Refused,
            Summary { error: Some(error), error_type: Some(error_type.to_owned()), ..Summary::default() },
            Builder::new(&[], zipster_report::DEFAULT_MAX_LINES),
        ))
    };
    // The catalog is compiled in and checked by the tests: an error here is a bad build,
    // reported per file like any refusal rather than crashing every invocation.
    let feed =
        zipster_core::feeds::route_builtin(&object.key, config.default_feed.as_deref()).map_err(|e| e.to_string());
    let (status, summary, page) = match &feed {
        Err(why) => refused(why.clone(), "unrouted-key")?,
        Ok(feed) => match storage.download(object, &input_path, config.limits.max_input_bytes).await {
            Ok(_) => run_transform(feed, &input_path, &accepted_path, &rejects_path, config.limits).await?,
            Err(StorageError::TooLarge { size, limit, .. }) => refused(
                format!("the file is {size} bytes, over the limit of {limit} bytes for one invocation"),
                "source-error",
            )?,
            Err(e) => return Err(e.into()),
        },
    };
    let feed = feed.ok();
    let report = Report {
        input: &input,
        version_id: object.version_id.as_deref(),
        feed: feed.map(|f| f.name.as_str()),
        contract: feed.map(|f| f.hash.as_str()),
        status,
        summary: &summary,
    };
    // Through a `Value`, whose keys are sorted, as the report has always been written.
    let report = zipster_aws::handler::to_json("summary report", &report)?;
    let report = serde_json::to_vec_pretty(&report).map_err(|source| ResultError { what: "summary report", source })?;
    std::fs::write(&summary_path, report).map_err(|source| scratch_error(&dir, source))?;
    let page_key = format!("{}.report.html", object.key);
    let rejects_key = format!("{}.rejects.jsonl", object.key);
    let rejects_link = console_link(config, &config.errors_bucket, &rejects_key);
    let reason = summary.error.as_deref().unwrap_or_default();
    let page = page.render(&Page {
        key: &object.key,
        feed: feed.map_or("(none)", |f| f.name.as_str()),
        contract_hash: feed.map_or("", |f| f.hash.as_str()),
        time: &zipster_report::rfc3339_utc(std::time::SystemTime::now()),
        outcome: match status {
            Status::Staged => PageOutcome::Staged,
            Status::Refused => PageOutcome::Refused { reason },
            Status::Halted => PageOutcome::Halted { reason },
        },
        counts: Counts {
            rows_read: summary.lines_read.saturating_sub(1),
            accepted: summary.accepted,
            rejected: summary.rejected,
            blank: summary.blank,
        },
        rejects_link: Some(&rejects_link),
    });
    std::fs::write(&page_path, page).map_err(|source| scratch_error(&dir, source))?;

    let summary_key = format!("{}.summary.json", object.key);
    storage
        .upload(&config.errors_bucket, &rejects_key, &rejects_path, "application/x-ndjson", &Metadata::new())
        .await?;
    storage.upload(&config.errors_bucket, &page_key, &page_path, "text/html; charset=utf-8", &Metadata::new()).await?;
    storage.upload(&config.errors_bucket, &summary_key, &summary_path, "application/json", &Metadata::new()).await?;
    let mut outputs = Outputs {
        staged: None,
        rejects: format!("s3://{}/{rejects_key}", config.errors_bucket),
        summary: format!("s3://{}/{summary_key}", config.errors_bucket),
        page: format!("s3://{}/{page_key}", config.errors_bucket),
        page_console: console_link(config, &config.errors_bucket, &page_key),
    };
    if status == Status::Staged {
        // The load reads the contract and any override from the staged object itself.
        let metadata = feed.map(|f| staged::metadata(&f.hash, overrides.allow_shrink)).unwrap_or_default();
        storage.upload(&config.staging_bucket, &object.key, &accepted_path, "text/csv", &metadata).await?;
        outputs.staged = Some(format!("s3://{}/{}", config.staging_bucket, object.key));
    }

    let outcome = Outcome { input, status, summary, outputs };
    let message = headline(&outcome);
    tracing::info!(input = %outcome.input, status = ?outcome.status, accepted = outcome.summary.accepted,
        rejected = outcome.summary.rejected, blank = outcome.summary.blank, "transformed");
    // A key no feed claims has no feed: its messages reach only the stage-wide subscribers.
    let feed_name = feed.map(|f| f.name.as_str());
    publish_summary(notify, &config.topic_arn, "Zipster transform", &message, feed_name).await;
    if status != Status::Staged {
        alert(notify, config, &message, feed_name).await;
    }
    Ok(outcome)
}

/// The CPU-bound pass runs on a blocking thread so the runtime stays responsive.
async fn run_transform(
    feed: &'static Feed,
    input: &Path,
    accepted: &Path,
    rejects: &Path,
    limits: Limits,
) -> Result<(Status, Summary, Builder), HandlerError> {
    let (input, accepted, rejects) = (input.to_path_buf(), accepted.to_path_buf(), rejects.to_path_buf());
    let dir = input.parent().map(Path::to_path_buf).unwrap_or_default();
    let result = tokio::task::spawn_blocking(move || -> std::io::Result<(Status, Summary, Builder)> {
        let reader = std::fs::File::open(&input)?;
        let accepted = std::fs::File::create(&accepted)?;
        let rejects = std::fs::File::create(&rejects)?;
        let lines = zipster_report::DEFAULT_MAX_LINES;
        let (result, page) =
            zipster_core::transform_with_report(&feed.contract, reader, accepted, rejects, &limits, lines);
        Ok(match result {
            Ok(summary) => (Status::Staged, summary, page),
            Err(failure) if matches!(failure.error, FileError::Halted(_)) => (Status::Halted, failure.summary, page),
            Err(failure) => (Status::Refused, failure.summary, page),
        })
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
    let what = match (&outcome.status, &s.error) {
        (Status::Refused, error) => format!(
            "Zipster transform REFUSED {}: {}. Nothing was staged. Report: {}",
            outcome.input,
            error.as_deref().unwrap_or("unknown error"),
            outcome.outputs.summary,
        ),
        (Status::Halted, error) => format!(
            "Zipster transform HALTED {}: {}. Rejects: {}. Report: {}",
            outcome.input,
            error.as_deref().unwrap_or("unknown error"),
            outcome.outputs.rejects,
            outcome.outputs.summary,
        ),
        (Status::Staged, _) => format!(
            "Zipster transform of {}: {} rows accepted, {} rejected, {} blank lines skipped. Staged: {}. Rejects: {}",
            outcome.input,
            s.accepted,
            s.rejected,
            s.blank,
            outcome.outputs.staged.as_deref().unwrap_or("-"),
            outcome.outputs.rejects,
        ),
    };
    format!("{what}. Page: {} ({})", outcome.outputs.page, outcome.outputs.page_console)
}

/// The S3 console's page for an object (the buckets are private: a signed-in person
/// opens it there, or downloads it).
fn console_link(config: &Config, bucket: &str, key: &str) -> String {
    let key = percent_encoding::utf8_percent_encode(key, percent_encoding::NON_ALPHANUMERIC);
    let region = config.region.as_deref().unwrap_or("us-east-1");
    format!("https://{region}.console.aws.amazon.com/s3/object/{bucket}?region={region}&prefix={key}")
}

/// Best effort, like a summary: a refused file's outputs are already durable, and a
/// failed transform fails anyway; a failure to publish is logged and counted.
async fn alert<N: Notify>(notify: &N, config: &Config, message: &str, feed: Option<&str>) {
    if let Some(topic) = &config.alerts_topic_arn {
        publish_summary(notify, topic, "Zipster ALERT: transform", message, feed).await;
    }
}
