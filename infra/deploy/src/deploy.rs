//! `cargo xtask deploy --stage S` and `cargo xtask diff --stage S`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use aws_sdk_cloudformation::types::{Stack, StackStatus};
use serde::Serialize;
use zipster_infra::StageConfig;

use crate::artifacts::{self, Artifact, Upload};
use zipster_infra::FUNCTIONS;

use crate::bootstrap::{self, Bootstrapped};
use crate::build::{self, Target};
use crate::changeset::{self, Plan, ResourceChange, TemplateSource};
use crate::events::{self, EventLine};
use crate::{StageClients, Ui, gate, stack_name};

/// Where the functions' code comes from.
pub enum Code {
    /// Build every function now.
    Build(Target),
    /// Already built (tests inject bytes here; the local stage reuses a build).
    Prebuilt(Vec<Artifact>),
}

pub struct DeployOptions {
    pub stage: StageConfig,
    pub root: PathBuf,
    pub code: Code,
    /// Change set only: created, shown, deleted. Nothing else changes but the
    /// content-addressed template object the change set is computed from.
    pub dry_run: bool,
    /// Delete a stack stuck in ROLLBACK_COMPLETE and create it again.
    pub recreate: bool,
    /// How often to poll CloudFormation.
    pub poll: Duration,
    /// Which stateful resources this deploy may replace or remove.
    pub allow_replace: AllowReplace,
}

/// `--allow-replace`: the stateful changes a deploy may make without asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowReplace {
    /// Exactly these logical ids (none: `Named(vec![])`): any other stateful change
    /// is asked about by name at a terminal, and refused under `--yes`.
    Named(Vec<String>),
    /// Any: a stage that holds nothing worth keeping (the local one, on moto).
    Any,
}

impl AllowReplace {
    /// The logical ids let through among `changes`.
    fn ids(&self, changes: &[ResourceChange]) -> Vec<String> {
        match self {
            Self::Named(ids) => ids.clone(),
            Self::Any => changes.iter().filter(|c| c.stateful.is_some()).map(|c| c.logical_id.clone()).collect(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    NoChanges,
    DryRun,
    Declined,
    Created,
    Updated,
}

#[derive(Debug, Serialize)]
pub struct DeployReport {
    pub stack_name: String,
    pub artifact_bucket: String,
    /// The role CloudFormation ran the change set with (the bootstrap's execution role).
    pub execution_role_arn: String,
    /// Function name → code key (`<sha256>.zip`).
    pub code_keys: BTreeMap<String, String>,
    /// Keys uploaded by this run (artifacts and template); empty when all were there.
    pub uploaded: Vec<String>,
    pub outcome: Outcome,
    /// Every row of the change set; `stateful` set on the ones that replace or remove state.
    pub changes: Vec<ResourceChange>,
    /// The stateful changes that `--allow-replace` let through.
    pub allowed_replacements: Vec<String>,
    pub events: Vec<EventLine>,
    pub outputs: BTreeMap<String, String>,
    pub outputs_file: Option<PathBuf>,
    /// The command that shows whether a newer host image than the pinned one exists.
    pub host_image_check: Option<String>,
}

/// Build, publish, plan, confirm, execute, follow, record the outputs. A change set
/// that replaces or removes a stateful resource (see [`crate::gate`]) goes through
/// only for the resources `options.allow_replace` names; any other is asked about by
/// name at a terminal, and refused under `--yes`: the change set is deleted, nothing
/// is executed, and the error names each resource and the flag that allows it.
pub async fn deploy(options: DeployOptions, clients: &StageClients, ui: &mut dyn Ui) -> Result<DeployReport> {
    let stage = &options.stage;
    let stack = stack_name(stage);
    let account = clients.account_id().await?;
    let bootstrapped = bootstrap::outputs(clients, stage).await?;
    let bucket = bootstrapped.artifact_bucket.clone();

    let existing = events::stack_status(clients, &stack).await?;
    let create = match &existing {
        None | Some((StackStatus::ReviewInProgress, _)) => true,
        Some((StackStatus::RollbackComplete, _)) if options.recreate => {
            if !ui.confirm(&format!("delete {stack} (ROLLBACK_COMPLETE, holds no data) and create it again"))? {
                bail!("not recreated: {stack} stays in ROLLBACK_COMPLETE");
            }
            if !options.dry_run {
                delete_stack(clients, &stack, options.poll, ui).await?;
            }
            true
        }
        Some((StackStatus::RollbackComplete, _)) => bail!(
            "stack {stack} is in ROLLBACK_COMPLETE: its first creation failed and was rolled back, and CloudFormation \
             cannot update it. Run `cargo xtask deploy --stage {} --recreate` to delete and create it again (it holds \
             no data), or `cargo xtask destroy --stage {}`",
            stage.name,
            stage.name
        ),
        Some((status, _)) if status.as_str().ends_with("IN_PROGRESS") => {
            bail!("stack {stack} is busy ({}); wait for that operation to end", status.as_str())
        }
        Some(_) => false,
    };

    let artifacts = match options.code {
        Code::Prebuilt(artifacts) => artifacts,
        Code::Build(target) => {
            let root = options.root.clone();
            build::build(&root, target, ui)?.into_iter().map(|built| built.artifact).collect()
        }
    };
    let code_keys = code_keys(&artifacts)?;

    let template = zipster_infra::stack(stage).to_json();
    let template_value: serde_json::Value = serde_json::from_str(&template)?;
    let template_key = format!("templates/{}.json", artifacts::sha256_hex(template.as_bytes()));
    let mut uploads =
        vec![Upload { key: template_key.clone(), body: template.as_bytes(), content_type: "application/json" }];
    if !options.dry_run {
        uploads.extend(artifacts.iter().map(|a| Upload {
            key: a.key(),
            body: &a.zip,
            content_type: "application/zip",
        }));
    }
    let uploaded = artifacts::publish(clients, &bucket, &account, &uploads, ui).await?;

    let mut parameters = vec![(zipster_infra::ARTIFACT_BUCKET.to_owned(), bucket.clone())];
    for function in FUNCTIONS {
        let key = code_keys.get(function.name).cloned().unwrap_or_default();
        parameters.push((function.code_key_parameter().to_owned(), key));
    }
    let template_url = template_url(&bucket, &clients.region, &template_key);
    let request = changeset::Request {
        stack_name: &stack,
        create,
        template: TemplateSource::Url(&template_url),
        parameters,
        role_arn: Some(&bootstrapped.execution_role_arn),
        poll: options.poll,
    };
    let mut report = report(stack.clone(), bootstrapped.clone(), code_keys, uploaded, Outcome::NoChanges);

    let (change_set_id, stack_id, changes) = match changeset::create(clients, &request).await? {
        Plan::NoChanges => {
            ui.step(&format!("no changes: {stack} is up to date"));
            report.host_image_check = Some(host_image_check(stage, ui));
            report.outputs = stack_outputs(clients, &stack).await?;
            report.outputs_file = Some(write_outputs(&options.root, stage, &report.outputs)?);
            return Ok(report);
        }
        Plan::Ready { change_set_id, stack_id, changes } => (change_set_id, stack_id, changes),
    };
    let mut changes = changes;
    let deployed = if create { None } else { deployed_template(clients, &stack).await? };
    gate::mark(&mut changes, &template_value, deployed.as_ref());
    ui.changes(&changes);
    report.changes = changes;
    if options.dry_run {
        changeset::delete(clients, &change_set_id).await?;
        ui.step("dry run: change set deleted, nothing executed");
        report.outcome = Outcome::DryRun;
        return Ok(report);
    }
    let verdict = gate::judge(&report.changes, &options.allow_replace.ids(&report.changes));
    for id in &verdict.unused {
        ui.step(&format!("--allow-replace {id}: this change set neither replaces nor removes a stateful {id}"));
    }
    if !verdict.allowed.is_empty() {
        ui.step(&format!("allowed by --allow-replace: {}", gate::describe(&report.changes, &verdict.allowed)));
    }
    report.allowed_replacements = verdict.allowed;
    if !verdict.unallowed.is_empty()
        && !ui.confirm_by_name(&gate::question(&report.changes, &verdict.unallowed, &stack))?
    {
        changeset::delete(clients, &change_set_id).await?;
        bail!(gate::refusal(&report.changes, &verdict.unallowed, &stack));
    }
    let executed = changeset::confirm_and_execute(
        clients,
        ui,
        &change_set_id,
        (&stack, &stack_id),
        &report.changes,
        "deploy",
        options.poll,
    )
    .await?;
    let Some(events) = executed else {
        ui.step("not deployed");
        report.outcome = Outcome::Declined;
        return Ok(report);
    };
    report.events = events;
    report.outcome = if create { Outcome::Created } else { Outcome::Updated };
    report.host_image_check = Some(host_image_check(stage, ui));
    report.outputs = stack_outputs(clients, &stack).await?;
    report.outputs_file = Some(write_outputs(&options.root, stage, &report.outputs)?);
    Ok(report)
}

fn report(
    stack_name: String,
    bootstrapped: Bootstrapped,
    code_keys: BTreeMap<String, String>,
    uploaded: Vec<String>,
    outcome: Outcome,
) -> DeployReport {
    DeployReport {
        stack_name,
        artifact_bucket: bootstrapped.artifact_bucket,
        execution_role_arn: bootstrapped.execution_role_arn,
        code_keys,
        uploaded,
        outcome,
        changes: Vec::new(),
        allowed_replacements: Vec::new(),
        events: Vec::new(),
        outputs: BTreeMap::new(),
        outputs_file: None,
        host_image_check: None,
    }
}

/// One line after a deploy: the pinned host image and the command that tells whether
/// a newer one exists (run by the user: the engine has no SSM client, by design).
fn host_image_check(stage: &StageConfig, ui: &mut dyn Ui) -> String {
    let command = stage.newer_host_image_command();
    ui.step(&format!("host image pinned to {}; a newer one? {command}", stage.host_image));
    command
}

/// Every function must have exactly one artifact.
fn code_keys(artifacts: &[Artifact]) -> Result<BTreeMap<String, String>> {
    let keys: BTreeMap<String, String> = artifacts.iter().map(|a| (a.function.clone(), a.key())).collect();
    for function in FUNCTIONS {
        if !keys.contains_key(function.name) {
            bail!("no artifact for the {} function", function.name);
        }
    }
    Ok(keys)
}

/// Virtual-hosted S3 URL; CloudFormation reads templates over 51,200 bytes only from S3.
fn template_url(bucket: &str, region: &str, key: &str) -> String {
    format!("https://{bucket}.s3.{region}.amazonaws.com/{key}")
}

/// The stack as `DescribeStacks` sees it (`None` if it answers with no stack).
async fn describe_stack(clients: &StageClients, stack: &str) -> Result<Option<Stack>> {
    let page = clients
        .cloudformation
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .map_err(clients.error("DescribeStacks", stack))?;
    Ok(page.stacks.and_then(|stacks| stacks.into_iter().next()))
}

pub async fn stack_outputs(clients: &StageClients, stack: &str) -> Result<BTreeMap<String, String>> {
    let described = describe_stack(clients, stack).await?;
    let outputs = described.as_ref().map(|s| s.outputs()).unwrap_or_default();
    Ok(outputs
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value().unwrap_or_default().to_owned())))
        .collect())
}

fn write_outputs(root: &std::path::Path, stage: &StageConfig, outputs: &BTreeMap<String, String>) -> Result<PathBuf> {
    let path = crate::outputs_path(root, &stage.name);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut json = serde_json::to_string_pretty(outputs)?;
    json.push('\n');
    std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Deletes a stack and follows the deletion to its end.
pub async fn delete_stack(
    clients: &StageClients,
    stack: &str,
    poll: Duration,
    ui: &mut dyn Ui,
) -> Result<Vec<EventLine>> {
    let Some(stack_id) = stack_id(clients, stack).await? else { return Ok(Vec::new()) };
    let after = events::newest_event_id(clients, &stack_id).await?;
    ui.step(&format!("deleting the stack {stack}"));
    clients
        .cloudformation
        .delete_stack()
        .stack_name(&stack_id)
        .send()
        .await
        .map_err(clients.error("DeleteStack", stack))?;
    Ok(events::follow(clients, &stack_id, after.as_deref(), poll, ui).await?.events)
}

/// The stack's ARN, which (unlike its name) still answers once it is deleted.
pub async fn stack_id(clients: &StageClients, stack: &str) -> Result<Option<String>> {
    match clients.cloudformation.describe_stacks().stack_name(stack).send().await {
        Ok(page) => Ok(page.stacks().first().and_then(|s| s.stack_id()).map(str::to_owned)),
        Err(error) if events::is_missing_stack(&error) => Ok(None),
        Err(error) => Err(clients.error("DescribeStacks", stack)(error)),
    }
}

/// `diff`: the synthesized template against the deployed stack, code keys unchanged.
pub async fn diff(
    stage: &StageConfig,
    clients: &StageClients,
    poll: Duration,
    ui: &mut dyn Ui,
) -> Result<Vec<ResourceChange>> {
    let stack = stack_name(stage);
    let template = zipster_infra::stack(stage);
    let template_value: serde_json::Value = serde_json::from_str(&template.to_json())?;
    if events::stack_status(clients, &stack).await?.is_none() {
        ui.step(&format!("{stack} does not exist: deploy would create every resource"));
        let changes: Vec<ResourceChange> = template
            .resources
            .iter()
            .map(|(id, resource)| ResourceChange {
                action: "Add".to_owned(),
                logical_id: id.clone(),
                resource_type: serde_json::to_value(resource)
                    .ok()
                    .and_then(|v| v["Type"].as_str().map(str::to_owned))
                    .unwrap_or_default(),
                ..ResourceChange::default()
            })
            .collect();
        ui.changes(&changes);
        return Ok(changes);
    }
    let account = clients.account_id().await?;
    let bootstrapped = bootstrap::outputs(clients, stage).await?;
    let bucket = bootstrapped.artifact_bucket;
    let json = template.to_json();
    let key = format!("templates/{}.json", artifacts::sha256_hex(json.as_bytes()));
    artifacts::publish(
        clients,
        &bucket,
        &account,
        &[Upload { key: key.clone(), body: json.as_bytes(), content_type: "application/json" }],
        ui,
    )
    .await?;
    let previous = previous_parameters(clients, &stack).await?;
    let request = changeset::Request {
        stack_name: &stack,
        create: false,
        template: TemplateSource::Url(&template_url(&bucket, &clients.region, &key)),
        parameters: previous,
        role_arn: Some(&bootstrapped.execution_role_arn),
        poll,
    };
    match changeset::create(clients, &request).await? {
        Plan::NoChanges => {
            ui.step(&format!("no changes: {stack} matches the synthesized template"));
            Ok(Vec::new())
        }
        Plan::Ready { change_set_id, mut changes, .. } => {
            changeset::delete(clients, &change_set_id).await?;
            let deployed = deployed_template(clients, &stack).await?;
            if gate::mark(&mut changes, &template_value, deployed.as_ref()) > 0 {
                ui.step("! marks a change that replaces or removes a stateful resource: deploy --yes refuses it");
            }
            ui.changes(&changes);
            Ok(changes)
        }
    }
}

/// The template the stack runs now (`GetTemplate`, as submitted), so a removal is
/// judged by the markers of what is being removed. `None` if there is no stack.
pub async fn deployed_template(clients: &StageClients, stack: &str) -> Result<Option<serde_json::Value>> {
    let answer = match clients
        .cloudformation
        .get_template()
        .stack_name(stack)
        .template_stage(aws_sdk_cloudformation::types::TemplateStage::Original)
        .send()
        .await
    {
        Ok(answer) => answer,
        Err(error) if events::is_missing_stack(&error) => return Ok(None),
        Err(error) => return Err(clients.error("GetTemplate", stack)(error)),
    };
    let Some(body) = answer.template_body() else { return Ok(None) };
    let template = serde_json::from_str(body).with_context(|| {
        format!("the deployed template of {stack} is not JSON, so its stateful markers cannot be read")
    })?;
    Ok(Some(template))
}

/// The deployed code keys, so `diff` shows only what the template changes.
async fn previous_parameters(clients: &StageClients, stack: &str) -> Result<Vec<(String, String)>> {
    let described = describe_stack(clients, stack).await?;
    let parameters = described.as_ref().map(|s| s.parameters()).unwrap_or_default();
    let mut wanted: Vec<&str> = vec![zipster_infra::ARTIFACT_BUCKET];
    wanted.extend(zipster_infra::CODE_KEY_PARAMETERS);
    Ok(parameters
        .iter()
        .filter_map(|p| Some((p.parameter_key()?.to_owned(), p.parameter_value()?.to_owned())))
        .filter(|(key, _)| wanted.contains(&key.as_str()))
        .collect())
}
