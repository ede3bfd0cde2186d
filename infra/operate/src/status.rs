//! `status`: the last files through the stage, from what it keeps: the transform's
//! summaries in the errors bucket (outcome, counts, time), the load's record of each
//! object in the database's `LOADED_OBJECTS` (through the migrate function; its log
//! lines when that cannot answer, and for failures, which the database does not
//! record), the on-failure queue's depth and each alarm's state; `status KEY` tells
//! one file's story from the same places.

use std::time::{Duration, SystemTime};

use anyhow::Result;
use aws_sdk_sqs::types::QueueAttributeName;

use crate::alarms::{self, AlarmState};
use crate::follow::{DeadLetter, LoadResult, failure_of, peek_dead_letters};
use crate::logs::{self, LogLine, Query};
use crate::records::{self, Lookup, Record};
use crate::{Invoke, Stage, TransformSummary, clock, epoch_millis};

/// The summaries' suffix in the errors bucket.
const SUMMARY: &str = ".summary.json";

/// One file as the stage remembers it.
#[derive(Debug, Clone)]
pub struct FileStatus {
    pub transform: TransformSummary,
    /// The newest load line of its staged object, if any.
    pub load: Option<LoadResult>,
    /// The database's newest record of its staged object, if the database was asked.
    pub record: Option<Record>,
}

#[derive(Debug, Clone)]
pub struct Overview {
    /// Newest first.
    pub files: Vec<FileStatus>,
    /// The database's records of the staged files; `None` when none was staged.
    pub database: Option<Lookup>,
    /// Records waiting in the on-failure queue (approximately, as SQS counts).
    pub dead_letters: u64,
    /// The stack's alarms, ALARM first, or why they could not be read.
    pub alarms: Result<Vec<AlarmState>, String>,
}

/// Every summary's key and time, newest first.
async fn summaries(stage: &Stage) -> Result<Vec<(String, SystemTime)>> {
    let bucket = &stage.errors_bucket;
    let mut found = Vec::new();
    let mut pages = stage.clients.s3.list_objects_v2().bucket(bucket).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(stage.clients.error("ListObjectsV2", format!("s3://{bucket}")))?;
        for object in page.contents() {
            let Some(key) = object.key().and_then(|k| k.strip_suffix(SUMMARY)) else { continue };
            let modified = object.last_modified().and_then(|t| SystemTime::try_from(*t).ok());
            found.push((key.to_owned(), modified.unwrap_or(SystemTime::UNIX_EPOCH)));
        }
    }
    found.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(found)
}

/// The load's and the transform's lines about files since `start` (epoch ms).
async fn record_lines(stage: &Stage, start: i64) -> Result<Vec<LogLine>> {
    let mut lines = Vec::new();
    for (function, phrase) in [("load", "load done"), ("load", "load failed"), ("transform", "transform failed")] {
        let query = Query { functions: vec![stage.function(function)?], start, contains: Some(phrase.to_owned()) };
        lines.extend(logs::fetch(stage, &query).await?);
    }
    lines.sort_by_key(|l| l.timestamp);
    Ok(lines)
}

/// The newest load record of `key` in `lines`.
fn load_of(stage: &Stage, lines: &[LogLine], key: &str) -> Option<LoadResult> {
    lines.iter().rev().find_map(|line| LoadResult::from_line(line, &stage.staging_bucket, key))
}

/// Lines start a little before the oldest summary: clocks differ, and the transform
/// writes its summary after its own first lines.
const SLACK: Duration = Duration::from_secs(60);

pub async fn overview(stage: &Stage, invoke: &impl Invoke, last: usize) -> Result<Overview> {
    let newest: Vec<(String, SystemTime)> = summaries(stage).await?.into_iter().take(last).collect();
    let oldest = newest.last().map_or_else(SystemTime::now, |(_, at)| *at);
    let lines = record_lines(stage, epoch_millis(oldest.checked_sub(SLACK).unwrap_or(oldest))).await?;
    let mut summaries = Vec::new();
    for (key, _) in newest {
        summaries.extend(stage.summary(&key).await?);
    }
    let staged: Vec<String> = summaries.iter().filter(|t| t.staged()).map(|t| t.key.clone()).collect();
    // Only the newest record of each key is shown here; `status KEY` shows them all.
    let database = if staged.is_empty() { None } else { Some(records::lookup(stage, invoke, &staged, Some(1)).await) };
    let found = database.as_ref().map(Lookup::records).unwrap_or_default();
    let files = summaries
        .into_iter()
        .map(|transform| {
            let staged = transform.staged();
            let key = transform.key.clone();
            FileStatus {
                load: if staged { load_of(stage, &lines, &key) } else { None },
                record: found.iter().find(|r| staged && r.object_key == key).cloned(),
                transform,
            }
        })
        .collect();
    Ok(Overview {
        files,
        database,
        dead_letters: queue_depth(stage).await?,
        alarms: alarms::alarms(stage).await.map_err(|e| format!("{e:#}")),
    })
}

async fn queue_depth(stage: &Stage) -> Result<u64> {
    let queue = &stage.dead_letter_queue;
    let attributes = stage
        .clients
        .sqs
        .get_queue_attributes()
        .queue_url(queue)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .map_err(stage.clients.error("GetQueueAttributes", queue))?;
    Ok(attributes
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0))
}

impl Overview {
    /// `stage_name` names the stage in the commands suggested.
    pub fn render(&self, stage_name: &str) -> String {
        let mut out = format!(
            "{:<23}  {:<9} {:>8} {:>8} {:>6}  {:<40}  load\n",
            "summary written (UTC)", "transform", "accepted", "rejected", "blank", "key"
        );
        for file in &self.files {
            let t = &file.transform;
            let load = match (&file.record, &file.load, t.staged()) {
                // A failure after the last recorded load is the news.
                (_, Some(load), _)
                    if !load.succeeded && file.record.as_ref().is_none_or(|r| r.loaded_at_ms < load.at) =>
                {
                    format!("FAILED: {}", load.outcome)
                }
                (Some(record), _, _) => format!("loaded {}", record.counts()),
                (None, Some(load), _) => load.outcome.clone(),
                (None, None, true) => "no record yet".to_owned(),
                (None, None, false) => "-".to_owned(),
            };
            out.push_str(&format!(
                "{:<23}  {:<9} {:>8} {:>8} {:>6}  {:<40}  {load}\n",
                clock(epoch_millis(t.written)),
                t.status,
                t.accepted,
                t.rejected,
                t.blank,
                t.key
            ));
        }
        if self.files.is_empty() {
            out.push_str("(no file has been through this stage yet)\n");
        }
        if let Some(database) = &self.database {
            out.push_str(&database.source());
            out.push('\n');
        }
        out.push_str(&format!("on-failure queue: {} record(s) waiting", self.dead_letters));
        if self.dead_letters > 0 {
            out.push_str(&format!(" (`cargo xtask redrive --stage {stage_name}` once the cause is fixed)"));
        }
        out.push('\n');
        match &self.alarms {
            Ok(alarms) => out.push_str(&alarms::render(alarms, stage_name)),
            Err(why) => out.push_str(&format!("alarms: could not be read: {why}\n")),
        }
        out
    }
}

/// One file's story.
#[derive(Debug, Clone)]
pub struct Story {
    pub key: String,
    pub transform: Option<TransformSummary>,
    pub rejects: Option<(SystemTime, i64)>,
    pub staged: Option<(SystemTime, i64)>,
    /// Every load line of its staged object, oldest first.
    pub loads: Vec<LoadResult>,
    /// Every `LOADED_OBJECTS` row of its staged object, newest first; `None` when the
    /// file was never staged (nothing to ask).
    pub database: Option<Lookup>,
    /// The functions' failure lines about it (each one alerted).
    pub failures: Vec<(i64, String)>,
    pub dead_letters: Vec<DeadLetter>,
}

pub async fn story(stage: &Stage, invoke: &impl Invoke, key: &str, since: Duration) -> Result<Story> {
    let transform = stage.summary(key).await?;
    let start = transform
        .as_ref()
        .map_or_else(|| SystemTime::now().checked_sub(since), |t| t.written.checked_sub(SLACK))
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let lines = record_lines(stage, epoch_millis(start)).await?;
    let loads = lines.iter().filter_map(|l| LoadResult::from_line(l, &stage.staging_bucket, key)).collect();
    let failures = lines.iter().filter_map(|l| failure_of(l, key).map(|f| (l.timestamp, f))).collect();
    let dead_letters = peek_dead_letters(stage)
        .await?
        .into_iter()
        .filter(|d| d.names(&stage.input_bucket, key) || d.names(&stage.staging_bucket, key))
        .collect();
    let staged = stage.object_head(&stage.staging_bucket, key).await?.map(|head| head.written());
    let database = if staged.is_some() || transform.as_ref().is_some_and(TransformSummary::staged) {
        Some(records::lookup(stage, invoke, &[key.to_owned()], None).await)
    } else {
        None
    };
    Ok(Story {
        key: key.to_owned(),
        database,
        rejects: stage.object_head(&stage.errors_bucket, &format!("{key}.rejects.jsonl")).await?.map(|h| h.written()),
        staged,
        transform,
        loads,
        failures,
        dead_letters,
    })
}

impl Story {
    /// Whether the stage knows the file at all.
    pub fn known(&self) -> bool {
        self.transform.is_some()
            || !self.dead_letters.is_empty()
            || !self.failures.is_empty()
            || self.database.as_ref().is_some_and(|d| !d.records().is_empty())
    }

    pub fn render(&self, stage: &Stage) -> String {
        let at = |t: SystemTime| clock(epoch_millis(t));
        let key = &self.key;
        let mut out = format!("s3://{}/{key}\n", stage.input_bucket);
        match &self.transform {
            Some(t) => {
                out.push_str(&format!(
                    "  {}  transform: {} (rows accepted {}, rejected {}, blank lines {})\n",
                    at(t.written),
                    t.status,
                    t.accepted,
                    t.rejected,
                    t.blank
                ));
                if let Some(error) = &t.error {
                    out.push_str(&format!("  {:<23}  reason: {error}\n", ""));
                }
                out.push_str(&format!("  {:<23}  summary: s3://{}/{key}{SUMMARY}\n", "", stage.errors_bucket));
            }
            None => out.push_str("  no transform summary\n"),
        }
        if let Some((written, size)) = self.rejects {
            out.push_str(&format!(
                "  {}  rejects: s3://{}/{key}.rejects.jsonl ({size} bytes)\n",
                at(written),
                stage.errors_bucket
            ));
        }
        if let Some((written, size)) = self.staged {
            out.push_str(&format!("  {}  staged:  s3://{}/{key} ({size} bytes)\n", at(written), stage.staging_bucket));
        }
        for load in &self.loads {
            let verdict = if load.succeeded { "load" } else { "load FAILED" };
            out.push_str(&format!("  {}  {verdict}: {}\n", clock(load.at), load.outcome));
        }
        match &self.database {
            Some(Lookup::Answered { records, truncated, .. }) => {
                if records.is_empty() {
                    out.push_str(&format!(
                        "  {:<23}  LOADED_OBJECTS: no row for s3://{}/{key}\n",
                        "", stage.staging_bucket
                    ));
                }
                // Oldest first, as the rest of the story reads.
                for record in records.iter().rev() {
                    let version = record.version_id.as_deref().unwrap_or("-");
                    out.push_str(&format!(
                        "  {}  LOADED_OBJECTS #{}: ETag {}, version {version}: rows read {}, inserted {}, updated {}\n",
                        clock(record.loaded_at_ms),
                        record.id,
                        record.etag,
                        record.rows_read,
                        record.rows_inserted,
                        record.rows_updated
                    ));
                }
                if *truncated {
                    out.push_str(&format!("  {:<23}  (only the newest {} rows)\n", "", records.len()));
                }
            }
            Some(unanswered @ Lookup::Unanswered { .. }) => {
                out.push_str(&format!("  {:<23}  {}\n", "", unanswered.source()));
            }
            None => {}
        }
        for (time, failure) in &self.failures {
            out.push_str(&format!("  {}  alert: {failure}\n", clock(*time)));
        }
        for dead in &self.dead_letters {
            let when = dead.timestamp.map_or_else(|| " ".repeat(23), at);
            out.push_str(&format!(
                "  {when}  dead letter: {} gave up after {} attempt(s): {} (waiting in the on-failure queue)\n",
                dead.function, dead.attempts, dead.error
            ));
        }
        out
    }
}
