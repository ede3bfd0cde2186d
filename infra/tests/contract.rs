//! What the rest of the project relies on: parameter and output names, function
//! environments and runtime, physical names, determinism.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod support;

use std::collections::BTreeSet;

use serde_json::{Value, json};
use support::{resources, target, templates};
use zipster_infra::stack;

fn keys(value: &Value) -> BTreeSet<&str> {
    value.as_object().unwrap().keys().map(String::as_str).collect()
}

#[test]
fn parameters_and_outputs_have_the_agreed_names() {
    for (_, template) in templates() {
        let parameters = ["ArtifactBucket", "HostImageId", "LoadCodeKey", "MigrateCodeKey", "TransformCodeKey"];
        assert_eq!(keys(&template["Parameters"]), BTreeSet::from(parameters));
        let outputs = [
            "InputBucketName",
            "StagingBucketName",
            "ErrorsBucketName",
            "TransformTopicArn",
            "LoadTopicArn",
            "AlertsTopicArn",
            "TransformFunctionName",
            "LoadFunctionName",
            "MigrateFunctionName",
            "DeadLetterQueueUrl",
            "DatabaseHost",
            "DatabaseInstanceId",
            "DatabaseSecretArn",
        ];
        assert_eq!(keys(&template["Outputs"]), BTreeSet::from(outputs));
    }
}

#[test]
fn functions_get_the_agreed_environment_runtime_and_code_location() {
    let expected = [
        (
            "TransformFunction",
            "TransformCodeKey",
            vec!["ALERTS_TOPIC_ARN", "ERRORS_BUCKET", "STAGING_BUCKET", "TRANSFORM_TOPIC_ARN"],
        ),
        (
            "LoadFunction",
            "LoadCodeKey",
            vec![
                "ALERTS_TOPIC_ARN",
                "DATABASE_HOST",
                "DATABASE_NAME",
                "DATABASE_SECRET_ARN",
                "LOAD_TOPIC_ARN",
                "MAX_OBJECT_BYTES",
            ],
        ),
        (
            "MigrateFunction",
            "MigrateCodeKey",
            vec!["DATABASE_HOST", "DATABASE_NAME", "DATABASE_SECRET_ARN", "STAGING_BUCKET"],
        ),
    ];
    for (stage, template) in templates() {
        for (id, code_key, variables) in &expected {
            let p = &template["Resources"][id]["Properties"];
            let environment = &p["Environment"]["Variables"];
            let mut names = variables.clone();
            names.push("RUST_LOG");
            assert_eq!(keys(environment), names.into_iter().collect(), "{}: {id}", stage.name);
            assert_eq!(environment["RUST_LOG"], "info");
            if environment.get("DATABASE_NAME").is_some() {
                assert_eq!(environment["DATABASE_NAME"], "zipster");
                assert_eq!(environment["DATABASE_HOST"], json!({"Fn::GetAtt": ["DatabaseHost", "PrivateDnsName"]}));
                assert!(p["VpcConfig"].is_object(), "{}: {id} must run in the VPC to reach MySQL", stage.name);
            }
            assert_eq!(p["Handler"], "bootstrap");
            assert_eq!(p["Runtime"], "provided.al2023");
            assert_eq!(p["Architectures"], json!(["arm64"]));
            assert_eq!(p["Code"], json!({"S3Bucket": {"Ref": "ArtifactBucket"}, "S3Key": {"Ref": code_key}}));
        }
        let transform = &template["Resources"]["TransformFunction"]["Properties"];
        assert_eq!(target(&transform["Environment"]["Variables"]["STAGING_BUCKET"]), Some("StagingBucket"));
        assert_eq!(transform["MemorySize"], stage.transform.memory_mb);
        assert_eq!(transform["Timeout"], stage.transform.timeout_seconds);
        // The load downloads the staged file to /tmp: its size limit leaves /tmp room to spare.
        let load = &template["Resources"]["LoadFunction"]["Properties"];
        let tmp_bytes = u64::from(stage.load.ephemeral_storage_mb) * 1024 * 1024;
        let limit: u64 = load["Environment"]["Variables"]["MAX_OBJECT_BYTES"].as_str().unwrap().parse().unwrap();
        assert!(limit > 0 && limit + 64 * 1024 * 1024 <= tmp_bytes, "{}: {limit} of {tmp_bytes}", stage.name);
        assert_eq!(load["EphemeralStorage"]["Size"], stage.load.ephemeral_storage_mb);
    }
}

#[test]
fn physical_names_are_prefixed_with_the_stage() {
    for (stage, template) in templates() {
        let prefix = format!("zipster-{}-", stage.name);
        let named = [
            ("AWS::S3::Bucket", "BucketName"),
            ("AWS::SNS::Topic", "TopicName"),
            ("AWS::SQS::Queue", "QueueName"),
            ("AWS::Lambda::Function", "FunctionName"),
            ("AWS::CloudWatch::Alarm", "AlarmName"),
        ];
        for (resource_type, property) in named {
            for (id, resource) in resources(&template, resource_type) {
                let name = &resource["Properties"][property];
                let name = name.as_str().or_else(|| name["Fn::Sub"].as_str()).unwrap();
                assert!(name.starts_with(&prefix), "{}: {id}.{property} = {name}", stage.name);
            }
        }
        for (_, bucket) in resources(&template, "AWS::S3::Bucket") {
            let name = bucket["Properties"]["BucketName"]["Fn::Sub"].as_str().unwrap();
            assert!(name.ends_with("-${AWS::AccountId}-${AWS::Region}"), "{name}");
            // 12-digit account and the longest region name (ap-southeast-2 is 14) must fit in 63.
            let longest = name.replace("${AWS::AccountId}", "123456789012").replace("${AWS::Region}", "ap-southeast-2");
            assert!(longest.len() <= 63, "{longest}");
        }
    }
}

#[test]
fn stages_subscribe_their_people_to_every_notification_topic() {
    for (stage, template) in templates() {
        for topic in ["TransformTopic", "LoadTopic", "AlertsTopic"] {
            let subscriptions: Vec<_> = resources(&template, "AWS::SNS::Subscription")
                .into_iter()
                .filter(|(_, s)| target(&s["Properties"]["TopicArn"]) == Some(topic))
                .map(|(_, s)| {
                    (s["Properties"]["Protocol"].as_str().unwrap(), s["Properties"]["Endpoint"].as_str().unwrap())
                })
                .collect();
            let expected: Vec<_> = stage
                .notifications
                .emails
                .iter()
                .map(|e| ("email", e.as_str()))
                .chain(stage.notifications.sms.iter().map(|p| ("sms", p.as_str())))
                .collect();
            assert_eq!(subscriptions.len(), expected.len(), "{}: {topic}", stage.name);
            assert!(expected.iter().all(|e| subscriptions.contains(e)), "{}: {topic}", stage.name);
        }
    }
}

#[test]
fn synthesis_is_deterministic_and_differs_between_stages() {
    let stages = zipster_infra::StageConfig::from_toml(support::STAGES).unwrap();
    let rendered: Vec<String> = stages.iter().map(|s| stack(s).to_json()).collect();
    for (stage, first) in stages.iter().zip(&rendered) {
        assert_eq!(&stack(stage).to_json(), first);
        assert!(first.ends_with("}\n"));
    }
    assert_ne!(rendered[0], rendered[1]);
}
