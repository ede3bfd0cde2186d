//! deploy → redeploy → code change → diff → destroy, through the real xtask code,
//! against a private moto server (see support/README.md for moto's gaps).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use zipster_deploy::artifacts::Artifact;
use zipster_deploy::bootstrap::{BootstrapOptions, bootstrap};
use zipster_deploy::build::{self, Target};
use zipster_deploy::deploy::{self, AllowReplace, Code, DeployOptions, Outcome};
use zipster_deploy::destroy::{DestroyOptions, destroy};
use zipster_deploy::ui::Recorder;
use zipster_deploy::{LOCAL_ACCOUNT, LOCAL_REGION, StageClients, artifacts, events};
use zipster_infra::StageConfig;
use zipster_tools::project_root;

use zipster_tools::moto::MotoServer;

const POLL: Duration = Duration::from_millis(100);

/// The local stage's settings under a name of its own, so the stack, its buckets
/// and its outputs file never collide with a running `cargo xtask local`.
fn test_stage(name: &str) -> StageConfig {
    let text = std::fs::read_to_string(project_root().join("infra/stages.toml")).unwrap();
    StageConfig::named(&text.replace("[local]", &format!("[{name}]")), name).unwrap()
}

fn options(stage: &StageConfig, artifacts: Vec<Artifact>) -> DeployOptions {
    DeployOptions {
        stage: stage.clone(),
        root: project_root(),
        code: Code::Prebuilt(artifacts),
        dry_run: false,
        recreate: false,
        poll: POLL,
        allow_replace: AllowReplace::Named(Vec::new()),
    }
}

async fn bucket_exists(clients: &StageClients, bucket: &str) -> bool {
    artifacts::bucket_exists(clients, bucket, LOCAL_ACCOUNT).await.unwrap()
}

/// The stage's bootstrap stack, which every deploy needs first.
async fn bootstrapped(clients: &StageClients, stage: &StageConfig) -> zipster_deploy::bootstrap::BootstrapReport {
    let options = BootstrapOptions { stage: stage.clone(), poll: POLL };
    bootstrap(options, clients, &mut Recorder { answer: true, ..Recorder::default() }).await.unwrap()
}

async fn function_code_key(clients: &StageClients, name: &str) -> String {
    let function = clients.lambda.get_function().function_name(name).send().await.unwrap();
    let location = function.code().and_then(|c| c.location()).unwrap().to_owned();
    location.rsplit('/').next().unwrap().to_owned()
}

async fn put(clients: &StageClients, bucket: &str, key: &str, body: &str) {
    clients
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.as_bytes().to_vec()))
        .send()
        .await
        .unwrap();
}

const OUTPUTS: [&str; 14] = [
    "AlertsTopicArn",
    "DatabaseHost",
    "DatabaseInstanceId",
    "DeadLetterQueueUrl",
    "ErrorsBucketName",
    "InputBucketName",
    "LoadDatabaseSecretArn",
    "LoadFunctionName",
    "LoadTopicArn",
    "MigrateDatabaseSecretArn",
    "MigrateFunctionName",
    "StagingBucketName",
    "TransformFunctionName",
    "TransformTopicArn",
];

#[tokio::test(flavor = "multi_thread")]
async fn deploy_redeploy_change_code_diff_and_destroy_a_stage() {
    let moto = MotoServer::start().unwrap();
    let clients = StageClients::local(&moto.endpoint).await;
    let stage = test_stage("e2e");
    let template = zipster_infra::stack(&stage);

    // The real host build (what `deploy --host` and the local stage ship).
    let built = build::build(&project_root(), Target::Host, &mut Recorder::default()).unwrap();
    let artifacts: Vec<Artifact> = built.iter().map(|b| b.artifact.clone()).collect();
    for b in &built {
        assert!(b.zip_path.ends_with(format!("{}/{}", b.artifact.function, b.artifact.key())));
        assert_eq!(std::fs::read(&b.zip_path).unwrap(), b.artifact.zip);
    }

    // 0. Without its bootstrap stack, a deploy stops at once and says what to run.
    let mut ui = Recorder { answer: true, ..Recorder::default() };
    let refused = deploy::deploy(options(&stage, artifacts.clone()), &clients, &mut ui).await.unwrap_err().to_string();
    assert!(
        refused.contains("zipster-bootstrap-e2e") && refused.contains("run `cargo xtask bootstrap --stage e2e` first")
    );
    assert!(!refused.contains('\n'), "{refused}");
    assert!(events::stack_status(&clients, "zipster-e2e").await.unwrap().is_none());

    // The bootstrap: its change table (with IAM, so asked about) and events; a second
    // run changes nothing.
    let mut ui = Recorder { answer: true, ..Recorder::default() };
    let boot = bootstrap(BootstrapOptions { stage: stage.clone(), poll: POLL }, &clients, &mut ui).await.unwrap();
    assert_eq!(boot.outcome, Outcome::Created);
    let added: BTreeSet<&str> = boot.changes.iter().map(|c| c.logical_id.as_str()).collect();
    for id in ["ArtifactBucket", "PermissionsBoundary", "CloudFormationExecutionRole", "GitHubDeployRole"] {
        assert!(added.contains(id), "{id} in {added:?}");
    }
    assert!(
        ui.questions.iter().any(|q| q.contains("IAM") && q.contains("zipster-bootstrap-e2e")),
        "{:?}",
        ui.questions
    );
    assert!(boot.events.iter().any(|e| e.logical_id == "zipster-bootstrap-e2e" && e.status == "CREATE_COMPLETE"));
    let execution_role = boot.outputs["ExecutionRoleArn"].clone();
    assert!(execution_role.ends_with(":role/zipster-bootstrap-e2e-cfn-exec"), "{execution_role}");
    let mut ui = Recorder::default();
    let again = bootstrap(BootstrapOptions { stage: stage.clone(), poll: POLL }, &clients, &mut ui).await.unwrap();
    assert_eq!(again.outcome, Outcome::NoChanges);
    assert!(ui.lines.iter().any(|l| l == "no changes: zipster-bootstrap-e2e is up to date"), "{:?}", ui.lines);
    assert_eq!(again.outputs, boot.outputs);

    // 1. A fresh stage: uploads into the bootstrap's bucket, a CREATE change set
    // (with IAM roles, so the user is asked) run with the execution role, the stack.
    let mut ui = Recorder { answer: true, ..Recorder::default() };
    let first = deploy::deploy(options(&stage, artifacts.clone()), &clients, &mut ui).await.unwrap();
    assert_eq!(first.outcome, Outcome::Created);
    assert_eq!(ui.questions.len(), 1);
    assert!(ui.questions[0].contains("IAM"), "{:?}", ui.questions);
    assert_eq!(first.artifact_bucket, boot.outputs["ArtifactBucketName"]);
    assert_eq!(first.execution_role_arn, execution_role);
    // The bootstrap stays while a stage's stack runs on it.
    let removal = BootstrapOptions { stage: stage.clone(), poll: POLL };
    let mut ui = Recorder { answer: true, ..Recorder::default() };
    let kept = zipster_deploy::bootstrap::remove(removal, &clients, &mut ui).await.unwrap_err().to_string();
    assert!(kept.contains("cargo xtask destroy --stage e2e"), "{kept}");
    // What CloudFormation received: the stack runs with the execution role.
    let described = clients.cloudformation.describe_stacks().stack_name("zipster-e2e").send().await.unwrap();
    assert_eq!(described.stacks()[0].role_arn(), Some(execution_role.as_str()));
    let zips: BTreeSet<String> = artifacts.iter().map(Artifact::key).collect();
    let uploaded: BTreeSet<String> = first.uploaded.iter().filter(|k| k.ends_with(".zip")).cloned().collect();
    assert_eq!(uploaded, zips);
    assert_eq!(first.uploaded.iter().filter(|k| k.starts_with("templates/")).count(), 1);
    assert_eq!(first.changes.len(), template.resources.len());
    assert!(first.changes.iter().all(|c| c.action == "Add"));
    assert!(first.events.iter().any(|e| e.logical_id == "zipster-e2e" && e.status == "CREATE_COMPLETE"));
    assert_eq!(first.outputs.keys().map(String::as_str).collect::<Vec<_>>(), OUTPUTS);
    let outputs_file = first.outputs_file.clone().unwrap();
    let written: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(&outputs_file).unwrap()).unwrap();
    assert_eq!(written, first.outputs);

    // Every resource the other commands rely on exists, with the right code.
    let out = |name: &str| first.outputs[name].clone();
    for bucket in ["InputBucketName", "StagingBucketName", "ErrorsBucketName"] {
        assert!(bucket_exists(&clients, &out(bucket)).await, "{bucket}");
    }
    let sns = clients.sns.clone();
    for topic in ["TransformTopicArn", "LoadTopicArn", "AlertsTopicArn"] {
        sns.get_topic_attributes().topic_arn(out(topic)).send().await.unwrap();
    }
    for function in zipster_infra::FUNCTIONS {
        let key = function_code_key(&clients, &out(function.name_output())).await;
        assert_eq!(key, first.code_keys[function.name], "{}", function.name);
    }
    assert_eq!(instance_state(&moto, &out("DatabaseInstanceId")), "running");
    for secret in ["MigrateDatabaseSecretArn", "LoadDatabaseSecretArn"] {
        assert!(out(secret).starts_with("arn:aws:secretsmanager:"), "{secret}");
    }

    // 2. The same code again: no change set to run, nothing uploaded.
    let mut ui = Recorder::default();
    let again = deploy::deploy(options(&stage, artifacts.clone()), &clients, &mut ui).await.unwrap();
    assert_eq!(again.outcome, Outcome::NoChanges);
    assert!(again.uploaded.is_empty(), "{:?}", again.uploaded);
    assert!(ui.lines.iter().any(|l| l.starts_with("no changes")), "{:?}", ui.lines);

    // An object planted under an artifact's key with other bytes (no checksum, or
    // another one) is not "already uploaded": it is replaced by the real zip.
    let zip = &artifacts[0];
    for planted in [None, Some(artifacts::sha256_base64(b"planted"))] {
        let mut put = clients.s3.put_object().bucket(&first.artifact_bucket).key(zip.key());
        if let Some(checksum) = planted {
            put = put.checksum_sha256(checksum);
        }
        put.body(ByteStream::from(b"planted".to_vec())).send().await.unwrap();
        let mut ui = Recorder::default();
        let replaced = deploy::deploy(options(&stage, artifacts.clone()), &clients, &mut ui).await.unwrap();
        assert_eq!(replaced.uploaded, [zip.key()]);
        assert!(ui.lines.iter().any(|l| l.contains(&zip.key()) && l.contains("replacing")), "{:?}", ui.lines);
        let object = clients.s3.get_object().bucket(&first.artifact_bucket).key(zip.key()).send().await.unwrap();
        assert_eq!(object.body.collect().await.unwrap().into_bytes().as_ref(), zip.zip.as_slice());
    }

    // 3. New transform code: only its zip goes up, only its function changes.
    let mut changed = artifacts.clone();
    let transform = changed.iter_mut().find(|a| a.function == "transform").unwrap();
    *transform = Artifact::from_binary("transform", b"#!/bin/sh\necho a different build\n").unwrap();
    let new_key = transform.key();
    let mut ui = Recorder::default();
    let update = deploy::deploy(options(&stage, changed.clone()), &clients, &mut ui).await.unwrap();
    assert_eq!(update.outcome, Outcome::Updated);
    assert_eq!(update.uploaded, std::slice::from_ref(&new_key));
    let changes: Vec<(&str, &str)> =
        update.changes.iter().map(|c| (c.action.as_str(), c.logical_id.as_str())).collect();
    assert_eq!(changes, [("Modify", "TransformFunction")]);
    assert!(ui.questions.is_empty(), "a code change needs no confirmation: {:?}", ui.questions);
    assert_eq!(function_code_key(&clients, &out("TransformFunctionName")).await, new_key);
    assert_eq!(function_code_key(&clients, &out("LoadFunctionName")).await, first.code_keys["load"]);

    // diff: the deployed stack matches the synthesized template; a stage edit shows up
    // as modifications, and the change set is deleted afterwards.
    let same = deploy::diff(&stage, &clients, POLL, &mut Recorder::default()).await.unwrap();
    assert!(same.is_empty(), "{same:?}");
    let mut edited = stage.clone();
    edited.log_retention_days = 30;
    let diff = deploy::diff(&edited, &clients, POLL, &mut Recorder::default()).await.unwrap();
    let ids: BTreeSet<&str> = diff.iter().map(|c| c.logical_id.as_str()).collect();
    assert!(ids.contains("TransformFunctionLogGroup"), "{ids:?}");
    assert!(diff.iter().all(|c| c.action == "Modify"), "{diff:?}");
    let change_sets = clients.cloudformation.list_change_sets().stack_name("zipster-e2e").send().await.unwrap();
    // moto keeps executed change sets listed (AWS drops them); none may be left executable.
    let pending: Vec<_> = change_sets
        .summaries()
        .iter()
        .filter(|s| s.execution_status().is_some_and(|e| e.as_str() == "AVAILABLE"))
        .collect();
    assert!(pending.is_empty(), "diff left a change set behind: {pending:?}");

    // 4. Data in the buckets, with versions and a delete marker.
    let (input, errors, staging) = (out("InputBucketName"), out("ErrorsBucketName"), out("StagingBucketName"));
    for version in 1..=3 {
        put(&clients, &input, "feeds/a.csv", &format!("version {version}")).await;
    }
    put(&clients, &input, "feeds/b.csv", "soon deleted").await;
    clients.s3.delete_object().bucket(&input).key("feeds/b.csv").send().await.unwrap();
    put(&clients, &errors, "feeds/a.csv.summary.json", "{}").await;
    put(&clients, &staging, "feeds/a.csv", "zipcode\n").await;

    let destroy_options = |dry_run, purge_data: bool| DestroyOptions {
        stage: stage.clone(),
        dry_run,
        purge_data,
        confirm_stage: purge_data.then(|| stage.name.clone()),
        poll: POLL,
    };
    // A dry run lists the data and deletes nothing; a "no" deletes nothing either.
    let dry = destroy(destroy_options(true, false), &clients, &mut Recorder::default()).await.unwrap();
    let input_contents = dry.buckets.iter().find(|b| b.logical_id == "InputBucket").unwrap();
    assert_eq!((input_contents.objects, input_contents.versions), (1, 5));
    let mut no = Recorder::default();
    let declined = destroy(destroy_options(false, false), &clients, &mut no).await.unwrap();
    assert!(declined.declined && !declined.stack_deleted);
    assert_eq!(no.questions.len(), 1);
    assert!(bucket_exists(&clients, &input).await);
    assert!(no.lines.iter().any(|l| l.contains(&input) && l.contains("<- data")), "{:?}", no.lines);

    // 5. Destroy with --purge-data, the stage confirmed: every bucket emptied
    // (versions and markers) and deleted, retained or not, the stack gone, and the
    // data volume's final snapshot (taken with the stack's deletion) deleted after it.
    let volume = physical_id(&clients, "zipster-e2e", "DatabaseVolume").await;
    let mut yes = Recorder { answer: true, ..Recorder::default() };
    let destroyed = destroy(destroy_options(false, true), &clients, &mut yes).await.unwrap();
    assert!(destroyed.stack_deleted && destroyed.purged);
    assert!(destroyed.kept_buckets.is_empty(), "{:?}", destroyed.kept_buckets);
    assert!(destroyed.deleted_versions >= 7, "{}", destroyed.deleted_versions);
    for bucket in [&input, &errors, &staging] {
        assert!(!bucket_exists(&clients, bucket).await, "{bucket} survived");
    }
    assert!(events::stack_status(&clients, "zipster-e2e").await.unwrap().is_none());
    assert_eq!(destroyed.deleted_snapshots.len(), 1, "the final snapshot: {destroyed:?}");
    assert!(snapshots(&moto, "volume-id", &volume).is_empty(), "a snapshot of {volume} survived the purge");
    // destroy leaves the bootstrap stack and its artifact bucket alone; bootstrap
    // --destroy then removes the stack (it refused while the stage's stack ran on it).
    assert!(events::stack_status(&clients, "zipster-bootstrap-e2e").await.unwrap().is_some());
    assert!(bucket_exists(&clients, &first.artifact_bucket).await);
    let removal = BootstrapOptions { stage: stage.clone(), poll: POLL };
    let removed = zipster_deploy::bootstrap::remove(removal, &clients, &mut yes).await.unwrap();
    assert!(removed.deleted, "{removed:?}");
    assert!(events::stack_status(&clients, "zipster-bootstrap-e2e").await.unwrap().is_none());
    assert_eq!(removed.kept_bucket.as_deref(), Some(first.artifact_bucket.as_str()));
    assert!(bucket_exists(&clients, &first.artifact_bucket).await, "the artifact bucket is retained");
    assert!(yes.lines.iter().any(|l| l.contains(&format!("aws s3 rb s3://{} --force", first.artifact_bucket))));
}

/// Asks moto's EC2 (which the deploy engine has no SDK for) through boto3 in the venv.
fn instance_state(moto: &MotoServer, instance_id: &str) -> String {
    boto3(
        moto,
        &format!(
            "r = ec2.describe_instances(InstanceIds=['{instance_id}'])\n\
             print(r['Reservations'][0]['Instances'][0]['State']['Name'])"
        ),
    )
}

/// The local stage's settings under `name`, with `edit` applied to stages.toml's text.
fn edited_stage(name: &str, edit: impl Fn(&str) -> String) -> StageConfig {
    let text = std::fs::read_to_string(project_root().join("infra/stages.toml")).unwrap();
    StageConfig::named(&edit(&text.replace("[local]", &format!("[{name}]"))), name).unwrap()
}

/// Stand-in code: the gate and destroy do not care what the functions run.
fn stand_in_artifacts() -> Vec<Artifact> {
    zipster_infra::FUNCTIONS.iter().map(|f| Artifact::from_binary(f.name, f.name.as_bytes()).unwrap()).collect()
}

/// The first `host_image = "…"` of stages.toml (the local stage's) pinned elsewhere.
fn another_host_image(text: &str) -> String {
    let start = text.find("\nhost_image = ").expect("stages.toml pins host_image") + 1;
    let end = start + text[start..].find('\n').unwrap();
    let line = &text[start..end];
    let (head, version) = line.trim_end_matches('"').rsplit_once(':').unwrap();
    let older = version.parse::<u32>().unwrap() - 1;
    format!("{}{head}:{older}\"{}", &text[..start], &text[end..])
}

async fn deployed_image(clients: &StageClients, stack: &str) -> serde_json::Value {
    let template = deploy::deployed_template(clients, stack).await.unwrap().unwrap();
    template["Resources"]["DatabaseHost"]["Properties"]["ImageId"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_never_replaces_state_unless_told_by_name_and_destroy_keeps_the_data_unless_purged() {
    let moto = MotoServer::start().unwrap();
    let clients = StageClients::local(&moto.endpoint).await;
    let stage = test_stage("gate");
    let stack = "zipster-gate";
    bootstrapped(&clients, &stage).await;
    let mut yes = Recorder { answer: true, ..Recorder::default() };
    let first = deploy::deploy(options(&stage, stand_in_artifacts()), &clients, &mut yes).await.unwrap();
    assert_eq!(first.outcome, Outcome::Created);
    assert!(first.changes.iter().all(|c| c.stateful.is_none()), "creating destroys nothing");
    // One line says how to tell whether a newer host image exists (no SSM call here).
    let check = first.host_image_check.clone().unwrap();
    assert_eq!(check, stage.newer_host_image_command());
    assert!(check.starts_with("aws ssm get-parameter"), "{check}");
    assert_eq!(yes.lines.iter().filter(|l| l.contains(&check)).count(), 1, "{:?}", yes.lines);
    let before = deployed_image(&clients, stack).await;
    let volume = physical_id(&clients, stack, "DatabaseVolume").await;

    // A new host image replaces the host: marked in the dry run and in diff.
    let new_image = edited_stage("gate", another_host_image);
    let dry = DeployOptions { dry_run: true, ..options(&new_image, stand_in_artifacts()) };
    let mut ui = Recorder::default();
    let planned = deploy::deploy(dry, &clients, &mut ui).await.unwrap();
    assert_eq!(planned.outcome, Outcome::DryRun);
    let host = planned.changes.iter().find(|c| c.logical_id == "DatabaseHost").unwrap();
    assert_eq!(host.replacement.as_deref(), Some("True"));
    assert!(host.stateful.is_some(), "{host:?}");
    assert!(host.details.iter().any(|d| d.contains("ImageId")), "{host:?}");
    assert!(ui.lines.iter().any(|l| l.contains("Modify!  DatabaseHost") && l.contains("! stateful")), "{:?}", ui.lines);
    let diff = deploy::diff(&new_image, &clients, POLL, &mut Recorder::default()).await.unwrap();
    assert!(diff.iter().any(|c| c.logical_id == "DatabaseHost" && c.stateful.is_some()), "{diff:?}");

    // Under --yes it is refused, by name, and nothing runs.
    let mut yes = Recorder { answer: true, ..Recorder::default() };
    let refused = deploy::deploy(options(&new_image, stand_in_artifacts()), &clients, &mut yes).await.unwrap_err();
    let message = refused.to_string();
    assert!(message.contains("refused") && message.contains("--allow-replace DatabaseHost"), "{message}");
    assert!(!message.contains('\n'), "{message}");
    assert_eq!(deployed_image(&clients, stack).await, before, "the refused change set ran");
    let change_sets = clients.cloudformation.list_change_sets().stack_name(stack).send().await.unwrap();
    let available =
        change_sets.summaries().iter().filter(|s| s.execution_status().is_some_and(|e| e.as_str() == "AVAILABLE"));
    assert_eq!(available.count(), 0, "the refused change set is deleted");
    // Allowing another resource does not let this one through.
    let other = ["InputBucket".to_owned()];
    let still = deploy::deploy(
        DeployOptions {
            allow_replace: AllowReplace::Named(other.to_vec()),
            ..options(&new_image, stand_in_artifacts())
        },
        &clients,
        &mut yes,
    )
    .await;
    assert!(still.is_err());

    // Named, it goes through.
    let allow = ["DatabaseHost".to_owned()];
    let allowed = deploy::deploy(
        DeployOptions {
            allow_replace: AllowReplace::Named(allow.to_vec()),
            ..options(&new_image, stand_in_artifacts())
        },
        &clients,
        &mut yes,
    )
    .await
    .unwrap();
    assert_eq!(allowed.outcome, Outcome::Updated);
    assert_eq!(allowed.allowed_replacements, allow);
    assert_ne!(deployed_image(&clients, stack).await, before);
    // A new host; the data volume is the same one (the host attaches it at boot,
    // which moto does not run).
    assert_ne!(allowed.outputs["DatabaseInstanceId"], first.outputs["DatabaseInstanceId"]);
    assert_eq!(instance_state(&moto, &allowed.outputs["DatabaseInstanceId"]), "running");
    assert_eq!(physical_id(&clients, stack, "DatabaseVolume").await, volume);

    // Destroy without --purge-data: the stack goes, the retained buckets and their
    // contents stay, and the report says how to delete them.
    let input = allowed.outputs["InputBucketName"].clone();
    put(&clients, &input, "feeds/keep.csv", "zipcode\n").await;
    // A daily snapshot, as the snapshot policy makes them (moto runs no DLM): the
    // volume's tags copied, and the policy's own.
    let daily = daily_snapshot(&moto, &volume, "gate");
    let destroy_options = |purge_data, confirm_stage: Option<&str>| DestroyOptions {
        stage: new_image.clone(),
        dry_run: false,
        purge_data,
        confirm_stage: confirm_stage.map(str::to_owned),
        poll: POLL,
    };
    let mut ui = Recorder { answer: true, ..Recorder::default() };
    let kept = destroy(destroy_options(false, None), &clients, &mut ui).await.unwrap();
    assert!(kept.stack_deleted && !kept.purged);
    assert!(kept.kept_buckets.contains(&input), "{kept:?}");
    assert!(events::stack_status(&clients, stack).await.unwrap().is_none());
    let object = clients.s3.head_object().bucket(&input).key("feeds/keep.csv").send().await;
    assert!(object.is_ok(), "the kept bucket lost its contents");
    assert!(kept.delete_later.iter().any(|c| c.contains("--purge-data --confirm-stage gate")), "{kept:?}");
    assert!(ui.lines.iter().any(|l| l.starts_with("kept") && l.contains(&input)), "{:?}", ui.lines);
    assert_eq!(kept.kept_snapshots_of, std::slice::from_ref(&volume));
    let kept_snapshots = snapshots(&moto, "volume-id", &volume);
    assert_eq!(kept_snapshots.len(), 2, "the final snapshot of {volume} and the daily one");
    assert!(kept_snapshots.contains(&daily));
    assert_eq!(kept.kept_snapshots.iter().cloned().collect::<BTreeSet<_>>(), kept_snapshots, "{kept:?}");
    assert!(ui.lines.iter().any(|l| l.starts_with("kept: 2 snapshot(s)") && l.contains(&daily)), "{:?}", ui.lines);
    // The final snapshot now carries the volume's tag too: found once the stack is gone.
    assert_eq!(snapshots(&moto, "tag:zipster-database", "gate"), kept_snapshots);

    // --purge-data: asked for the stage's name; a wrong one deletes nothing.
    let mut wrong = Recorder { typed: Some("prod".to_owned()), ..Recorder::default() };
    let declined = destroy(destroy_options(true, None), &clients, &mut wrong).await.unwrap();
    assert!(declined.declined && bucket_exists(&clients, &input).await);
    assert!(wrong.questions.iter().any(|q| q.contains("for good")), "{:?}", wrong.questions);
    let mismatch = destroy(destroy_options(true, Some("prod")), &clients, &mut Recorder::default()).await;
    assert!(mismatch.unwrap_err().to_string().contains("does not match"));
    assert_eq!(snapshots(&moto, "volume-id", &volume).len(), 2, "a declined purge deleted a snapshot");
    // The stack is gone, so the snapshots are found by the tag alone.
    let mut typed = Recorder { typed: Some("gate".to_owned()), ..Recorder::default() };
    let purged = destroy(destroy_options(true, None), &clients, &mut typed).await.unwrap();
    assert!(purged.purged && purged.deleted_buckets.contains(&input), "{purged:?}");
    for bucket in &kept.kept_buckets {
        assert!(!bucket_exists(&clients, bucket).await, "{bucket} survived the purge");
    }
    assert!(snapshots(&moto, "volume-id", &volume).is_empty(), "a snapshot of {volume} survived the purge");
    assert_eq!(purged.deleted_snapshots.iter().cloned().collect::<BTreeSet<_>>(), kept_snapshots, "{purged:?}");
    assert!(typed.questions.iter().any(|q| q.contains("2 now")), "{:?}", typed.questions);
    assert!(
        typed.lines.iter().any(|l| l.starts_with("deleted 2 snapshot(s)") && l.contains(&daily)),
        "{:?}",
        typed.lines
    );
    // Nothing left: a second purge finds nothing to destroy.
    let mut again = Recorder::default();
    let nothing = destroy(destroy_options(true, None), &clients, &mut again).await.unwrap();
    assert!(nothing.deleted_snapshots.is_empty() && !nothing.stack_existed, "{nothing:?}");
    assert!(again.lines.iter().any(|l| l.contains("nothing to destroy")), "{:?}", again.lines);
}

async fn physical_id(clients: &StageClients, stack: &str, logical_id: &str) -> String {
    let listed = clients.cloudformation.list_stack_resources().stack_name(stack).send().await.unwrap();
    let resource = listed.stack_resource_summaries().iter().find(|r| r.logical_resource_id() == Some(logical_id));
    resource.and_then(|r| r.physical_resource_id()).unwrap().to_owned()
}

/// The ids of the snapshots moto's EC2 has whose `filter` is `value` (through boto3,
/// as above, so the deploy engine's own EC2 client is not what checks it).
fn snapshots(moto: &MotoServer, filter: &str, value: &str) -> BTreeSet<String> {
    let output = boto3(
        moto,
        &format!(
            "r = ec2.describe_snapshots(OwnerIds=['self'], Filters=[{{'Name': '{filter}', 'Values': ['{value}']}}])\n\
             print(' '.join(s['SnapshotId'] for s in r['Snapshots']))"
        ),
    );
    output.split_whitespace().map(str::to_owned).collect()
}

/// A snapshot of `volume_id` as the snapshot policy takes it: the volume's tag copied
/// (`copy_tags`), and the policy's own `zipster-snapshot=daily`.
fn daily_snapshot(moto: &MotoServer, volume_id: &str, stage: &str) -> String {
    boto3(
        moto,
        &format!(
            "r = ec2.create_snapshot(VolumeId='{volume_id}', Description='Created for policy: policy-0 schedule: daily', \
             TagSpecifications=[{{'ResourceType': 'snapshot', 'Tags': [{{'Key': 'zipster-database', 'Value': '{stage}'}}, \
             {{'Key': 'zipster-snapshot', 'Value': 'daily'}}]}}])\nprint(r['SnapshotId'])"
        ),
    )
}

/// Runs `code` with `ec2`, a boto3 client of moto's EC2; its output, or a panic with its stderr.
fn boto3(moto: &MotoServer, code: &str) -> String {
    let script = format!(
        "import boto3\nec2 = boto3.client('ec2', endpoint_url='{}', region_name='{LOCAL_REGION}', \
         aws_access_key_id='testing', aws_secret_access_key='testing')\n{code}",
        moto.endpoint
    );
    let python = zipster_tools::venv::tool("python").unwrap();
    let output = std::process::Command::new(python).arg("-c").arg(script).output().unwrap();
    assert!(output.status.success(), "boto3: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}
