//! `cargo xtask destroy --stage S`: deletes the stack and keeps the data. The buckets
//! the template retains (`DeletionPolicy: Retain`) stay with their contents, and the
//! data volume's snapshots are kept: the final one CloudFormation takes
//! (`DeletionPolicy: Snapshot`) and the daily ones of the snapshot policy. The report
//! lists what was kept and the command that deletes it later.
//! With `--purge-data`, confirmed by the stage's name (typed, or `--confirm-stage S`),
//! every bucket of the stage is emptied (every version and delete marker) and deleted,
//! and every snapshot of the data volume is deleted, also when the stack is already gone.
//! Buckets the template does not retain are emptied either way: CloudFormation cannot
//! delete a non-empty bucket, and the template says they hold nothing to keep.
//!
//! The snapshots are found two ways (see [`data_snapshots`]): by the volume's id, which
//! every snapshot of it carries, and by the volume's tag `zipster-database=<stage>`,
//! which the snapshot policy copies onto the daily ones and destroy puts on the final
//! one (CloudFormation copies no tags onto it), so that they are still found once the
//! stack, and with it the volume's id, is gone.

use std::time::Duration;

use anyhow::{Result, bail};
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use serde::Serialize;
use serde_json::Value;
use zipster_infra::StageConfig;
use zipster_infra::constructs::host::DATABASE_VOLUME_TAG;

use crate::deploy::{delete_stack, deployed_template, stack_id};
use crate::ec2::Snapshot;
use crate::events::EventLine;
use crate::{StageClients, Ui, artifacts, stack_name};

pub struct DestroyOptions {
    pub stage: StageConfig,
    pub dry_run: bool,
    /// Also delete the data: the retained buckets and their contents, and the data
    /// volume's snapshots.
    pub purge_data: bool,
    /// `--confirm-stage`: the stage's name, confirming `purge_data` without a prompt.
    pub confirm_stage: Option<String>,
    pub poll: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct BucketContents {
    pub name: String,
    pub logical_id: String,
    /// Current objects (what a user sees).
    pub objects: usize,
    /// Every version and delete marker (what must be deleted).
    pub versions: usize,
    /// The template retains it (`DeletionPolicy: Retain`): deleting the stack keeps it.
    pub retained: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct DestroyReport {
    pub stack_name: String,
    pub stack_existed: bool,
    pub buckets: Vec<BucketContents>,
    pub declined: bool,
    /// `--purge-data`, confirmed.
    pub purged: bool,
    pub deleted_versions: usize,
    pub stack_deleted: bool,
    /// Buckets emptied and deleted (with the stack, or by the purge).
    pub deleted_buckets: Vec<String>,
    /// Buckets kept with their contents (retained, no `--purge-data`).
    pub kept_buckets: Vec<String>,
    /// Volumes whose final snapshot CloudFormation takes and keeps (`DeletionPolicy:
    /// Snapshot`): their ids, by which the snapshots are found.
    pub kept_snapshots_of: Vec<String>,
    /// The data volume's snapshots kept (no `--purge-data`), tagged for a later purge.
    pub kept_snapshots: Vec<String>,
    /// The data volume's snapshots deleted by `--purge-data`.
    pub deleted_snapshots: Vec<String>,
    /// The commands that delete what was kept, later.
    pub delete_later: Vec<String>,
    pub events: Vec<EventLine>,
}

/// Buckets whose contents a user may want to keep before destroying.
const DATA_BUCKETS: [&str; 2] = ["InputBucket", "ErrorsBucket"];

pub async fn destroy(options: DestroyOptions, clients: &StageClients, ui: &mut dyn Ui) -> Result<DestroyReport> {
    let stage = &options.stage;
    if let Some(confirmed) = &options.confirm_stage
        && confirmed != &stage.name
    {
        bail!("--confirm-stage {confirmed} does not match --stage {}: nothing deleted", stage.name);
    }
    let stack = stack_name(stage);
    let mut report = DestroyReport { stack_name: stack.clone(), ..DestroyReport::default() };
    let stack_id = stack_id(clients, &stack).await?;
    report.stack_existed = stack_id.is_some();
    // Only a purge looks buckets up by name (with their owner). The artifact bucket is
    // the bootstrap stack's, which destroy leaves alone.
    let account = if options.purge_data { Some(clients.account_id().await?) } else { None };
    let mut volumes = Vec::new();
    if let Some(stack_id) = &stack_id {
        let deployed = deployed_template(clients, &stack).await?.unwrap_or_default();
        for resource in stack_resources(clients, stack_id).await? {
            let policy = deployed.pointer(&format!("/Resources/{}/DeletionPolicy", resource.logical_id));
            let policy = policy.and_then(Value::as_str).unwrap_or("Delete");
            match resource.kind.as_str() {
                "AWS::S3::Bucket" => {
                    let (objects, versions) = count(clients, &resource.physical_id).await?;
                    report.buckets.push(BucketContents {
                        name: resource.physical_id,
                        logical_id: resource.logical_id,
                        objects,
                        versions,
                        retained: policy == "Retain",
                    });
                }
                "AWS::EC2::Volume" if matches!(policy, "Snapshot" | "Retain") => volumes.push(resource.physical_id),
                _ => {}
            }
        }
    } else if let Some(account) = &account {
        // A stack destroyed without --purge-data left its retained buckets: they
        // have the names the stage's template gives them.
        for (logical_id, name) in template_buckets(stage, account, &clients.region) {
            if artifacts::bucket_exists(clients, &name, account).await? {
                let (objects, versions) = count(clients, &name).await?;
                report.buckets.push(BucketContents { name, logical_id, objects, versions, retained: true });
            }
        }
    }
    // What a purge will delete, asked for before anything is deleted (so missing EC2
    // permissions stop it here); the final snapshot is taken later, with the stack's deletion.
    let snapshots = if options.purge_data { data_snapshots(clients, stage, &volumes).await? } else { Vec::new() };
    if stack_id.is_none() && report.buckets.is_empty() && snapshots.is_empty() {
        ui.step(&format!("{stack} does not exist: nothing to destroy"));
        return Ok(report);
    }
    for bucket in &report.buckets {
        let note =
            if DATA_BUCKETS.contains(&bucket.logical_id.as_str()) && bucket.objects > 0 { "  <- data" } else { "" };
        let fate = match (bucket.retained, options.purge_data) {
            (true, false) => "kept",
            (true, true) => "purged",
            (false, _) => "deleted",
        };
        ui.step(&format!(
            "{}: {} object(s), {} version(s) and delete marker(s), {fate}{note}",
            bucket.name, bucket.objects, bucket.versions
        ));
    }
    for volume in &volumes {
        let fate = if options.purge_data { "deleted after the stack" } else { "kept" };
        ui.step(&format!("{volume}: the data volume; CloudFormation takes its final snapshot, {fate}"));
    }
    if !snapshots.is_empty() {
        ui.step(&format!(
            "{} snapshot(s) of the data volume: {}, deleted",
            snapshots.len(),
            ids(&snapshots).join(", ")
        ));
    }
    let (purged, kept): (Vec<&BucketContents>, Vec<&BucketContents>) =
        report.buckets.iter().partition(|b| !b.retained || options.purge_data);
    if options.dry_run {
        let snapshots = if options.purge_data { "delete" } else { "keep" };
        ui.step(&format!(
            "dry run: would empty and delete {} bucket(s), keep {}, delete {stack}, and {snapshots} the data volume's snapshots",
            purged.len(),
            kept.len()
        ));
        return Ok(report);
    }
    let confirmed = if options.purge_data {
        let total: usize = report.buckets.iter().map(|b| b.objects).sum();
        options.confirm_stage.is_some()
            || ui.type_to_confirm(
                &format!(
                    "delete {stack}, its {} bucket(s) and the {total} object(s) in them, and the data volume's \
                     snapshots ({} now, and the final one), for good",
                    purged.len(),
                    snapshots.len()
                ),
                &stage.name,
            )?
    } else {
        let keeps = if kept.is_empty() { String::new() } else { format!(", keeping {} bucket(s)", kept.len()) };
        ui.confirm(&format!("delete {stack}{keeps}"))?
    };
    if !confirmed {
        report.declined = true;
        ui.step("nothing deleted");
        return Ok(report);
    }
    report.purged = options.purge_data;
    let purged: Vec<BucketContents> = purged.into_iter().cloned().collect();
    let kept: Vec<String> = kept.into_iter().map(|b| b.name.clone()).collect();
    for bucket in &purged {
        report.deleted_versions += empty(clients, &bucket.name).await?;
    }
    if stack_id.is_some() {
        report.events = delete_stack(clients, &stack, options.poll, ui).await?;
        report.stack_deleted = true;
    }
    // What CloudFormation retained is deleted here.
    for bucket in &purged {
        let owner = account.as_deref().unwrap_or_default();
        if (bucket.retained || stack_id.is_none()) && artifacts::bucket_exists(clients, &bucket.name, owner).await? {
            clients
                .s3
                .delete_bucket()
                .bucket(&bucket.name)
                .send()
                .await
                .map_err(clients.error("DeleteBucket", &bucket.name))?;
        }
        report.deleted_buckets.push(bucket.name.clone());
    }
    ui.step(&format!(
        "removed {stack}, {} bucket(s) and {} object version(s)",
        report.deleted_buckets.len(),
        report.deleted_versions
    ));
    report.kept_buckets = kept;
    if !report.kept_buckets.is_empty() {
        ui.step(&format!("kept, with their contents: {}", report.kept_buckets.join(", ")));
    }
    if options.purge_data {
        // Now with the final snapshot. Labelled first, so that a purge interrupted
        // here finds them again, by the tag, once the stack is gone.
        let snapshots = data_snapshots(clients, stage, &volumes).await?;
        label(clients, stage, &snapshots, ui).await;
        for snapshot in &snapshots {
            clients.ec2.delete_snapshot(&snapshot.id).await?;
            report.deleted_snapshots.push(snapshot.id.clone());
        }
        if !snapshots.is_empty() {
            ui.step(&format!(
                "deleted {} snapshot(s) of the data volume: {}",
                snapshots.len(),
                report.deleted_snapshots.join(", ")
            ));
        }
        // The final snapshot is still being taken right after the stack's deletion; EC2
        // accepts its deletion and carries it out once it is complete.
        let pending = snapshots.iter().filter(|s| s.state == "pending").count();
        if pending > 0 {
            ui.step(&format!("{pending} of them still being taken: EC2 removes them once complete"));
        }
    } else {
        report.kept_snapshots_of = volumes;
        match data_snapshots(clients, stage, &report.kept_snapshots_of).await {
            Ok(snapshots) => {
                label(clients, stage, &snapshots, ui).await;
                report.kept_snapshots = ids(&snapshots);
                if !snapshots.is_empty() {
                    ui.step(&format!(
                        "kept: {} snapshot(s) of the data volume (the final one, and the daily ones): {}",
                        snapshots.len(),
                        report.kept_snapshots.join(", ")
                    ));
                }
            }
            // The stack is gone and the data is kept either way: say what is not known.
            Err(error) => ui.step(&format!(
                "kept: the snapshots of the data volume {}, but they could not be listed: {error}",
                report.kept_snapshots_of.join(", ")
            )),
        }
    }
    report.delete_later = delete_later(stage, &report.kept_buckets, &report.kept_snapshots);
    if !report.delete_later.is_empty() {
        ui.step("to delete them later:");
        for command in &report.delete_later {
            ui.step(&format!("    {command}"));
        }
    }
    Ok(report)
}

/// The command that deletes what a destroy kept.
fn delete_later(stage: &StageConfig, buckets: &[String], snapshots: &[String]) -> Vec<String> {
    if buckets.is_empty() && snapshots.is_empty() {
        return Vec::new();
    }
    let name = &stage.name;
    vec![format!("cargo xtask destroy --stage {name} --purge-data --confirm-stage {name}")]
}

/// Every snapshot of the stage's data volume(s), oldest first: those tagged
/// `zipster-database=<stage>` (the daily ones, with the tags DLM copies from the
/// volume; the final ones destroy labelled), then every snapshot of the volumes known
/// (`volumes`, from the stack) or named by a tagged one, which adds the final snapshot
/// CloudFormation took without tags.
async fn data_snapshots(clients: &StageClients, stage: &StageConfig, volumes: &[String]) -> Result<Vec<Snapshot>> {
    let tagged =
        clients.ec2.snapshots(&format!("tag:{DATABASE_VOLUME_TAG}"), std::slice::from_ref(&stage.name)).await?;
    let volumes = volumes_of(volumes, &tagged);
    let by_volume = if volumes.is_empty() { Vec::new() } else { clients.ec2.snapshots("volume-id", &volumes).await? };
    Ok(merged(tagged, by_volume))
}

/// The volumes whose snapshots to look for: those known, and those tagged snapshots name.
fn volumes_of(known: &[String], tagged: &[Snapshot]) -> Vec<String> {
    let mut volumes: Vec<String> = known.iter().cloned().chain(tagged.iter().map(|s| s.volume_id.clone())).collect();
    volumes.retain(|v| !v.is_empty());
    volumes.sort();
    volumes.dedup();
    volumes
}

/// Both lists as one, each snapshot once, oldest first.
fn merged(tagged: Vec<Snapshot>, by_volume: Vec<Snapshot>) -> Vec<Snapshot> {
    let mut all: Vec<Snapshot> = tagged.into_iter().chain(by_volume).collect();
    all.sort_by(|a, b| a.id.cmp(&b.id));
    all.dedup_by(|a, b| a.id == b.id);
    // RFC 3339 times in UTC, so the text sorts as the time does.
    all.sort_by(|a, b| (&a.start_time, &a.id).cmp(&(&b.start_time, &b.id)));
    all
}

/// Tags the snapshots that do not carry `zipster-database=<stage>` yet (the final one:
/// CloudFormation copies no tags onto it), so that a later purge finds them once the
/// stack, and the volume's id with it, is gone. A failure is told, not fatal: the
/// snapshots exist either way, and can still be found by the volume's id.
async fn label(clients: &StageClients, stage: &StageConfig, snapshots: &[Snapshot], ui: &mut dyn Ui) {
    let untagged: Vec<String> = snapshots
        .iter()
        .filter(|s| s.tag(DATABASE_VOLUME_TAG) != Some(stage.name.as_str()))
        .map(|s| s.id.clone())
        .collect();
    if untagged.is_empty() {
        return;
    }
    if let Err(error) = clients.ec2.tag(&untagged, DATABASE_VOLUME_TAG, &stage.name).await {
        ui.step(&format!("could not tag {} {DATABASE_VOLUME_TAG}={}: {error}", untagged.join(", "), stage.name));
    }
}

fn ids(snapshots: &[Snapshot]) -> Vec<String> {
    snapshots.iter().map(|s| s.id.clone()).collect()
}

/// `(logical id, name)` of the buckets the stage's template names, in this account and region.
pub fn template_buckets(stage: &StageConfig, account: &str, region: &str) -> Vec<(String, String)> {
    let template: Value = serde_json::from_str(&zipster_infra::stack(stage).to_json()).unwrap_or_default();
    let Some(resources) = template.get("Resources").and_then(Value::as_object) else { return Vec::new() };
    resources
        .iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some("AWS::S3::Bucket"))
        .filter_map(|(id, r)| {
            let name = r.pointer("/Properties/BucketName")?;
            let name = name.as_str().or_else(|| name.get("Fn::Sub").and_then(Value::as_str))?;
            let name = name.replace("${AWS::AccountId}", account).replace("${AWS::Region}", region);
            (!name.contains("${")).then(|| (id.clone(), name))
        })
        .collect()
}

struct StackResource {
    logical_id: String,
    physical_id: String,
    kind: String,
}

/// Every resource the stack created, with its physical id.
async fn stack_resources(clients: &StageClients, stack_id: &str) -> Result<Vec<StackResource>> {
    let mut resources = Vec::new();
    let mut next = None;
    loop {
        let page = clients
            .cloudformation
            .list_stack_resources()
            .stack_name(stack_id)
            .set_next_token(next)
            .send()
            .await
            .map_err(clients.error("ListStackResources", stack_id))?;
        for resource in page.stack_resource_summaries() {
            if let (Some(logical), Some(physical), Some(kind)) =
                (resource.logical_resource_id(), resource.physical_resource_id(), resource.resource_type())
                && !physical.is_empty()
            {
                resources.push(StackResource {
                    logical_id: logical.to_owned(),
                    physical_id: physical.to_owned(),
                    kind: kind.to_owned(),
                });
            }
        }
        next = page.next_token().map(str::to_owned);
        if next.is_none() {
            return Ok(resources);
        }
    }
}

/// One page of versions and delete markers (at most 1000: one DeleteObjects call).
struct Page {
    identifiers: Vec<ObjectIdentifier>,
    current: usize,
    next: Option<(String, Option<String>)>,
}

async fn list_page(clients: &StageClients, bucket: &str, from: Option<(String, Option<String>)>) -> Result<Page> {
    let (key_marker, version_marker) = from.map_or((None, None), |(k, v)| (Some(k), v));
    let page = clients
        .s3
        .list_object_versions()
        .bucket(bucket)
        .max_keys(1000)
        .set_key_marker(key_marker)
        .set_version_id_marker(version_marker)
        .send()
        .await
        .map_err(clients.error("ListObjectVersions", bucket))?;
    let mut identifiers = Vec::new();
    let mut current = 0;
    for version in page.versions() {
        if version.is_latest() == Some(true) {
            current += 1;
        }
        if let Some(key) = version.key() {
            identifiers.push(
                ObjectIdentifier::builder().key(key).set_version_id(version.version_id().map(str::to_owned)).build()?,
            );
        }
    }
    for marker in page.delete_markers() {
        if let Some(key) = marker.key() {
            identifiers.push(
                ObjectIdentifier::builder().key(key).set_version_id(marker.version_id().map(str::to_owned)).build()?,
            );
        }
    }
    let next = if page.is_truncated() == Some(true) {
        page.next_key_marker().map(|k| (k.to_owned(), page.next_version_id_marker().map(str::to_owned)))
    } else {
        None
    };
    Ok(Page { identifiers, current, next })
}

/// `(current objects, versions + delete markers)`.
async fn count(clients: &StageClients, bucket: &str) -> Result<(usize, usize)> {
    let (mut current, mut all) = (0, 0);
    let mut from = None;
    loop {
        let page = list_page(clients, bucket, from).await?;
        current += page.current;
        all += page.identifiers.len();
        from = page.next;
        if from.is_none() {
            return Ok((current, all));
        }
    }
}

/// Deletes every version and delete marker, a page (≤ 1000) per DeleteObjects call;
/// returns how many. Each page is listed after the previous one is deleted, so no
/// marker is needed.
async fn empty(clients: &StageClients, bucket: &str) -> Result<usize> {
    let mut deleted = 0;
    loop {
        let page = list_page(clients, bucket, None).await?;
        if page.identifiers.is_empty() {
            return Ok(deleted);
        }
        let batch = page.identifiers.len();
        let result = clients
            .s3
            .delete_objects()
            .bucket(bucket)
            .delete(Delete::builder().set_objects(Some(page.identifiers)).quiet(true).build()?)
            .send()
            .await
            .map_err(clients.error("DeleteObjects", bucket))?;
        if let Some(error) = result.errors().first() {
            anyhow::bail!(
                "DeleteObjects {bucket}: {} {}: {}",
                error.key().unwrap_or_default(),
                error.code().unwrap_or_default(),
                error.message().unwrap_or_default()
            );
        }
        deleted += batch;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(name: &str) -> StageConfig {
        let text = include_str!("../../stages.toml");
        StageConfig::named(&text.replace("[local]", &format!("[{name}]")), name).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_stage_buckets_are_named_as_the_template_names_them() {
        let buckets = template_buckets(&stage("t1"), "123456789012", "us-east-1");
        assert!(buckets.contains(&("InputBucket".to_owned(), "zipster-t1-input-123456789012-us-east-1".to_owned())));
        assert!(buckets.iter().all(|(_, name)| name.starts_with("zipster-t1-") && !name.contains('$')));
    }

    #[test]
    fn what_was_kept_comes_with_the_command_that_deletes_it() {
        let purge = ["cargo xtask destroy --stage t2 --purge-data --confirm-stage t2".to_owned()];
        assert_eq!(delete_later(&stage("t2"), &["b".to_owned()], &[]), purge);
        assert_eq!(delete_later(&stage("t2"), &[], &["snap-1".to_owned()]), purge);
        assert!(delete_later(&stage("t3"), &[], &[]).is_empty());
    }

    fn snapshot(id: &str, volume: &str, start: &str) -> Snapshot {
        Snapshot {
            id: id.to_owned(),
            volume_id: volume.to_owned(),
            state: "completed".to_owned(),
            start_time: start.to_owned(),
            tags: Vec::new(),
        }
    }

    #[test]
    fn the_volumes_searched_are_the_stacks_and_those_the_tagged_snapshots_name() {
        // The stack is gone: only the daily snapshots name the (deleted) volumes.
        let tagged = [snapshot("snap-2", "vol-old", "2026-11-29T02:00:00Z"), snapshot("snap-3", "vol-b", "x")];
        assert_eq!(volumes_of(&[], &tagged), ["vol-b", "vol-old"]);
        assert_eq!(volumes_of(&["vol-b".to_owned()], &tagged[1..]), ["vol-b"]);
        assert!(volumes_of(&[], &[snapshot("snap-4", "", "x")]).is_empty());
    }

    #[test]
    fn each_snapshot_is_listed_once_oldest_first() {
        let daily = snapshot("snap-b", "vol-1", "2026-11-30T02:00:00.000Z");
        let older = snapshot("snap-c", "vol-1", "2026-11-29T02:00:00.000Z");
        let last = snapshot("snap-a", "vol-1", "2026-12-01T10:00:00.000Z");
        let all = merged(vec![daily.clone(), older.clone()], vec![last.clone(), daily.clone(), older.clone()]);
        assert_eq!(ids(&all), ["snap-c", "snap-b", "snap-a"]);
    }
}
