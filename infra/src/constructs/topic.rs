//! SNS topics: trigger topics that only a given bucket may publish to, and
//! notification topics with the stage's email and SMS subscribers.

use crate::model::iam::{PolicyDocument, Principal, Statement};
use crate::model::lambda::Permission;
use crate::model::sns::{Subscription, Topic, TopicPolicy};
use crate::model::{Expr, Resource, Template};
use crate::stage::{Notifications, StageConfig};

use super::bucket::BucketRefs;
use super::{physical_name, tags};

/// Adds topic `<id>Topic` named `zipster-<stage>-<name>`; returns its logical ID.
pub fn add(template: &mut Template, stage: &StageConfig, id: &str, name: &str, display_name: &str) -> String {
    let logical_id = format!("{id}Topic");
    let topic =
        Topic { topic_name: physical_name(stage, name), display_name: display_name.to_owned(), tags: tags(stage) };
    template.add(
        &logical_id,
        Resource::from(topic).checkov_skip(
            "CKV_AWS_26",
            "S3 notifications and CloudWatch alarms cannot publish to topics under the AWS-managed key; messages hold no secrets.",
        ),
    );
    logical_id
}

/// Lets only `bucket` (in this account) publish to the topic; returns the policy's logical ID.
pub fn allow_bucket_to_publish(template: &mut Template, topic_id: &str, bucket: &BucketRefs) -> String {
    let logical_id = format!("{topic_id}Policy");
    let statement = Statement::allow(["sns:Publish"], vec![Expr::reference(topic_id)])
        .sid("AllowBucketNotifications")
        .principal(Principal::service("s3.amazonaws.com"))
        .condition("ArnEquals", "aws:SourceArn", bucket.arn())
        .condition("StringEquals", "aws:SourceAccount", Expr::reference("AWS::AccountId"));
    let policy =
        TopicPolicy { topics: vec![Expr::reference(topic_id)], policy_document: PolicyDocument::new(vec![statement]) };
    template.add(&logical_id, policy);
    logical_id
}

/// Subscribes the stage's people: every email address and phone number.
pub fn subscribe_people(template: &mut Template, topic_id: &str, people: &Notifications) {
    let endpoints =
        people.emails.iter().map(|e| ("Email", "email", e)).chain(people.sms.iter().map(|p| ("Sms", "sms", p)));
    let mut counts = [0usize; 2];
    for (kind, protocol, endpoint) in endpoints {
        let count = &mut counts[usize::from(kind == "Sms")];
        *count += 1;
        template.add(
            format!("{topic_id}{kind}Subscription{count}"),
            Subscription { topic_arn: Expr::reference(topic_id), protocol, endpoint: endpoint.as_str().into() },
        );
    }
}

/// Subscribes a function to the topic and lets SNS (for this topic only) invoke it.
pub fn subscribe_function(template: &mut Template, topic_id: &str, function_id: &str) {
    template.add(
        format!("{function_id}{topic_id}Subscription"),
        Subscription {
            topic_arn: Expr::reference(topic_id),
            protocol: "lambda",
            endpoint: Expr::get_att(function_id, "Arn"),
        },
    );
    template.add(
        format!("{function_id}{topic_id}Permission"),
        Permission {
            action: "lambda:InvokeFunction",
            function_name: Expr::reference(function_id),
            principal: "sns.amazonaws.com",
            source_arn: Expr::reference(topic_id),
        },
    );
}
