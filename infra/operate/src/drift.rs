//! `drift`: CloudFormation's drift detection on the stage's stack (DetectStackDrift,
//! waited for, then DescribeStackResourceDrifts): every resource changed or deleted
//! outside a deploy, with each property's expected and actual value.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use aws_sdk_cloudformation::types::{StackDriftDetectionStatus, StackResourceDriftStatus};
use serde::Serialize;
use zipster_deploy::StageClients;

/// A resource that is not as the stack's template says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drifted {
    pub logical_id: String,
    pub resource_type: String,
    /// `MODIFIED` or `DELETED`.
    pub status: String,
    pub differences: Vec<Difference>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// A JSON pointer into the resource's properties: `/Timeout`.
    pub path: String,
    pub expected: String,
    pub actual: String,
    /// `ADD`, `REMOVE` or `NOT_EQUAL`.
    pub kind: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DriftReport {
    pub stack: String,
    pub drifted: Vec<Drifted>,
    /// Set when detection could not check every resource (some types are not supported).
    pub incomplete: Option<String>,
}

/// Detection takes CloudFormation a few seconds to minutes: no longer than this.
const DETECTION_LIMIT: Duration = Duration::from_secs(600);

pub async fn detect(clients: &StageClients, stack: &str, poll: Duration) -> Result<DriftReport> {
    let cfn = &clients.cloudformation;
    let started =
        cfn.detect_stack_drift().stack_name(stack).send().await.map_err(clients.error("DetectStackDrift", stack))?;
    let id = started.stack_drift_detection_id().context("DetectStackDrift returned no detection id")?.to_owned();
    let began = Instant::now();
    let status = loop {
        let status = cfn
            .describe_stack_drift_detection_status()
            .stack_drift_detection_id(&id)
            .send()
            .await
            .map_err(clients.error("DescribeStackDriftDetectionStatus", format!("{stack} detection {id}")))?;
        if status.detection_status() != Some(&StackDriftDetectionStatus::DetectionInProgress) {
            break status;
        }
        if began.elapsed() > DETECTION_LIMIT {
            bail!("drift detection {id} on {stack} was still running after {} s", DETECTION_LIMIT.as_secs());
        }
        tokio::time::sleep(poll).await;
    };
    let incomplete = (status.detection_status() == Some(&StackDriftDetectionStatus::DetectionFailed))
        .then(|| status.detection_status_reason().unwrap_or("detection failed").to_owned());
    let mut drifted = Vec::new();
    let mut pages = cfn
        .describe_stack_resource_drifts()
        .stack_name(stack)
        .stack_resource_drift_status_filters(StackResourceDriftStatus::Modified)
        .stack_resource_drift_status_filters(StackResourceDriftStatus::Deleted)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(clients.error("DescribeStackResourceDrifts", stack))?;
        for drift in page.stack_resource_drifts() {
            let differences = drift
                .property_differences()
                .iter()
                .map(|d| Difference {
                    path: d.property_path().unwrap_or_default().to_owned(),
                    expected: d.expected_value().unwrap_or_default().to_owned(),
                    actual: d.actual_value().unwrap_or_default().to_owned(),
                    kind: d.difference_type().map_or("", |t| t.as_str()).to_owned(),
                })
                .collect();
            drifted.push(Drifted {
                logical_id: drift.logical_resource_id().unwrap_or_default().to_owned(),
                resource_type: drift.resource_type().unwrap_or_default().to_owned(),
                status: drift.stack_resource_drift_status().map_or("", |s| s.as_str()).to_owned(),
                differences,
            });
        }
    }
    drifted.sort_by(|a, b| a.logical_id.cmp(&b.logical_id));
    Ok(DriftReport { stack: stack.to_owned(), drifted, incomplete })
}

impl DriftReport {
    pub fn render(&self) -> String {
        let mut out = String::new();
        for d in &self.drifted {
            out.push_str(&format!("{} ({}): {}\n", d.logical_id, d.resource_type, d.status));
            for p in &d.differences {
                out.push_str(&format!("  {} {}: expected {}, actual {}\n", p.kind, p.path, p.expected, p.actual));
            }
        }
        if let Some(reason) = &self.incomplete {
            out.push_str(&format!("not every resource could be checked: {reason}\n"));
        }
        if self.drifted.is_empty() {
            out.push_str(&format!("{}: no drift\n", self.stack));
        } else {
            out.push_str(&format!(
                "{}: {} resource(s) drifted; `cargo xtask diff` then `deploy` puts the template's values back\n",
                self.stack,
                self.drifted.len()
            ));
        }
        out
    }
}
