//! The migrate function: applies [`zipster_db::MIGRATOR`] from inside the VPC and,
//! when the event names a staged seed object (`{"seed": {"bucket", "key"}}`), loads it
//! as the load function loads a staged object (`zipster_aws::scratch::read_object`,
//! then `zipster_db::load::load_object`). Returns `{"applied": [...], "loaded": {...}}`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::MySqlPool;
use tracing::info;
use zipster_aws::Storage;
use zipster_aws::handler::{ErrorKind, ResultError, to_json};
use zipster_aws::scratch::{ObjectError, read_object};
use zipster_core::event::ObjectRef;
use zipster_db::load::{ObjectResult, load_object};
use zipster_db::migrate::AppliedMigration;
use zipster_db::{DbError, migrate};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrateEvent {
    #[serde(default)]
    pub seed: Option<SeedObject>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedObject {
    pub bucket: String,
    pub key: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("expected {{}} or {{\"seed\": {{\"bucket\": ..., \"key\": ...}}}}: {0}")]
    Event(String),
    #[error(transparent)]
    Migrate(#[from] DbError),
    #[error("loading the seed: {0}")]
    Seed(#[from] ObjectError<DbError>),
    #[error(transparent)]
    Result(#[from] ResultError),
}

/// Lambda's `errorType`, as the load names its failures.
impl ErrorKind for MigrateError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::Event(_) => "InvalidEvent",
            Self::Migrate(error) => error.error_type(),
            Self::Seed(error) => error.error_type(),
            Self::Result(error) => error.error_type(),
        }
    }
}

/// What the invocation did.
#[derive(Debug, Serialize)]
pub struct MigrateResult {
    pub applied: Vec<AppliedMigration>,
    /// The seed's load, when the event named one (`null` otherwise).
    pub loaded: Option<ObjectResult>,
}

/// Seed objects are a few MiB; this only guards against naming the wrong object.
pub const MAX_SEED_BYTES: u64 = 256 * 1024 * 1024;

pub async fn handle<S: Storage>(storage: &S, pool: &MySqlPool, event: &Value) -> Result<Value, MigrateError> {
    // A scheduled or console invocation may send null: same as {}.
    let event: MigrateEvent = match event {
        Value::Null => MigrateEvent::default(),
        other => serde_json::from_value(other.clone()).map_err(|e| MigrateError::Event(e.to_string()))?,
    };
    let applied = migrate::apply(pool).await?;
    info!(applied = applied.len(), "migrations applied");
    let loaded = match event.seed {
        None => None,
        Some(seed) => {
            let obj = ObjectRef {
                bucket: seed.bucket,
                key: seed.key,
                version_id: None,
                etag: None,
                sequencer: None,
                size: None,
            };
            let result = read_object(storage, &obj, MAX_SEED_BYTES, async |info, file| {
                load_object(pool, &obj, info.etag, info.version_id, file).await
            })
            .await?;
            info!(key = %result.key, outcome = %result.outcome, "seed loaded");
            Some(result)
        }
    };
    Ok(to_json("result", &MigrateResult { applied, loaded })?)
}
