//! What the rest of the project relies on: parameter and output names, function
//! environments and runtime, physical names, determinism.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Value, json};
use support::{resources, target, templates};
use zipster_infra::{ARTIFACT_BUCKET, CODE_KEY_PARAMETERS, FUNCTIONS, LAMBDA_ARCHITECTURE, Trigger, stack};

fn keys(value: &Value) -> BTreeSet<&str> {
    value.as_object().unwrap().keys().map(String::as_str).collect()
}

#[test]
fn parameters_and_outputs_have_the_agreed_names() {
    assert_eq!(ARTIFACT_BUCKET, "ArtifactBucket");
    assert_eq!(CODE_KEY_PARAMETERS, FUNCTIONS.map(|f| f.code_key_parameter()));
    for (_, template) in templates() {
        // The host's image is pinned in stages.toml, not a parameter a deploy could override.
        let mut parameters = BTreeSet::from([ARTIFACT_BUCKET]);
        parameters.extend(CODE_KEY_PARAMETERS);
        assert_eq!(keys(&template["Parameters"]), parameters);
        let mut outputs = BTreeSet::from([
            "InputBucketName",
            "StagingBucketName",
            "ErrorsBucketName",
            "TransformTopicArn",
            "LoadTopicArn",
            "AlertsTopicArn",
            "DeadLetterQueueUrl",
            "DatabaseHost",
            "DatabaseInstanceId",
            "MigrateDatabaseSecretArn",
            "LoadDatabaseSecretArn",
        ]);
        outputs.extend(FUNCTIONS.map(|f| f.name_output()));
        assert_eq!(keys(&template["Outputs"]), outputs);
        for function in FUNCTIONS {
            let output = &template["Outputs"][function.name_output()]["Value"];
            assert_eq!(target(output), Some(function.logical_id()));
        }
    }
}

/// What the deploy engine's gate reads: `Resources.<id>.Metadata.zipster.stateful`,
/// one sentence, on exactly the resources whose replacement or deletion loses state.
#[test]
fn exactly_the_stateful_resources_carry_the_stateful_marker() {
    assert_eq!(zipster_infra::model::STATEFUL_METADATA, ["zipster", "stateful"]);
    let expected = BTreeSet::from([
        "DatabaseHost",
        "DatabaseVolume",
        "MigrateDatabaseSecret",
        "LoadDatabaseSecret",
        "DeadLetterQueue",
        "InputBucket",
        "StagingBucket",
        "ErrorsBucket",
        "LogsBucket",
    ]);
    for (stage, template) in templates() {
        let mut marked = BTreeSet::new();
        for (id, resource) in template["Resources"].as_object().unwrap() {
            let Some(reason) = resource.get("Metadata").and_then(|m| m.get("zipster")) else { continue };
            assert_eq!(keys(reason), BTreeSet::from(["stateful"]), "{}: {id}", stage.name);
            let reason = reason["stateful"].as_str().unwrap();
            assert!(reason.len() > 20 && reason.ends_with('.'), "{}: {id}: {reason:?} is not a sentence", stage.name);
            marked.insert(id.as_str());
        }
        assert_eq!(marked, expected, "{}", stage.name);
        let buckets: BTreeSet<&str> = resources(&template, "AWS::S3::Bucket").into_iter().map(|(id, _)| id).collect();
        assert!(buckets.is_subset(&marked), "{}: every bucket is stateful", stage.name);
    }
}

#[test]
fn buckets_are_retained_and_the_data_volume_leaves_a_snapshot() {
    for (stage, template) in templates() {
        for (id, resource) in template["Resources"].as_object().unwrap() {
            let policies = (resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy"));
            let expected = match resource["Type"].as_str().unwrap() {
                "AWS::S3::Bucket" => (Some(&json!("Retain")), Some(&json!("Retain"))),
                "AWS::EC2::Volume" => (Some(&json!("Snapshot")), Some(&json!("Snapshot"))),
                _ => (None, None),
            };
            assert_eq!(policies, expected, "{}: {id}", stage.name);
        }
    }
}

#[test]
fn functions_get_the_agreed_environment_runtime_and_code_location() {
    // The variables each function's code reads (besides RUST_LOG), by function name.
    let expected = BTreeMap::from([
        (
            "transform",
            vec!["ALERTS_TOPIC_ARN", "DEFAULT_FEED", "ERRORS_BUCKET", "STAGING_BUCKET", "TRANSFORM_TOPIC_ARN"],
        ),
        (
            "load",
            vec![
                "ALERTS_TOPIC_ARN",
                "DATABASE_HOST",
                "DATABASE_MAX_CONNECTIONS",
                "DATABASE_NAME",
                "DATABASE_SECRET_ARN",
                "DEFAULT_FEED",
                "LOAD_TOPIC_ARN",
                "MAX_OBJECT_BYTES",
            ],
        ),
        (
            "migrate",
            vec!["DATABASE_HOST", "DATABASE_MAX_CONNECTIONS", "DATABASE_NAME", "DATABASE_SECRET_ARN", "STAGING_BUCKET"],
        ),
    ]);
    assert_eq!(expected.keys().copied().collect::<BTreeSet<_>>(), FUNCTIONS.map(|f| f.name).into());
    assert_eq!(LAMBDA_ARCHITECTURE, "arm64", "the host AMI and instance types are arm64 too");
    for (stage, template) in templates() {
        assert_eq!(resources(&template, "AWS::Lambda::Function").len(), FUNCTIONS.len());
        for function in FUNCTIONS {
            let id = function.logical_id();
            let p = &template["Resources"][id]["Properties"];
            assert_eq!(p["FunctionName"], function.physical_name(&stage));
            let environment = &p["Environment"]["Variables"];
            let mut names = expected[function.name].clone();
            names.push("RUST_LOG");
            assert_eq!(keys(environment), names.into_iter().collect(), "{}: {id}", stage.name);
            assert_eq!(environment["RUST_LOG"], "info");
            assert_eq!(environment.get("DATABASE_NAME").is_some(), function.reaches_database, "{id}");
            // Every function runs in the VPC; only those that reach the database in the group it admits.
            let group = target(&p["VpcConfig"]["SecurityGroupIds"][0]);
            assert_eq!(group == Some("FunctionSecurityGroup"), function.reaches_database, "{}: {id}", stage.name);
            if function.reaches_database {
                assert_eq!(environment["DATABASE_NAME"], "zipster");
                assert_eq!(environment["DATABASE_HOST"], json!({"Fn::GetAtt": ["DatabaseHost", "PrivateDnsName"]}));
            }
            assert_eq!(p["Handler"], "bootstrap");
            assert_eq!(p["Runtime"], "provided.al2023");
            assert_eq!(p["Architectures"], json!([LAMBDA_ARCHITECTURE]));
            let code_key = function.code_key_parameter();
            assert_eq!(p["Code"], json!({"S3Bucket": {"Ref": ARTIFACT_BUCKET}, "S3Key": {"Ref": code_key}}));
            let settings = function.settings(&stage);
            assert_eq!(p["MemorySize"], settings.memory_mb, "{}: {id}", stage.name);
            assert_eq!(p["Timeout"], settings.timeout_seconds, "{}: {id}", stage.name);
            assert_eq!(p["EphemeralStorage"]["Size"], settings.ephemeral_storage_mb, "{}: {id}", stage.name);
        }
        let transform = &template["Resources"]["TransformFunction"]["Properties"];
        assert_eq!(target(&transform["Environment"]["Variables"]["STAGING_BUCKET"]), Some("StagingBucket"));
        assert_eq!(transform["MemorySize"], stage.transform.memory_mb);
        // The load downloads the staged file to /tmp: its size limit leaves /tmp room to spare.
        let load = &template["Resources"]["LoadFunction"]["Properties"];
        let tmp_bytes = u64::from(stage.load.ephemeral_storage_mb) * 1024 * 1024;
        let limit: u64 = load["Environment"]["Variables"]["MAX_OBJECT_BYTES"].as_str().unwrap().parse().unwrap();
        assert!(limit > 0 && limit + 64 * 1024 * 1024 <= tmp_bytes, "{}: {limit} of {tmp_bytes}", stage.name);
    }
}

#[test]
fn each_function_is_triggered_as_the_table_says() {
    for (stage, template) in templates() {
        // The topic each bucket's object-created events go to.
        let notified = |bucket: &str| {
            let configurations = &template["Resources"][bucket]["Properties"]["NotificationConfiguration"];
            target(&configurations["TopicConfigurations"][0]["Topic"]).unwrap().to_owned()
        };
        for function in FUNCTIONS {
            let subscribed: Vec<&str> = resources(&template, "AWS::SNS::Subscription")
                .into_iter()
                .filter(|(_, s)| target(&s["Properties"]["Endpoint"]) == Some(function.logical_id()))
                .map(|(_, s)| target(&s["Properties"]["TopicArn"]).unwrap())
                .collect();
            let expected = match function.trigger {
                Trigger::InputCreated => vec![notified("InputBucket")],
                Trigger::StagingCreated => vec![notified("StagingBucket")],
                Trigger::Invoked => Vec::new(),
            };
            assert_eq!(subscribed, expected, "{}: {}", stage.name, function.logical_id());
        }
    }
}

#[test]
fn each_function_is_a_package_and_binary_of_the_workspace() {
    // `package name -> its binaries`, for every crate under functions/.
    let functions = Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions");
    let mut binaries = BTreeMap::new();
    for entry in std::fs::read_dir(functions).unwrap() {
        let Ok(text) = std::fs::read_to_string(entry.unwrap().path().join("Cargo.toml")) else { continue };
        let manifest: toml::Table = toml::from_str(&text).unwrap();
        let package = manifest["package"]["name"].as_str().unwrap().to_owned();
        let bins = manifest.get("bin").and_then(toml::Value::as_array).cloned().unwrap_or_default();
        let names: Vec<String> = bins.iter().filter_map(|b| b["name"].as_str().map(str::to_owned)).collect();
        binaries.insert(package, names);
    }
    for function in FUNCTIONS {
        let bins = binaries.get(function.package).unwrap_or_else(|| panic!("no package {}", function.package));
        assert!(
            bins.iter().any(|b| b == function.binary),
            "{} has no binary {}: {bins:?}",
            function.package,
            function.binary
        );
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
