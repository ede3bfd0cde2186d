//! The static data (`db/seed/zipcodes.csv`, the raw export) loaded through the same
//! path as the pipeline: the transform, then [`load_csv`].

use std::path::{Path, PathBuf};

use serde::Serialize;
use sqlx::MySqlPool;
use zipster_core::transform::{Limits, Summary, transform};

use crate::DbError;
use crate::load::{LoadOutcome, ObjectVersion, load_csv};

/// Recorded as the bucket of local seed loads, which come from no bucket.
pub const SEED_BUCKET: &str = "local-seed";

/// `db/seed/zipcodes.csv` in this source tree.
pub fn default_seed_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("seed").join("zipcodes.csv")
}

#[derive(Debug, Clone, Serialize)]
pub struct SeedReport {
    pub transform: Summary,
    pub load: LoadOutcome,
}

/// Transforms the raw export at `path` and loads its accepted rows. The object's
/// "ETag" is a hash of the file, so an edited seed file loads again and an
/// unchanged one is "already loaded".
pub async fn load_seed_file(pool: &MySqlPool, path: &Path) -> Result<SeedReport, DbError> {
    let raw = std::fs::read(path).map_err(|e| DbError::Seed(format!("reading {}: {e}", path.display())))?;
    let (accepted, summary) = transform_export(&raw)?;
    let object = ObjectVersion {
        bucket: SEED_BUCKET.to_owned(),
        key: path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned()),
        etag: content_hash(&raw),
        version_id: None,
        sequencer: None,
    };
    let load = load_csv(pool, &object, std::io::Cursor::new(accepted.as_slice())).await?;
    Ok(SeedReport { transform: summary, load })
}

/// The normalized CSV of a raw export, in memory (the seed is a few MiB).
pub fn transform_export(raw: &[u8]) -> Result<(Vec<u8>, Summary), DbError> {
    let mut accepted = Vec::with_capacity(raw.len());
    let feed = zipster_core::feeds::builtin(zipster_core::feeds::ZIPCODES)?;
    let summary = transform(&feed.contract, raw, &mut accepted, std::io::sink(), &Limits::default())
        .map_err(|failure| DbError::Seed(format!("transforming the seed: {failure}")))?;
    Ok((accepted, summary))
}

/// FNV-1a, 64 bits, hex: stable across runs and platforms, enough to tell versions apart.
fn content_hash(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3));
    format!("fnv1a64-{hash:016x}")
}
