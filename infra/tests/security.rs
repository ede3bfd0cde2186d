//! Security properties of every stage's template, checked on the JSON that
//! CloudFormation receives (walked structurally, not string-matched).

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod support;

use std::panic::AssertUnwindSafe;

use serde_json::{Value, json};
use support::{as_list, boot_script_mut, references, resources, statements, target, templates, user_data, walk};
use zipster_infra::constructs::function::VPC_ENI_ACTIONS;
use zipster_infra::constructs::host::DESCRIBE_ACTIONS;
use zipster_infra::{HostImage, StageConfig};

fn every_bucket_is_private_encrypted_versioned_and_tls_only(stage: &StageConfig, template: &Value) {
    let buckets = resources(template, "AWS::S3::Bucket");
    assert_eq!(buckets.len(), 4, "{}: input, staging, errors, logs", stage.name);
    for (id, bucket) in buckets {
        let p = &bucket["Properties"];
        let block = &p["PublicAccessBlockConfiguration"];
        for setting in ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"] {
            assert_eq!(block[setting], true, "{}: {id}.{setting}", stage.name);
        }
        let algorithm = &p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
            ["SSEAlgorithm"];
        assert!(algorithm == "AES256" || algorithm == "aws:kms", "{}: {id} is not encrypted", stage.name);
        assert_eq!(p["VersioningConfiguration"]["Status"], "Enabled", "{}: {id}", stage.name);
        assert!(!as_list(&p["LifecycleConfiguration"]["Rules"]).is_empty(), "{}: {id} has no lifecycle", stage.name);
        assert_eq!(p["OwnershipControls"]["Rules"][0]["ObjectOwnership"], "BucketOwnerEnforced");

        let policies = resources(template, "AWS::S3::BucketPolicy");
        let policy = policies
            .iter()
            .find(|(_, policy)| target(&policy["Properties"]["Bucket"]) == Some(id))
            .unwrap_or_else(|| panic!("{}: {id} has no bucket policy", stage.name));
        let tls_only = as_list(&policy.1["Properties"]["PolicyDocument"]["Statement"]).into_iter().any(|s| {
            s["Effect"] == "Deny"
                && s["Principal"] == "*"
                && as_list(&s["Action"]).contains(&&json!("s3:*"))
                && s["Condition"]["Bool"]["aws:SecureTransport"] == "false"
                && as_list(&s["Resource"]).len() == 2
        });
        assert!(tls_only, "{}: {id} accepts plain HTTP", stage.name);
    }
}

/// Every security group rule, inline or standalone, with its direction.
fn rules(template: &Value) -> Vec<(&'static str, &Value)> {
    let mut rules = Vec::new();
    for (_, group) in resources(template, "AWS::EC2::SecurityGroup") {
        rules.extend(as_list(&group["Properties"]["SecurityGroupIngress"]).into_iter().map(|r| ("ingress", r)));
        rules.extend(as_list(&group["Properties"]["SecurityGroupEgress"]).into_iter().map(|r| ("egress", r)));
    }
    rules.extend(
        resources(template, "AWS::EC2::SecurityGroupIngress").into_iter().map(|(_, r)| ("ingress", &r["Properties"])),
    );
    rules.extend(
        resources(template, "AWS::EC2::SecurityGroupEgress").into_iter().map(|(_, r)| ("egress", &r["Properties"])),
    );
    rules
}

fn no_ingress_from_the_internet_and_no_ssh_anywhere(stage: &StageConfig, template: &Value) {
    let rules = rules(template);
    assert!(rules.len() >= 7, "{}: found only {} rules", stage.name, rules.len());
    for (direction, rule) in rules {
        if direction == "ingress" {
            assert_ne!(rule["CidrIp"], "0.0.0.0/0", "{}: {rule}", stage.name);
            assert_ne!(rule["CidrIpv6"], "::/0", "{}: {rule}", stage.name);
            assert!(rule["SourceSecurityGroupId"].is_object(), "{}: ingress not from a group: {rule}", stage.name);
        }
        let protocol = rule["IpProtocol"].as_str().unwrap_or_default();
        assert!(protocol != "-1" && protocol != "all", "{}: all-protocol {direction} rule {rule}", stage.name);
        let (from, to) = (rule["FromPort"].as_i64().unwrap(), rule["ToPort"].as_i64().unwrap());
        if protocol == "tcp" || protocol == "6" {
            assert!(!(from..=to).contains(&22), "{}: port 22 in {direction} rule {rule}", stage.name);
        }
    }
    for (id, instance) in resources(template, "AWS::EC2::Instance") {
        assert!(instance["Properties"].get("KeyName").is_none(), "{}: {id} has an SSH key", stage.name);
    }
}

fn the_database_admits_mysql_only_from_the_functions(stage: &StageConfig, template: &Value) {
    let into_database: Vec<_> = resources(template, "AWS::EC2::SecurityGroupIngress")
        .into_iter()
        .filter(|(_, r)| target(&r["Properties"]["GroupId"]) == Some("DatabaseSecurityGroup"))
        .collect();
    assert_eq!(into_database.len(), 1, "{}", stage.name);
    let rule = &into_database[0].1["Properties"];
    assert_eq!((rule["FromPort"].as_i64(), rule["ToPort"].as_i64()), (Some(3306), Some(3306)));
    assert_eq!(target(&rule["SourceSecurityGroupId"]), Some("FunctionSecurityGroup"));
    let database_group = &template["Resources"]["DatabaseSecurityGroup"]["Properties"];
    assert!(database_group.get("SecurityGroupIngress").is_none(), "{}: inline ingress on the DB group", stage.name);
}

fn iam_allows_no_wildcard_actions_and_no_wildcard_resources_except_vpc_networking(
    stage: &StageConfig,
    template: &Value,
) {
    let statements = statements(template);
    assert!(statements.len() > 20, "{}: found only {} statements", stage.name, statements.len());
    for statement in statements {
        // Deny statements with wildcards only restrict (the TLS-only policies).
        if statement["Effect"] != "Allow" {
            continue;
        }
        let actions = as_list(&statement["Action"]);
        assert!(!actions.is_empty(), "{}: {statement}", stage.name);
        for action in &actions {
            let action = action.as_str().unwrap_or_default();
            assert!(!action.contains('*'), "{}: wildcard action {action:?} in {statement}", stage.name);
        }
        if as_list(&statement["Resource"]).contains(&&json!("*")) {
            // EC2 authorizes these on `*` only: Lambda's network interfaces, the host's DescribeVolumes.
            let only_on_all = |a: &&Value| {
                let a = a.as_str().unwrap_or_default();
                VPC_ENI_ACTIONS.contains(&a) || DESCRIBE_ACTIONS.contains(&a)
            };
            assert!(
                actions.iter().all(only_on_all),
                "{}: resource * for actions that accept ARNs: {statement}",
                stage.name
            );
        }
        if statement["Principal"] == "*" || statement["Principal"]["AWS"] == "*" {
            panic!("{}: allow to anyone: {statement}", stage.name);
        }
    }
}

fn no_secret_is_written_in_the_template(stage: &StageConfig, template: &Value) {
    let secret_like = |key: &str| {
        let key = key.to_ascii_lowercase();
        ["password", "passwd", "secretstring", "privatekey", "accesskey", "apikey"].iter().any(|s| key.contains(s))
            || key.ends_with("token")
    };
    walk(&template["Resources"], None, &mut |key, value| match (key, value) {
        // The generated secret's non-secret part (the user name); the password is generated.
        (Some("SecretStringTemplate"), Value::String(literal)) => {
            assert!(!literal.to_ascii_lowercase().contains("password"), "{}: {literal}", stage.name);
        }
        (Some(key), Value::String(literal)) => {
            assert!(!secret_like(key), "{}: {key} holds the literal {literal:?}", stage.name);
        }
        _ => {}
    });
    for (id, function) in resources(template, "AWS::Lambda::Function") {
        for (name, value) in function["Properties"]["Environment"]["Variables"].as_object().unwrap() {
            if name.contains("SECRET") || name.contains("PASSWORD") {
                assert_eq!(
                    target(value),
                    Some("DatabaseSecret"),
                    "{}: {id}.{name} must point at the secret",
                    stage.name
                );
            }
        }
    }
    let secret = &template["Resources"]["DatabaseSecret"]["Properties"];
    assert!(secret.get("SecretString").is_none());
    assert_eq!(secret["GenerateSecretString"]["GenerateStringKey"], "password");
    // The boot script reads the password at boot; it never embeds one.
    let script = user_data(template);
    assert!(script.contains("secretsmanager get-secret-value"), "{}", stage.name);
    assert!(!script.contains("set -x"), "{}: user data would log the password", stage.name);
    for line in script.lines().filter(|l| l.contains("IDENTIFIED BY")) {
        assert!(line.contains("IDENTIFIED BY '$password'"), "{}: {line}", stage.name);
    }
}

fn every_function_has_an_on_failure_queue_an_error_alarm_and_its_own_log_group(stage: &StageConfig, template: &Value) {
    let functions = resources(template, "AWS::Lambda::Function");
    assert_eq!(functions.len(), 3, "{}", stage.name);
    let resources_json = &template["Resources"];
    for (id, function) in functions {
        let p = &function["Properties"];
        let invoke_configs: Vec<_> = resources(template, "AWS::Lambda::EventInvokeConfig")
            .into_iter()
            .filter(|(_, c)| target(&c["Properties"]["FunctionName"]) == Some(id))
            .collect();
        assert_eq!(invoke_configs.len(), 1, "{}: {id}", stage.name);
        let config = &invoke_configs[0].1["Properties"];
        assert!(config["MaximumRetryAttempts"].as_u64().unwrap() >= 1, "{}: {id} never retries", stage.name);
        let destination = target(&config["DestinationConfig"]["OnFailure"]["Destination"]).unwrap();
        assert_eq!(resources_json[destination]["Type"], "AWS::SQS::Queue", "{}: {id}", stage.name);

        let log_group_id = target(&p["LoggingConfig"]["LogGroup"]).unwrap();
        let log_group = &resources_json[log_group_id];
        assert_eq!(log_group["Type"], "AWS::Logs::LogGroup");
        assert_eq!(log_group["Properties"]["RetentionInDays"], stage.log_retention_days);
        let function_name = p["FunctionName"].as_str().unwrap();
        assert_eq!(log_group["Properties"]["LogGroupName"], format!("/aws/lambda/{function_name}"));

        // The role may write logs only to this function's group.
        let role = &resources_json[target(&p["Role"]).unwrap()];
        let role_statements = statements(role);
        let log_writes: Vec<_> = role_statements
            .iter()
            .filter(|s| as_list(&s["Action"]).iter().any(|a| a.as_str().unwrap().starts_with("logs:")))
            .collect();
        assert_eq!(log_writes.len(), 1, "{}: {id}", stage.name);
        assert_eq!(as_list(&log_writes[0]["Resource"]), [&json!({"Fn::GetAtt": [log_group_id, "Arn"]})]);

        let alarmed = resources(template, "AWS::CloudWatch::Alarm").into_iter().any(|(_, a)| {
            a["Properties"]["MetricName"] == "Errors"
                && target(&a["Properties"]["Dimensions"][0]["Value"]) == Some(id)
                && target(&a["Properties"]["AlarmActions"][0]) == Some("AlertsTopic")
        });
        assert!(alarmed, "{}: {id} has no error alarm", stage.name);
    }
    let dead_letter_alarm = resources(template, "AWS::CloudWatch::Alarm")
        .into_iter()
        .any(|(_, a)| a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible");
    assert!(dead_letter_alarm, "{}", stage.name);
}

fn the_host_requires_imdsv2_encrypts_its_disks_and_runs_a_pinned_image(stage: &StageConfig, template: &Value) {
    let host = &template["Resources"]["DatabaseHost"]["Properties"];
    let launch_template_id = target(&host["LaunchTemplate"]["LaunchTemplateId"]).unwrap();
    let metadata = &template["Resources"][launch_template_id]["Properties"]["LaunchTemplateData"]["MetadataOptions"];
    assert_eq!(metadata["HttpTokens"], "required", "{}", stage.name);
    for mapping in as_list(&host["BlockDeviceMappings"]) {
        assert_eq!(mapping["Ebs"]["Encrypted"], true, "{}", stage.name);
    }
    for (id, volume) in resources(template, "AWS::EC2::Volume") {
        assert_eq!(volume["Properties"]["Encrypted"], true, "{}: {id}", stage.name);
    }
    // One image, named in the template: an AMI id, or one version of an SSM parameter.
    let image = host["ImageId"].as_str().unwrap_or_else(|| panic!("{}: ImageId is not literal", stage.name));
    let pinned = match image.strip_prefix("{{resolve:ssm:").and_then(|r| r.strip_suffix("}}")) {
        Some(reference) => HostImage::parse(&format!("resolve:ssm:{reference}")),
        None => HostImage::parse(image),
    };
    assert!(pinned.is_ok(), "{}: ImageId {image} is not pinned: {pinned:?}", stage.name);
    assert_eq!(image, stage.host_image().image_id(), "{}", stage.name);
    let parameters = template["Parameters"].as_object().unwrap();
    assert!(parameters.values().all(|p| !p["Type"].as_str().unwrap().contains("Image")), "{}", stage.name);
    walk(template, None, &mut |_, value| {
        if let Some(text) = value.as_str().filter(|t| t.contains("ami-amazon-linux-latest")) {
            assert!(text.contains("{{resolve:ssm:") && text.ends_with("}}"), "{}: {text}", stage.name);
        }
    });
    assert!(host["InstanceType"].as_str().unwrap().contains("g."), "{}: arm64 AMI needs a Graviton type", stage.name);
}

fn every_reference_resolves_and_there_is_no_dependency_cycle(stage: &StageConfig, template: &Value) {
    let resources_json = &template["Resources"].as_object().unwrap();
    let parameters = &template["Parameters"].as_object().unwrap();
    let graph: Vec<(&String, Vec<String>)> = resources_json
        .iter()
        .map(|(id, r)| (id, references(r).into_iter().filter(|t| !parameters.contains_key(t)).collect()))
        .collect();
    for (id, targets) in &graph {
        for t in targets {
            assert!(resources_json.contains_key(t), "{}: {id} refers to unknown {t}", stage.name);
        }
    }
    // Kahn's algorithm: a cycle leaves resources that never reach zero dependencies.
    let mut remaining = graph.clone();
    while let Some(position) = remaining.iter().position(|(_, deps)| deps.is_empty()) {
        let (done, _) = remaining.remove(position);
        for (_, deps) in &mut remaining {
            deps.retain(|d| d != done);
        }
    }
    let stuck: Vec<_> = remaining.iter().map(|(id, _)| id.as_str()).collect();
    assert!(stuck.is_empty(), "{}: dependency cycle among {stuck:?}", stage.name);
}

fn only_the_feed_buckets_may_publish_to_the_trigger_topics(stage: &StageConfig, template: &Value) {
    for (bucket, topic) in [("InputBucket", "TransformTriggerTopic"), ("StagingBucket", "LoadTriggerTopic")] {
        let b = &template["Resources"][bucket];
        let notified = &b["Properties"]["NotificationConfiguration"]["TopicConfigurations"][0];
        assert_eq!(target(&notified["Topic"]), Some(topic));
        assert_eq!(notified["Event"], "s3:ObjectCreated:*");
        let policy_id = format!("{topic}Policy");
        assert!(as_list(&b["DependsOn"]).contains(&&json!(policy_id)), "{}: {bucket}", stage.name);
        let statement = &template["Resources"][&policy_id]["Properties"]["PolicyDocument"]["Statement"][0];
        assert_eq!(statement["Principal"]["Service"], "s3.amazonaws.com");
        let source = statement["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Sub"].as_str().unwrap();
        let name = b["Properties"]["BucketName"]["Fn::Sub"].as_str().unwrap();
        assert_eq!(source, format!("arn:${{AWS::Partition}}:s3:::{name}"), "{}", stage.name);
        assert_eq!(statement["Condition"]["StringEquals"]["aws:SourceAccount"], json!({"Ref": "AWS::AccountId"}));
    }
}

fn every_taggable_resource_is_tagged_with_project_and_stage(stage: &StageConfig, template: &Value) {
    let mut tagged = 0;
    for (id, resource) in template["Resources"].as_object().unwrap() {
        let Some(tags) = resource["Properties"].get("Tags") else { continue };
        tagged += 1;
        let tags = as_list(tags);
        assert!(tags.contains(&&json!({"Key": "project", "Value": "zipster"})), "{}: {id}", stage.name);
        assert!(tags.contains(&&json!({"Key": "stage", "Value": stage.name})), "{}: {id}", stage.name);
    }
    assert!(tagged >= 25, "{}: only {tagged} tagged resources", stage.name);
}

#[test]
fn no_secret_is_written_in_the_template_in_every_stage() {
    for (stage, template) in templates() {
        no_secret_is_written_in_the_template(&stage, &template);
    }
}

#[test]
fn every_bucket_is_private_encrypted_versioned_and_tls_only_in_every_stage() {
    for (stage, template) in templates() {
        every_bucket_is_private_encrypted_versioned_and_tls_only(&stage, &template);
    }
}

#[test]
fn no_ingress_from_the_internet_and_no_ssh_anywhere_in_every_stage() {
    for (stage, template) in templates() {
        no_ingress_from_the_internet_and_no_ssh_anywhere(&stage, &template);
    }
}

#[test]
fn the_database_admits_mysql_only_from_the_functions_in_every_stage() {
    for (stage, template) in templates() {
        the_database_admits_mysql_only_from_the_functions(&stage, &template);
    }
}

#[test]
fn iam_allows_no_wildcard_actions_and_no_wildcard_resources_except_vpc_networking_in_every_stage() {
    for (stage, template) in templates() {
        iam_allows_no_wildcard_actions_and_no_wildcard_resources_except_vpc_networking(&stage, &template);
    }
}

#[test]
fn every_function_has_an_on_failure_queue_an_error_alarm_and_its_own_log_group_in_every_stage() {
    for (stage, template) in templates() {
        every_function_has_an_on_failure_queue_an_error_alarm_and_its_own_log_group(&stage, &template);
    }
}

#[test]
fn the_host_requires_imdsv2_encrypts_its_disks_and_runs_a_pinned_image_in_every_stage() {
    for (stage, template) in templates() {
        the_host_requires_imdsv2_encrypts_its_disks_and_runs_a_pinned_image(&stage, &template);
    }
}

#[test]
fn every_reference_resolves_and_there_is_no_dependency_cycle_in_every_stage() {
    for (stage, template) in templates() {
        every_reference_resolves_and_there_is_no_dependency_cycle(&stage, &template);
    }
}

#[test]
fn only_the_feed_buckets_may_publish_to_the_trigger_topics_in_every_stage() {
    for (stage, template) in templates() {
        only_the_feed_buckets_may_publish_to_the_trigger_topics(&stage, &template);
    }
}

#[test]
fn every_taggable_resource_is_tagged_with_project_and_stage_in_every_stage() {
    for (stage, template) in templates() {
        every_taggable_resource_is_tagged_with_project_and_stage(&stage, &template);
    }
}

type Check = fn(&StageConfig, &Value);
type Mutation = Box<dyn FnOnce(&mut Value)>;

/// Runs `check` on the dev template after `mutate`; true if the check fails.
fn catches(check: Check, mutate: impl FnOnce(&mut Value)) -> bool {
    let (stage, mut template) = templates().into_iter().find(|(s, _)| s.name == "dev").unwrap();
    mutate(&mut template);
    std::panic::catch_unwind(AssertUnwindSafe(|| check(&stage, &template))).is_err()
}

fn role_statements(template: &mut Value) -> &mut Vec<Value> {
    let role = &mut template["Resources"]["TransformFunctionRole"]["Properties"];
    role["Policies"][0]["PolicyDocument"]["Statement"].as_array_mut().unwrap()
}

#[test]
fn the_checks_reject_insecure_templates() {
    let cases: Vec<(&str, Check, Mutation)> = vec![
        (
            "a bucket allowing public policies",
            every_bucket_is_private_encrypted_versioned_and_tls_only,
            Box::new(|t| {
                t["Resources"]["InputBucket"]["Properties"]["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] =
                    json!(false)
            }),
        ),
        (
            "an unencrypted bucket",
            every_bucket_is_private_encrypted_versioned_and_tls_only,
            Box::new(|t| t["Resources"]["ErrorsBucket"]["Properties"]["BucketEncryption"] = Value::Null),
        ),
        (
            "a bucket accepting plain HTTP",
            every_bucket_is_private_encrypted_versioned_and_tls_only,
            Box::new(|t| {
                t["Resources"]["StagingBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"] = json!([])
            }),
        ),
        (
            "SSH from another group",
            no_ingress_from_the_internet_and_no_ssh_anywhere,
            Box::new(|t| {
                t["Resources"]["Ssh"] = json!({"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {
                    "GroupId": {"Fn::GetAtt": ["DatabaseSecurityGroup", "GroupId"]}, "IpProtocol": "tcp",
                    "FromPort": 0, "ToPort": 1024, "SourceSecurityGroupId": {"Fn::GetAtt": ["FunctionSecurityGroup", "GroupId"]}}});
            }),
        ),
        (
            "HTTPS from the internet",
            no_ingress_from_the_internet_and_no_ssh_anywhere,
            Box::new(|t| {
                t["Resources"]["FunctionSecurityGroup"]["Properties"]["SecurityGroupIngress"] =
                    json!([{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIpv6": "::/0"}]);
            }),
        ),
        (
            "an inline ingress on the database group",
            the_database_admits_mysql_only_from_the_functions,
            Box::new(|t| t["Resources"]["DatabaseSecurityGroup"]["Properties"]["SecurityGroupIngress"] = json!([])),
        ),
        (
            "a service wildcard action",
            iam_allows_no_wildcard_actions_and_no_wildcard_resources_except_vpc_networking,
            Box::new(|t| {
                role_statements(t).push(json!({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::x/*"}))
            }),
        ),
        (
            "a wildcard resource for an action that takes ARNs",
            iam_allows_no_wildcard_actions_and_no_wildcard_resources_except_vpc_networking,
            Box::new(|t| {
                role_statements(t).push(json!({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}))
            }),
        ),
        (
            "a literal password",
            no_secret_is_written_in_the_template,
            Box::new(|t| t["Resources"]["DatabaseHost"]["Properties"]["MasterUserPassword"] = json!("hunter2")),
        ),
        (
            "a password in user data",
            no_secret_is_written_in_the_template,
            Box::new(|t| {
                let script = boot_script_mut(t);
                let leaked = script.as_str().unwrap().replace("IDENTIFIED BY '$password'", "IDENTIFIED BY 'hunter2'");
                *script = json!(leaked);
            }),
        ),
        (
            "a function without an on-failure destination",
            every_function_has_an_on_failure_queue_an_error_alarm_and_its_own_log_group,
            Box::new(|t| {
                t["Resources"].as_object_mut().unwrap().remove("LoadFunctionEventInvokeConfig");
            }),
        ),
        (
            "a log group without retention",
            every_function_has_an_on_failure_queue_an_error_alarm_and_its_own_log_group,
            Box::new(|t| t["Resources"]["MigrateFunctionLogGroup"]["Properties"]["RetentionInDays"] = Value::Null),
        ),
        (
            "a role writing to every log group",
            every_function_has_an_on_failure_queue_an_error_alarm_and_its_own_log_group,
            Box::new(|t| role_statements(t)[0]["Resource"] = json!(["arn:aws:logs:*:*:*"])),
        ),
        (
            "an unencrypted data volume",
            the_host_requires_imdsv2_encrypts_its_disks_and_runs_a_pinned_image,
            Box::new(|t| t["Resources"]["DatabaseVolume"]["Properties"]["Encrypted"] = json!(false)),
        ),
        (
            "the latest AMI without a version",
            the_host_requires_imdsv2_encrypts_its_disks_and_runs_a_pinned_image,
            Box::new(|t| {
                t["Resources"]["DatabaseHost"]["Properties"]["ImageId"] =
                    json!("{{resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64}}")
            }),
        ),
        (
            "an AMI from a template parameter",
            the_host_requires_imdsv2_encrypts_its_disks_and_runs_a_pinned_image,
            Box::new(|t| t["Resources"]["DatabaseHost"]["Properties"]["ImageId"] = json!({"Ref": "HostImageId"})),
        ),
        (
            "a wildcard resource for the host's AttachVolume",
            iam_allows_no_wildcard_actions_and_no_wildcard_resources_except_vpc_networking,
            Box::new(|t| {
                let role = &mut t["Resources"]["DatabaseHostRole"]["Properties"];
                role["Policies"][0]["PolicyDocument"]["Statement"][1]["Resource"] = json!("*");
            }),
        ),
        (
            "IMDSv1",
            the_host_requires_imdsv2_encrypts_its_disks_and_runs_a_pinned_image,
            Box::new(|t| {
                let data = &mut t["Resources"]["DatabaseHostLaunchTemplate"]["Properties"]["LaunchTemplateData"];
                data["MetadataOptions"]["HttpTokens"] = json!("optional");
            }),
        ),
        (
            "a cycle between a bucket and its topic policy",
            every_reference_resolves_and_there_is_no_dependency_cycle,
            Box::new(|t| t["Resources"]["TransformTriggerTopicPolicy"]["DependsOn"] = json!(["InputBucket"])),
        ),
        (
            "a topic any bucket may publish to",
            only_the_feed_buckets_may_publish_to_the_trigger_topics,
            Box::new(|t| {
                let statement =
                    &mut t["Resources"]["LoadTriggerTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"][0];
                statement["Condition"]["ArnEquals"] = Value::Null;
            }),
        ),
        (
            "an untagged resource",
            every_taggable_resource_is_tagged_with_project_and_stage,
            Box::new(|t| t["Resources"]["DeadLetterQueue"]["Properties"]["Tags"] = json!([])),
        ),
    ];
    // Each check reports by panicking; the expected panics' messages stay in the captured output.
    let missed: Vec<&str> =
        cases.into_iter().filter_map(|(what, check, mutate)| (!catches(check, mutate)).then_some(what)).collect();
    assert!(missed.is_empty(), "not caught: {missed:?}");
}
