//! CloudWatch metric alarms.

use serde::Serialize;

use super::Expr;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Alarm {
    pub alarm_name: String,
    pub alarm_description: String,
    pub namespace: &'static str,
    pub metric_name: &'static str,
    pub dimensions: Vec<Dimension>,
    pub statistic: &'static str,
    pub period: u32,
    pub evaluation_periods: u32,
    pub threshold: f64,
    pub comparison_operator: &'static str,
    pub treat_missing_data: &'static str,
    pub alarm_actions: Vec<Expr>,
    #[serde(rename = "OKActions")]
    pub ok_actions: Vec<Expr>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Dimension {
    pub name: &'static str,
    pub value: Expr,
}
