//! S3 buckets and bucket policies.

use serde::Serialize;

use super::{Expr, Tag, iam::PolicyDocument};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Bucket {
    pub bucket_name: Expr,
    pub bucket_encryption: BucketEncryption,
    pub public_access_block_configuration: PublicAccessBlockConfiguration,
    pub ownership_controls: OwnershipControls,
    pub versioning_configuration: VersioningConfiguration,
    pub lifecycle_configuration: LifecycleConfiguration,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging_configuration: Option<LoggingConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_configuration: Option<NotificationConfiguration>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BucketEncryption {
    pub server_side_encryption_configuration: Vec<ServerSideEncryptionRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServerSideEncryptionRule {
    pub server_side_encryption_by_default: ServerSideEncryptionByDefault,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerSideEncryptionByDefault {
    #[serde(rename = "SSEAlgorithm")]
    pub sse_algorithm: &'static str,
}

impl BucketEncryption {
    /// SSE-S3 (AES-256 with S3-managed keys).
    pub fn s3_managed() -> Self {
        Self {
            server_side_encryption_configuration: vec![ServerSideEncryptionRule {
                server_side_encryption_by_default: ServerSideEncryptionByDefault { sse_algorithm: "AES256" },
            }],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublicAccessBlockConfiguration {
    pub block_public_acls: bool,
    pub block_public_policy: bool,
    pub ignore_public_acls: bool,
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlockConfiguration {
    pub const ALL_BLOCKED: Self = Self {
        block_public_acls: true,
        block_public_policy: true,
        ignore_public_acls: true,
        restrict_public_buckets: true,
    };
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OwnershipControls {
    pub rules: Vec<OwnershipControlsRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OwnershipControlsRule {
    pub object_ownership: &'static str,
}

impl OwnershipControls {
    /// ACLs disabled: the bucket owner owns every object.
    pub fn bucket_owner_enforced() -> Self {
        Self { rules: vec![OwnershipControlsRule { object_ownership: "BucketOwnerEnforced" }] }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VersioningConfiguration {
    pub status: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LifecycleConfiguration {
    pub rules: Vec<LifecycleRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LifecycleRule {
    pub id: String,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abort_incomplete_multipart_upload: Option<AbortIncompleteMultipartUpload>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noncurrent_version_expiration: Option<NoncurrentVersionExpiration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration_in_days: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transitions: Vec<Transition>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AbortIncompleteMultipartUpload {
    pub days_after_initiation: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NoncurrentVersionExpiration {
    pub noncurrent_days: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Transition {
    pub storage_class: &'static str,
    pub transition_in_days: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoggingConfiguration {
    pub destination_bucket_name: Expr,
    pub log_file_prefix: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NotificationConfiguration {
    pub topic_configurations: Vec<TopicConfiguration>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TopicConfiguration {
    pub event: &'static str,
    pub topic: Expr,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BucketPolicy {
    pub bucket: Expr,
    pub policy_document: PolicyDocument,
}
