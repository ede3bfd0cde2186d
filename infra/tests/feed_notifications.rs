//! Per-feed subscribers (stages.toml `[<stage>.feeds.<name>] notifications`): no
//! committed stage has any yet, so these tests give the dev stage some and check the
//! template SNS receives, including cfn-lint and checkov on it.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::{STAGES, resources};
use zipster_infra::constructs::topic::FEED_ATTRIBUTE;
use zipster_infra::{StageConfig, stack};

/// Two owners of the cities feed (one by SMS), one of them also the zip codes' owner.
const OWNERS: &str = r#"
[dev.feeds.cities]
notifications = { emails = ["cities@example.com", "data@example.com"], sms = ["+15555550101"] }

[dev.feeds.zipcodes]
notifications = { emails = ["data@example.com"] }
"#;

/// The topics people subscribe to.
const TOPICS: [&str; 3] = ["TransformTopic", "LoadTopic", "AlertsTopic"];

fn dev_with(owners: &str) -> (StageConfig, Value) {
    let stage = StageConfig::named(&format!("{STAGES}\n{owners}"), "dev").unwrap();
    let template = serde_json::to_value(stack(&stage)).unwrap();
    (stage, template)
}

/// Whether SNS delivers a message with this `feed` attribute (`None`: without one)
/// through `subscription`: its policy's values are exact strings, and a message
/// without the filtered attribute matches no policy.
fn delivers(subscription: &Value, feed: Option<&str>) -> bool {
    let properties = &subscription["Properties"];
    let Some(policy) = properties.get("FilterPolicy") else { return true };
    assert_eq!(properties["FilterPolicyScope"], "MessageAttributes");
    assert_eq!(policy.as_object().unwrap().len(), 1, "one attribute filtered: {policy}");
    feed.is_some_and(|feed| policy[FEED_ATTRIBUTE].as_array().unwrap().iter().any(|v| v == feed))
}

/// Who gets a message on `topic` with this feed attribute: the endpoints.
fn recipients(template: &Value, topic: &str, feed: Option<&str>) -> BTreeSet<String> {
    resources(template, "AWS::SNS::Subscription")
        .into_iter()
        .filter(|(_, s)| s["Properties"]["TopicArn"]["Ref"] == topic && s["Properties"]["Protocol"] != "lambda")
        .filter(|(_, s)| delivers(s, feed))
        .map(|(_, s)| s["Properties"]["Endpoint"].as_str().unwrap().to_owned())
        .collect()
}

fn set(endpoints: &[&str]) -> BTreeSet<String> {
    endpoints.iter().map(|e| (*e).to_owned()).collect()
}

#[test]
fn a_feeds_owners_get_only_their_feeds_messages_and_the_stage_wide_subscribers_every_message() {
    let (_, template) = dev_with(OWNERS);
    for topic in TOPICS {
        assert_eq!(
            recipients(&template, topic, Some("cities")),
            set(&["zipster-dev@example.com", "cities@example.com", "data@example.com", "+15555550101"]),
            "{topic}"
        );
        assert_eq!(
            recipients(&template, topic, Some("zipcodes")),
            set(&["zipster-dev@example.com", "data@example.com"]),
            "{topic}"
        );
        // An alarm, or a file no feed claims: no feed attribute.
        assert_eq!(recipients(&template, topic, None), set(&["zipster-dev@example.com"]), "{topic}");
    }
    // The owner of both feeds has one subscription per topic, listing both: SNS keeps one
    // subscription per endpoint and topic.
    let data: Vec<_> = resources(&template, "AWS::SNS::Subscription")
        .into_iter()
        .filter(|(_, s)| s["Properties"]["Endpoint"] == "data@example.com")
        .map(|(_, s)| s["Properties"]["FilterPolicy"][FEED_ATTRIBUTE].clone())
        .collect();
    assert_eq!(data, vec![serde_json::json!(["cities", "zipcodes"]); 3]);
    // Nobody is subscribed to the raw S3 events of the trigger topics.
    for topic in ["TransformTriggerTopic", "LoadTriggerTopic"] {
        assert!(recipients(&template, topic, Some("cities")).is_empty(), "{topic}");
    }
}

#[test]
fn the_committed_stages_have_no_filtered_subscription() {
    for (stage, template) in support::templates() {
        assert!(stage.feeds.is_empty(), "{}: update these tests' expectations", stage.name);
        for (id, subscription) in resources(&template, "AWS::SNS::Subscription") {
            assert!(subscription["Properties"].get("FilterPolicy").is_none(), "{}: {id}", stage.name);
        }
    }
}

#[test]
fn adding_a_feed_owner_replaces_no_other_subscription() {
    let ids = |owners: &str| -> BTreeSet<(String, String)> {
        let (_, template) = dev_with(owners);
        resources(&template, "AWS::SNS::Subscription")
            .into_iter()
            .map(|(id, s)| (id.to_owned(), s["Properties"]["Endpoint"].to_string()))
            .collect()
    };
    let before = ids(OWNERS);
    // An address that sorts before every other one.
    let after = ids(&OWNERS.replace("[\"cities@example.com\"", "[\"aaron@example.com\", \"cities@example.com\""));
    assert!(before.is_subset(&after), "every subscription keeps its logical ID: {:?}", before.difference(&after));
    assert_eq!(after.len() - before.len(), TOPICS.len());
}

#[test]
fn a_template_with_feed_owners_passes_cfn_lint_and_checkov() {
    let (stage, template) = dev_with(OWNERS);
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("zipster-dev-with-feed-owners.json");
    std::fs::write(&path, serde_json::to_string_pretty(&template).unwrap()).unwrap();
    let cfn_lint = zipster_tools::venv::tool("cfn-lint").expect("cfn-lint from the project's venv");
    let checkov = zipster_tools::venv::tool("checkov").expect("checkov from the project's venv");
    // As `cargo xtask lint` runs them: warnings fail cfn-lint, any failed check checkov.
    let lint = Command::new(cfn_lint)
        .args(["--regions", &stage.region, "--non-zero-exit-code", "warning", "--"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        lint.status.success(),
        "cfn-lint: {}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );
    let scan = Command::new(checkov)
        .args(["--framework", "cloudformation", "--compact", "--quiet", "--skip-download", "--file"])
        .arg(&path)
        .env("BC_SKIP_MAPPING", "TRUE")
        .env("CHECKOV_RUN_SCA_PACKAGE_SCAN_V2", "false")
        .output()
        .unwrap();
    assert!(
        scan.status.success(),
        "checkov: {}{}",
        String::from_utf8_lossy(&scan.stdout),
        String::from_utf8_lossy(&scan.stderr)
    );
}
