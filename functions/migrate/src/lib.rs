//! The migrate function: applies [`zipster_db::MIGRATOR`] from inside the VPC and,
//! when the event names a staged seed object (`{"seed": {"bucket", "key"}}`), loads it
//! as the load function loads a staged object (`zipster_aws::scratch::read_object`,
//! then `zipster_db::load::load_object`). Returns `{"applied": [...], "loaded": {...}}`.
//! The radius query of `near --stage` (`{"near": {"zipcode", "miles"}}`) runs here too,
//! the one function inside the VPC that may read the tables for a person: it queries
//! and migrates nothing, returning `{"near": [{"zipcode", "miles"}, ...]}`. So does the
//! load's record for `status --stage` (`{"loaded": {"bucket", "keys", "last"}}`,
//! [`zipster_db::loaded`], read in a session that cannot write), returning
//! `{"loaded": {"records": [...], "truncated": bool}}`.
//!
//! Before migrating it waits, bounded, for the database to accept connections
//! ([`wait_until_ready`]): the first `seed-db` after a fresh deploy races the host's
//! boot (MariaDB installed and started, its users created and its CA certificate
//! published by the user data), so `deploy && seed-db` waits for it instead of failing.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::MySqlPool;
use sqlx::mysql::MySqlConnectOptions;
use tracing::{info, warn};
use zipster_aws::Storage;
use zipster_aws::config::{ConfigError, Env};
use zipster_aws::handler::{ErrorKind, ResultError, to_json};
use zipster_aws::scratch::{ObjectError, read_object};
use zipster_core::event::ObjectRef;
use zipster_db::connect::{check_reachable, describe};
use zipster_db::credentials::CredentialsError;
use zipster_db::load::{Downloaded, ObjectResult, Target, load_object};
use zipster_db::loaded::{LoadedError, LoadedQuery};
use zipster_db::migrate::AppliedMigration;
use zipster_db::{DbError, migrate};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrateEvent {
    #[serde(default)]
    pub seed: Option<SeedObject>,
    #[serde(default)]
    pub near: Option<NearQuery>,
    #[serde(default)]
    pub loaded: Option<LoadedQuery>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NearQuery {
    pub zipcode: String,
    pub miles: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedObject {
    pub bucket: String,
    pub key: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(
        "expected {{}}, {{\"seed\": {{\"bucket\": ..., \"key\": ...}}}}, {{\"near\": {{\"zipcode\": ..., \"miles\": ...}}}} \
         or {{\"loaded\": {{\"bucket\": ..., \"keys\": [...], \"last\": N}}}}: {0}"
    )]
    Event(String),
    #[error(transparent)]
    Migrate(#[from] DbError),
    #[error("loading the seed: {0}")]
    Seed(#[from] ObjectError<DbError>),
    #[error(transparent)]
    Result(#[from] ResultError),
    #[error("the database was not ready after waiting {waited:?} ({attempts} attempts): {reason}")]
    NotReady { waited: Duration, attempts: u32, reason: String },
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
}

/// Lambda's `errorType`, as the load names its failures.
impl ErrorKind for MigrateError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::Event(_) => "InvalidEvent",
            Self::Migrate(error) => error.error_type(),
            Self::Seed(error) => error.error_type(),
            Self::Result(error) => error.error_type(),
            Self::NotReady { .. } => NOT_READY,
            Self::Credentials(_) => "ConfigurationError",
        }
    }
}

/// The `errorType` of an invocation that gave up waiting for the database: the
/// caller (`seed-db --stage`) may invoke again while the host is still booting.
pub const NOT_READY: &str = "DatabaseNotReady";

/// How long [`wait_until_ready`] waits for the database, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    /// The whole wait; kept under the function's timeout (120 s on the smallest stage)
    /// so that the migrations still have time once the database answers.
    pub max_wait: Duration,
    /// The first pause between attempts; it doubles up to `max_delay`.
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// One connection attempt.
    pub attempt: Duration,
}

/// Overrides [`Readiness::max_wait`], in seconds (0: one attempt, no wait).
pub const READY_WAIT_ENV: &str = "DATABASE_READY_WAIT_SECONDS";

impl Default for Readiness {
    fn default() -> Self {
        Self {
            max_wait: Duration::from_secs(90),
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(10),
            attempt: Duration::from_secs(5),
        }
    }
}

impl Readiness {
    /// The default, with `DATABASE_READY_WAIT_SECONDS` as the whole wait if set.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let default = Self::default();
        let seconds = Env::new(var).number(READY_WAIT_ENV, "seconds", default.max_wait.as_secs())?;
        Ok(Self { max_wait: Duration::from_secs(seconds), ..default })
    }
}

/// What one attempt to connect needs: the connect options, read again on every
/// attempt (the secret gains the host's CA certificate only once the host has
/// booted), or why they cannot be had yet.
pub type ConnectOptionsResult = Result<MySqlConnectOptions, CredentialsError>;

/// Connects until the database answers, pausing with exponential backoff (each
/// pause logged with the reason), for at most `readiness.max_wait`; returns the
/// options that connected and how many attempts failed before. Worth waiting for:
/// a server that does not answer yet, and a secret the host has not yet written its
/// CA certificate to (it does so last, once the users exist). Anything else (a
/// missing database, a refused login, a certificate that does not verify) stays so,
/// and fails at once. Gives up with [`MigrateError::NotReady`].
pub async fn wait_until_ready(
    connect_options: impl AsyncFn() -> ConnectOptionsResult,
    readiness: &Readiness,
) -> Result<(MySqlConnectOptions, u32), MigrateError> {
    let started = Instant::now();
    let mut delay = readiness.first_delay;
    let mut failed = 0;
    loop {
        let reason = match connect_options().await {
            Err(error @ CredentialsError::NoCertificate { .. }) => error.to_string(),
            Err(error) => return Err(MigrateError::Credentials(error)),
            Ok(options) => match check_reachable(&options, readiness.attempt).await {
                Ok(()) => {
                    if failed > 0 {
                        info!(database = %describe(&options), attempts = failed + 1, waited = ?started.elapsed(), "database ready");
                    }
                    return Ok((options, failed));
                }
                Err(error @ DbError::Unreachable { .. }) => error.to_string(),
                Err(error) => return Err(MigrateError::Migrate(error)),
            },
        };
        failed += 1;
        let waited = started.elapsed();
        let remaining = readiness.max_wait.saturating_sub(waited);
        if remaining.is_zero() {
            return Err(MigrateError::NotReady { waited, attempts: failed, reason });
        }
        let pause = delay.min(remaining);
        warn!(attempt = failed, %reason, pause = ?pause, "database not ready; waiting");
        tokio::time::sleep(pause).await;
        delay = (delay * 2).min(readiness.max_delay);
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
    if let Some(query) = event.loaded {
        if event.seed.is_some() || event.near.is_some() {
            return Err(MigrateError::Event("a loaded query migrates and loads nothing: send it alone".to_owned()));
        }
        let answer = zipster_db::loaded::loaded(pool, &query).await.map_err(|error| match error {
            LoadedError::Query(bounds) => MigrateError::Event(bounds.to_string()),
            LoadedError::Db(db) => MigrateError::Migrate(db),
        })?;
        info!(keys = query.keys.len(), found = answer.records.len(), truncated = answer.truncated, "loaded records");
        return Ok(serde_json::json!({ "loaded": to_json("loaded", &answer)? }));
    }
    if let Some(near) = event.near {
        if event.seed.is_some() {
            return Err(MigrateError::Event("a near query migrates and loads nothing: send it alone".to_owned()));
        }
        if !(near.miles.is_finite() && near.miles > 0.0 && near.miles <= 500.0) {
            return Err(MigrateError::Event(format!("miles must be more than 0 and at most 500, not {}", near.miles)));
        }
        let neighbors = zipster_db::radius::near(pool, &near.zipcode, near.miles).await?;
        info!(zipcode = %near.zipcode, miles = near.miles, found = neighbors.len(), "near");
        return Ok(serde_json::json!({ "near": to_json("neighbors", &neighbors)? }));
    }
    let applied = migrate::apply(pool).await?;
    info!(applied = applied.len(), "migrations applied");
    let loaded = match event.seed {
        None => None,
        Some(seed) => {
            // The seed is the zip code export: the zip code feed's table.
            let target = Target::zipcodes()?;
            let obj = ObjectRef {
                bucket: seed.bucket,
                key: seed.key,
                version_id: None,
                etag: None,
                sequencer: None,
                size: None,
            };
            let result = read_object(storage, &obj, MAX_SEED_BYTES, async |info, file| {
                let downloaded = Downloaded { etag: info.etag, version_id: info.version_id, ..Downloaded::default() };
                load_object(pool, &target, &obj, downloaded, file).await
            })
            .await?;
            info!(key = %result.key, outcome = %result.outcome, "seed loaded");
            Some(result)
        }
    };
    Ok(to_json("result", &MigrateResult { applied, loaded })?)
}
