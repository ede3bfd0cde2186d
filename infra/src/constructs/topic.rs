//! SNS topics: trigger topics that only a given bucket may publish to, and
//! notification topics with the stage's email and SMS subscribers and each feed's
//! owners (filtered to their feeds' messages). Every topic's policy refuses
//! publishing without TLS; a topic that only the stack's functions publish to is
//! encrypted with the AWS-managed SNS key.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::model::iam::{PolicyDocument, Principal, Statement};
use crate::model::lambda::Permission;
use crate::model::sns::{Subscription, Topic, TopicPolicy};
use crate::model::{Expr, Resource, Template};
use crate::stage::{FeedSettings, Notifications, StageConfig};

use super::bucket::BucketRefs;
use super::function::FunctionRef;
use super::{PolicyRef, arn, physical_name, tags};

/// The AWS-managed SNS key: its key policy lets this account's principals use it
/// through SNS, so a publisher needs no KMS permission; a service publishing for
/// itself (S3 notifications, CloudWatch alarms) cannot, and that key policy cannot be
/// changed to admit it.
pub const AWS_MANAGED_SNS_KEY: &str = "alias/aws/sns";

/// Who publishes to a topic, which decides its encryption and its policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishedBy {
    /// Only the stack's functions, with their roles: encrypted with [`AWS_MANAGED_SNS_KEY`].
    Functions,
    /// The stack's alarms (and functions): CloudWatch may publish for this stage's alarms.
    Alarms,
    /// A bucket's event notifications; the policy comes from [`allow_bucket_to_publish`].
    BucketNotifications,
}

/// A topic in the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicRef {
    pub logical_id: String,
}

impl TopicRef {
    pub fn arn(&self) -> Expr {
        Expr::reference(&self.logical_id)
    }
}

/// Adds topic `<id>Topic` named `zipster-<stage>-<name>`, with its policy unless a
/// bucket publishes to it.
pub fn add(
    template: &mut Template,
    stage: &StageConfig,
    id: &str,
    name: &str,
    display_name: &str,
    published_by: PublishedBy,
) -> TopicRef {
    let topic = TopicRef { logical_id: format!("{id}Topic") };
    let encrypted = published_by == PublishedBy::Functions;
    let resource = Topic {
        topic_name: physical_name(stage, name),
        display_name: display_name.to_owned(),
        kms_master_key_id: encrypted.then_some(AWS_MANAGED_SNS_KEY),
        tags: tags(stage),
    };
    let mut resource = Resource::from(resource);
    let unencrypted = match published_by {
        PublishedBy::Functions => None,
        PublishedBy::Alarms => Some(("CloudWatch alarms", "alarm state changes and refused-file alerts")),
        PublishedBy::BucketNotifications => Some(("S3 event notifications", "S3 events (bucket and object names)")),
    };
    if let Some((publisher, messages)) = unencrypted {
        let reason = format!(
            "{publisher} cannot publish to a topic under the AWS-managed SNS key, and no customer-managed key is set up; \
             its messages are {messages}, never file contents."
        );
        resource = resource.checkov_skip("CKV_AWS_26", &reason);
    }
    template.add(&topic.logical_id, resource);

    let mut statements = Vec::new();
    if published_by == PublishedBy::Alarms {
        statements.push(
            Statement::allow(["sns:Publish"], vec![topic.arn()])
                .sid("AllowThisStagesAlarms")
                .principal(Principal::service("cloudwatch.amazonaws.com"))
                .condition("ArnLike", "aws:SourceArn", arn("cloudwatch", &format!("alarm:{}-*", stage.prefix())))
                .condition("StringEquals", "aws:SourceAccount", Expr::reference("AWS::AccountId")),
        );
    }
    if published_by != PublishedBy::BucketNotifications {
        add_policy(template, &topic, statements);
    }
    topic
}

/// The topic's policy: `statements`, then the refusal of publishing without TLS.
fn add_policy(template: &mut Template, topic: &TopicRef, mut statements: Vec<Statement>) -> PolicyRef {
    let policy = PolicyRef { logical_id: format!("{}Policy", topic.logical_id) };
    statements.push(
        Statement::deny(["sns:Publish"], vec![topic.arn()])
            .sid("DenyInsecureTransport")
            .principal(Principal::anyone())
            .condition("Bool", "aws:SecureTransport", "false".into()),
    );
    let resource = TopicPolicy { topics: vec![topic.arn()], policy_document: PolicyDocument::new(statements) };
    template.add(&policy.logical_id, resource);
    policy
}

/// Lets only `bucket` (in this account) publish to the topic. The bucket need not
/// exist yet: its ARN comes from its known name.
pub fn allow_bucket_to_publish(template: &mut Template, topic: &TopicRef, bucket: &BucketRefs) -> PolicyRef {
    let statement = Statement::allow(["sns:Publish"], vec![topic.arn()])
        .sid("AllowBucketNotifications")
        .principal(Principal::service("s3.amazonaws.com"))
        .condition("ArnEquals", "aws:SourceArn", bucket.arn())
        .condition("StringEquals", "aws:SourceAccount", Expr::reference("AWS::AccountId"));
    add_policy(template, topic, vec![statement])
}

/// Subscribes the stage's people: every email address and phone number, to every
/// message of the topic.
pub fn subscribe_people(template: &mut Template, topic: &TopicRef, people: &Notifications) {
    let mut counts = [0usize; 2];
    for (protocol, endpoint) in people.endpoints() {
        let count = &mut counts[usize::from(protocol == "sms")];
        *count += 1;
        template.add(
            format!("{}{}Subscription{count}", topic.logical_id, kind(protocol)),
            Subscription::new(topic.arn(), protocol, endpoint.into()),
        );
    }
}

/// The message attribute the functions name a message's feed with; a message about no
/// one feed has none.
pub use zipster_core::FEED_ATTRIBUTE;

/// Subscribes each feed's owners to the topic's messages about their feeds only: a
/// filter on the [`FEED_ATTRIBUTE`] message attribute, so messages without one (an
/// alarm, a key no feed claims) reach only the stage-wide subscribers. An owner of
/// several feeds has one subscription listing them: SNS keeps one subscription per
/// endpoint and topic. Its logical ID comes from the endpoint, not from a place in a
/// list, so that adding or removing an owner replaces no other owner's subscription
/// (a replaced email subscription waits for its owner to confirm it again).
pub fn subscribe_feed_owners(template: &mut Template, topic: &TopicRef, feeds: &BTreeMap<String, FeedSettings>) {
    let mut owners: BTreeMap<(&'static str, &str), Vec<String>> = BTreeMap::new();
    for (feed, settings) in feeds {
        for endpoint in settings.notifications.endpoints() {
            let theirs = owners.entry(endpoint).or_default();
            // Feeds come in name order: a name listed twice for one feed arrives twice in a row.
            if theirs.last() != Some(feed) {
                theirs.push(feed.clone());
            }
        }
    }
    for ((protocol, endpoint), feeds) in owners {
        let digest = Sha256::digest(endpoint.as_bytes());
        let id: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        template.add(
            format!("{}Feed{}Subscription{id}", topic.logical_id, kind(protocol)),
            Subscription::new(topic.arn(), protocol, endpoint.into()).with_attribute_filter(FEED_ATTRIBUTE, feeds),
        );
    }
}

/// A subscription's protocol as it appears in logical IDs.
fn kind(protocol: &str) -> &'static str {
    if protocol == "sms" { "Sms" } else { "Email" }
}

/// Subscribes a function to the topic and lets SNS (for this topic only) invoke it.
pub fn subscribe_function(template: &mut Template, topic: &TopicRef, function: &FunctionRef) {
    let prefix = format!("{}{}", function.logical_id, topic.logical_id);
    template.add(format!("{prefix}Subscription"), Subscription::new(topic.arn(), "lambda", function.arn()));
    template.add(
        format!("{prefix}Permission"),
        Permission {
            action: "lambda:InvokeFunction",
            function_name: function.name(),
            principal: "sns.amazonaws.com",
            source_arn: topic.arn(),
        },
    );
}
