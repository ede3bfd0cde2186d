//! `put`: a file uploaded to the stage's input bucket and followed through by what
//! the stage keeps, on any stage alike: the transform's `<key>.summary.json` (its
//! outcome and counts; the upload's version id says it is this upload's), the
//! staged object, the load's own record of the object in its log group (`load done`
//! or `load failed`, with the key), the functions' failure lines (each is also an
//! alert), and a destination record naming the file in the on-failure queue.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use aws_sdk_s3::primitives::ByteStream;
use serde_json::Value;

use crate::logs::{self, LogLine, Query};
use crate::{Stage, TransformSummary, epoch_millis};

/// How a followed file ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Only uploaded (`--no-wait`).
    Uploaded,
    /// Transformed, staged and loaded (or already loaded / superseded: the load's answer says).
    Loaded,
    /// The transform staged nothing (refused, halted): its summary says why.
    NotStaged,
    /// An invocation failed every retry: its event is in the on-failure queue.
    DeadLettered,
    /// Not through within the wait.
    TimedOut,
}

impl Verdict {
    /// Whether `put` exits non-zero.
    pub fn failed(self) -> bool {
        !matches!(self, Self::Uploaded | Self::Loaded)
    }
}

/// The load's record of one object, from its log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadResult {
    /// `loaded 3 rows: 3 inserted, 0 updated, 0 unchanged`, `already loaded`, …, or the error.
    pub outcome: String,
    pub succeeded: bool,
    /// Epoch milliseconds of the line.
    pub at: i64,
    /// The staged version it loaded (`load done` lines say it when the bucket is versioned).
    pub version_id: Option<String>,
}

impl LoadResult {
    /// The load's line for `bucket/key` (`load done` or `load failed`), if `line` is one.
    pub fn from_line(line: &LogLine, bucket: &str, key: &str) -> Option<Self> {
        let json = line.json()?;
        let fields = json.get("fields")?;
        let field = |name: &str| fields.get(name).and_then(Value::as_str);
        if field("bucket") != Some(bucket) || field("key") != Some(key) {
            return None;
        }
        let (outcome, succeeded) = match field("message")? {
            "load done" => (field("outcome")?, true),
            "load failed" => (field("error")?, false),
            _ => return None,
        };
        let version_id = field("version_id").filter(|v| !v.is_empty()).map(str::to_owned);
        Some(Self { outcome: outcome.to_owned(), succeeded, at: line.timestamp, version_id })
    }
}

/// A function's failure line naming the file (`transform failed`, `load failed`): the
/// function alerted with the same words.
pub fn failure_of(line: &LogLine, key: &str) -> Option<String> {
    let json = line.json()?;
    let fields = json.get("fields")?;
    let message = fields.get("message").and_then(Value::as_str)?;
    let named = fields.get("key").and_then(Value::as_str) == Some(key);
    (named && message.ends_with(" failed")).then(|| {
        let error = fields.get("error").and_then(Value::as_str).unwrap_or_default();
        format!("{}: {message}: {error}", line.function)
    })
}

/// A destination record of the on-failure queue: which function gave up on which event.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub function: String,
    pub condition: String,
    pub attempts: u64,
    pub error: String,
    pub timestamp: Option<SystemTime>,
    pub objects: Vec<(String, String)>,
    /// The original event, as Lambda recorded it.
    pub event: Value,
}

impl DeadLetter {
    pub fn read(body: &str) -> Result<Self> {
        let record: Value = serde_json::from_str(body).context("an on-failure record that is not JSON")?;
        let text = |pointer: &str| record.pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_owned();
        let event = record.get("requestPayload").cloned().unwrap_or(Value::Null);
        let error = match (text("/responsePayload/errorType"), text("/responsePayload/errorMessage")) {
            (kind, message) if kind.is_empty() => message,
            (kind, message) => format!("{kind}: {message}"),
        };
        let timestamp = record.get("timestamp").and_then(Value::as_str).and_then(|t| {
            aws_sdk_sqs::primitives::DateTime::from_str(t, aws_sdk_sqs::primitives::DateTimeFormat::DateTime)
                .ok()
                .and_then(|t| SystemTime::try_from(t).ok())
        });
        Ok(Self {
            function: crate::function_name_of(&text("/requestContext/functionArn")).to_owned(),
            condition: text("/requestContext/condition"),
            attempts: record.pointer("/requestContext/approximateInvokeCount").and_then(Value::as_u64).unwrap_or(0),
            error,
            timestamp,
            objects: crate::event_objects(&event),
            event,
        })
    }

    pub fn names(&self, bucket: &str, key: &str) -> bool {
        self.objects.iter().any(|(b, k)| b == bucket && k == key)
    }

    /// Whether it names this version of `bucket/key` (any, when either side has none):
    /// the same content staged again fails again under the same key and ETag.
    pub fn names_version(&self, bucket: &str, key: &str, version: Option<&str>) -> bool {
        zipster_core::event::object_refs(&self.event).is_ok_and(|refs| {
            refs.iter().any(|o| {
                o.bucket == bucket
                    && o.key == key
                    && (version.is_none() || o.version_id.is_none() || o.version_id.as_deref() == version)
            })
        })
    }
}

/// Up to 10 records of the on-failure queue, left in it (visible again at once).
pub async fn peek_dead_letters(stage: &Stage) -> Result<Vec<DeadLetter>> {
    let queue = &stage.dead_letter_queue;
    let answer = stage
        .clients
        .sqs
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(10)
        .visibility_timeout(0)
        .wait_time_seconds(0)
        .send()
        .await
        .map_err(stage.clients.error("ReceiveMessage", queue))?;
    Ok(answer.messages().iter().filter_map(|m| DeadLetter::read(m.body().unwrap_or_default()).ok()).collect())
}

/// What happened to one uploaded file, step by step.
#[derive(Debug, Clone)]
pub struct Story {
    pub key: String,
    pub input: String,
    pub version_id: Option<String>,
    pub rejects: String,
    pub summary: String,
    pub staged: Option<String>,
    pub transform: Option<TransformSummary>,
    pub load: Option<LoadResult>,
    /// The functions' failure lines about the file (each one alerted).
    pub failures: Vec<String>,
    pub dead_letters: Vec<DeadLetter>,
    /// Step → when it was seen, from the upload's start.
    pub steps: Vec<(String, Duration)>,
    pub verdict: Verdict,
}

impl Story {
    /// The story of the input object `key` (this version of it), nothing seen yet.
    pub fn of(stage: &Stage, key: &str, version_id: Option<String>) -> Self {
        Story {
            key: key.to_owned(),
            input: format!("s3://{}/{key}", stage.input_bucket),
            version_id,
            rejects: format!("s3://{}/{key}.rejects.jsonl", stage.errors_bucket),
            summary: format!("s3://{}/{key}.summary.json", stage.errors_bucket),
            staged: None,
            transform: None,
            load: None,
            failures: Vec::new(),
            dead_letters: Vec::new(),
            steps: Vec::new(),
            verdict: Verdict::Uploaded,
        }
    }

    fn step(&mut self, name: &str, started: Instant, report: &mut dyn FnMut(&str)) {
        let at = started.elapsed();
        self.steps.push((name.to_owned(), at));
        report(&format!("+{:>6.2} s  {name}", at.as_secs_f64()));
    }

    /// The summary printed at the end.
    pub fn render(&self) -> String {
        let mut out = format!("{} → {}\n", self.input, verdict_text(self.verdict));
        if let Some(t) = &self.transform {
            out.push_str(&format!(
                "  transform: {} (rows accepted {}, rejected {}, blank lines {})\n",
                t.status, t.accepted, t.rejected, t.blank
            ));
            if let Some(error) = &t.error {
                out.push_str(&format!("  reason:    {error}\n"));
            }
        }
        if let Some(load) = &self.load {
            out.push_str(&format!("  load:      {}\n", load.outcome));
        }
        if let Some(staged) = &self.staged {
            out.push_str(&format!("  staged:    {staged}\n"));
        }
        out.push_str(&format!("  rejects:   {}\n  summary:   {}\n", self.rejects, self.summary));
        for failure in &self.failures {
            out.push_str(&format!("  alert:     {failure}\n"));
        }
        for dead in &self.dead_letters {
            out.push_str(&format!(
                "  dead letter: {} gave up after {} attempt(s) ({}): {}; `cargo xtask redrive` once fixed\n",
                dead.function, dead.attempts, dead.condition, dead.error
            ));
        }
        let steps: Vec<String> = self.steps.iter().map(|(n, d)| format!("{n} {:.2} s", d.as_secs_f64())).collect();
        out.push_str(&format!("  time:      {}\n", steps.join(", ")));
        out
    }
}

fn verdict_text(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Uploaded => "uploaded (not followed)",
        Verdict::Loaded => "loaded",
        Verdict::NotStaged => "NOT STAGED",
        Verdict::DeadLettered => "FAILED (dead-lettered)",
        Verdict::TimedOut => "NOT THROUGH in time",
    }
}

/// How `put` runs.
#[derive(Debug, Clone)]
pub struct Put {
    pub key: String,
    /// Follow the file (else only upload).
    pub wait: bool,
    /// Give up following after this long.
    pub within: Duration,
}

/// Uploads `file` as `put.key` to the input bucket and follows it; `report` gets each
/// step as it is seen.
pub async fn put(stage: &Stage, file: &Path, put: &Put, report: &mut dyn FnMut(&str)) -> Result<Story> {
    let (input, key) = (&stage.input_bucket, put.key.as_str());
    let started = Instant::now();
    let body = ByteStream::from_path(file).await.with_context(|| format!("reading {}", file.display()))?;
    let uploaded = stage
        .clients
        .s3
        .put_object()
        .bucket(input)
        .key(key)
        .content_type("text/csv")
        .body(body)
        .send()
        .await
        .map_err(stage.clients.error("PutObject", format!("s3://{input}/{key}")))?;
    // S3's clock, to compare with the outputs' own times when no version id tells them apart.
    let since = stage.object_head(input, key).await?.map_or_else(SystemTime::now, |head| head.modified);
    let mut story = Story::of(stage, key, uploaded.version_id().map(str::to_owned));
    story.step("uploaded", started, report);
    if !put.wait {
        return Ok(story);
    }
    story.verdict = follow(stage, &mut story, since, started, put.within, report).await?;
    Ok(story)
}

/// Follows the file of `story` from `since` (its outputs are not older) until it is
/// loaded, not staged or dead-lettered, or `within` has passed since `started`.
pub async fn follow(
    stage: &Stage,
    story: &mut Story,
    since: SystemTime,
    started: Instant,
    within: Duration,
    report: &mut dyn FnMut(&str),
) -> Result<Verdict> {
    let key = story.key.clone();
    // Log and record times come from other clocks than S3's, truncated to seconds.
    let lines_from = epoch_millis(since) - 2000;
    let mut seen_lines = std::collections::HashSet::new();
    let mut staged_version = None;
    loop {
        if story.transform.is_none()
            && let Some(summary) = stage.summary(&key).await?
            && is_this_upload(&summary, story.version_id.as_deref(), since)
        {
            let staged = summary.staged();
            story.transform = Some(summary);
            story.step("transformed", started, report);
            if !staged {
                return Ok(Verdict::NotStaged);
            }
        }
        if story.transform.as_ref().is_some_and(TransformSummary::staged)
            && story.staged.is_none()
            && let Some(head) = stage.object_head(&stage.staging_bucket, &key).await?
            && head.modified >= since
        {
            story.staged = Some(format!("s3://{}/{key}", stage.staging_bucket));
            staged_version = head.version_id;
            story.step("staged", started, report);
        }
        let query = Query { functions: stage.functions.iter().collect(), start: lines_from, contains: None };
        for line in logs::fetch(stage, &query).await? {
            if !seen_lines.insert(line.event_id.clone()) {
                continue;
            }
            if let Some(failure) = failure_of(&line, &key) {
                report(&format!("          alert: {failure}"));
                story.failures.push(failure);
            }
            // The same content staged again (a re-upload, `reprocess`) has the same ETag:
            // only the staged version tells this load from the one before.
            if story.staged.is_some()
                && let Some(load) = LoadResult::from_line(&line, &stage.staging_bucket, &key)
                && load.succeeded
                && (staged_version.is_none() || load.version_id.is_none() || load.version_id == staged_version)
            {
                story.load = Some(load);
                story.step("loaded", started, report);
                return Ok(Verdict::Loaded);
            }
        }
        let dead: Vec<DeadLetter> = peek_dead_letters(stage)
            .await?
            .into_iter()
            .filter(|d| {
                let names = d.names(&stage.input_bucket, &key)
                    || d.names_version(&stage.staging_bucket, &key, staged_version.as_deref());
                names && d.timestamp.is_none_or(|t| t >= since)
            })
            .collect();
        if !dead.is_empty() {
            story.dead_letters = dead;
            story.step("dead-lettered", started, report);
            return Ok(Verdict::DeadLettered);
        }
        if started.elapsed() > within {
            return Ok(Verdict::TimedOut);
        }
        tokio::time::sleep(stage.poll).await;
    }
}

/// Whether a summary is the one of the upload: the same input version when the bucket
/// gives versions (it does: the input bucket is versioned), else not older than it.
fn is_this_upload(summary: &TransformSummary, version_id: Option<&str>, since: SystemTime) -> bool {
    match (summary.raw.get("version_id").and_then(Value::as_str), version_id) {
        (Some(written), Some(uploaded)) => written == uploaded,
        _ => summary.written >= since,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn line(message: &str) -> LogLine {
        LogLine {
            function: "load",
            timestamp: 5,
            stream: "s".to_owned(),
            message: message.to_owned(),
            event_id: "e".to_owned(),
        }
    }

    #[test]
    fn the_loads_lines_say_how_each_object_went() {
        let done = line(
            r#"{"level":"INFO","fields":{"message":"load done","bucket":"st","key":"a.csv","etag":"x","outcome":"loaded 2 rows: 2 inserted, 0 updated, 0 unchanged"}}"#,
        );
        let result = LoadResult::from_line(&done, "st", "a.csv").unwrap();
        assert!(result.succeeded && result.outcome.starts_with("loaded 2 rows"));
        assert!(LoadResult::from_line(&done, "st", "b.csv").is_none(), "another key");
        let failed = line(
            r#"{"level":"ERROR","fields":{"message":"load failed","bucket":"st","key":"a.csv","error":"no database connection"}}"#,
        );
        assert!(!LoadResult::from_line(&failed, "st", "a.csv").unwrap().succeeded);
        assert_eq!(failure_of(&failed, "a.csv").unwrap(), "load: load failed: no database connection");
        assert!(failure_of(&done, "a.csv").is_none());
        assert!(LoadResult::from_line(&line("load done a.csv"), "st", "a.csv").is_none(), "text is not a record");
    }

    #[test]
    fn a_destination_record_reads_as_a_dead_letter() {
        let s3 = serde_json::json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "st"}, "object": {"key": "a.csv"}}}]});
        let record = serde_json::json!({
            "timestamp": "2026-01-01T00:00:00Z",
            "requestContext": {"functionArn": "arn:aws:lambda:us-east-1:1:function:zipster-dev-load:$LATEST",
                               "condition": "RetriesExhausted", "approximateInvokeCount": 3},
            "requestPayload": s3,
            "responsePayload": {"errorType": "DatabaseError", "errorMessage": "down"},
        });
        let dead = DeadLetter::read(&record.to_string()).unwrap();
        assert_eq!(dead.function, "zipster-dev-load");
        assert_eq!((dead.attempts, dead.error.as_str()), (3, "DatabaseError: down"));
        assert_eq!(dead.timestamp, Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600)));
        assert_eq!(dead.event, s3);
        assert!(DeadLetter::read("not json").is_err());
    }

    #[test]
    fn a_dead_letter_is_matched_to_the_staged_version_it_failed_on() {
        let staged = zipster_core::event::ObjectRef {
            bucket: "st".into(),
            key: "cities/all.csv".into(),
            version_id: Some("v1".into()),
            etag: Some("e".into()),
            sequencer: None,
            size: None,
        };
        let event = zipster_core::event::reprocess_event(&[staged], Default::default());
        let record =
            serde_json::json!({"requestContext": {"functionArn": "zipster-dev-load"}, "requestPayload": event});
        let dead = DeadLetter::read(&record.to_string()).unwrap();
        assert!(dead.names_version("st", "cities/all.csv", Some("v1")));
        assert!(!dead.names_version("st", "cities/all.csv", Some("v2")), "a later staging of the same content");
        assert!(dead.names_version("st", "cities/all.csv", None), "an unversioned bucket: by key");
        assert!(!dead.names_version("st", "other.csv", Some("v1")));
    }
}
