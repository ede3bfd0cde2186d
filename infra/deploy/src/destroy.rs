//! `cargo xtask destroy --stage S`: empties the stack's buckets (every version and
//! delete marker: CloudFormation cannot delete a non-empty bucket), then deletes it.

use std::time::Duration;

use anyhow::Result;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use serde::Serialize;
use zipster_infra::StageConfig;

use crate::deploy::{delete_stack, stack_id};
use crate::events::EventLine;
use crate::{StageClients, Ui, artifacts, stack_name};

pub struct DestroyOptions {
    pub stage: StageConfig,
    pub dry_run: bool,
    /// Also empty and delete the artifact bucket (kept by default: it makes the next
    /// deploy upload nothing).
    pub include_artifacts: bool,
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
}

#[derive(Debug, Default, Serialize)]
pub struct DestroyReport {
    pub stack_name: String,
    pub stack_existed: bool,
    pub buckets: Vec<BucketContents>,
    pub declined: bool,
    pub deleted_versions: usize,
    pub stack_deleted: bool,
    pub artifact_bucket_deleted: bool,
    pub events: Vec<EventLine>,
}

/// Buckets whose contents a user may want to keep before destroying.
const DATA_BUCKETS: [&str; 2] = ["InputBucket", "ErrorsBucket"];

pub async fn destroy(options: DestroyOptions, clients: &StageClients, ui: &mut dyn Ui) -> Result<DestroyReport> {
    let stack = stack_name(&options.stage);
    let mut report = DestroyReport { stack_name: stack.clone(), ..DestroyReport::default() };
    let artifact_bucket = if options.include_artifacts {
        let account = clients.account_id().await?;
        let name = artifacts::bucket_name(&options.stage.prefix(), &account, &clients.region);
        artifacts::bucket_exists(clients, &name).await?.then_some(name)
    } else {
        None
    };

    let stack_id = stack_id(clients, &stack).await?;
    report.stack_existed = stack_id.is_some();
    if let Some(stack_id) = &stack_id {
        for (logical_id, name) in stack_buckets(clients, stack_id).await? {
            let (objects, versions) = count(clients, &name).await?;
            report.buckets.push(BucketContents { name, logical_id, objects, versions });
        }
    }
    if let Some(name) = &artifact_bucket {
        let (objects, versions) = count(clients, name).await?;
        report.buckets.push(BucketContents {
            name: name.clone(),
            logical_id: "(artifacts)".to_owned(),
            objects,
            versions,
        });
    }
    if stack_id.is_none() && artifact_bucket.is_none() {
        ui.step(&format!("{stack} does not exist: nothing to destroy"));
        return Ok(report);
    }
    for bucket in &report.buckets {
        let note =
            if DATA_BUCKETS.contains(&bucket.logical_id.as_str()) && bucket.objects > 0 { "  <- data" } else { "" };
        ui.step(&format!(
            "{}: {} object(s), {} version(s) and delete marker(s){note}",
            bucket.name, bucket.objects, bucket.versions
        ));
    }
    if options.dry_run {
        ui.step(&format!("dry run: would empty {} bucket(s) and delete {stack}", report.buckets.len()));
        return Ok(report);
    }
    let total: usize = report.buckets.iter().map(|b| b.objects).sum();
    if !ui.confirm(&format!("delete {stack} and the {total} object(s) in its buckets, for good"))? {
        report.declined = true;
        ui.step("nothing deleted");
        return Ok(report);
    }
    for bucket in &report.buckets {
        report.deleted_versions += empty(clients, &bucket.name).await?;
    }
    if stack_id.is_some() {
        report.events = delete_stack(clients, &stack, options.poll, ui).await?;
        report.stack_deleted = true;
    }
    if let Some(name) = artifact_bucket {
        clients.s3.delete_bucket().bucket(&name).send().await.map_err(clients.error("DeleteBucket", &name))?;
        report.artifact_bucket_deleted = true;
    }
    ui.step(&format!(
        "removed {stack}{}, {} bucket(s) and {} object version(s)",
        if report.artifact_bucket_deleted { " and its artifact bucket" } else { "" },
        report.buckets.len(),
        report.deleted_versions
    ));
    Ok(report)
}

/// `(logical id, bucket name)` of every bucket the stack created.
async fn stack_buckets(clients: &StageClients, stack_id: &str) -> Result<Vec<(String, String)>> {
    let mut buckets = Vec::new();
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
            if resource.resource_type() == Some("AWS::S3::Bucket")
                && let (Some(logical), Some(physical)) =
                    (resource.logical_resource_id(), resource.physical_resource_id())
                && !physical.is_empty()
            {
                buckets.push((logical.to_owned(), physical.to_owned()));
            }
        }
        next = page.next_token().map(str::to_owned);
        if next.is_none() {
            return Ok(buckets);
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
