//! `cargo xtask bootstrap --stage S`: the stage's bootstrap stack
//! (`zipster_infra::bootstrap`: artifact bucket, permissions boundary, execution
//! role, GitHub deploy role), deployed with the caller's own credentials through the
//! same change sets, table and events as `deploy`; [`outputs`], by which `deploy`
//! finds what it made; and [`remove`] (`bootstrap --destroy`).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Result, bail};
use aws_sdk_cloudformation::types::StackStatus;
use serde::Serialize;
use zipster_infra::StageConfig;
use zipster_infra::bootstrap::{self as template, ARTIFACT_BUCKET_OUTPUT, EXECUTION_ROLE_OUTPUT};

use crate::changeset::{self, Plan, ResourceChange, TemplateSource};
use crate::deploy::{Outcome, delete_stack, stack_outputs};
use crate::events::{self, EventLine};
use crate::{StageClients, Ui, artifacts, gate, stack_name};

pub struct BootstrapOptions {
    pub stage: StageConfig,
    pub poll: Duration,
}

#[derive(Debug, Serialize)]
pub struct BootstrapReport {
    pub stack_name: String,
    pub outcome: Outcome,
    pub changes: Vec<ResourceChange>,
    pub events: Vec<EventLine>,
    pub outputs: BTreeMap<String, String>,
}

/// What `deploy` needs of the bootstrap stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bootstrapped {
    pub artifact_bucket: String,
    pub execution_role_arn: String,
}

/// The bootstrap's outputs; an error telling to run `bootstrap` when it is missing.
pub async fn outputs(clients: &StageClients, stage: &StageConfig) -> Result<Bootstrapped> {
    let stack = template::stack_name(stage);
    let run_it = format!("run `cargo xtask bootstrap --stage {}` first", stage.name);
    if events::stack_status(clients, &stack).await?.is_none() {
        bail!("stage {}: its bootstrap stack {stack} does not exist in {}; {run_it}", stage.name, clients.region);
    }
    let outputs = stack_outputs(clients, &stack).await?;
    let output = |name: &str| match outputs.get(name) {
        Some(value) if !value.is_empty() => Ok(value.clone()),
        _ => bail!("stage {}: its bootstrap stack {stack} has no output {name} (not complete?); {run_it}", stage.name),
    };
    Ok(Bootstrapped {
        artifact_bucket: output(ARTIFACT_BUCKET_OUTPUT)?,
        execution_role_arn: output(EXECUTION_ROLE_OUTPUT)?,
    })
}

/// Creates or updates the bootstrap stack: the change table, a confirmation for IAM
/// changes, the events. A change that replaces or removes the artifact bucket is
/// refused (the stage's stack and its rollbacks read their code from it).
pub async fn bootstrap(options: BootstrapOptions, clients: &StageClients, ui: &mut dyn Ui) -> Result<BootstrapReport> {
    let stage = &options.stage;
    let stack = template::stack_name(stage);
    let account = clients.account_id().await?;
    let create = match events::stack_status(clients, &stack).await? {
        None | Some((StackStatus::ReviewInProgress, _)) => true,
        Some((StackStatus::RollbackComplete, _)) => bail!(
            "stack {stack} is in ROLLBACK_COMPLETE: its creation failed (the events said why); delete it with \
             `aws cloudformation delete-stack --region {} --stack-name {stack}` and bootstrap again",
            clients.region
        ),
        Some((status, _)) if status.as_str().ends_with("IN_PROGRESS") => {
            bail!("stack {stack} is busy ({}); wait for that operation to end", status.as_str())
        }
        Some(_) => false,
    };
    let json = template::bootstrap(stage).to_json();
    if create {
        let bucket = zipster_infra::constructs::bucket::name_template(stage, "artifacts")
            .replace("${AWS::AccountId}", &account)
            .replace("${AWS::Region}", &clients.region);
        if artifacts::bucket_exists(clients, &bucket, &account).await? {
            bail!(
                "bootstrap {stack}: the artifact bucket {bucket} already exists, made by a deploy before bootstraps \
                 existed; empty and delete it (`aws s3 rb s3://{bucket} --force`, its zips are uploaded again) and \
                 run bootstrap again"
            );
        }
    }
    let request = changeset::Request {
        stack_name: &stack,
        create,
        template: TemplateSource::Body(&json),
        parameters: template::parameters(stage),
        role_arn: None,
        poll: options.poll,
    };
    let mut report = BootstrapReport {
        stack_name: stack.clone(),
        outcome: Outcome::NoChanges,
        changes: Vec::new(),
        events: Vec::new(),
        outputs: BTreeMap::new(),
    };
    let (change_set_id, stack_id, mut changes) = match changeset::create(clients, &request).await? {
        Plan::NoChanges => {
            ui.step(&format!("no changes: {stack} is up to date"));
            report.outputs = stack_outputs(clients, &stack).await?;
            return Ok(report);
        }
        Plan::Ready { change_set_id, stack_id, changes } => (change_set_id, stack_id, changes),
    };
    let template_value: serde_json::Value = serde_json::from_str(&json)?;
    let deployed = if create { None } else { crate::deploy::deployed_template(clients, &stack).await? };
    gate::mark(&mut changes, &template_value, deployed.as_ref());
    ui.changes(&changes);
    report.changes = changes;
    let stateful: Vec<String> =
        report.changes.iter().filter(|c| c.stateful.is_some()).map(|c| c.logical_id.clone()).collect();
    if !stateful.is_empty() {
        changeset::delete(clients, &change_set_id).await?;
        bail!(gate::refusal(&report.changes, &stateful, &stack));
    }
    let executed = changeset::confirm_and_execute(
        clients,
        ui,
        &change_set_id,
        (&stack, &stack_id),
        &report.changes,
        "bootstrap",
        options.poll,
    )
    .await?;
    let Some(events) = executed else {
        ui.step("not bootstrapped");
        report.outcome = Outcome::Declined;
        return Ok(report);
    };
    report.events = events;
    report.outcome = if create { Outcome::Created } else { Outcome::Updated };
    report.outputs = stack_outputs(clients, &stack).await?;
    Ok(report)
}

#[derive(Debug, Serialize)]
pub struct RemovalReport {
    pub stack_name: String,
    pub deleted: bool,
    pub events: Vec<EventLine>,
    /// The artifact bucket, retained (its template says so) with its contents.
    pub kept_bucket: Option<String>,
}

/// `bootstrap --destroy`: deletes the bootstrap stack, only once the stage's own
/// stack is gone (its change sets run with the execution role, and its code and
/// rollbacks read the artifact bucket). The bucket is retained, and the command that
/// deletes it is printed.
pub async fn remove(options: BootstrapOptions, clients: &StageClients, ui: &mut dyn Ui) -> Result<RemovalReport> {
    let stage = &options.stage;
    let stack = template::stack_name(stage);
    let mut report = RemovalReport { stack_name: stack.clone(), deleted: false, events: Vec::new(), kept_bucket: None };
    if events::stack_status(clients, &stack).await?.is_none() {
        ui.step(&format!("{stack} does not exist: nothing to remove"));
        return Ok(report);
    }
    let stage_stack = stack_name(stage);
    if events::stack_status(clients, &stage_stack).await?.is_some() {
        bail!(
            "not removed: the stack {stage_stack} still runs on {stack}; run `cargo xtask destroy --stage {}` first",
            stage.name
        );
    }
    let bucket = stack_outputs(clients, &stack).await?.remove(ARTIFACT_BUCKET_OUTPUT);
    if !ui.confirm(&format!("delete {stack} (its roles and boundary; the artifact bucket is kept)"))? {
        ui.step("nothing deleted");
        return Ok(report);
    }
    report.events = delete_stack(clients, &stack, options.poll, ui).await?;
    report.deleted = true;
    if let Some(bucket) = &bucket {
        ui.step(&format!("kept the artifact bucket {bucket}; to delete it: aws s3 rb s3://{bucket} --force"));
    }
    report.kept_bucket = bucket;
    Ok(report)
}
