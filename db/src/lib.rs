//! The database: the one [`MIGRATOR`], the connection settings every user shares,
//! the idempotent load of a normalized CSV and the radius search.
//!
//! Pure parts (reading the CSV, deciding whether an object needs loading, the
//! search's bounding box) are separate modules from those that talk to the server.

pub mod connect;
pub mod error;
pub mod idempotency;
pub mod load;
pub mod migrate;
pub mod radius;
pub mod rows;
pub mod seed;
#[cfg(feature = "test-support")]
pub mod testing;

pub use error::DbError;

/// Every migration in `db/migrations`, embedded at compile time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
