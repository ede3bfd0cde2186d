//! The small interfaces the Lambda handlers depend on, so that handlers are tested
//! without a network: [`Storage`] (objects) and [`Notify`] (topics), their AWS
//! implementations ([`s3::S3Storage`], [`sns::SnsNotify`]) and in-memory fakes
//! ([`memory`]); Secrets Manager ([`secrets`]); and what every function's handler
//! shares: the Lambda loop and error kinds, the fan-out over an event's objects and
//! the summary publish ([`handler`]), settings from the environment ([`config`]), an
//! object read through a scratch file ([`scratch`]).

pub mod config;
pub mod handler;
pub mod memory;
pub mod s3;
pub mod scratch;
pub mod secrets;
pub mod sns;

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;

use zipster_core::event::ObjectRef;

/// An object's user metadata (S3's `x-amz-meta-*`), by name without the prefix.
pub type Metadata = std::collections::BTreeMap<String, String>;

/// What the store says about an object it handed us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub etag: String,
    pub version_id: Option<String>,
    pub size: u64,
    pub metadata: Metadata,
}

/// What the transform tells the load about a staged object, in the object's own
/// metadata: it travels with the object, through any retry or re-drive, and needs no
/// other channel between the two functions.
pub mod staged {
    use crate::Metadata;

    /// The SHA-256 of the contract the file was transformed with.
    pub const CONTRACT_SHA256: &str = "zipster-contract-sha256";
    /// Present (`true`) when an operator allowed a replace to shrink the table past its
    /// contract's limit (`cargo xtask reprocess --allow-shrink`).
    pub const ALLOW_SHRINK: &str = "zipster-allow-shrink";

    pub fn metadata(contract_sha256: &str, allow_shrink: bool) -> Metadata {
        let mut metadata = Metadata::from([(CONTRACT_SHA256.to_owned(), contract_sha256.to_owned())]);
        if allow_shrink {
            metadata.insert(ALLOW_SHRINK.to_owned(), "true".to_owned());
        }
        metadata
    }

    pub fn contract_sha256(metadata: &Metadata) -> Option<&str> {
        metadata.get(CONTRACT_SHA256).map(String::as_str)
    }

    pub fn allow_shrink(metadata: &Metadata) -> bool {
        metadata.get(ALLOW_SHRINK).is_some_and(|v| v == "true")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("s3://{bucket}/{key} does not exist")]
    NotFound { bucket: String, key: String },
    #[error("s3://{bucket}/{key} is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { bucket: String, key: String, size: u64, limit: u64 },
    #[error("{operation} s3://{bucket}/{key}: {message}")]
    Failed { operation: &'static str, bucket: String, key: String, message: String },
}

impl zipster_core::ErrorKind for StorageError {
    fn error_type(&self) -> &'static str {
        "StorageError"
    }
}

/// Object storage, reduced to what the functions need. Objects move through local
/// files so that memory stays flat whatever the object's size.
pub trait Storage: Send + Sync {
    /// Streams the object (the exact version when `obj` names one) into `dest`.
    fn download(
        &self,
        obj: &ObjectRef,
        dest: &Path,
        max_bytes: u64,
    ) -> impl Future<Output = Result<ObjectInfo, StorageError>> + Send;

    /// Writes `src` as `bucket/key` with `metadata`; returns only once the store has it durably.
    fn upload(
        &self,
        bucket: &str,
        key: &str,
        src: &Path,
        content_type: &str,
        metadata: &Metadata,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
}

#[derive(Debug, thiserror::Error)]
#[error("publish to {topic}: {message}")]
pub struct NotifyError {
    pub topic: String,
    pub message: String,
}

pub use zipster_core::FEED_ATTRIBUTE;

/// A notification topic.
pub trait Notify: Send + Sync {
    /// Publishes `message` under `subject`. `feed`, the feed of the one file the
    /// message is about, goes as the [`FEED_ATTRIBUTE`] message attribute; `None` (a
    /// message about no one file, or a key no feed claims) reaches only the stage-wide
    /// subscribers.
    fn publish(
        &self,
        topic_arn: &str,
        subject: &str,
        message: &str,
        feed: Option<&str>,
    ) -> impl Future<Output = Result<(), NotifyError>> + Send;
}

/// A connection that does not open in this time fails the attempt.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// The longest a request without a large body waits for its response to start. The
/// SDK sets no such limit, so a service that accepts a request and never answers would
/// hold the invocation until Lambda's own timeout; with it, the attempt fails and the
/// SDK retries it (3 attempts), and then the invocation fails with a clear error.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
/// The slowest upload to S3 taken for healthy when bounding a large upload's wait:
/// far below what Lambda reaches in-region, so only a stalled upload is cut short.
pub const UPLOAD_FLOOR_BYTES_PER_SECOND: u64 = 8 << 20;

/// Connect and response-start limits; bodies that stall midway are cut by the SDK's
/// stalled-stream protection, which the latest behavior version turns on.
pub fn timeouts(response: Duration) -> TimeoutConfig {
    TimeoutConfig::builder().connect_timeout(CONNECT_TIMEOUT).read_timeout(response).build()
}

/// How long an upload of `bytes` may take before its response starts: the SDK's
/// response timeout counts from the request's first byte, body included.
pub fn upload_response_timeout(bytes: u64) -> Duration {
    RESPONSE_TIMEOUT + Duration::from_secs(bytes.div_ceil(UPLOAD_FLOOR_BYTES_PER_SECOND))
}

/// Loads the AWS configuration once per container: the standard chain (environment,
/// profile, SSO, instance role), and `AWS_ENDPOINT_URL` for local stand-ins.
pub async fn load_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).timeout_config(timeouts(RESPONSE_TIMEOUT)).load().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upload_may_take_as_long_as_its_bytes_need_at_the_floor_rate() {
        assert_eq!(upload_response_timeout(0), RESPONSE_TIMEOUT);
        assert_eq!(upload_response_timeout(1), RESPONSE_TIMEOUT + Duration::from_secs(1));
        // The 1 GB test input's staged file (882 MB): 106 s more, within the load's 300 s.
        assert_eq!(upload_response_timeout(882_000_000), RESPONSE_TIMEOUT + Duration::from_secs(106));
    }
}
