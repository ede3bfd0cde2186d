//! CDK-style constructs: each adds a resource together with the resources that
//! make it safe to use (policies, log groups, alarms), with defaults that pass the
//! security tests and linters without per-use configuration.

pub mod bucket;
pub mod function;
pub mod host;
pub mod network;
pub mod session;
pub mod topic;

use crate::model::iam::Role;
use crate::model::{Expr, Tag};
use crate::stage::StageConfig;

/// `project=zipster` and `stage=<stage>`, on every resource that takes tags.
pub fn tags(stage: &StageConfig) -> Vec<Tag> {
    vec![Tag::new("project", "zipster"), Tag::new("stage", &stage.name)]
}

/// `zipster-<stage>-<suffix>`: the physical name of a topic, queue or function.
pub fn physical_name(stage: &StageConfig, suffix: &str) -> String {
    format!("{}-{suffix}", stage.prefix())
}

/// A policy resource that others must wait for (`DependsOn`): S3 checks a topic
/// policy when the notification is created, flow logs check the bucket policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRef {
    pub logical_id: String,
}

/// The ARN of a resource in the stack's own region and account.
pub fn arn(service: &str, resource: &str) -> Expr {
    Expr::sub(format!("arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}"))
}

/// A role of the stage's stack, for `service`: it carries the stage's permissions
/// boundary (from its bootstrap), without which the execution role cannot create it.
pub fn stage_role(stage: &StageConfig, service: &str, description: impl Into<String>) -> Role {
    let mut role = Role::for_service(service, description, tags(stage));
    role.permissions_boundary = Some(crate::bootstrap::boundary_arn(stage));
    role
}
