//! Operating a running stage, any stage: `put` (a file uploaded and followed
//! through), `logs`, `status`, `redrive` and `drift`. Everything is read from what a
//! stage keeps in AWS (the stack's outputs, the errors bucket's summaries, the staging
//! bucket, the functions' CloudWatch log groups, the on-failure queue, the stack's
//! alarms) and, for the private database, through its migrate function; through the
//! same APIs on every stage: the local stage keeps the same things in moto (its
//! Lambda service writes the functions' output to their log groups), so it is
//! operated, and tested, exactly as `dev` is.
//!
//! What differs between stages is only who runs the functions: Lambda, or the local
//! stage's Lambda service inside the command. `redrive` invokes through [`Invoke`],
//! which each provides.

pub mod alarms;
pub mod drift;
pub mod follow;
pub mod logs;
pub mod near;
pub mod records;
pub mod redrive;
pub mod reprocess;
pub mod status;

use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};
use serde_json::Value;
use zipster_deploy::StageClients;
use zipster_deploy::query::{self, QueryClient};
use zipster_infra::{FUNCTIONS, FunctionDef};

pub use redrive::{Invocation, Invoke, LambdaInvoke};

/// A deployed function: its definition in the one table and its physical name.
#[derive(Debug, Clone)]
pub struct DeployedFunction {
    pub def: &'static FunctionDef,
    /// `zipster-<stage>-<name>`.
    pub name: String,
}

impl DeployedFunction {
    /// Where Lambda writes its output (the template's `LoggingConfig` names this group).
    pub fn log_group(&self) -> String {
        format!("/aws/lambda/{}", self.name)
    }
}

/// One stage's stack, as its outputs describe it, and the clients to reach it.
#[derive(Debug, Clone)]
pub struct Stage {
    pub stack: String,
    pub clients: StageClients,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// CloudWatch's alarms, through the Query API (no SDK crate for one call).
    pub cloudwatch: QueryClient,
    pub input_bucket: String,
    pub staging_bucket: String,
    pub errors_bucket: String,
    pub dead_letter_queue: String,
    /// In [`FUNCTIONS`] order.
    pub functions: Vec<DeployedFunction>,
    /// How often to look again while waiting (moto answers at once, AWS in ~50 ms).
    pub poll: Duration,
}

impl Stage {
    /// The stage's stack read through its outputs (`DescribeStacks`).
    pub async fn open(clients: StageClients, stack: &str, poll: Duration) -> Result<Self> {
        let outputs = zipster_deploy::deploy::stack_outputs(&clients, stack).await?;
        let output = |name: &str| {
            outputs.get(name).cloned().with_context(|| {
                format!("the stack {stack} has no output {name}: deploy the stage first (`cargo xtask deploy`)")
            })
        };
        let functions = FUNCTIONS
            .iter()
            .map(|def| Ok(DeployedFunction { def, name: output(def.name_output())? }))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            stack: stack.to_owned(),
            logs: aws_sdk_cloudwatchlogs::Client::new(&clients.config),
            cloudwatch: QueryClient::from_config(&clients.config, &clients.region, query::CLOUDWATCH),
            input_bucket: output("InputBucketName")?,
            staging_bucket: output("StagingBucketName")?,
            errors_bucket: output("ErrorsBucketName")?,
            dead_letter_queue: output("DeadLetterQueueUrl")?,
            functions,
            clients,
            poll,
        })
    }

    /// A function by its name in the table (`transform`, `load`, `migrate`).
    pub fn function(&self, name: &str) -> Result<&DeployedFunction> {
        match self.functions.iter().find(|f| f.def.name == name) {
            Some(function) => Ok(function),
            None => {
                let names: Vec<&str> = self.functions.iter().map(|f| f.def.name).collect();
                bail!("no function {name:?}: the stage's functions are {}", names.join(", "))
            }
        }
    }

    /// A function by its physical name or ARN (as a destination record names it).
    pub fn function_named(&self, name_or_arn: &str) -> Option<&DeployedFunction> {
        let name = function_name_of(name_or_arn);
        self.functions.iter().find(|f| f.name == name)
    }

    /// An object's text, or `None` if there is no such key.
    pub async fn object_text(&self, bucket: &str, key: &str) -> Result<Option<(String, SystemTime)>> {
        match self.clients.s3.get_object().bucket(bucket).key(key).send().await {
            Ok(object) => {
                let modified = object.last_modified().and_then(|t| SystemTime::try_from(*t).ok());
                let bytes =
                    object.body.collect().await.with_context(|| format!("reading s3://{bucket}/{key}"))?.into_bytes();
                Ok(Some((String::from_utf8_lossy(&bytes).into_owned(), modified.unwrap_or(SystemTime::UNIX_EPOCH))))
            }
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(None),
            Err(error) => Err(self.clients.error("GetObject", format!("s3://{bucket}/{key}"))(error)),
        }
    }

    /// What S3 says of an object's current version (one `HeadObject`), or `None` if there
    /// is no such key.
    pub async fn object_head(&self, bucket: &str, key: &str) -> Result<Option<ObjectHead>> {
        match self.clients.s3.head_object().bucket(bucket).key(key).send().await {
            Ok(head) => Ok(Some(ObjectHead {
                modified: head
                    .last_modified()
                    .and_then(|t| SystemTime::try_from(*t).ok())
                    .unwrap_or(SystemTime::UNIX_EPOCH),
                size: head.content_length().unwrap_or(0),
                version_id: head.version_id().filter(|v| *v != "null").map(str::to_owned),
                etag: head.e_tag().map(|e| e.trim_matches('"').to_owned()),
            })),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(error) => Err(self.clients.error("HeadObject", format!("s3://{bucket}/{key}"))(error)),
        }
    }

    /// The transform's `<key>.summary.json`, if there is one.
    pub async fn summary(&self, key: &str) -> Result<Option<TransformSummary>> {
        let summary_key = format!("{key}.summary.json");
        let Some((text, modified)) = self.object_text(&self.errors_bucket, &summary_key).await? else {
            return Ok(None);
        };
        let json: Value = serde_json::from_str(&text)
            .with_context(|| format!("s3://{}/{summary_key} is not JSON", self.errors_bucket))?;
        Ok(Some(TransformSummary::read(key, &json, modified)))
    }
}

/// An object's current version, as `HeadObject` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectHead {
    /// S3's clock.
    pub modified: SystemTime,
    pub size: i64,
    /// `None` in a bucket that does not keep versions.
    pub version_id: Option<String>,
    pub etag: Option<String>,
}

impl ObjectHead {
    /// When it was written and how large it is, as `status KEY` tells them.
    pub fn written(&self) -> (SystemTime, i64) {
        (self.modified, self.size)
    }
}

/// `arn:aws:lambda:r:a:function:NAME[:qualifier]` → `NAME`; a bare name stays.
pub fn function_name_of(name_or_arn: &str) -> &str {
    match name_or_arn.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
        None => name_or_arn,
    }
}

/// What the transform wrote to `<key>.summary.json`: its outcome and counts.
#[derive(Debug, Clone, PartialEq)]
pub struct TransformSummary {
    pub key: String,
    /// `staged`, `refused`, … as the transform wrote it.
    pub status: String,
    pub accepted: u64,
    pub rejected: u64,
    pub blank: u64,
    /// Why a file was not staged.
    pub error: Option<String>,
    /// When the summary was written (S3's clock).
    pub written: SystemTime,
    /// Every other field, as written, for `status KEY`.
    pub raw: Value,
}

impl TransformSummary {
    /// Read leniently: a field the transform does not write reads as empty, so that
    /// one odd summary does not hide the others from `status`.
    pub fn read(key: &str, json: &Value, written: SystemTime) -> Self {
        let count = |field: &str| json.pointer(&format!("/summary/{field}")).and_then(Value::as_u64).unwrap_or(0);
        let error =
            json.pointer("/summary/error").or_else(|| json.get("error")).and_then(Value::as_str).map(str::to_owned);
        Self {
            key: key.to_owned(),
            status: json.get("status").and_then(Value::as_str).unwrap_or("unknown").to_owned(),
            accepted: count("accepted"),
            rejected: count("rejected"),
            blank: count("blank"),
            error,
            written,
            raw: json.clone(),
        }
    }

    pub fn staged(&self) -> bool {
        self.status == "staged"
    }
}

/// Milliseconds since the epoch, as CloudWatch Logs counts time.
pub fn epoch_millis(at: SystemTime) -> i64 {
    at.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `2026-01-31 12:34:56.789` (UTC) for a time in epoch milliseconds.
pub fn clock(millis: i64) -> String {
    let seconds = millis.div_euclid(1000);
    let (days, of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = zipster_report::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:03}",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        millis.rem_euclid(1000)
    )
}

/// `90s`, `10m`, `1h`, `2d` → a duration.
pub fn parse_age(text: &str) -> Result<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().with_context(|| format!("{text:?}: expected a number then s, m, h or d"))?;
    let seconds = match unit {
        "s" => 1,
        "m" | "" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => bail!("{text:?}: unknown unit {other:?}; use s, m, h or d (e.g. 10m, 1h)"),
    };
    Ok(Duration::from_secs(number * seconds))
}

/// The objects an event names, as `(bucket, key)` (an S3 event, or one delivered through SNS).
pub fn event_objects(event: &Value) -> Vec<(String, String)> {
    zipster_core::event::object_refs(event)
        .map(|refs| refs.into_iter().map(|o| (o.bucket, o.key)).collect())
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn times_and_ages_read_and_print() {
        assert_eq!(clock(0), "1970-01-01 00:00:00.000");
        assert_eq!(clock(1_767_225_600_123), "2026-01-01 00:00:00.123");
        assert_eq!(clock(951_782_400_000), "2000-02-29 00:00:00.000");
        assert_eq!(parse_age("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_age("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_age("45s").unwrap(), Duration::from_secs(45));
        assert!(parse_age("1w").unwrap_err().to_string().contains("use s, m, h or d"));
        assert!(parse_age("soon").is_err());
    }

    #[test]
    fn a_destination_record_names_its_function_by_arn() {
        assert_eq!(
            function_name_of("arn:aws:lambda:us-east-1:1:function:zipster-dev-load:$LATEST"),
            "zipster-dev-load"
        );
        assert_eq!(function_name_of("arn:aws:lambda:us-east-1:1:function:zipster-dev-load"), "zipster-dev-load");
        assert_eq!(function_name_of("zipster-dev-load"), "zipster-dev-load");
    }
}
