//! A private bucket: SSE-S3, all public access blocked, ACLs disabled, TLS-only
//! policy, versioned, with lifecycle rules and access logs.

use crate::model::iam::{PolicyDocument, Principal, Statement};
use crate::model::s3::{
    AbortIncompleteMultipartUpload, Bucket, BucketEncryption, BucketPolicy, LifecycleConfiguration, LifecycleRule,
    LoggingConfiguration, NoncurrentVersionExpiration, NotificationConfiguration, OwnershipControls,
    PublicAccessBlockConfiguration, TopicConfiguration, Transition, VersioningConfiguration,
};
use crate::model::{Expr, Resource, Template};
use crate::stage::StageConfig;

use super::tags;

/// How long replaced or deleted object versions are kept.
const NONCURRENT_DAYS: u32 = 30;

pub struct PrivateBucket<'a> {
    /// Logical ID prefix: `Input` gives `InputBucket` and `InputBucketPolicy`.
    pub id: &'a str,
    /// The middle of the physical name: `zipster-<stage>-<purpose>-<account>-<region>`.
    pub purpose: &'a str,
    /// Move current objects to Standard-IA after this many days (at least 30).
    pub infrequent_access_after_days: Option<u32>,
    pub expire_after_days: Option<u32>,
    /// `(topic logical ID, topic policy logical ID)` that receives `s3:ObjectCreated:*`.
    pub notify: Option<(&'a str, &'a str)>,
    /// The logs bucket's logical ID; `None` only for the logs bucket itself.
    pub access_logs: Option<&'a str>,
    /// Extra statements for the bucket policy (e.g. log delivery).
    pub extra_statements: Vec<Statement>,
}

/// What other resources need to know about a bucket.
pub struct BucketRefs {
    pub logical_id: String,
    /// The name as an `Fn::Sub` template, usable before the bucket exists (no dependency).
    pub name_template: String,
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

    pub fn objects_arn(&self) -> Expr {
        Expr::sub(format!("arn:${{AWS::Partition}}:s3:::{}/*", self.name_template))
    }
}

/// The name every stage bucket gets: unique per account and region, stage-prefixed.
pub fn name_template(stage: &StageConfig, purpose: &str) -> String {
    format!("{}-{purpose}-${{AWS::AccountId}}-${{AWS::Region}}", stage.prefix())
}

impl PrivateBucket<'_> {
    pub fn add(self, template: &mut Template, stage: &StageConfig) -> BucketRefs {
        let refs =
            BucketRefs { logical_id: format!("{}Bucket", self.id), name_template: name_template(stage, self.purpose) };
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
            logging_configuration: self.access_logs.map(|logs| LoggingConfiguration {
                destination_bucket_name: Expr::reference(logs),
                log_file_prefix: format!("s3-access/{}/", self.purpose),
            }),
            notification_configuration: self.notify.map(|(topic, _)| NotificationConfiguration {
                topic_configurations: vec![TopicConfiguration {
                    event: "s3:ObjectCreated:*",
                    topic: Expr::reference(topic),
                }],
            }),
            tags: tags(stage),
        };
        let mut bucket = Resource::from(bucket)
            .checkov_skip(
                "CKV_AWS_144",
                "Cross-region replication is not needed: inputs can be re-sent and outputs rebuilt.",
            )
            .checkov_skip(
                "CKV_AWS_145",
                "SSE-S3 encrypts at rest; a KMS key would add a key policy and per-request cost for public zip code data.",
            );
        // S3 checks that it may publish to the topic when the notification is created.
        if let Some((_, topic_policy)) = self.notify {
            bucket = bucket.depends_on(topic_policy);
        } else {
            bucket = bucket.checkov_skip("CKV2_AWS_62", "Nothing consumes this bucket's object events.");
        }
        if self.access_logs.is_none() {
            bucket =
                bucket.checkov_skip("CKV_AWS_18", "This is the access-log bucket; logging it to itself would loop.");
        }
        template.add(&refs.logical_id, bucket);

        let mut statements = vec![
            Statement::deny(["s3:*"], vec![Expr::get_att(&refs.logical_id, "Arn"), refs.objects_arn()])
                .sid("DenyInsecureTransport")
                .principal(Principal::anyone())
                .condition("Bool", "aws:SecureTransport", "false".into()),
        ];
        statements.extend(self.extra_statements);
        template.add(
            format!("{}Policy", refs.logical_id),
            BucketPolicy { bucket: refs.name(), policy_document: PolicyDocument::new(statements) },
        );
        refs
    }
}
