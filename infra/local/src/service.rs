//! The local Lambda service: the part of Lambda that moto does not run. Each
//! function's trigger queue (subscribed to its trigger topic) is polled; each SNS
//! message becomes an SNS event for the function's bootstrap; failed invocations are
//! retried as asynchronous invocations are, then written to the on-failure queue in
//! Lambda's destination record format while the queue's alarm notifies its topic.
//! A message is deleted only once its event is finished with, either way.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use aws_sdk_sqs::primitives::{DateTime, DateTimeFormat};
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::{Mutex as AsyncMutex, watch};
use tokio::task::JoinSet;

use crate::cloudwatch::LogShipper;
use crate::function::{Function, FunctionSpec, LogSink, Outcome};
use crate::stack::{LocalFunction, LocalStack};
use zipster_deploy::StageClients;

/// Local stand-ins for Lambda's waits between retries (1 and 2 minutes in AWS).
pub const RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(200), Duration::from_millis(400)];

/// One event's way through a function: every attempt's outcome, in order.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub function: String,
    pub request_id: String,
    pub event: Value,
    pub attempts: Vec<Outcome>,
    /// Whether it went to the on-failure queue.
    pub dead_lettered: bool,
    /// When its last attempt ended (and, on failure, the on-failure record was written).
    pub finished: Instant,
    /// `(bucket, key)` of every object the event names, read once from it.
    pub objects: Vec<(String, String)>,
}

impl Delivery {
    pub fn succeeded(&self) -> bool {
        self.attempts.last().is_some_and(Outcome::is_success)
    }
}

/// A function the service runs, with its settings from the stack.
pub struct Served {
    pub stack: LocalFunction,
    pub function: AsyncMutex<Function>,
}

/// How to run functions: where the bootstraps are and what to override locally.
#[derive(Clone)]
pub struct Runner {
    /// Function logical id → bootstrap binary.
    pub bootstraps: BTreeMap<String, PathBuf>,
    /// Added to every function's environment (endpoint, region, credentials, database).
    pub overrides: BTreeMap<String, String>,
    /// Per function logical id, added last.
    pub function_overrides: BTreeMap<String, BTreeMap<String, String>>,
    pub logs: LogSink,
    /// Also write each function's output to its CloudWatch log group (the stage's).
    pub cloudwatch: bool,
    pub retry_delays: Vec<Duration>,
}

pub struct Service {
    clients: StageClients,
    functions: BTreeMap<String, Arc<Served>>,
    /// Function logical id → its trigger queue URL.
    trigger_queues: BTreeMap<String, String>,
    retry_delays: Vec<Duration>,
    deliveries: Arc<Mutex<Vec<Delivery>>>,
}

impl Service {
    pub async fn new(
        clients: StageClients,
        stack: &LocalStack,
        trigger_queues: BTreeMap<String, String>,
        runner: &Runner,
    ) -> Result<Self> {
        let mut functions = BTreeMap::new();
        for local in &stack.functions {
            let Some(bootstrap) = runner.bootstraps.get(&local.logical_id) else { continue };
            let mut env = local.env.clone();
            env.extend(runner.overrides.clone());
            env.extend(runner.function_overrides.get(&local.logical_id).cloned().unwrap_or_default());
            let label = local.name.rsplit('-').next().unwrap_or(&local.name).to_owned();
            let spec = FunctionSpec {
                name: local.name.clone(),
                label,
                arn: local.arn.clone(),
                bootstrap: bootstrap.clone(),
                memory_mb: local.memory_mb,
                timeout: local.timeout,
                env,
            };
            let group = format!("/aws/lambda/{}", spec.name);
            let mut function = Function::new(spec, Arc::clone(&runner.logs)).await?;
            if runner.cloudwatch {
                function = function.with_cloudwatch(LogShipper::start(&clients, group));
            }
            let served = Served { stack: local.clone(), function: AsyncMutex::new(function) };
            functions.insert(local.logical_id.clone(), Arc::new(served));
        }
        Ok(Self {
            clients,
            functions,
            trigger_queues,
            retry_delays: runner.retry_delays.clone(),
            deliveries: Arc::default(),
        })
    }

    pub fn served(&self, logical_id: &str) -> Option<&Arc<Served>> {
        self.functions.get(logical_id)
    }

    /// Every event handled so far.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.deliveries_since(0)
    }

    /// How many events were handled so far.
    pub fn delivery_count(&self) -> usize {
        self.deliveries.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// The events handled after the first `count` (a file is followed through these,
    /// a few times a second: only they are copied).
    pub fn deliveries_since(&self, count: usize) -> Vec<Delivery> {
        let deliveries = self.deliveries.lock().unwrap_or_else(PoisonError::into_inner);
        deliveries.get(count..).unwrap_or_default().to_vec()
    }

    /// Changes one variable of a function's environment; its next event starts a new process.
    pub async fn set_env(&self, logical_id: &str, name: &str, value: &str) -> Result<()> {
        let served = self.functions.get(logical_id).with_context(|| format!("no function {logical_id}"))?;
        served.function.lock().await.set_env(name, value).await;
        Ok(())
    }

    /// Polls every trigger queue until `stop` turns true.
    pub async fn run(self: &Arc<Self>, stop: watch::Receiver<bool>) -> Result<()> {
        let mut tasks = JoinSet::new();
        for (id, queue) in &self.trigger_queues {
            let (service, id, queue, stop) = (Arc::clone(self), id.clone(), queue.clone(), stop.clone());
            tasks.spawn(async move { service.poll(&id, &queue, stop).await });
        }
        while let Some(result) = tasks.join_next().await {
            result.context("a trigger queue poller panicked")??;
        }
        Ok(())
    }

    async fn poll(&self, logical_id: &str, queue: &str, mut stop: watch::Receiver<bool>) -> Result<()> {
        let Some(served) = self.functions.get(logical_id) else { return Ok(()) };
        // Longer than every attempt and wait together, so SQS never hands the
        // message out twice while it is still being worked on.
        let attempts = served.stack.max_retries + 1;
        let visibility =
            served.stack.timeout * attempts + self.retry_delays.iter().sum::<Duration>() + Duration::from_secs(30);
        let visibility = i32::try_from(visibility.as_secs()).unwrap_or(i32::MAX).min(43_200);
        while !*stop.borrow() {
            let receive = self
                .clients
                .sqs
                .receive_message()
                .queue_url(queue)
                .max_number_of_messages(1)
                .wait_time_seconds(1)
                .visibility_timeout(visibility)
                .send();
            let received = tokio::select! {
                received = receive => received,
                _ = stop.changed() => break,
            };
            let messages = match received {
                Ok(output) => output.messages.unwrap_or_default(),
                Err(error) => {
                    // moto restarting or the stack torn down: say so, then keep polling.
                    eprintln!("local lambda: {:#}", self.clients.error("ReceiveMessage", queue)(error));
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            for message in messages {
                let body = message.body.unwrap_or_default();
                let event = match sns_event(&body) {
                    Ok(event) => event,
                    Err(error) => {
                        eprintln!("local lambda: dropping a message that is not an SNS notification: {error:#}");
                        json!({ "unparsed": body })
                    }
                };
                if let Err(error) = self.invoke_async(served, event).await {
                    // Kept in the queue: SQS hands it out again after the visibility timeout.
                    eprintln!("local lambda: {}: {error:#}; the message stays in {queue}", served.stack.name);
                    continue;
                }
                if let Some(handle) = &message.receipt_handle {
                    crate::plumbing::delete_message(&self.clients, queue, handle).await?;
                }
            }
        }
        Ok(())
    }

    /// An asynchronous invocation: the first attempt, up to `max_retries` more, then
    /// the on-failure destination and its alarm.
    pub async fn invoke_async(&self, served: &Served, event: Value) -> Result<Delivery> {
        let request_id = request_id();
        let payload = Bytes::from(serde_json::to_vec(&event).context("serializing the event")?);
        let mut attempts = Vec::new();
        {
            let mut function = served.function.lock().await;
            for attempt in 0..=served.stack.max_retries {
                if attempt > 0 {
                    let delay = self.retry_delays.get(attempt as usize - 1).copied().unwrap_or_default();
                    tokio::time::sleep(delay).await;
                }
                let outcome = function.invoke(&request_id, payload.clone()).await;
                report(&function.spec().label, &request_id, attempt + 1, &outcome);
                let done = outcome.is_success();
                attempts.push(outcome);
                if done {
                    break;
                }
            }
        }
        let objects = zipster_core::event::object_refs(&event)
            .map(|refs| refs.into_iter().map(|o| (o.bucket, o.key)).collect())
            .unwrap_or_default();
        let mut delivery = Delivery {
            function: served.stack.logical_id.clone(),
            request_id,
            objects,
            event,
            attempts,
            dead_lettered: false,
            finished: Instant::now(),
        };
        if !delivery.succeeded() {
            delivery.dead_lettered = self.dead_letter(served, &delivery).await?;
            delivery.finished = Instant::now();
        }
        self.deliveries.lock().unwrap_or_else(PoisonError::into_inner).push(delivery.clone());
        Ok(delivery)
    }

    async fn dead_letter(&self, served: &Served, delivery: &Delivery) -> Result<bool> {
        let Some(queue) = &served.stack.on_failure_queue else { return Ok(false) };
        let Some(last) = delivery.attempts.last() else { return Ok(false) };
        let record = destination_record(&served.stack.arn, delivery, last, SystemTime::now());
        self.clients
            .sqs
            .send_message()
            .queue_url(queue)
            .message_body(record.to_string())
            .send()
            .await
            .map_err(self.clients.error("SendMessage", format!("the on-failure queue {queue}")))?;
        eprintln!(
            "local lambda: {} gave up on {} after {} attempts; the event is in {queue}",
            served.stack.name,
            delivery.request_id,
            delivery.attempts.len()
        );
        if let Some(alarm) = &served.stack.on_failure_alarm {
            let (subject, message) = alarm_notification(&alarm.name, queue, SystemTime::now());
            self.clients
                .sns
                .publish()
                .topic_arn(&alarm.topic_arn)
                .subject(subject)
                .message(message)
                .send()
                .await
                .map_err(self.clients.error("Publish", &alarm.topic_arn))?;
        }
        Ok(true)
    }

    pub async fn shutdown(&self) {
        for served in self.functions.values() {
            served.function.lock().await.stop().await;
        }
    }
}

/// A synchronous invocation, once (Lambda's `Invoke` RequestResponse): what
/// `redrive` gives each waiting event, here as on a deployed stage.
impl zipster_operate::Invoke for Service {
    async fn invoke(&self, function: &str, event: &Value) -> Result<zipster_operate::Invocation> {
        let served = self
            .functions
            .values()
            .find(|s| s.stack.name == function)
            .with_context(|| format!("the local stage runs no function {function}"))?;
        let request_id = request_id();
        let payload = Bytes::from(serde_json::to_vec(event).context("serializing the event")?);
        let outcome = {
            let mut running = served.function.lock().await;
            let outcome = running.invoke(&request_id, payload).await;
            report(&running.spec().label, &request_id, 1, &outcome);
            outcome
        };
        let invocation = zipster_operate::Invocation { succeeded: outcome.is_success(), payload: outcome.payload() };
        // Recorded like any event, so that a file re-driven is followed as one uploaded.
        let delivery = Delivery {
            function: served.stack.logical_id.clone(),
            request_id,
            objects: zipster_operate::event_objects(event),
            event: event.clone(),
            attempts: vec![outcome],
            dead_lettered: false,
            finished: Instant::now(),
        };
        self.deliveries.lock().unwrap_or_else(PoisonError::into_inner).push(delivery);
        Ok(invocation)
    }
}

fn report(label: &str, request_id: &str, attempt: u32, outcome: &Outcome) {
    let what = match outcome {
        Outcome::Success(_) => return,
        Outcome::HandlerError(body) => format!("handler error {}", String::from_utf8_lossy(body)),
        Outcome::Timeout(limit) => format!("timed out after {limit:?}; process killed"),
        Outcome::Crashed(reason) => format!("crashed: {reason}"),
        Outcome::InitError(reason) => format!("init error: {reason}"),
    };
    eprintln!("local lambda: {label} {request_id} attempt {attempt}: {what}");
}

/// A request id in Lambda's UUID shape, random enough for a local run.
pub fn request_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut bytes = [0u8; 16];
    for chunk in bytes.chunks_mut(8) {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
        chunk.copy_from_slice(&hasher.finish().to_le_bytes());
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// The Lambda event for an SNS notification delivered to SQS: the envelope becomes
/// the record's `Sns` object, with Lambda's spelling of the two URL fields.
pub fn sns_event(body: &str) -> Result<Value> {
    let mut sns: serde_json::Map<String, Value> = serde_json::from_str(body).context("the message is not JSON")?;
    if sns.get("Type").and_then(Value::as_str) != Some("Notification") {
        anyhow::bail!("not an SNS notification (no \"Type\": \"Notification\")");
    }
    for (from, to) in [("SigningCertURL", "SigningCertUrl"), ("UnsubscribeURL", "UnsubscribeUrl")] {
        if let Some(value) = sns.remove(from) {
            sns.insert(to.to_owned(), value);
        }
    }
    sns.entry("MessageAttributes").or_insert_with(|| json!({}));
    let topic = sns.get("TopicArn").and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok(json!({ "Records": [{
        "EventVersion": "1.0",
        "EventSubscriptionArn": format!("{topic}:local"),
        "EventSource": "aws:sns",
        "Sns": sns,
    }]}))
}

/// What Lambda writes to an on-failure destination after the last attempt.
pub fn destination_record(function_arn: &str, delivery: &Delivery, last: &Outcome, now: SystemTime) -> Value {
    let mut response_context = json!({ "statusCode": 200, "executedVersion": "$LATEST" });
    if let Some(error) = last.function_error() {
        response_context["functionError"] = json!(error);
    }
    json!({
        "version": "1.0",
        "timestamp": timestamp(now),
        "requestContext": {
            "requestId": delivery.request_id,
            "functionArn": format!("{function_arn}:$LATEST"),
            "condition": "RetriesExhausted",
            "approximateInvokeCount": delivery.attempts.len(),
        },
        "requestPayload": delivery.event,
        "responseContext": response_context,
        "responsePayload": last.payload(),
    })
}

/// The message a CloudWatch alarm sends its topic when it goes to ALARM.
pub fn alarm_notification(alarm: &str, queue_url: &str, now: SystemTime) -> (String, String) {
    let queue = crate::stack::queue_name(queue_url);
    let message = json!({
        "AlarmName": alarm,
        "AlarmDescription": "Events failed every retry and wait in the dead-letter queue",
        "NewStateValue": "ALARM",
        "NewStateReason": format!("Threshold Crossed: a message arrived in {queue} (local stage)"),
        "StateChangeTime": timestamp(now),
        "Trigger": { "MetricName": "ApproximateNumberOfMessagesVisible", "Namespace": "AWS/SQS",
                     "Dimensions": [{ "name": "QueueName", "value": queue }] },
    });
    (format!("ALARM: \"{alarm}\" in local"), message.to_string())
}

fn timestamp(at: SystemTime) -> String {
    DateTime::from(at).fmt(DateTimeFormat::DateTime).unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_sns_envelope_becomes_a_lambda_sns_event_that_names_the_object() {
        let s3 = include_str!("../../../testdata/events/s3-put.json");
        let envelope = json!({
            "Type": "Notification", "MessageId": "m1", "TopicArn": "arn:aws:sns:us-east-1:1:t",
            "Message": s3, "Timestamp": "2026-01-01T00:00:00.000Z", "SignatureVersion": "2",
            "Signature": "x", "SigningCertURL": "https://c", "UnsubscribeURL": "https://u",
        });
        let event = sns_event(&envelope.to_string()).unwrap();
        assert_eq!(event["Records"][0]["Sns"]["SigningCertUrl"], "https://c");
        let objects = zipster_core::event::object_refs(&event).unwrap();
        assert_eq!(
            (objects[0].bucket.as_str(), objects[0].key.as_str()),
            ("zipster-dev-input", "incoming/zip codes été+1.csv")
        );
        assert!(sns_event(r#"{"Records":[]}"#).is_err());
    }

    #[test]
    fn the_destination_record_has_lambdas_shape() {
        let delivery = Delivery {
            function: "LoadFunction".to_owned(),
            request_id: "r1".to_owned(),
            event: json!({"Records": []}),
            attempts: vec![
                Outcome::HandlerError(Bytes::from_static(br#"{"errorType":"E","errorMessage":"db down"}"#));
                3
            ],
            dead_lettered: true,
            finished: std::time::Instant::now(),
            objects: Vec::new(),
        };
        let record = destination_record(
            "arn:aws:lambda:us-east-1:1:function:f",
            &delivery,
            &delivery.attempts[2],
            SystemTime::UNIX_EPOCH,
        );
        assert_eq!(record["requestContext"]["approximateInvokeCount"], 3);
        assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
        assert_eq!(record["requestContext"]["functionArn"], "arn:aws:lambda:us-east-1:1:function:f:$LATEST");
        assert_eq!(record["responseContext"]["functionError"], "Unhandled");
        assert_eq!(record["responsePayload"]["errorMessage"], "db down");
        assert_eq!(record["requestPayload"], json!({"Records": []}));
        assert_eq!(record["timestamp"], "1970-01-01T00:00:00Z");
    }
}
