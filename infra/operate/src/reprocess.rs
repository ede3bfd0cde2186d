//! `reprocess`: input objects already in the stage's input bucket sent through the
//! transform and the load again — after a contract change, or once the cause of a
//! refusal is fixed — each once, and followed like `put` follows an upload.
//!
//! The transform is invoked synchronously with the S3 event S3 would have sent for the
//! object's current version ([`zipster_core::event::reprocess_event`]), plus the
//! operator's overrides (`--allow-shrink`), which the transform passes on to the load
//! with the staged object. The load then runs as after any upload, and its idempotency
//! decides: the same content under the same contract loads nothing ("already loaded"),
//! under a changed contract it loads once.

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Result, bail};
use zipster_core::event::{ObjectRef, Overrides, reprocess_event};
use zipster_core::feeds::Catalog;

use crate::follow::{self, Story, Verdict};
use crate::{Invoke, Stage};

/// Which input objects to reprocess.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Exactly these keys (each must exist).
    pub keys: Vec<String>,
    /// Every object routed to this feed (by its prefix, or the stage's default feed).
    pub feed: Option<String>,
    /// Only objects written since then (with `feed`).
    pub since: Option<SystemTime>,
    /// The stage's `default_feed` (stages.toml), for routing as the functions route.
    pub default_feed: Option<String>,
}

/// The current version of each selected input object, in key order, each once.
pub async fn select(stage: &Stage, selection: &Selection) -> Result<Vec<ObjectRef>> {
    let bucket = &stage.input_bucket;
    let mut keys: BTreeSet<String> = selection.keys.iter().cloned().collect();
    if let Some(feed) = &selection.feed {
        let catalog = Catalog::builtin().map_err(|e| anyhow::anyhow!("the feeds of this build: {e}"))?;
        if catalog.get(feed).is_none() {
            let names: Vec<&str> = catalog.feeds().iter().map(|f| f.name.as_str()).collect();
            bail!("no feed {feed:?}: the feeds are {}", names.join(", "));
        }
        let mut pages = stage.clients.s3.list_objects_v2().bucket(bucket).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(stage.clients.error("ListObjectsV2", format!("s3://{bucket}")))?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                let modified = object.last_modified().and_then(|t| SystemTime::try_from(*t).ok());
                let recent = selection.since.is_none_or(|since| modified.is_some_and(|m| m >= since));
                let routed = catalog.route(key, selection.default_feed.as_deref()).is_ok_and(|f| &f.name == feed);
                if recent && routed {
                    keys.insert(key.to_owned());
                }
            }
        }
    }
    let mut objects = Vec::with_capacity(keys.len());
    for key in keys {
        let Some(head) = stage.object_head(bucket, &key).await? else {
            bail!("s3://{bucket}/{key} does not exist: `cargo xtask status --stage …` lists the stage's files")
        };
        objects.push(ObjectRef {
            bucket: bucket.clone(),
            key,
            version_id: head.version_id,
            etag: head.etag,
            sequencer: None,
            size: u64::try_from(head.size).ok(),
        });
    }
    Ok(objects)
}

/// Sends each object through the transform once and follows it through the load
/// (at most `within` each); `report` gets each step as it is seen.
pub async fn reprocess(
    stage: &Stage,
    invoker: &impl Invoke,
    objects: &[ObjectRef],
    overrides: Overrides,
    within: Duration,
    report: &mut dyn FnMut(&str),
) -> Result<Vec<Story>> {
    let transform = stage.function("transform")?.name.clone();
    let mut stories = Vec::with_capacity(objects.len());
    for object in objects {
        report(&format!("reprocess: s3://{}/{}", object.bucket, object.key));
        let started = Instant::now();
        // The outputs are rewritten from now on; other clocks (S3's, the logs') may be a
        // little behind this one.
        let since = SystemTime::now().checked_sub(Duration::from_secs(1)).unwrap_or(SystemTime::UNIX_EPOCH);
        let invocation = invoker.invoke(&transform, &reprocess_event(std::slice::from_ref(object), overrides)).await?;
        let mut story = follow::Story::of(stage, &object.key, object.version_id.clone());
        if !invocation.succeeded {
            story.failures.push(format!("the transform failed: {}", invocation.payload));
            story.verdict = Verdict::NotStaged;
            report(&format!("          transform FAILED: {}", invocation.payload));
        } else {
            story.verdict = follow::follow(stage, &mut story, since, started, within, report).await?;
        }
        stories.push(story);
    }
    Ok(stories)
}

/// `--since`: an age (`2d`, `12h`) or a UTC date (`2026-12-01`), as a time.
pub fn parse_since(text: &str) -> Result<SystemTime> {
    let date: Vec<&str> = text.trim().split('-').collect();
    if let [year, month, day] = date[..]
        && let (Ok(year), Ok(month), Ok(day)) = (year.parse(), month.parse(), day.parse())
    {
        let Some(days) = zipster_report::days_from_civil(year, month, day) else {
            bail!("{text:?} is not a date (YYYY-MM-DD)");
        };
        let seconds = u64::try_from(days * 86_400).map_err(|_| anyhow::anyhow!("{text:?} is before 1970"))?;
        return Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds));
    }
    let age = crate::parse_age(text)
        .map_err(|e| anyhow::anyhow!("--since {text:?}: a date (2026-12-01) or an age (2d, 12h): {e}"))?;
    Ok(SystemTime::now().checked_sub(age).unwrap_or(SystemTime::UNIX_EPOCH))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn since_is_a_date_or_an_age() {
        let midnight = parse_since("2026-12-01").unwrap();
        assert_eq!(crate::clock(crate::epoch_millis(midnight)), "2026-12-01 00:00:00.000");
        let since = parse_since("2d").unwrap();
        let age = SystemTime::now().duration_since(since).unwrap();
        assert!((Duration::from_secs(2 * 86_400)..Duration::from_secs(2 * 86_400 + 60)).contains(&age), "{age:?}");
        assert!(parse_since("2026-02-30").unwrap_err().to_string().contains("not a date"));
        assert!(parse_since("yesterday").unwrap_err().to_string().contains("a date (2026-12-01) or an age"));
    }
}
