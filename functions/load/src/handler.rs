//! One invocation: every object the event names is loaded (or found already loaded),
//! each reported on the load topic; any failure is reported on the alerts topic and
//! fails the invocation. Staged objects are only ever read.

use serde_json::Value;
use sqlx::MySqlPool;
use tracing::{error, info};
use zipster_aws::handler::{ErrorKind, ResultError, SeveralObjects, for_each_object, objects_result, publish_summary};
use zipster_aws::scratch::{ObjectError, read_object};
use zipster_aws::{Notify, Storage, staged};
use zipster_core::event::{EventError, ObjectRef, object_refs};
use zipster_db::DbError;
use zipster_db::load::{Downloaded, ObjectResult, Overrides, Target, load_object};

use crate::Config;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Event(#[from] EventError),
    /// Downloading the object, its scratch file, or the database.
    #[error(transparent)]
    Object(#[from] ObjectError<DbError>),
    #[error(transparent)]
    Result(#[from] ResultError),
    #[error("{} of {} objects failed to load: {}", .0.failed, .0.total, .0.first)]
    SeveralObjects(#[from] SeveralObjects<LoadError>),
    /// The staged key belongs to no feed of this build (the transform routed it, so a
    /// stage whose functions disagree on the feeds).
    #[error("s3://{bucket}/{key}: {reason}")]
    Route { bucket: String, key: String, reason: String },
}

impl ErrorKind for LoadError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::Event(error) => error.error_type(),
            Self::Object(error) => error.error_type(),
            Self::Result(error) => error.error_type(),
            Self::SeveralObjects(several) => several.error_type(),
            Self::Route { .. } => "InvalidEvent",
        }
    }
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
                self.alert("event", &err, None).await;
                return Err(err);
            }
        };
        let results = for_each_object(&refs, async |obj| {
            let result = self.load_and_report(obj).await;
            if let Err(err) = &result {
                error!(bucket = %obj.bucket, key = %obj.key, error = %err, "load failed");
                // The file's feed, so that its owners hear of the failure; a key no feed
                // claims has none, and only the stage-wide subscribers do.
                let feed = zipster_core::feeds::route_builtin(&obj.key, self.config.default_feed.as_deref()).ok();
                self.alert(&format!("s3://{}/{}", obj.bucket, obj.key), err, feed.map(|f| f.name.as_str())).await;
            }
            result
        })
        .await?;
        Ok(objects_result(&results)?)
    }

    async fn load_and_report(&self, obj: &ObjectRef) -> Result<ObjectResult, LoadError> {
        // The staged object keeps the input's key: its feed is found as the transform found it.
        let feed = zipster_core::feeds::route_builtin(&obj.key, self.config.default_feed.as_deref()).map_err(|e| {
            LoadError::Route { bucket: obj.bucket.clone(), key: obj.key.clone(), reason: e.to_string() }
        })?;
        let target = Target::of(feed);
        let result = read_object(&self.storage, obj, self.config.max_object_bytes, async |info, file| {
            let downloaded = Downloaded {
                contract_sha256: staged::contract_sha256(&info.metadata).map(str::to_owned),
                overrides: Overrides { allow_shrink: staged::allow_shrink(&info.metadata) },
                etag: info.etag,
                version_id: info.version_id,
            };
            load_object(&self.pool, &target, obj, downloaded, file).await
        })
        .await?;
        let line = result.summary_line();
        // `bucket`, `key`, `version_id` and `outcome` are read back by `cargo xtask put` and
        // `status` (zipster_operate::follow::LoadResult): a contract of this line.
        info!(bucket = %result.bucket, key = %result.key, etag = %result.etag,
            version_id = result.version_id.as_deref().unwrap_or_default(), outcome = %result.outcome, "load done");
        // The rows are committed: a summary that cannot be published must not fail the
        // invocation (its retry would only say "already loaded"). Logged and counted,
        // as the transform does.
        let (topic, subject) = (&self.config.load_topic_arn, subject("load", &result.key));
        publish_summary(&self.notify, topic, &subject, &line, Some(&feed.name)).await;
        Ok(result)
    }

    /// Best effort: a failure to alert is logged, and the invocation fails anyway.
    /// `feed`: the feed of the file that failed, if it has one.
    async fn alert(&self, what: &str, err: &LoadError, feed: Option<&str>) {
        let message = format!("load of {what} FAILED: {err}");
        let (topic, subject) = (&self.config.alerts_topic_arn, subject("load FAILED", what));
        if let Err(e) = self.notify.publish(topic, &subject, &message, feed).await {
            error!(error = %e, "could not publish the alert");
        }
    }
}

fn subject(what: &str, name: &str) -> String {
    let name = name.rsplit('/').next().unwrap_or(name);
    format!("Zipster {what}: {name}")
}
