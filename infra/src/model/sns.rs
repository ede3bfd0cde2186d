//! SNS topics, topic policies and subscriptions.

use serde::Serialize;

use super::{Expr, Tag, iam::PolicyDocument};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Topic {
    pub topic_name: String,
    pub display_name: String,
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
