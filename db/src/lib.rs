//! The database: the one [`MIGRATOR`], the connection settings every user shares,
//! the idempotent load of a normalized CSV and the radius search.
//!
//! Pure parts (reading the CSV, deciding whether an object needs loading, the
//! search's bounding box) are separate modules from those that talk to the server.

pub mod connect;
pub mod contracts;
pub mod credentials;
pub mod error;
pub mod idempotency;
pub mod load;
pub mod loaded;
pub mod migrate;
pub mod radius;
pub mod rows;
pub mod seed;
#[cfg(feature = "test-support")]
pub mod testing;

pub use error::DbError;

/// Every migration in `db/migrations`, embedded at compile time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Enough randomness for names and jitter (not for secrets), from std's per-process
/// random hash keys mixed with the time and the process id: no RNG crate needed.
fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::hash::RandomState::new().build_hasher();
    hasher.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    hasher.write_u32(std::process::id());
    hasher.finish()
}
