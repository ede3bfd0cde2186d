//! Systems Manager: State Manager associations (patching the host in place) and
//! documents (the stage's Session Manager preferences).

use std::collections::BTreeMap;

use serde::Serialize;

use super::Expr;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Association {
    pub association_name: String,
    /// The SSM document, e.g. `AWS-RunPatchBaseline`.
    pub name: &'static str,
    pub targets: Vec<Target>,
    pub schedule_expression: String,
    /// Run only at the schedule's times, not also right after the association is
    /// created or its targets change (only valid with a `cron(...)` schedule).
    pub apply_only_at_cron_interval: bool,
    /// Document parameter → values.
    pub parameters: BTreeMap<String, Vec<String>>,
    pub output_location: OutputLocation,
    pub compliance_severity: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Target {
    /// `InstanceIds`, or `tag:<key>`.
    pub key: &'static str,
    pub values: Vec<Expr>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OutputLocation {
    pub s3_location: S3OutputLocation,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct S3OutputLocation {
    #[serde(rename = "OutputS3BucketName")]
    pub bucket_name: Expr,
    #[serde(rename = "OutputS3KeyPrefix")]
    pub key_prefix: String,
}

/// An SSM document of the stack's own (the Session Manager preferences of the stage).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Document {
    pub name: String,
    /// `Session` for Session Manager preferences.
    pub document_type: &'static str,
    pub document_format: &'static str,
    /// The document itself; CloudFormation resolves the intrinsics inside it.
    pub content: serde_json::Value,
    /// `NewVersion`: an edited document keeps its name (a replacement could not).
    pub update_method: &'static str,
    pub tags: Vec<super::Tag>,
}
