//! CloudWatch Logs log groups and the metrics counted from their lines.

use serde::Serialize;

use super::{Expr, Tag};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogGroup {
    pub log_group_name: String,
    pub retention_in_days: u32,
    pub tags: Vec<Tag>,
}

/// Counts the log lines matching a pattern as a CloudWatch metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricFilter {
    pub filter_name: String,
    pub log_group_name: Expr,
    pub filter_pattern: String,
    pub metric_transformations: Vec<MetricTransformation>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricTransformation {
    pub metric_namespace: String,
    pub metric_name: String,
    pub metric_value: &'static str,
    /// Published when no line matches, so that the metric reads 0 rather than missing.
    pub default_value: f64,
    pub unit: &'static str,
}
