//! Applying [`MIGRATOR`](crate::MIGRATOR) and saying what it applied.

use std::collections::BTreeSet;

use serde::Serialize;
use sqlx::MySqlPool;

use crate::{DbError, MIGRATOR};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedMigration {
    pub version: i64,
    pub description: String,
}

/// Applies every pending migration; returns those it applied, oldest first (empty
/// when the schema was already current).
pub async fn apply(pool: &MySqlPool) -> Result<Vec<AppliedMigration>, DbError> {
    let before = applied_versions(pool).await?;
    MIGRATOR.run(pool).await?;
    Ok(MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration() && !before.contains(&m.version))
        .map(|m| AppliedMigration { version: m.version, description: m.description.to_string() })
        .collect())
}

/// Versions recorded by sqlx in this database (none before the first run).
pub async fn applied_versions(pool: &MySqlPool) -> Result<BTreeSet<i64>, DbError> {
    let exists: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '_sqlx_migrations'",
    )
    .fetch_one(pool)
    .await
    .map_err(DbError::sql("reading the migration history"))?;
    if exists == 0 {
        return Ok(BTreeSet::new());
    }
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
        .fetch_all(pool)
        .await
        .map_err(DbError::sql("reading the migration history"))?;
    Ok(versions.into_iter().collect())
}
