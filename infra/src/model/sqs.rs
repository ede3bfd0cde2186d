//! SQS queues (the functions' on-failure destination).

use serde::Serialize;

use super::{Expr, Tag, iam::PolicyDocument};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Queue {
    pub queue_name: String,
    pub message_retention_period: u32,
    pub sqs_managed_sse_enabled: bool,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueuePolicy {
    pub queues: Vec<Expr>,
    pub policy_document: PolicyDocument,
}
