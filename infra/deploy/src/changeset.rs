//! Change sets: what a deploy would do, shown before it is done.

use std::time::Duration;

use anyhow::{Result, bail};
use aws_sdk_cloudformation::types::{Capability, ChangeSetStatus, ChangeSetType, Parameter};
use serde::Serialize;

use crate::StageClients;

/// One row of the change table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ResourceChange {
    /// `Add`, `Modify`, `Remove` (or `Import`, `Dynamic`).
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    /// `True`, `False` or `Conditional` for modifications; `None` otherwise.
    pub replacement: Option<String>,
    /// CloudFormation's `Scope` of a modification (`Properties`, `Metadata`, `Tags`…).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scope: Vec<String>,
    /// CloudFormation's `Details`, one phrase each: `Properties.ImageId (recreation Always)`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
    /// The template's reason when this change replaces or removes a stateful resource
    /// (see [`crate::gate`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stateful: Option<String>,
}

impl ResourceChange {
    pub fn replaces(&self) -> bool {
        matches!(self.replacement.as_deref(), Some("True" | "Conditional"))
    }
}

/// A change set that was created and is ready to execute, or nothing to do.
#[derive(Debug)]
pub enum Plan {
    NoChanges,
    Ready { change_set_id: String, stack_id: String, changes: Vec<ResourceChange> },
}

/// Where CloudFormation reads the template from.
#[derive(Debug, Clone, Copy)]
pub enum TemplateSource<'a> {
    /// An object of the artifact bucket: a stage's template is larger than the 51,200
    /// bytes CloudFormation takes inline.
    Url(&'a str),
    /// The template itself: the bootstrap's, which creates that bucket.
    Body(&'a str),
}

pub struct Request<'a> {
    pub stack_name: &'a str,
    pub create: bool,
    pub template: TemplateSource<'a>,
    pub parameters: Vec<(String, String)>,
    /// The role CloudFormation assumes to make the changes (the bootstrap's execution
    /// role); `None`: the caller's own credentials (the bootstrap stack itself).
    pub role_arn: Option<&'a str>,
    pub poll: Duration,
}

/// Creates a change set and waits until CloudFormation has computed it.
pub async fn create(clients: &StageClients, request: &Request<'_>) -> Result<Plan> {
    let name = format!("zipster-{}", unique_suffix());
    let kind = if request.create { ChangeSetType::Create } else { ChangeSetType::Update };
    let parameters = request
        .parameters
        .iter()
        .map(|(key, value)| Parameter::builder().parameter_key(key).parameter_value(value).build())
        .collect();
    let create = clients
        .cloudformation
        .create_change_set()
        .stack_name(request.stack_name)
        .change_set_name(&name)
        .change_set_type(kind)
        .set_role_arn(request.role_arn.map(str::to_owned));
    let create = match request.template {
        TemplateSource::Url(url) => create.template_url(url),
        TemplateSource::Body(body) => create.template_body(body),
    };
    let created = create
        .set_parameters(Some(parameters))
        .capabilities(Capability::CapabilityIam)
        .capabilities(Capability::CapabilityNamedIam)
        .description("cargo xtask deploy")
        .send()
        .await
        .map_err(clients.error("CreateChangeSet", request.stack_name))?;
    let change_set_id = created.id().unwrap_or(&name).to_owned();
    let stack_id = created.stack_id().unwrap_or(request.stack_name).to_owned();

    loop {
        let described = describe(clients, &change_set_id).await?;
        match described.status {
            Some(ChangeSetStatus::CreateComplete) => {
                return Ok(Plan::Ready { change_set_id, stack_id, changes: described.changes });
            }
            Some(ChangeSetStatus::Failed) => {
                let reason = described.reason.unwrap_or_default();
                delete(clients, &change_set_id).await?;
                if is_no_change(&reason) {
                    return Ok(Plan::NoChanges);
                }
                bail!("change set for {} failed: {reason}", request.stack_name);
            }
            _ => tokio::time::sleep(request.poll).await,
        }
    }
}

/// CloudFormation's two phrasings of "nothing to do".
fn is_no_change(reason: &str) -> bool {
    reason.contains("didn't contain changes") || reason.contains("No updates are to be performed")
}

struct Described {
    status: Option<ChangeSetStatus>,
    reason: Option<String>,
    changes: Vec<ResourceChange>,
}

async fn describe(clients: &StageClients, change_set_id: &str) -> Result<Described> {
    let mut changes = Vec::new();
    let mut next = None;
    loop {
        let page = clients
            .cloudformation
            .describe_change_set()
            .change_set_name(change_set_id)
            .set_next_token(next)
            .send()
            .await
            .map_err(clients.error("DescribeChangeSet", change_set_id))?;
        changes.extend(page.changes().iter().filter_map(|c| c.resource_change()).map(|c| ResourceChange {
            action: c.action().map(|a| a.as_str().to_owned()).unwrap_or_default(),
            logical_id: c.logical_resource_id().unwrap_or_default().to_owned(),
            resource_type: c.resource_type().unwrap_or_default().to_owned(),
            replacement: c.replacement().map(|r| r.as_str().to_owned()),
            scope: c.scope().iter().map(|s| s.as_str().to_owned()).collect(),
            details: c.details().iter().filter_map(detail).collect(),
            stateful: None,
        }));
        next = page.next_token().map(str::to_owned);
        if next.is_none() {
            return Ok(Described {
                status: page.status().cloned(),
                reason: page.status_reason().map(str::to_owned),
                changes,
            });
        }
    }
}

/// `Properties.ImageId (recreation Always)`: what changed and whether it recreates.
fn detail(detail: &aws_sdk_cloudformation::types::ResourceChangeDetail) -> Option<String> {
    let target = detail.target()?;
    let attribute = target.attribute().map(|a| a.as_str().to_owned()).unwrap_or_default();
    let mut phrase = match target.name() {
        Some(name) if !attribute.is_empty() => format!("{attribute}.{name}"),
        Some(name) => name.to_owned(),
        None => attribute,
    };
    if let Some(recreation) = target.requires_recreation() {
        phrase.push_str(&format!(" (recreation {})", recreation.as_str()));
    }
    if let Some(entity) = detail.causing_entity() {
        phrase.push_str(&format!(" via {entity}"));
    }
    (!phrase.is_empty()).then_some(phrase)
}

pub async fn delete(clients: &StageClients, change_set_id: &str) -> Result<()> {
    clients
        .cloudformation
        .delete_change_set()
        .change_set_name(change_set_id)
        .send()
        .await
        .map_err(clients.error("DeleteChangeSet", change_set_id))?;
    Ok(())
}

pub async fn execute(clients: &StageClients, change_set_id: &str) -> Result<()> {
    clients
        .cloudformation
        .execute_change_set()
        .change_set_name(change_set_id)
        .send()
        .await
        .map_err(clients.error("ExecuteChangeSet", change_set_id))?;
    Ok(())
}

/// The end of `deploy` and `bootstrap` alike: asks about what these changes need
/// confirming (IAM, replacements), deleting the change set if declined (`None`);
/// otherwise executes it and follows the stack's events to the end (`verb` is what
/// the question says is about to happen, e.g. "deploy").
pub async fn confirm_and_execute(
    clients: &StageClients,
    ui: &mut dyn crate::Ui,
    change_set_id: &str,
    (stack, stack_id): (&str, &str),
    changes: &[ResourceChange],
    verb: &str,
    poll: Duration,
) -> Result<Option<Vec<crate::events::EventLine>>> {
    if let Some(reason) = confirmation_reason(changes)
        && !ui.confirm(&format!("this change {reason}; {verb} {stack}"))?
    {
        delete(clients, change_set_id).await?;
        return Ok(None);
    }
    let after = crate::events::newest_event_id(clients, stack_id).await?;
    ui.step(&format!("executing the change set on {stack}"));
    execute(clients, change_set_id).await?;
    Ok(Some(crate::events::follow(clients, stack_id, after.as_deref(), poll, ui).await?.events))
}

/// Why the user must confirm these changes, if they must: IAM changes and
/// replacements (a replaced bucket or host loses its data) are worth a second look.
pub fn confirmation_reason(changes: &[ResourceChange]) -> Option<String> {
    let iam = changes.iter().filter(|c| c.resource_type.starts_with("AWS::IAM::")).count();
    let replaced: Vec<&str> = changes.iter().filter(|c| c.replaces()).map(|c| c.logical_id.as_str()).collect();
    let removed = changes.iter().filter(|c| c.action == "Remove").count();
    let mut reasons = Vec::new();
    if !replaced.is_empty() {
        reasons.push(format!("replaces {}", replaced.join(", ")));
    }
    if removed > 0 {
        reasons.push(format!("removes {removed} resource(s)"));
    }
    if iam > 0 {
        reasons.push(format!("changes {iam} IAM resource(s)"));
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// The change table: Action, LogicalId, Type, Replacement; each stateful change is
/// followed by a line saying why it matters (see [`table_lines`]).
pub fn table(changes: &[ResourceChange]) -> String {
    table_lines(changes).into_iter().map(|(line, _)| line).collect::<Vec<_>>().join("\n")
}

/// The table's lines, each with whether it belongs to a stateful change (so a
/// terminal can color it): a stateful row is marked `!` and followed by
/// `  ! stateful: <the template's reason>; CloudFormation: <Scope / Details>`.
pub fn table_lines(changes: &[ResourceChange]) -> Vec<(String, bool)> {
    let header = ["Action", "LogicalId", "Type", "Replacement"];
    let rows: Vec<[String; 4]> = changes
        .iter()
        .map(|c| {
            let action = if c.stateful.is_some() { format!("{}!", c.action) } else { c.action.clone() };
            [action, c.logical_id.clone(), c.resource_type.clone(), c.replacement.clone().unwrap_or_default()]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let render = |cells: [&str; 4]| {
        let line: Vec<String> = cells.iter().zip(widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        line.join("  ").trim_end().to_owned()
    };
    let mut lines = vec![(render(header), false)];
    for (row, change) in rows.iter().zip(changes) {
        lines.push((render([&row[0], &row[1], &row[2], &row[3]]), change.stateful.is_some()));
        if let Some(reason) = &change.stateful {
            let what = if change.action == "Remove" { "removed" } else { "replaced" };
            let mut line = format!("  ! stateful, {what}: {reason}");
            let cloudformation: Vec<String> =
                [change.scope.join(", "), change.details.join(", ")].into_iter().filter(|s| !s.is_empty()).collect();
            if !cloudformation.is_empty() {
                line.push_str(&format!("; CloudFormation: {}", cloudformation.join("; ")));
            }
            lines.push((line, true));
        }
    }
    lines
}

/// Change set names must be unique per stack; time and pid are enough for one user.
fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{nanos:x}-{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(action: &str, id: &str, kind: &str, replacement: Option<&str>) -> ResourceChange {
        ResourceChange {
            action: action.to_owned(),
            logical_id: id.to_owned(),
            resource_type: kind.to_owned(),
            replacement: replacement.map(str::to_owned),
            ..ResourceChange::default()
        }
    }

    #[test]
    fn the_table_aligns_columns_and_shows_replacements() {
        let table = table(&[
            change("Modify", "TransformFunction", "AWS::Lambda::Function", Some("False")),
            change("Add", "Topic", "AWS::SNS::Topic", None),
        ]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "Action  LogicalId          Type                   Replacement");
        assert_eq!(lines[1], "Modify  TransformFunction  AWS::Lambda::Function  False");
        assert_eq!(lines[2], "Add     Topic              AWS::SNS::Topic");
    }

    #[test]
    fn a_stateful_change_is_marked_with_the_reasons_of_the_template_and_of_cloudformation() {
        let host = ResourceChange {
            scope: vec!["Properties".to_owned()],
            details: vec!["Properties.ImageId (recreation Always)".to_owned()],
            stateful: Some("the database runs on it".to_owned()),
            ..change("Modify", "DatabaseHost", "AWS::EC2::Instance", Some("True"))
        };
        let bucket = ResourceChange {
            stateful: Some("holds the feeds".to_owned()),
            ..change("Remove", "InputBucket", "AWS::S3::Bucket", None)
        };
        let lines = table_lines(&[change("Modify", "Fn", "AWS::Lambda::Function", Some("False")), host, bucket]);
        let text: Vec<&str> = lines.iter().map(|(line, _)| line.as_str()).collect();
        assert_eq!(
            text,
            [
                "Action   LogicalId     Type                   Replacement",
                "Modify   Fn            AWS::Lambda::Function  False",
                "Modify!  DatabaseHost  AWS::EC2::Instance     True",
                "  ! stateful, replaced: the database runs on it; CloudFormation: Properties; Properties.ImageId \
             (recreation Always)",
                "Remove!  InputBucket   AWS::S3::Bucket",
                "  ! stateful, removed: holds the feeds",
            ]
        );
        let marked: Vec<bool> = lines.iter().map(|(_, stateful)| *stateful).collect();
        assert_eq!(marked, [false, false, true, true, true, true]);
    }

    #[test]
    fn iam_removals_and_replacements_need_confirmation_code_changes_do_not() {
        let code_only = [change("Modify", "TransformFunction", "AWS::Lambda::Function", Some("False"))];
        assert_eq!(confirmation_reason(&code_only), None);
        let risky = [
            change("Modify", "InputBucket", "AWS::S3::Bucket", Some("True")),
            change("Add", "LoadFunctionRole", "AWS::IAM::Role", None),
            change("Remove", "OldTopic", "AWS::SNS::Topic", None),
        ];
        let reason = confirmation_reason(&risky).unwrap_or_default();
        assert_eq!(reason, "replaces InputBucket; removes 1 resource(s); changes 1 IAM resource(s)");
        assert!(is_no_change("The submitted information didn't contain changes. Submit different information."));
        assert!(!is_no_change("Template format error"));
    }
}
