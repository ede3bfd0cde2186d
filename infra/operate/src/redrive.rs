//! `redrive`: each destination record waiting in the on-failure queue is taken, its
//! original event (`requestPayload`) given again to the function it names, once and
//! synchronously, and the record deleted only after that invocation succeeded. A
//! record whose invocation fails is made visible again at the end, for the next
//! redrive; `--dry-run` only lists them.
//!
//! Who runs the function is the stage's business: Lambda (`Invoke`, RequestResponse)
//! on a deployed stage, the local stage's Lambda service on `local` ([`Invoke`]).

use std::collections::HashSet;

use anyhow::Result;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use serde::Serialize;
use serde_json::Value;

use crate::Stage;
use crate::follow::DeadLetter;

/// How one invocation ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Invocation {
    pub succeeded: bool,
    /// What the function answered: its result, or its error (`errorType`, `errorMessage`).
    pub payload: Value,
}

/// Invokes a function of the stage synchronously, once.
pub trait Invoke {
    fn invoke(&self, function: &str, event: &Value) -> impl Future<Output = Result<Invocation>> + Send;
}

/// Lambda's `Invoke`, as on any deployed stage.
pub struct LambdaInvoke<'a>(pub &'a zipster_deploy::StageClients);

impl Invoke for LambdaInvoke<'_> {
    async fn invoke(&self, function: &str, event: &Value) -> Result<Invocation> {
        let answer = self
            .0
            .lambda
            .invoke()
            .function_name(function)
            .invocation_type(InvocationType::RequestResponse)
            .payload(Blob::new(serde_json::to_vec(event)?))
            .send()
            .await
            .map_err(self.0.error("Invoke", function))?;
        let bytes = answer.payload().map(Blob::as_ref).unwrap_or_default();
        let payload =
            serde_json::from_slice(bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into()));
        Ok(Invocation { succeeded: answer.function_error().is_none(), payload })
    }
}

/// How long a record stays hidden while a run works through the queue: longer than
/// any invocation may take (Lambda's 900 s), so that it is neither handed out twice
/// nor to a second redrive meanwhile.
const HIDDEN_SECONDS: i32 = 960;

/// One record's re-drive.
#[derive(Debug, Clone, Serialize)]
pub struct Redriven {
    pub function: String,
    /// `s3://bucket/key` of each object the event names.
    pub objects: Vec<String>,
    /// The error that sent it to the queue.
    pub error: String,
    /// `None` under `--dry-run` or when it names no function of this stage.
    pub invocation: Option<Invocation>,
    /// Whether it left the queue.
    pub deleted: bool,
}

/// Re-drives every record of the on-failure queue (or lists them, `dry_run`).
pub async fn redrive(stage: &Stage, invoker: &impl Invoke, dry_run: bool) -> Result<Vec<Redriven>> {
    let queue = &stage.dead_letter_queue;
    let sqs = &stage.clients.sqs;
    let mut report = Vec::new();
    let mut seen = HashSet::new();
    let mut kept = Vec::new();
    loop {
        let answer = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .visibility_timeout(HIDDEN_SECONDS)
            .wait_time_seconds(0)
            .send()
            .await
            .map_err(stage.clients.error("ReceiveMessage", queue))?;
        let messages = answer.messages.unwrap_or_default();
        let fresh: Vec<_> =
            messages.into_iter().filter(|m| seen.insert(m.message_id().unwrap_or_default().to_owned())).collect();
        if fresh.is_empty() {
            break;
        }
        for message in fresh {
            let handle = message.receipt_handle().unwrap_or_default().to_owned();
            let record = match DeadLetter::read(message.body().unwrap_or_default()) {
                Ok(record) => record,
                Err(error) => {
                    eprintln!("redrive: skipping message {}: {error:#}", message.message_id().unwrap_or_default());
                    kept.push(handle);
                    continue;
                }
            };
            let mut redriven = Redriven {
                function: record.function.clone(),
                objects: record.objects.iter().map(|(b, k)| format!("s3://{b}/{k}")).collect(),
                error: record.error.clone(),
                invocation: None,
                deleted: false,
            };
            let known = stage.function_named(&record.function).is_some();
            if !known {
                eprintln!("redrive: {} is not a function of {}; the record stays", record.function, stage.stack);
            }
            if dry_run || !known {
                kept.push(handle);
                report.push(redriven);
                continue;
            }
            let invocation = invoker.invoke(&record.function, &record.event).await?;
            if invocation.succeeded {
                sqs.delete_message()
                    .queue_url(queue)
                    .receipt_handle(&handle)
                    .send()
                    .await
                    .map_err(stage.clients.error("DeleteMessage", queue))?;
                redriven.deleted = true;
            } else {
                kept.push(handle);
            }
            redriven.invocation = Some(invocation);
            report.push(redriven);
        }
    }
    // What stays is visible again now, not after `hidden`.
    for handle in kept {
        sqs.change_message_visibility()
            .queue_url(queue)
            .receipt_handle(handle)
            .visibility_timeout(0)
            .send()
            .await
            .map_err(stage.clients.error("ChangeMessageVisibility", queue))?;
    }
    Ok(report)
}

/// One line per record, then the count.
pub fn render(report: &[Redriven], dry_run: bool) -> String {
    let mut out = String::new();
    for r in report {
        let verdict = match (&r.invocation, dry_run) {
            (_, true) => "waiting".to_owned(),
            (None, false) => "not a function of this stage: left in the queue".to_owned(),
            (Some(i), false) if i.succeeded => "succeeded, removed from the queue".to_owned(),
            (Some(i), false) => format!("failed again, left in the queue: {}", error_text(&i.payload)),
        };
        out.push_str(&format!("{} {} ({}): {verdict}\n", r.function, r.objects.join(", "), r.error));
    }
    let done = report.iter().filter(|r| r.deleted).count();
    if dry_run {
        out.push_str(&format!("{} record(s) in the on-failure queue\n", report.len()));
    } else {
        out.push_str(&format!("{done} of {} record(s) re-driven\n", report.len()));
    }
    out
}

fn error_text(payload: &Value) -> String {
    let text = |name: &str| payload.get(name).and_then(Value::as_str).unwrap_or_default();
    match (text("errorType"), text("errorMessage")) {
        ("", "") => payload.to_string(),
        (kind, message) => format!("{kind}: {message}"),
    }
}
