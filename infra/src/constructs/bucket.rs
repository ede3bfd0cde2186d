//! A private bucket: SSE-S3, all public access blocked, ACLs disabled, TLS-only
//! policy, versioned, with lifecycle rules and access logs; retained by a stack
//! deletion or replacement, and marked stateful.

use crate::model::iam::{PolicyDocument, Principal, Statement};
use crate::model::s3::{
    AbortIncompleteMultipartUpload, Bucket, BucketEncryption, BucketPolicy, LifecycleConfiguration, LifecycleRule,
    LoggingConfiguration, NoncurrentVersionExpiration, NotificationConfiguration, OwnershipControls,
    PublicAccessBlockConfiguration, TopicConfiguration, Transition, VersioningConfiguration,
};
use crate::model::{Expr, RemovalPolicy, Resource, Template};
use crate::stage::StageConfig;

use super::topic::TopicRef;
use super::{PolicyRef, tags};

/// How long replaced or deleted object versions are kept.
const NONCURRENT_DAYS: u32 = 30;

pub struct PrivateBucket<'a> {
    /// Logical ID prefix: `Input` gives `InputBucket` and `InputBucketPolicy`.
    pub id: &'a str,
    /// The middle of the physical name: `zipster-<stage>-<purpose>-<account>-<region>`.
    pub purpose: &'a str,
    /// One sentence: what the bucket holds (its `zipster.stateful` marker).
    pub holds: &'a str,
    /// Move current objects to Standard-IA after this many days (at least 30).
    pub infrequent_access_after_days: Option<u32>,
    pub expire_after_days: Option<u32>,
    /// The topic that receives `s3:ObjectCreated:*`.
    pub notify: Option<Notify<'a>>,
    pub access_logs: AccessLogs<'a>,
    /// Extra statements for the bucket policy (e.g. log delivery).
    pub extra_statements: Vec<Statement>,
}

/// Where a bucket's access logs go.
#[derive(Debug, Clone, Copy)]
pub enum AccessLogs<'a> {
    To(&'a BucketRefs),
    /// Not logged, for this reason (checkov's CKV_AWS_18 skip): the logs bucket
    /// itself, or a bucket that exists before any logs bucket.
    None {
        reason: &'a str,
    },
}

/// A topic and the policy that lets the bucket publish to it (see
/// [`super::topic::allow_bucket_to_publish`]): the bucket waits for the policy.
#[derive(Debug, Clone, Copy)]
pub struct Notify<'a> {
    pub topic: &'a TopicRef,
    pub policy: &'a PolicyRef,
}

/// What other resources need to know about a bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketRefs {
    pub logical_id: String,
    /// The name as an `Fn::Sub` template, usable before the bucket exists (no dependency).
    pub name_template: String,
    /// The bucket policy (TLS only, plus the extra statements).
    pub policy: PolicyRef,
}

impl BucketRefs {
    pub fn name(&self) -> Expr {
        Expr::reference(&self.logical_id)
    }

    /// The bucket's ARN, built from its known name so policies that the bucket itself
    /// depends on (topic policies) can refer to it without a cycle.
    pub fn arn(&self) -> Expr {
        Expr::sub(format!("arn:${{AWS::Partition}}:s3:::{}", self.name_template))
    }

    /// The bucket's ARN through `Fn::GetAtt`, for resources that come after the bucket.
    pub fn arn_attribute(&self) -> Expr {
        Expr::get_att(&self.logical_id, "Arn")
    }

    pub fn objects_arn(&self) -> Expr {
        Expr::sub(format!("arn:${{AWS::Partition}}:s3:::{}/*", self.name_template))
    }
}

/// The name every stage bucket gets: unique per account and region, stage-prefixed.
pub fn name_template(stage: &StageConfig, purpose: &str) -> String {
    format!("{}-{purpose}-${{AWS::AccountId}}-${{AWS::Region}}", stage.prefix())
}

impl PrivateBucket<'_> {
    /// What the bucket will be called, known before it is added (a topic policy that
    /// the bucket depends on names it).
    pub fn refs(&self, stage: &StageConfig) -> BucketRefs {
        let logical_id = format!("{}Bucket", self.id);
        let policy = PolicyRef { logical_id: format!("{logical_id}Policy") };
        BucketRefs { logical_id, name_template: name_template(stage, self.purpose), policy }
    }

    pub fn add(self, template: &mut Template, stage: &StageConfig) -> BucketRefs {
        let refs = self.refs(stage);
        let mut rules = vec![LifecycleRule {
            id: "expire-noncurrent-versions".to_owned(),
            status: "Enabled",
            abort_incomplete_multipart_upload: Some(AbortIncompleteMultipartUpload { days_after_initiation: 7 }),
            noncurrent_version_expiration: Some(NoncurrentVersionExpiration { noncurrent_days: NONCURRENT_DAYS }),
            expiration_in_days: None,
            transitions: Vec::new(),
        }];
        if self.infrequent_access_after_days.is_some() || self.expire_after_days.is_some() {
            rules.push(LifecycleRule {
                id: "age-current-objects".to_owned(),
                status: "Enabled",
                abort_incomplete_multipart_upload: None,
                noncurrent_version_expiration: None,
                expiration_in_days: self.expire_after_days,
                transitions: self
                    .infrequent_access_after_days
                    .map(|days| Transition { storage_class: "STANDARD_IA", transition_in_days: days.max(30) })
                    .into_iter()
                    .collect(),
            });
        }
        let bucket = Bucket {
            bucket_name: Expr::sub(&refs.name_template),
            bucket_encryption: BucketEncryption::s3_managed(),
            public_access_block_configuration: PublicAccessBlockConfiguration::ALL_BLOCKED,
            ownership_controls: OwnershipControls::bucket_owner_enforced(),
            versioning_configuration: VersioningConfiguration { status: "Enabled" },
            lifecycle_configuration: LifecycleConfiguration { rules },
            logging_configuration: match self.access_logs {
                AccessLogs::To(logs) => Some(LoggingConfiguration {
                    destination_bucket_name: logs.name(),
                    log_file_prefix: format!("s3-access/{}/", self.purpose),
                }),
                AccessLogs::None { .. } => None,
            },
            notification_configuration: self.notify.map(|notify| NotificationConfiguration {
                topic_configurations: vec![TopicConfiguration {
                    event: "s3:ObjectCreated:*",
                    topic: notify.topic.arn(),
                }],
            }),
            tags: tags(stage),
        };
        // Retained by a stack deletion or a replacement: `destroy` empties and deletes
        // the buckets only when told to.
        let mut bucket = Resource::from(bucket).removal_policy(RemovalPolicy::Retain).stateful(self.holds);
        // S3 checks that it may publish to the topic when the notification is created.
        if let Some(notify) = self.notify {
            bucket = bucket.depends_on(&notify.policy.logical_id);
        }
        if let AccessLogs::None { reason } = self.access_logs {
            bucket = bucket.checkov_skip("CKV_AWS_18", reason);
        }
        template.add(&refs.logical_id, bucket);

        let mut statements = vec![
            Statement::deny(["s3:*"], vec![refs.arn_attribute(), refs.objects_arn()])
                .sid("DenyInsecureTransport")
                .principal(Principal::anyone())
                .condition("Bool", "aws:SecureTransport", "false".into()),
        ];
        statements.extend(self.extra_statements);
        template.add(
            &refs.policy.logical_id,
            BucketPolicy { bucket: refs.name(), policy_document: PolicyDocument::new(statements) },
        );
        refs
    }
}
