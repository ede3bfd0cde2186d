//! The zip-code feed, free of AWS and async: what a valid row is, how it is
//! normalized, and how a whole file streams through.

pub mod event;
pub mod feed;
mod lines;
pub mod transform;

pub use transform::{FileError, Limits, Summary, transform};

/// The `counter` field a function logs when a summary could not be published (the
/// data is already durable, so the invocation does not fail); each function's log
/// metric filter in the template counts the lines that carry it.
pub const PUBLISH_FAILURES_COUNTER: &str = "publish_failures";
