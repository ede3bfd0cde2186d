//! The small interfaces the Lambda handlers depend on, so that handlers are tested
//! without a network: [`Storage`] (objects) and [`Notify`] (topics), their AWS
//! implementations ([`s3::S3Storage`], [`sns::SnsNotify`]) and in-memory fakes
//! ([`memory`]).

pub mod memory;
pub mod s3;
pub mod sns;

use std::future::Future;
use std::path::Path;

use zipster_core::event::ObjectRef;

/// What the store says about an object it handed us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub etag: String,
    pub version_id: Option<String>,
    pub size: u64,
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

    /// Writes `src` as `bucket/key`; returns only once the store has it durably.
    fn upload(
        &self,
        bucket: &str,
        key: &str,
        src: &Path,
        content_type: &str,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
}

#[derive(Debug, thiserror::Error)]
#[error("publish to {topic}: {message}")]
pub struct NotifyError {
    pub topic: String,
    pub message: String,
}

/// A notification topic.
pub trait Notify: Send + Sync {
    fn publish(
        &self,
        topic_arn: &str,
        subject: &str,
        message: &str,
    ) -> impl Future<Output = Result<(), NotifyError>> + Send;
}

/// Loads the AWS configuration once per container: the standard chain (environment,
/// profile, SSO, instance role), and `AWS_ENDPOINT_URL` for local stand-ins.
pub async fn load_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await
}
