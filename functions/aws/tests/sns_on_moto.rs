//! The SNS adapter against moto's SNS: the feed goes out as the message attribute a
//! per-feed subscription's filter policy (the one the template declares) matches.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::collections::BTreeMap;

use aws_sdk_sns::config::{Credentials, Region};
use serde_json::{Value, json};
use zipster_aws::sns::SnsNotify;
use zipster_aws::{FEED_ATTRIBUTE, Notify};
use zipster_tools::moto::MotoServer;

/// A queue subscribed to `topic`, through `filter_policy` when there is one.
async fn subscribed_queue(
    sns: &aws_sdk_sns::Client,
    sqs: &aws_sdk_sqs::Client,
    topic: &str,
    name: &str,
    filter_policy: Option<Value>,
) -> String {
    let url = sqs.create_queue().queue_name(name).send().await.unwrap().queue_url.unwrap();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let arn = attributes.attributes.unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
    let mut subscribe = sns.subscribe().topic_arn(topic).protocol("sqs").endpoint(arn);
    if let Some(policy) = filter_policy {
        // As the template's per-feed subscriptions declare it.
        subscribe = subscribe
            .attributes("FilterPolicy", policy.to_string())
            .attributes("FilterPolicyScope", "MessageAttributes");
    }
    subscribe.send().await.unwrap();
    url
}

/// Every message the queue holds: its text, and its `feed` attribute as SNS delivered it.
async fn received(sqs: &aws_sdk_sqs::Client, url: &str) -> BTreeMap<String, Option<String>> {
    let output = sqs.receive_message().queue_url(url).max_number_of_messages(10).send().await.unwrap();
    output
        .messages
        .unwrap_or_default()
        .into_iter()
        .map(|message| {
            let envelope: Value = serde_json::from_str(message.body.as_deref().unwrap()).unwrap();
            let feed = &envelope["MessageAttributes"][FEED_ATTRIBUTE];
            if !feed.is_null() {
                assert_eq!(feed["Type"], "String", "{envelope}");
            }
            (envelope["Message"].as_str().unwrap().to_owned(), feed["Value"].as_str().map(str::to_owned))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_feeds_subscription_gets_its_feeds_messages_only_and_an_unfiltered_one_every_message() {
    let moto = MotoServer::start().unwrap();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "zipster-test"))
        .endpoint_url(&moto.endpoint)
        .load()
        .await;
    let (sns, sqs) = (aws_sdk_sns::Client::new(&config), aws_sdk_sqs::Client::new(&config));
    let topic = sns.create_topic().name("zipster-test-transform").send().await.unwrap().topic_arn.unwrap();
    let everything = subscribed_queue(&sns, &sqs, &topic, "stage-wide", None).await;
    let cities = subscribed_queue(&sns, &sqs, &topic, "cities-owner", Some(json!({FEED_ATTRIBUTE: ["cities"]}))).await;

    let notify = SnsNotify::new(&config);
    for (message, feed) in
        [("a cities file", Some("cities")), ("a zip codes file", Some("zipcodes")), ("no feed", None)]
    {
        notify.publish(&topic, "Zipster transform", message, feed).await.unwrap();
    }

    let all = BTreeMap::from([
        ("a cities file".to_owned(), Some("cities".to_owned())),
        ("a zip codes file".to_owned(), Some("zipcodes".to_owned())),
        ("no feed".to_owned(), None),
    ]);
    assert_eq!(received(&sqs, &everything).await, all);
    assert_eq!(
        received(&sqs, &cities).await,
        BTreeMap::from([("a cities file".to_owned(), Some("cities".to_owned()))])
    );
}
