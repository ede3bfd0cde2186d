//! SNS topics, topic policies and subscriptions.

use serde::Serialize;

use super::{Expr, Tag, iam::PolicyDocument};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Topic {
    pub topic_name: String,
    pub display_name: String,
    /// `alias/aws/sns` (the AWS-managed key) or a key ARN; `None`: not encrypted at rest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_master_key_id: Option<&'static str>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TopicPolicy {
    pub topics: Vec<Expr>,
    pub policy_document: PolicyDocument,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Subscription {
    pub topic_arn: Expr,
    pub protocol: &'static str,
    pub endpoint: Expr,
}
