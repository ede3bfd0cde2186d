//! The event wiring moto does not do from a template, done with the same APIs a
//! user would call: each bucket's notification configuration as the template
//! declares it (moto then publishes S3 events to the topics itself), and an SQS
//! queue subscribed to every topic, so that the service can poll trigger topics and
//! the CLI can show what the summary topics received.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use aws_sdk_s3::types::{Event, NotificationConfiguration, TopicConfiguration};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value;

use crate::stack::{Deployed, LocalStack};
use zipster_deploy::StageClients;

/// The queues the local stage polls.
#[derive(Debug, Clone, Default)]
pub struct Wiring {
    /// Function logical id → the queue subscribed to its trigger topic(s).
    pub trigger_queues: BTreeMap<String, String>,
    /// Summary topic logical id → a queue subscribed to it.
    pub watch_queues: BTreeMap<String, String>,
}

/// The deployed template and its resources' physical ids.
pub async fn deployed(clients: &StageClients, stack_name: &str) -> Result<(Value, BTreeMap<String, Deployed>)> {
    let template = clients
        .cloudformation
        .get_template()
        .stack_name(stack_name)
        .send()
        .await
        .map_err(clients.error("GetTemplate", stack_name))?;
    let body = template.template_body().context("GetTemplate returned no body")?;
    let template: Value = serde_json::from_str(body).context("the deployed template is not JSON")?;
    let resources = clients
        .cloudformation
        .describe_stack_resources()
        .stack_name(stack_name)
        .send()
        .await
        .map_err(clients.error("DescribeStackResources", stack_name))?;
    let deployed = resources
        .stack_resources()
        .iter()
        .filter_map(|r| {
            let deployed = Deployed {
                resource_type: r.resource_type()?.to_owned(),
                physical_id: r.physical_resource_id()?.to_owned(),
            };
            Some((r.logical_resource_id()?.to_owned(), deployed))
        })
        .collect();
    Ok((template, deployed))
}

/// Applies the notifications and subscribes the queues; safe to run again.
pub async fn wire(clients: &StageClients, stack: &LocalStack) -> Result<Wiring> {
    for bucket in &stack.buckets {
        if bucket.topics.is_empty() {
            continue;
        }
        let topics = bucket
            .topics
            .iter()
            .map(|t| {
                TopicConfiguration::builder()
                    .topic_arn(&t.topic_arn)
                    .set_events(Some(t.events.iter().map(|e| Event::from(e.as_str())).collect()))
                    .build()
                    .context("a topic notification")
            })
            .collect::<Result<Vec<_>>>()?;
        let configuration = NotificationConfiguration::builder().set_topic_configurations(Some(topics)).build();
        clients
            .s3
            .put_bucket_notification_configuration()
            .bucket(&bucket.bucket)
            .notification_configuration(configuration)
            .send()
            .await
            .map_err(clients.error("PutBucketNotificationConfiguration", &bucket.bucket))?;
    }
    let mut wiring = Wiring::default();
    for function in &stack.functions {
        for topic in &function.trigger_topics {
            let queue = subscribed_queue(clients, &format!("{}-invoke", function.name), topic).await?;
            wiring.trigger_queues.insert(function.logical_id.clone(), queue);
        }
    }
    for (id, topic) in stack.summary_topics() {
        let queue = subscribed_queue(clients, &format!("{}-watch", topic_name(topic)), topic).await?;
        wiring.watch_queues.insert(id.to_owned(), queue);
    }
    Ok(wiring)
}

fn topic_name(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

/// A queue named `name` subscribed to `topic` (once, however often this runs).
async fn subscribed_queue(clients: &StageClients, name: &str, topic: &str) -> Result<String> {
    let queue = clients
        .sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .map_err(clients.error("CreateQueue", name))?
        .queue_url
        .with_context(|| format!("CreateQueue {name} returned no URL"))?;
    let attributes = clients
        .sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(clients.error("GetQueueAttributes", name))?;
    let arn = attributes
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .with_context(|| format!("queue {name} has no ARN"))?
        .clone();
    let existing = clients
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(topic)
        .send()
        .await
        .map_err(clients.error("ListSubscriptionsByTopic", topic))?;
    if !existing.subscriptions().iter().any(|s| s.endpoint() == Some(arn.as_str())) {
        clients
            .sns
            .subscribe()
            .topic_arn(topic)
            .protocol("sqs")
            .endpoint(&arn)
            .send()
            .await
            .map_err(clients.error("Subscribe", format!("{name} to {topic}")))?;
    }
    Ok(queue)
}

/// A notification a topic received, from its watch queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub topic: String,
    pub subject: String,
    pub message: String,
}

/// Takes what is waiting in a watch queue (waiting up to `wait_seconds` for the first).
pub async fn drain(clients: &StageClients, topic: &str, queue: &str, wait_seconds: i32) -> Result<Vec<Notification>> {
    let mut notifications = Vec::new();
    let mut wait = wait_seconds;
    loop {
        let output = clients
            .sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(wait)
            .send()
            .await
            .map_err(clients.error("ReceiveMessage", queue))?;
        let messages = output.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(notifications);
        }
        wait = 0;
        for message in messages {
            let envelope: Value = serde_json::from_str(message.body().unwrap_or_default()).unwrap_or_default();
            let text = |field: &str| envelope.get(field).and_then(Value::as_str).unwrap_or_default().to_owned();
            notifications.push(Notification {
                topic: topic.to_owned(),
                subject: text("Subject"),
                message: text("Message"),
            });
            if let Some(handle) = message.receipt_handle() {
                delete_message(clients, queue, handle).await?;
            }
        }
    }
}

/// Deletes a received message: it has been dealt with, one way or the other.
pub async fn delete_message(clients: &StageClients, queue: &str, receipt_handle: &str) -> Result<()> {
    clients
        .sqs
        .delete_message()
        .queue_url(queue)
        .receipt_handle(receipt_handle)
        .send()
        .await
        .map_err(clients.error("DeleteMessage", queue))?;
    Ok(())
}
