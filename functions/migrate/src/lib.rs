//! The migrate function: applies [`zipster_db::MIGRATOR`] from inside the VPC and,
//! when the event names a staged seed object (`{"seed": {"bucket", "key"}}`), loads it
//! with the load function's own code. Returns `{"applied": [...], "loaded": {...}}`.

use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::MySqlPool;
use tracing::info;
use zipster_aws::Storage;
use zipster_core::event::ObjectRef;
use zipster_db::{DbError, migrate};
use zipster_load::{LoadError, load_object};

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
    Seed(#[from] LoadError),
}

impl MigrateError {
    /// Lambda's `errorType`, as the load names its failures.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Event(_) => "InvalidEvent",
            Self::Migrate(_) => "DatabaseError",
            Self::Seed(error) => error.error_type(),
        }
    }
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
        None => Value::Null,
        Some(seed) => {
            let obj = ObjectRef {
                bucket: seed.bucket,
                key: seed.key,
                version_id: None,
                etag: None,
                sequencer: None,
                size: None,
            };
            let result = load_object(storage, pool, &obj, MAX_SEED_BYTES).await?;
            info!(key = %result.key, outcome = %result.outcome, "seed loaded");
            serde_json::to_value(&result).map_err(|e| MigrateError::Event(e.to_string()))?
        }
    };
    Ok(json!({ "applied": applied, "loaded": loaded }))
}
