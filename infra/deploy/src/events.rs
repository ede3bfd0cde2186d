//! Following a stack operation: its events as they arrive, then the final status.

use std::time::Duration;

use anyhow::{Result, bail};
use aws_sdk_cloudformation::types::StackStatus;
use serde::Serialize;

use crate::{StageClients, Ui};

/// One stack event, as printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventLine {
    pub time: String,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
}

impl EventLine {
    /// `12:04:31  TransformFunction  AWS::Lambda::Function  UPDATE_COMPLETE  reason`,
    /// with `status` already styled by the caller.
    pub fn render(&self, status: &str) -> String {
        let mut line = format!("    {}  {:<34} {:<34} {status}", self.time, self.logical_id, self.resource_type);
        if let Some(reason) = &self.reason {
            line.push_str("  ");
            line.push_str(reason);
        }
        line
    }

    pub fn failed(&self) -> bool {
        self.status.ends_with("_FAILED")
    }
}

/// The id of the newest event of the stack, so [`follow`] shows only what comes after.
pub async fn newest_event_id(clients: &StageClients, stack: &str) -> Result<Option<String>> {
    let page = clients
        .cloudformation
        .describe_stack_events()
        .stack_name(stack)
        .send()
        .await
        .map_err(clients.error("DescribeStackEvents", stack))?;
    Ok(page.stack_events().first().and_then(|e| e.event_id()).map(str::to_owned))
}

/// How an operation ended.
#[derive(Debug)]
pub struct Finished {
    pub status: String,
    pub events: Vec<EventLine>,
}

/// Streams the events newer than `after` until the stack leaves `*_IN_PROGRESS`;
/// fails, listing the failed resources' reasons first, unless it ended in success.
pub async fn follow(
    clients: &StageClients,
    stack_id: &str,
    after: Option<&str>,
    poll: Duration,
    ui: &mut dyn Ui,
) -> Result<Finished> {
    let mut seen: Vec<EventLine> = Vec::new();
    let mut last_id = after.map(str::to_owned);
    loop {
        // Status first: events written before it are then surely in the next listing.
        let status = stack_status(clients, stack_id).await?;
        let new = events_after(clients, stack_id, last_id.as_deref()).await?;
        if let Some((id, _)) = new.last() {
            last_id = Some(id.clone());
        }
        for (_, event) in new {
            ui.event(&event);
            seen.push(event);
        }
        let Some((status, reason)) = status else {
            bail!("stack {stack_id} disappeared while we followed it");
        };
        if status.as_str().ends_with("IN_PROGRESS") {
            tokio::time::sleep(poll).await;
            continue;
        }
        let succeeded = matches!(
            status,
            StackStatus::CreateComplete
                | StackStatus::UpdateComplete
                | StackStatus::DeleteComplete
                | StackStatus::ImportComplete
        );
        if succeeded {
            return Ok(Finished { status: status.as_str().to_owned(), events: seen });
        }
        let mut message = format!("stack {stack_id} ended in {}", status.as_str());
        if let Some(reason) = reason {
            message.push_str(&format!(" ({reason})"));
        }
        let failures: Vec<String> = seen
            .iter()
            .filter(|e| e.failed())
            .map(|e| format!("\n  {} ({}): {}", e.logical_id, e.resource_type, e.reason.as_deref().unwrap_or("")))
            .collect();
        if !failures.is_empty() {
            message = format!("failed resources:{}\n{message}", failures.concat());
        }
        bail!(message);
    }
}

/// The stack's status and reason, `None` when it does not exist.
pub async fn stack_status(clients: &StageClients, stack: &str) -> Result<Option<(StackStatus, Option<String>)>> {
    match clients.cloudformation.describe_stacks().stack_name(stack).send().await {
        Ok(page) => Ok(page
            .stacks()
            .first()
            .and_then(|s| s.stack_status().map(|status| (status.clone(), s.stack_status_reason().map(str::to_owned))))),
        Err(error) if is_missing_stack(&error) => Ok(None),
        Err(error) => Err(clients.error("DescribeStacks", stack)(error)),
    }
}

/// CloudFormation answers a missing stack with a generic ValidationError.
pub fn is_missing_stack<E, R>(error: &aws_sdk_cloudformation::error::SdkError<E, R>) -> bool
where
    E: std::error::Error + aws_sdk_cloudformation::error::ProvideErrorMetadata + 'static,
{
    error.as_service_error().and_then(|e| e.message()).is_some_and(|m| m.contains("does not exist"))
}

/// Events newer than `after`, oldest first, with their ids.
async fn events_after(clients: &StageClients, stack: &str, after: Option<&str>) -> Result<Vec<(String, EventLine)>> {
    let mut newest_first = Vec::new();
    let mut next = None;
    'pages: loop {
        let page = clients
            .cloudformation
            .describe_stack_events()
            .stack_name(stack)
            .set_next_token(next)
            .send()
            .await
            .map_err(clients.error("DescribeStackEvents", stack))?;
        for event in page.stack_events() {
            let id = event.event_id().unwrap_or_default().to_owned();
            if after == Some(id.as_str()) {
                break 'pages;
            }
            let time = event
                .timestamp()
                .and_then(|t| t.fmt(aws_sdk_cloudformation::primitives::DateTimeFormat::DateTime).ok())
                .map(|t| t.get(11..19).unwrap_or(&t).to_owned())
                .unwrap_or_default();
            newest_first.push((
                id,
                EventLine {
                    time,
                    logical_id: event.logical_resource_id().unwrap_or_default().to_owned(),
                    resource_type: event.resource_type().unwrap_or_default().to_owned(),
                    status: event.resource_status().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                    reason: event.resource_status_reason().filter(|r| !r.is_empty()).map(str::to_owned),
                },
            ));
        }
        next = page.next_token().map(str::to_owned);
        if next.is_none() || after.is_none() && newest_first.len() > 1000 {
            break;
        }
    }
    newest_first.reverse();
    Ok(newest_first)
}
