//! Each function's output written to its CloudWatch log group in moto, as Lambda
//! writes it: the group `/aws/lambda/<function name>`, one stream per process (a
//! sandbox), named as Lambda names them. So `cargo xtask logs --stage local` reads the
//! local stage's functions through the same API (FilterLogEvents) as a deployed
//! stage's, and the stage's follow-up commands need nothing local.
//!
//! Lines are queued without waiting (a bootstrap's output is never slowed by moto)
//! and written by one task per function, in batches of what has queued up meanwhile;
//! [`LogShipper::flush`] waits for everything queued before it, so a command ends
//! only once its lines can be read.

use std::collections::HashSet;
use std::time::SystemTime;

use anyhow::Context;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use tokio::sync::{mpsc, oneshot};
use zipster_deploy::StageClients;

enum Message {
    Line { stream: String, timestamp: i64, text: String },
    Flush(oneshot::Sender<()>),
}

/// The writer of one function's log group.
#[derive(Clone)]
pub struct LogShipper {
    queue: mpsc::UnboundedSender<Message>,
}

/// PutLogEvents takes at most 10,000 events (and 1 MiB) a call.
const BATCH_EVENTS: usize = 1000;
const BATCH_BYTES: usize = 512 * 1024;

impl LogShipper {
    /// Starts writing to `group` (created if the stack did not create it).
    pub fn start(clients: &StageClients, group: String) -> Self {
        let (queue, received) = mpsc::unbounded_channel();
        let client = aws_sdk_cloudwatchlogs::Client::new(&clients.config);
        let writer = Writer {
            client,
            clients: clients.clone(),
            group,
            group_ready: false,
            streams: HashSet::new(),
            reported: false,
        };
        tokio::spawn(ship(writer, received));
        Self { queue }
    }

    /// Queues one line of `stream`, stamped now.
    pub fn line(&self, stream: &str, text: &str) {
        let timestamp = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        // The task ends only when every shipper is dropped: a send cannot fail before.
        let _ = self.queue.send(Message::Line { stream: stream.to_owned(), timestamp, text: text.to_owned() });
    }

    /// Waits until every line queued so far is written (or failed to be).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.queue.send(Message::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

/// A new stream's name, as Lambda names a sandbox's: `2026/01/31/[$LATEST]<32 hex digits>`.
pub fn stream_name() -> String {
    let now = SystemTime::now();
    let date = aws_sdk_cloudwatchlogs::primitives::DateTime::from(now)
        .fmt(aws_sdk_cloudwatchlogs::primitives::DateTimeFormat::DateTime)
        .unwrap_or_default();
    let day = date.get(..10).unwrap_or("1970-01-01").replace('-', "/");
    format!("{day}/[$LATEST]{}", crate::service::request_id().replace('-', ""))
}

async fn ship(mut writer: Writer, mut received: mpsc::UnboundedReceiver<Message>) {
    while let Some(first) = received.recv().await {
        let mut batch = Vec::new();
        let mut flushes = Vec::new();
        let mut bytes = 0;
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Line { stream, timestamp, text } => {
                    bytes += text.len() + 26;
                    batch.push((stream, timestamp, text));
                }
                Message::Flush(done) => flushes.push(done),
            }
            if batch.len() < BATCH_EVENTS && bytes < BATCH_BYTES {
                next = received.try_recv().ok();
            }
        }
        writer.write(batch).await;
        for done in flushes {
            let _ = done.send(());
        }
    }
}

struct Writer {
    client: aws_sdk_cloudwatchlogs::Client,
    /// For its one-line errors.
    clients: StageClients,
    group: String,
    group_ready: bool,
    streams: HashSet<String>,
    /// Whether a failure was already said: once is enough for a whole run.
    reported: bool,
}

impl Writer {
    async fn write(&mut self, batch: Vec<(String, i64, String)>) {
        if let Err(error) = self.try_write(batch).await
            && !self.reported
        {
            eprintln!("local lambda: the functions' output is not reaching CloudWatch Logs: {error:#}");
            self.reported = true;
        }
    }

    async fn try_write(&mut self, batch: Vec<(String, i64, String)>) -> anyhow::Result<()> {
        if !self.group_ready {
            let created = self.client.create_log_group().log_group_name(&self.group).send().await;
            match created {
                Ok(_) => {}
                Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_already_exists_exception()) => {}
                Err(e) => return Err(self.clients.error("CreateLogGroup", &self.group)(e)),
            }
            self.group_ready = true;
        }
        // One call per stream, its events in the order they were written.
        let mut streams: Vec<String> = Vec::new();
        for (stream, _, _) in &batch {
            if !streams.contains(stream) {
                streams.push(stream.clone());
            }
        }
        for stream in streams {
            if !self.streams.contains(&stream) {
                let created =
                    self.client.create_log_stream().log_group_name(&self.group).log_stream_name(&stream).send().await;
                match created {
                    Ok(_) => {}
                    Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_already_exists_exception()) => {}
                    Err(e) => return Err(self.clients.error("CreateLogStream", format!("{} {stream}", self.group))(e)),
                }
                self.streams.insert(stream.clone());
            }
            let events = batch
                .iter()
                .filter(|(s, _, _)| *s == stream)
                .map(|(_, timestamp, text)| {
                    InputLogEvent::builder().timestamp(*timestamp).message(text).build().context("a log event")
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            self.client
                .put_log_events()
                .log_group_name(&self.group)
                .log_stream_name(&stream)
                .set_log_events(Some(events))
                .send()
                .await
                .map_err(self.clients.error("PutLogEvents", format!("{} {stream}", self.group)))?;
        }
        Ok(())
    }
}
