//! Data Lifecycle Manager: scheduled EBS snapshots with retention.

use serde::Serialize;

use super::{Expr, Tag};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LifecyclePolicy {
    pub description: String,
    /// `ENABLED` or `DISABLED`.
    pub state: &'static str,
    pub execution_role_arn: Expr,
    pub policy_details: PolicyDetails,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDetails {
    /// `EBS_SNAPSHOT_MANAGEMENT`.
    pub policy_type: &'static str,
    /// `VOLUME` or `INSTANCE`.
    pub resource_types: Vec<&'static str>,
    /// The volumes carrying every one of these tags are snapshotted.
    pub target_tags: Vec<Tag>,
    pub schedules: Vec<Schedule>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Schedule {
    pub name: String,
    pub create_rule: CreateRule,
    pub retain_rule: RetainRule,
    /// Copy the volume's tags to its snapshots.
    pub copy_tags: bool,
    pub tags_to_add: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateRule {
    pub interval: u32,
    /// `HOURS`.
    pub interval_unit: &'static str,
    /// `hh:mm` UTC.
    pub times: Vec<String>,
}

/// Age-based retention: a snapshot is deleted once it is `interval` units old.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RetainRule {
    pub interval: u32,
    /// `DAYS`, `WEEKS`, `MONTHS` or `YEARS`.
    pub interval_unit: &'static str,
}
