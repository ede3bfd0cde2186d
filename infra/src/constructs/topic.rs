//! SNS topics: trigger topics that only a given bucket may publish to, and
//! notification topics with the stage's email and SMS subscribers.

use crate::model::iam::{PolicyDocument, Principal, Statement};
use crate::model::lambda::Permission;
use crate::model::sns::{Subscription, Topic, TopicPolicy};
use crate::model::{Expr, Resource, Template};
use crate::stage::{Notifications, StageConfig};

use super::bucket::BucketRefs;
use super::function::FunctionRef;
use super::{PolicyRef, physical_name, tags};

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

/// Adds topic `<id>Topic` named `zipster-<stage>-<name>`.
pub fn add(template: &mut Template, stage: &StageConfig, id: &str, name: &str, display_name: &str) -> TopicRef {
    let topic = TopicRef { logical_id: format!("{id}Topic") };
    let resource =
        Topic { topic_name: physical_name(stage, name), display_name: display_name.to_owned(), tags: tags(stage) };
    template.add(
        &topic.logical_id,
        Resource::from(resource).checkov_skip(
            "CKV_AWS_26",
            "S3 notifications and CloudWatch alarms cannot publish to topics under the AWS-managed key; messages hold no secrets.",
        ),
    );
    topic
}

/// Lets only `bucket` (in this account) publish to the topic. The bucket need not
/// exist yet: its ARN comes from its known name.
pub fn allow_bucket_to_publish(template: &mut Template, topic: &TopicRef, bucket: &BucketRefs) -> PolicyRef {
    let policy = PolicyRef { logical_id: format!("{}Policy", topic.logical_id) };
    let statement = Statement::allow(["sns:Publish"], vec![topic.arn()])
        .sid("AllowBucketNotifications")
        .principal(Principal::service("s3.amazonaws.com"))
        .condition("ArnEquals", "aws:SourceArn", bucket.arn())
        .condition("StringEquals", "aws:SourceAccount", Expr::reference("AWS::AccountId"));
    let resource = TopicPolicy { topics: vec![topic.arn()], policy_document: PolicyDocument::new(vec![statement]) };
    template.add(&policy.logical_id, resource);
    policy
}

/// Subscribes the stage's people: every email address and phone number.
pub fn subscribe_people(template: &mut Template, topic: &TopicRef, people: &Notifications) {
    let endpoints =
        people.emails.iter().map(|e| ("Email", "email", e)).chain(people.sms.iter().map(|p| ("Sms", "sms", p)));
    let mut counts = [0usize; 2];
    for (kind, protocol, endpoint) in endpoints {
        let count = &mut counts[usize::from(kind == "Sms")];
        *count += 1;
        template.add(
            format!("{}{kind}Subscription{count}", topic.logical_id),
            Subscription { topic_arn: topic.arn(), protocol, endpoint: endpoint.as_str().into() },
        );
    }
}

/// Subscribes a function to the topic and lets SNS (for this topic only) invoke it.
pub fn subscribe_function(template: &mut Template, topic: &TopicRef, function: &FunctionRef) {
    let prefix = format!("{}{}", function.logical_id, topic.logical_id);
    template.add(
        format!("{prefix}Subscription"),
        Subscription { topic_arn: topic.arn(), protocol: "lambda", endpoint: function.arn() },
    );
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
