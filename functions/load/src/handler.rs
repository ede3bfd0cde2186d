//! One invocation: every object the event names is loaded (or found already loaded),
//! each reported on the load topic; any failure is reported on the alerts topic and
//! fails the invocation. Staged objects are only ever read.

use std::io::BufReader;

use serde::Serialize;
use serde_json::{Value, json};
use sqlx::MySqlPool;
use tracing::{error, info, warn};
use zipster_aws::{Notify, Storage, StorageError};
use zipster_core::event::{EventError, ObjectRef, object_refs};
use zipster_db::DbError;
use zipster_db::load::{LoadOutcome, ObjectVersion, load_csv};

use crate::Config;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("scratch file for s3://{bucket}/{key}: {message}")]
    Scratch { bucket: String, key: String, message: String },
    #[error("s3://{bucket}/{key}: {source}")]
    Database {
        bucket: String,
        key: String,
        #[source]
        source: DbError,
    },
    #[error("{failed} of {total} objects failed to load: {first}")]
    Some { failed: usize, total: usize, first: Box<LoadError> },
}

impl LoadError {
    /// Lambda's `errorType`: what kind of failure, for dead-letter records and metric filters.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Event(_) => "InvalidEvent",
            Self::Storage(_) => "StorageError",
            Self::Scratch { .. } => "ScratchError",
            Self::Database { .. } => "DatabaseError",
            Self::Some { first, .. } => first.error_type(),
        }
    }
}

/// What one object's load did, as published and returned.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectResult {
    pub bucket: String,
    pub key: String,
    pub etag: String,
    #[serde(flatten)]
    pub outcome: LoadOutcome,
}

impl ObjectResult {
    /// The load topic's one line.
    pub fn summary_line(&self) -> String {
        format!("s3://{}/{} (ETag {}): {}", self.bucket, self.key, self.etag, self.outcome)
    }
}

/// Downloads `obj` (the exact version the event names) to a scratch file and loads it.
pub async fn load_object<S: Storage>(
    storage: &S,
    pool: &MySqlPool,
    obj: &ObjectRef,
    max_bytes: u64,
) -> Result<ObjectResult, LoadError> {
    let scratch = |e: std::io::Error| LoadError::Scratch {
        bucket: obj.bucket.clone(),
        key: obj.key.clone(),
        message: e.to_string(),
    };
    let file = tempfile::NamedTempFile::new().map_err(scratch)?;
    let info = storage.download(obj, file.path(), max_bytes).await?;
    let object = ObjectVersion {
        bucket: obj.bucket.clone(),
        key: obj.key.clone(),
        // What was downloaded is what is recorded, whatever the event claimed.
        etag: info.etag,
        version_id: info.version_id.or_else(|| obj.version_id.clone()),
        sequencer: obj.sequencer.clone(),
    };
    let reader = BufReader::new(file.reopen().map_err(scratch)?);
    let outcome = load_csv(pool, &object, reader).await.map_err(|source| LoadError::Database {
        bucket: obj.bucket.clone(),
        key: obj.key.clone(),
        source,
    })?;
    Ok(ObjectResult { bucket: object.bucket, key: object.key, etag: object.etag, outcome })
}

/// The handler with what it needs, built once per container.
pub struct Loader<S, N> {
    pub storage: S,
    pub notify: N,
    pub pool: MySqlPool,
    pub config: Config,
}

impl<S: Storage, N: Notify> Loader<S, N> {
    /// Loads every object in `event`; returns `{"objects": [...]}` or, after alerting,
    /// the first failure (with the count) so that Lambda retries the event. Objects
    /// that did load are "already loaded" on the retry.
    pub async fn handle(&self, event: &Value) -> Result<Value, LoadError> {
        let refs = match object_refs(event) {
            Ok(refs) => refs,
            Err(e) => {
                let err = LoadError::from(e);
                self.alert("event", &err).await;
                return Err(err);
            }
        };
        let total = refs.len();
        let mut results = Vec::with_capacity(total);
        let mut failures = Vec::new();
        for obj in &refs {
            match self.load_and_report(obj).await {
                Ok(result) => results.push(result),
                Err(err) => {
                    error!(bucket = %obj.bucket, key = %obj.key, error = %err, "load failed");
                    self.alert(&format!("s3://{}/{}", obj.bucket, obj.key), &err).await;
                    failures.push(err);
                }
            }
        }
        match failures.len() {
            0 => Ok(json!({ "objects": results })),
            1 if total == 1 => Err(failures.remove(0)),
            failed => Err(LoadError::Some { failed, total, first: Box::new(failures.swap_remove(0)) }),
        }
    }

    async fn load_and_report(&self, obj: &ObjectRef) -> Result<ObjectResult, LoadError> {
        let result = load_object(&self.storage, &self.pool, obj, self.config.max_object_bytes).await?;
        let line = result.summary_line();
        info!(bucket = %result.bucket, key = %result.key, etag = %result.etag, outcome = %result.outcome, "load done");
        // The rows are committed: a summary that cannot be published must not fail the
        // invocation (its retry would only say "already loaded"). Logged and counted,
        // as the transform does.
        if let Err(error) = self.notify.publish(&self.config.load_topic_arn, &subject("load", &result.key), &line).await
        {
            warn!(%error, counter = "publish_failures", "summary not published");
        }
        Ok(result)
    }

    /// Best effort: a failure to alert is logged, and the invocation fails anyway.
    async fn alert(&self, what: &str, err: &LoadError) {
        let message = format!("load of {what} FAILED: {err}");
        if let Err(e) =
            self.notify.publish(&self.config.alerts_topic_arn, &subject("load FAILED", what), &message).await
        {
            error!(error = %e, "could not publish the alert");
        }
    }
}

fn subject(what: &str, name: &str) -> String {
    let name = name.rsplit('/').next().unwrap_or(name);
    format!("Zipster {what}: {name}")
}
