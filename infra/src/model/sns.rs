//! SNS topics, topic policies and subscriptions.

use std::collections::BTreeMap;

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
    /// Which messages reach the endpoint: a message attribute and the values that pass;
    /// `None`, every message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_policy: Option<BTreeMap<&'static str, Vec<String>>>,
    /// What the policy is matched against: `MessageAttributes` (the default, written
    /// out so that no reader has to know it) or `MessageBody`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_policy_scope: Option<&'static str>,
}

impl Subscription {
    /// Every message of `topic_arn` to `endpoint`.
    pub fn new(topic_arn: Expr, protocol: &'static str, endpoint: Expr) -> Self {
        Self { topic_arn, protocol, endpoint, filter_policy: None, filter_policy_scope: None }
    }

    /// Only the messages whose `attribute` is one of `values`; a message without the
    /// attribute passes no such filter.
    pub fn with_attribute_filter(mut self, attribute: &'static str, values: Vec<String>) -> Self {
        self.filter_policy = Some(BTreeMap::from([(attribute, values)]));
        self.filter_policy_scope = Some("MessageAttributes");
        self
    }
}
