//! Lambda functions, invoke permissions and asynchronous invocation settings.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Expr, Tag};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Function {
    pub function_name: String,
    pub description: String,
    pub handler: &'static str,
    pub runtime: &'static str,
    pub architectures: Vec<&'static str>,
    pub code: Code,
    pub role: Expr,
    pub memory_size: u32,
    pub timeout: u32,
    pub environment: Environment,
    pub logging_config: LoggingConfig,
    pub ephemeral_storage: EphemeralStorage,
    /// The most instances that may run at once, taken out of the account's pool.
    pub reserved_concurrent_executions: u32,
    pub vpc_config: VpcConfig,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Code {
    #[serde(rename = "S3Bucket")]
    pub s3_bucket: Expr,
    #[serde(rename = "S3Key")]
    pub s3_key: Expr,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Environment {
    pub variables: BTreeMap<String, Expr>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoggingConfig {
    pub log_group: Expr,
    /// JSON, so the runtime's tracing subscriber writes structured lines.
    pub log_format: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EphemeralStorage {
    pub size: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VpcConfig {
    pub security_group_ids: Vec<Expr>,
    pub subnet_ids: Vec<Expr>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Permission {
    pub action: &'static str,
    pub function_name: Expr,
    pub principal: &'static str,
    pub source_arn: Expr,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventInvokeConfig {
    pub function_name: Expr,
    pub qualifier: &'static str,
    pub maximum_retry_attempts: u32,
    pub maximum_event_age_in_seconds: u32,
    pub destination_config: DestinationConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DestinationConfig {
    pub on_failure: OnFailure,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OnFailure {
    pub destination: Expr,
}
