//! The load function: for each staged object an event names, download it and load it
//! with [`zipster_db::load::load_csv`], then say what happened on the load topic (or
//! the alerts topic, before failing the invocation so that Lambda retries it).
//!
//! Generic over [`zipster_aws::Storage`] and [`zipster_aws::Notify`]; the pool is
//! created once per container by `main` and shared by every invocation.

pub mod config;
pub mod handler;

pub use config::Config;
pub use handler::{LoadError, Loader};
