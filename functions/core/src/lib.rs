//! The feeds and the transform, free of AWS and async: which feed a key belongs to,
//! its contract (compiled in from `feeds/`), and how a whole file streams through it.

pub mod event;
pub mod feeds;
mod lines;
pub mod transform;

pub use transform::{FileError, Limits, Summary, transform, transform_with_report};

/// The `counter` field a function logs when a summary could not be published (the
/// data is already durable, so the invocation does not fail); each function's log
/// metric filter in the template counts the lines that carry it.
pub const PUBLISH_FAILURES_COUNTER: &str = "publish_failures";

/// The SNS message attribute naming the feed a summary or alert is about. A stage's
/// per-feed subscriptions (stages.toml `feeds.<name>.notifications`) filter on it
/// (`FilterPolicy: {"feed": [...]}` in the template), so a feed's owners get only their
/// feed's messages; its stage-wide subscribers filter on nothing. Here, where both the
/// functions and the template read it.
pub const FEED_ATTRIBUTE: &str = "feed";

/// What kind of failure an error is, as a Lambda function reports it in `errorType`:
/// dead-letter records and metric filters group failures by it, so the names are a
/// contract (`InvalidEvent`, `StorageError`, `ScratchError`, `DatabaseError`, ...).
///
/// Defined here, in the one crate every other depends on, so that each crate's errors
/// name their own kind: `zipster-db`'s as much as `zipster-aws`'s, and neither needs
/// the other.
pub trait ErrorKind: std::error::Error {
    fn error_type(&self) -> &'static str;
}

impl ErrorKind for event::EventError {
    fn error_type(&self) -> &'static str {
        "InvalidEvent"
    }
}
