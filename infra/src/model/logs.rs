//! CloudWatch Logs log groups.

use serde::Serialize;

use super::Tag;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogGroup {
    pub log_group_name: String,
    pub retention_in_days: u32,
    pub tags: Vec<Tag>,
}
