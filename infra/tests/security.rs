//! Security properties of every stage's template, checked on the JSON that
//! CloudFormation receives (walked structurally, not string-matched).

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod support;

use std::panic::AssertUnwindSafe;

use serde_json::{Value, json};
use support::{as_list, boot_script_mut, references, resources, statements, target, templates, user_data, walk};
use zipster_infra::constructs::function::{VPC_DESCRIBE_ACTIONS, VPC_ENI_ACTIONS};
use zipster_infra::constructs::host::{DATABASE_USERS, DESCRIBE_ACTIONS, SSM_AGENT_ACTIONS};
use zipster_infra::constructs::network::{AWS_OWNED_BUCKETS, S3_PREFIX_LISTS};
use zipster_infra::constructs::session::{SESSION_LOG_PREFIX, document_name};
use zipster_infra::constructs::topic::AWS_MANAGED_SNS_KEY;
use zipster_infra::{FUNCTIONS, HostImage, StageConfig};

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

/// Every IAM statement that grants or denies (roles, bucket, topic and queue policies):
/// all but the endpoint policies, which only limit what passes through an endpoint
/// and are checked by [`every_endpoint_keeps_to_this_account_and_the_s3_gateway_to_the_stacks_buckets`].
fn grant_statements(template: &Value) -> Vec<&Value> {
    let resources = template["Resources"].as_object().unwrap();
    let others = resources.values().filter(|r| r["Type"] != "AWS::EC2::VPCEndpoint");
    others.flat_map(statements).collect()
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
    let statements = grant_statements(template);
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
            // EC2 authorizes these on `*` only: Lambda's look-ups of its network interfaces, the host's DescribeVolumes.
            let only_on_all = |a: &&Value| {
                let a = a.as_str().unwrap_or_default();
                VPC_DESCRIBE_ACTIONS.contains(&a) || DESCRIBE_ACTIONS.contains(&a) || SSM_AGENT_ACTIONS.contains(&a)
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
                let secret = target(value).unwrap_or_default();
                assert!(
                    DATABASE_USERS.iter().any(|user| user.secret_id == secret),
                    "{}: {id}.{name} must point at a database user's secret",
                    stage.name
                );
            }
        }
    }
    for user in DATABASE_USERS {
        let secret = &template["Resources"][user.secret_id]["Properties"];
        assert!(secret.get("SecretString").is_none());
        assert_eq!(secret["GenerateSecretString"]["GenerateStringKey"], "password");
    }
    // The boot script reads the passwords at boot; it never embeds one, and hands
    // them on only through stdin and the environment.
    let script = user_data(template);
    assert!(script.contains("secretsmanager get-secret-value"), "{}", stage.name);
    assert!(!script.contains("set -x"), "{}: user data would log the password", stage.name);
    for line in script.lines().filter(|l| l.contains("IDENTIFIED BY")) {
        let from_the_environment =
            line.contains("IDENTIFIED BY '$migrate_password'") || line.contains("IDENTIFIED BY '$load_password'");
        assert!(from_the_environment, "{}: {line}", stage.name);
    }
    for line in script.lines().filter(|l| l.contains("put-secret-value")) {
        assert!(line.contains("--secret-string file:///dev/stdin"), "{}: {line}", stage.name);
    }
}

/// Each database user's secret is read by its own function's role only (and the
/// host, which creates the user), written by the host only; the functions' roles
/// may read only their own.
fn each_database_secret_is_readable_only_by_its_function_and_the_host(stage: &StageConfig, template: &Value) {
    for user in DATABASE_USERS {
        let function = FUNCTIONS.iter().find(|def| def.name == user.function).unwrap();
        let role = format!("{}Role", function.logical_id());
        let policies = resources(template, "AWS::SecretsManager::ResourcePolicy");
        let (_, policy) = policies
            .iter()
            .find(|(_, p)| target(&p["Properties"]["SecretId"]) == Some(user.secret_id))
            .unwrap_or_else(|| panic!("{}: {} has no resource policy", stage.name, user.secret_id));
        let p = &policy["Properties"];
        assert_eq!(p["BlockPublicPolicy"], true);
        let statements = as_list(&p["ResourcePolicy"]["Statement"]);
        let denied_but = |action: &str| -> Vec<Option<&str>> {
            let statement = statements
                .iter()
                .find(|s| {
                    s["Effect"] == "Deny" && s["Principal"] == "*" && as_list(&s["Action"]).contains(&&json!(action))
                })
                .unwrap_or_else(|| panic!("{}: {}: no deny of {action}", stage.name, user.secret_id));
            let except = &statement["Condition"]["ArnNotEquals"]["aws:PrincipalArn"];
            let arns = if except.is_array() { as_list(except) } else { vec![except] };
            arns.into_iter().map(target).collect()
        };
        let mut readers = denied_but("secretsmanager:GetSecretValue");
        readers.sort();
        let mut expected = vec![Some(role.as_str()), Some("DatabaseHostRole")];
        expected.sort();
        assert_eq!(readers, expected, "{}: {}", stage.name, user.secret_id);
        assert_eq!(denied_but("secretsmanager:PutSecretValue"), vec![Some("DatabaseHostRole")]);

        // No other function's role may read it.
        for other in FUNCTIONS.iter().filter(|def| def.name != user.function) {
            let other_role = &template["Resources"][format!("{}Role", other.logical_id())];
            for statement in statements_of(other_role) {
                let reads_it = as_list(&statement["Resource"]).into_iter().any(|r| target(r) == Some(user.secret_id));
                assert!(!reads_it, "{}: {} may read {}", stage.name, other.name, user.secret_id);
            }
        }
    }
}

/// The statements of a role's inline policies.
fn statements_of(role: &Value) -> Vec<&Value> {
    as_list(&role["Properties"]["Policies"])
        .into_iter()
        .flat_map(|policy| as_list(&policy["PolicyDocument"]["Statement"]))
        .collect()
}

/// The server admits every connection the functions can open together: each
/// database function at its reserved concurrency, each instance with the pool the
/// template gives it (`DATABASE_MAX_CONNECTIONS`).
fn the_database_admits_every_connection_the_functions_can_open(stage: &StageConfig, template: &Value) {
    let script = user_data(template);
    let max_connections: u64 = script
        .lines()
        .find_map(|line| line.strip_prefix("max_connections = "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{}: the server config sets no max_connections", stage.name));
    let mut needed = 0;
    for (id, function) in resources(template, "AWS::Lambda::Function") {
        let p = &function["Properties"];
        let Some(pool) = p["Environment"]["Variables"]["DATABASE_MAX_CONNECTIONS"].as_str() else { continue };
        let pool: u64 = pool.parse().unwrap();
        let concurrency = p["ReservedConcurrentExecutions"].as_u64().unwrap_or_else(|| panic!("{id}: unbounded"));
        needed += pool * concurrency;
    }
    assert!(needed > 0, "{}", stage.name);
    assert!(needed < max_connections, "{}: {needed} connections, max_connections {max_connections}", stage.name);
}

/// MySQL is TLS only, its users are created by the access script for the
/// functions' subnets only, and the host may not read the account's parameters.
fn the_database_is_tls_only_and_its_users_are_limited_to_the_functions_subnets(stage: &StageConfig, template: &Value) {
    let script = user_data(template);
    assert!(script.lines().any(|l| l == "require_secure_transport = ON"), "{}", stage.name);
    assert!(script.contains("/usr/local/sbin/zipster-database-tls /var/lib/mysql mysql"), "{}", stage.name);
    let pattern = zipster_infra::constructs::host::client_host_pattern(stage, 2);
    let access = format!("/usr/local/sbin/zipster-database-access zipster {pattern} --user=root");
    assert!(script.lines().any(|l| l == access), "{}: {access}", stage.name);
    // The pattern covers exactly the two private subnets.
    let first = stage.subnet_cidr(0);
    assert_eq!(pattern, format!("{}/255.255.254.0", first.trim_end_matches("/24")), "{}", stage.name);
    assert_eq!(stage.subnet_cidr(1).split('.').nth(2), Some("1"));

    let role = &template["Resources"]["DatabaseHostRole"]["Properties"];
    assert!(role.get("ManagedPolicyArns").is_none_or(|arns| as_list(arns).is_empty()), "{}", stage.name);
    for statement in as_list(&role["Policies"]).into_iter().flat_map(|p| as_list(&p["PolicyDocument"]["Statement"])) {
        for action in as_list(&statement["Action"]) {
            let action = action.as_str().unwrap();
            assert!(!action.starts_with("ssm:GetParameter"), "{}: the host reads parameters: {action}", stage.name);
            assert!(!action.ends_with('*'), "{}: {action}", stage.name);
        }
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

/// `arn:${AWS::Partition}:<service>:${AWS::Region}:${AWS::AccountId}:`: a resource of this account and region.
fn this_accounts(service: &str) -> String {
    format!("arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:")
}

fn every_endpoint_keeps_to_this_account_and_the_s3_gateway_to_the_stacks_buckets(
    stage: &StageConfig,
    template: &Value,
) {
    let endpoints = resources(template, "AWS::EC2::VPCEndpoint");
    assert_eq!(endpoints.len(), 7, "{}: S3 and six interface endpoints", stage.name);
    let from_this_account =
        |s: &Value| s["Condition"]["StringEquals"]["aws:PrincipalAccount"] == json!({"Ref": "AWS::AccountId"});
    let subs = |s: &Value| -> Vec<String> {
        as_list(&s["Resource"]).iter().map(|r| r["Fn::Sub"].as_str().unwrap_or("not a Fn::Sub").to_owned()).collect()
    };
    for (id, endpoint) in endpoints {
        let p = &endpoint["Properties"];
        let policy = as_list(&p["PolicyDocument"]["Statement"]);
        assert!(!policy.is_empty(), "{}: {id} has no policy (the default lets anything through)", stage.name);
        let service = p["ServiceName"]["Fn::Sub"].as_str().unwrap().rsplit('.').next().unwrap();
        for statement in &policy {
            assert_eq!(statement["Effect"], "Allow", "{}: {id}", stage.name);
            if service == "s3" {
                continue;
            }
            assert!(
                from_this_account(statement),
                "{}: {id} lets other accounts' principals through: {statement}",
                stage.name
            );
            if service == "sns" || service == "secretsmanager" {
                // Topics and secrets can be shared across accounts: only this account's, in this region.
                let own = this_accounts(service);
                assert!(subs(statement).iter().all(|r| r.starts_with(&own)), "{}: {id}: {statement}", stage.name);
            }
        }
        if service != "s3" {
            continue;
        }
        assert_eq!(p["VpcEndpointType"], "Gateway");
        let buckets: Vec<String> = resources(template, "AWS::S3::Bucket")
            .iter()
            .map(|(_, b)| b["Properties"]["BucketName"]["Fn::Sub"].as_str().unwrap().to_owned())
            .collect();
        let own: Vec<String> = buckets
            .iter()
            .flat_map(|name| {
                [format!("arn:${{AWS::Partition}}:s3:::{name}"), format!("arn:${{AWS::Partition}}:s3:::{name}/*")]
            })
            .collect();
        let aws_owned: Vec<String> =
            AWS_OWNED_BUCKETS.iter().map(|name| format!("arn:${{AWS::Partition}}:s3:::{name}/*")).collect();
        assert!(
            aws_owned[0].contains("al2023-repos-${AWS::Region}-"),
            "{}: the host's package repositories",
            stage.name
        );
        let mut covered = Vec::new();
        for statement in policy {
            let resources = subs(statement);
            if from_this_account(statement) {
                assert!(
                    resources.iter().all(|r| own.contains(r)),
                    "{}: {id} reaches other buckets: {statement}",
                    stage.name
                );
                covered.extend(resources);
            } else {
                // Anyone (dnf does not sign), but only reading AWS's own buckets.
                assert_eq!(as_list(&statement["Action"]), [&json!("s3:GetObject")], "{}: {statement}", stage.name);
                assert!(resources.iter().all(|r| aws_owned.contains(r)), "{}: {id}: {statement}", stage.name);
            }
        }
        covered.sort();
        let mut expected = own.clone();
        expected.sort();
        assert_eq!(covered, expected, "{}: every bucket of the stack, and nothing else of this account", stage.name);
    }
}

fn egress_goes_only_to_the_s3_prefix_list_and_the_stacks_security_groups(stage: &StageConfig, template: &Value) {
    let s3 = json!({"Fn::FindInMap": ["S3PrefixList", {"Ref": "AWS::Region"}, "Id"]});
    let mapped = template["Mappings"]["S3PrefixList"][&stage.region]["Id"].as_str();
    let known = S3_PREFIX_LISTS.iter().find(|(region, _)| *region == stage.region).map(|(_, id)| *id);
    assert!(mapped.is_some() && mapped == known, "{}: no S3 prefix list for {}", stage.name, stage.region);
    for (id, group) in resources(template, "AWS::EC2::SecurityGroup") {
        for rule in as_list(&group["Properties"]["SecurityGroupEgress"]) {
            if rule.get("CidrIp").is_some() {
                // The "no egress" rule that replaces EC2's default allow-all.
                assert_eq!(
                    (&rule["CidrIp"], &rule["IpProtocol"]),
                    (&json!("255.255.255.255/32"), &json!("icmp")),
                    "{}: {id}",
                    stage.name
                );
            } else {
                assert_eq!(rule["DestinationPrefixListId"], s3, "{}: {id}: {rule}", stage.name);
                assert_eq!(
                    (rule["FromPort"].as_i64(), rule["ToPort"].as_i64()),
                    (Some(443), Some(443)),
                    "{}: {id}",
                    stage.name
                );
            }
            assert!(rule.get("CidrIpv6").is_none(), "{}: {id}: {rule}", stage.name);
        }
    }
    for (id, rule) in resources(template, "AWS::EC2::SecurityGroupEgress") {
        let p = &rule["Properties"];
        let destination = target(&p["DestinationSecurityGroupId"]);
        let port = (p["FromPort"].as_i64(), p["ToPort"].as_i64());
        match destination {
            Some("EndpointSecurityGroup") => assert_eq!(port, (Some(443), Some(443)), "{}: {id}", stage.name),
            Some("DatabaseSecurityGroup") => {
                assert_eq!(port, (Some(3306), Some(3306)), "{}: {id}", stage.name);
                assert_eq!(target(&p["GroupId"]), Some("FunctionSecurityGroup"), "{}: {id}", stage.name);
            }
            other => panic!("{}: {id} egress to {other:?}", stage.name),
        }
    }
    // Everything in the VPC reaches S3 and the endpoints.
    for group in ["FunctionSecurityGroup", "NoDatabaseFunctionSecurityGroup", "DatabaseSecurityGroup"] {
        let inline = as_list(&template["Resources"][group]["Properties"]["SecurityGroupEgress"]);
        assert!(inline.iter().any(|r| r["DestinationPrefixListId"] == s3), "{}: {group} cannot reach S3", stage.name);
        let to_endpoints = resources(template, "AWS::EC2::SecurityGroupEgress").into_iter().any(|(_, r)| {
            target(&r["Properties"]["GroupId"]) == Some(group)
                && target(&r["Properties"]["DestinationSecurityGroupId"]) == Some("EndpointSecurityGroup")
        });
        assert!(to_endpoints, "{}: {group} cannot reach the endpoints", stage.name);
    }
}

fn vpc_network_interfaces_are_managed_only_in_the_stacks_subnets_and_own_group(stage: &StageConfig, template: &Value) {
    for def in FUNCTIONS {
        let p = &template["Resources"][def.logical_id()]["Properties"];
        let role = &template["Resources"][target(&p["Role"]).unwrap()];
        let ec2: Vec<&Value> = statements(role)
            .into_iter()
            .filter(|s| as_list(&s["Action"]).iter().any(|a| a.as_str().unwrap().starts_with("ec2:")))
            .collect();
        assert_eq!(ec2.len(), 3, "{}: {}: {ec2:?}", stage.name, def.name);
        let subnets: Vec<String> = as_list(&p["VpcConfig"]["SubnetIds"])
            .iter()
            .map(|s| format!("{}subnet/${{{}}}", this_accounts("ec2"), target(s).unwrap()))
            .collect();
        let group = target(&p["VpcConfig"]["SecurityGroupIds"][0]).unwrap();
        let sub = |v: &Value| v["Fn::Sub"].as_str().unwrap_or("not a Fn::Sub").to_owned();
        for statement in ec2 {
            let actions: Vec<&str> = as_list(&statement["Action"]).iter().map(|a| a.as_str().unwrap()).collect();
            let resources = as_list(&statement["Resource"]);
            if resources == [&json!("*")] {
                assert_eq!(actions, VPC_DESCRIBE_ACTIONS, "{}: {}", stage.name, def.name);
            } else if actions == ["ec2:CreateNetworkInterface"] {
                let mut expected = subnets.clone();
                expected.push(format!("{}security-group/${{{group}.GroupId}}", this_accounts("ec2")));
                assert_eq!(
                    resources.iter().map(|r| sub(r)).collect::<Vec<_>>(),
                    expected,
                    "{}: {}",
                    stage.name,
                    def.name
                );
            } else {
                assert_eq!(actions, VPC_ENI_ACTIONS, "{}: {}", stage.name, def.name);
                assert_eq!(
                    resources.iter().map(|r| sub(r)).collect::<Vec<_>>(),
                    [format!("{}network-interface/*", this_accounts("ec2"))]
                );
                let condition = &statement["Condition"]["ArnEqualsIfExists"];
                assert_eq!(
                    sub(&condition["ec2:Vpc"]),
                    format!("{}vpc/${{Vpc}}", this_accounts("ec2")),
                    "{}: {}",
                    stage.name,
                    def.name
                );
                let in_subnets: Vec<String> = as_list(&condition["ec2:Subnet"]).iter().map(|s| sub(s)).collect();
                assert_eq!(in_subnets, subnets, "{}: {}", stage.name, def.name);
            }
        }
    }
}

fn every_function_runs_in_the_vpc_and_only_the_database_functions_in_its_group(stage: &StageConfig, template: &Value) {
    for def in FUNCTIONS {
        let p = &template["Resources"][def.logical_id()]["Properties"];
        let subnets: Vec<_> = as_list(&p["VpcConfig"]["SubnetIds"]).into_iter().filter_map(target).collect();
        assert_eq!(subnets, ["PrivateSubnetA", "PrivateSubnetB"], "{}: {} is not in the VPC", stage.name, def.name);
        let groups: Vec<_> = as_list(&p["VpcConfig"]["SecurityGroupIds"]).into_iter().filter_map(target).collect();
        let expected = if def.reaches_database { "FunctionSecurityGroup" } else { "NoDatabaseFunctionSecurityGroup" };
        assert_eq!(groups, [expected], "{}: {}", stage.name, def.name);
    }
    // What the transform publishes to has an endpoint; it reaches S3 through the gateway.
    let sns = &template["Resources"]["SnsEndpoint"]["Properties"];
    assert_eq!(sns["ServiceName"], json!({"Fn::Sub": "com.amazonaws.${AWS::Region}.sns"}), "{}", stage.name);
    assert_eq!(as_list(&sns["SubnetIds"]).len(), 2, "{}", stage.name);
}

fn every_function_has_the_stages_reserved_concurrency(stage: &StageConfig, template: &Value) {
    for def in FUNCTIONS {
        let p = &template["Resources"][def.logical_id()]["Properties"];
        let reserved = p["ReservedConcurrentExecutions"].as_u64();
        let expected = u64::from(def.settings(stage).reserved_concurrency);
        assert!(expected >= 1, "{}: {} would never run", stage.name, def.name);
        assert_eq!(reserved, Some(expected), "{}: {}", stage.name, def.name);
    }
    assert_eq!(stage.migrate.reserved_concurrency, 1, "{}: migrations run one at a time", stage.name);
}

fn topics_refuse_plain_publishing_and_those_only_functions_publish_to_are_encrypted(
    stage: &StageConfig,
    template: &Value,
) {
    let topics = resources(template, "AWS::SNS::Topic");
    assert_eq!(topics.len(), 5, "{}", stage.name);
    let policies = resources(template, "AWS::SNS::TopicPolicy");
    let mut encrypted = Vec::new();
    for (id, topic) in topics {
        let policy = policies
            .iter()
            .find(|(_, p)| as_list(&p["Properties"]["Topics"]).iter().any(|t| target(t) == Some(id)))
            .unwrap_or_else(|| panic!("{}: {id} has no policy", stage.name));
        let statements = as_list(&policy.1["Properties"]["PolicyDocument"]["Statement"]);
        let tls_only = statements.iter().any(|s| {
            s["Effect"] == "Deny"
                && s["Principal"] == "*"
                && as_list(&s["Action"]).contains(&&json!("sns:Publish"))
                && s["Condition"]["Bool"]["aws:SecureTransport"] == "false"
                && as_list(&s["Resource"]).iter().any(|r| target(r) == Some(id))
        });
        assert!(tls_only, "{}: {id} accepts publishing without TLS", stage.name);

        let by_s3 = resources(template, "AWS::S3::Bucket").into_iter().any(|(_, b)| {
            as_list(&b["Properties"]["NotificationConfiguration"]["TopicConfigurations"])
                .iter()
                .any(|c| target(&c["Topic"]) == Some(id))
        });
        let by_alarms = resources(template, "AWS::CloudWatch::Alarm")
            .into_iter()
            .any(|(_, a)| as_list(&a["Properties"]["AlarmActions"]).iter().any(|t| target(t) == Some(id)));
        let key = topic["Properties"].get("KmsMasterKeyId");
        if by_s3 || by_alarms {
            // S3 and CloudWatch cannot use the AWS-managed key: it would silently drop their messages.
            assert!(key != Some(&json!(AWS_MANAGED_SNS_KEY)), "{}: {id} is published by S3 or alarms", stage.name);
        } else {
            assert_eq!(key, Some(&json!(AWS_MANAGED_SNS_KEY)), "{}: {id} is not encrypted", stage.name);
            encrypted.push(id);
        }
        if by_alarms {
            let cloudwatch = statements.iter().any(|s| {
                s["Effect"] == "Allow"
                    && s["Principal"]["Service"] == "cloudwatch.amazonaws.com"
                    && s["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]
                        == format!("{}alarm:{}-*", this_accounts("cloudwatch"), stage.prefix())
            });
            assert!(cloudwatch, "{}: this stage's alarms may not publish to {id}", stage.name);
        }
    }
    assert_eq!(encrypted, ["LoadTopic", "TransformTopic"], "{}: the two summary topics", stage.name);
}

fn sessions_on_the_host_are_logged_to_the_logs_bucket(stage: &StageConfig, template: &Value) {
    let documents = resources(template, "AWS::SSM::Document");
    let (_, document) = documents
        .iter()
        .find(|(_, d)| d["Properties"]["DocumentType"] == "Session")
        .unwrap_or_else(|| panic!("{}: no session document", stage.name));
    let p = &document["Properties"];
    assert_eq!(p["Name"], document_name(stage), "{}", stage.name);
    assert_ne!(p["Name"], "SSM-SessionManagerRunShell", "{}: the account's shared document", stage.name);
    let inputs = &p["Content"]["inputs"];
    assert_eq!(target(&inputs["s3BucketName"]), Some("LogsBucket"), "{}", stage.name);
    assert_eq!(inputs["s3KeyPrefix"], SESSION_LOG_PREFIX, "{}", stage.name);
    assert_eq!(inputs["s3EncryptionEnabled"], true, "{}", stage.name);
    // The host's role (SSM Agent) writes the logs; the logs bucket admits it there.
    let policy = &template["Resources"]["LogsBucketPolicy"]["Properties"]["PolicyDocument"];
    let admitted = as_list(&policy["Statement"]).into_iter().any(|s| {
        target(&s["Principal"]["AWS"]) == Some("DatabaseHostRole")
            && as_list(&s["Resource"])
                .iter()
                .any(|r| r["Fn::Sub"].as_str().is_some_and(|r| r.ends_with(&format!("/{SESSION_LOG_PREFIX}/*"))))
    });
    assert!(admitted, "{}: the host cannot write session logs", stage.name);
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

#[test]
fn every_endpoint_keeps_to_this_account_and_the_s3_gateway_to_the_stacks_buckets_in_every_stage() {
    for (stage, template) in templates() {
        every_endpoint_keeps_to_this_account_and_the_s3_gateway_to_the_stacks_buckets(&stage, &template);
    }
}

#[test]
fn egress_goes_only_to_the_s3_prefix_list_and_the_stacks_security_groups_in_every_stage() {
    for (stage, template) in templates() {
        egress_goes_only_to_the_s3_prefix_list_and_the_stacks_security_groups(&stage, &template);
    }
}

#[test]
fn vpc_network_interfaces_are_managed_only_in_the_stacks_subnets_and_own_group_in_every_stage() {
    for (stage, template) in templates() {
        vpc_network_interfaces_are_managed_only_in_the_stacks_subnets_and_own_group(&stage, &template);
    }
}

#[test]
fn every_function_runs_in_the_vpc_and_only_the_database_functions_in_its_group_in_every_stage() {
    for (stage, template) in templates() {
        every_function_runs_in_the_vpc_and_only_the_database_functions_in_its_group(&stage, &template);
    }
}

#[test]
fn every_function_has_the_stages_reserved_concurrency_in_every_stage() {
    for (stage, template) in templates() {
        every_function_has_the_stages_reserved_concurrency(&stage, &template);
    }
}

#[test]
fn topics_refuse_plain_publishing_and_those_only_functions_publish_to_are_encrypted_in_every_stage() {
    for (stage, template) in templates() {
        topics_refuse_plain_publishing_and_those_only_functions_publish_to_are_encrypted(&stage, &template);
    }
}

#[test]
fn sessions_on_the_host_are_logged_to_the_logs_bucket_in_every_stage() {
    for (stage, template) in templates() {
        sessions_on_the_host_are_logged_to_the_logs_bucket(&stage, &template);
    }
}

#[test]
fn each_database_secret_is_readable_only_by_its_function_and_the_host_in_every_stage() {
    for (stage, template) in templates() {
        each_database_secret_is_readable_only_by_its_function_and_the_host(&stage, &template);
    }
}

#[test]
fn the_database_admits_every_connection_the_functions_can_open_in_every_stage() {
    for (stage, template) in templates() {
        the_database_admits_every_connection_the_functions_can_open(&stage, &template);
    }
}

#[test]
fn the_database_is_tls_only_and_its_users_are_limited_to_the_functions_subnets_in_every_stage() {
    for (stage, template) in templates() {
        the_database_is_tls_only_and_its_users_are_limited_to_the_functions_subnets(&stage, &template);
    }
}

/// The host's user data with `from` replaced by `to`.
fn edit_user_data(template: &mut Value, from: &str, to: &str) {
    let boot = boot_script_mut(template);
    let edited = boot.as_str().unwrap().replace(from, to);
    assert_ne!(boot.as_str().unwrap(), edited, "{from:?} is not in the user data");
    *boot = json!(edited);
}

type Check = fn(&StageConfig, &Value);
type Mutation = Box<dyn FnOnce(&mut Value)>;

/// Runs `check` on the dev template after `mutate`; true if the check fails.
fn catches(check: Check, mutate: impl FnOnce(&mut Value)) -> bool {
    let (stage, mut template) = templates().into_iter().find(|(s, _)| s.name == "dev").unwrap();
    mutate(&mut template);
    std::panic::catch_unwind(AssertUnwindSafe(|| check(&stage, &template))).is_err()
}

fn endpoint_statement<'a>(template: &'a mut Value, endpoint: &str, index: usize) -> &'a mut Value {
    &mut template["Resources"][endpoint]["Properties"]["PolicyDocument"]["Statement"][index]
}

fn role_statements(template: &mut Value) -> &mut Vec<Value> {
    let role = &mut template["Resources"]["TransformFunctionRole"]["Properties"];
    role["Policies"][0]["PolicyDocument"]["Statement"].as_array_mut().unwrap()
}

#[test]
fn the_checks_reject_insecure_templates() {
    let cases: Vec<(&str, Check, Mutation)> = vec![
        (
            "a secret without a resource policy",
            each_database_secret_is_readable_only_by_its_function_and_the_host,
            Box::new(|t| t["Resources"].as_object_mut().unwrap().retain(|id, _| id != "LoadDatabaseSecretPolicy")),
        ),
        (
            "a secret the transform may read",
            each_database_secret_is_readable_only_by_its_function_and_the_host,
            Box::new(|t| {
                let policy = &mut t["Resources"]["LoadDatabaseSecretPolicy"]["Properties"]["ResourcePolicy"];
                policy["Statement"][0]["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"Fn::GetAtt": ["TransformFunctionRole", "Arn"]}));
            }),
        ),
        (
            "the load's role reading the migrate secret",
            each_database_secret_is_readable_only_by_its_function_and_the_host,
            Box::new(|t| {
                let role = &mut t["Resources"]["LoadFunctionRole"]["Properties"];
                role["Policies"][0]["PolicyDocument"]["Statement"].as_array_mut().unwrap().push(json!({
                    "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
                    "Resource": [{"Ref": "MigrateDatabaseSecret"}]}));
            }),
        ),
        (
            "more load instances than the database admits",
            the_database_admits_every_connection_the_functions_can_open,
            Box::new(|t| t["Resources"]["LoadFunction"]["Properties"]["ReservedConcurrentExecutions"] = json!(500)),
        ),
        (
            "a database that accepts plaintext",
            the_database_is_tls_only_and_its_users_are_limited_to_the_functions_subnets,
            Box::new(|t| edit_user_data(t, "require_secure_transport = ON", "require_secure_transport = OFF")),
        ),
        (
            "users from anywhere",
            the_database_is_tls_only_and_its_users_are_limited_to_the_functions_subnets,
            Box::new(|t| edit_user_data(t, "/255.255.254.0 --user=root", "/255.255.0.0 --user=root")),
        ),
        (
            "a host that may read every parameter",
            the_database_is_tls_only_and_its_users_are_limited_to_the_functions_subnets,
            Box::new(|t| {
                t["Resources"]["DatabaseHostRole"]["Properties"]["ManagedPolicyArns"] =
                    json!([{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"}]);
            }),
        ),
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
                let parts = &mut t["Resources"]["DatabaseHost"]["Properties"]["UserData"]["Fn::Base64"]["Fn::Join"][1];
                let leaked =
                    parts[0].as_str().unwrap().replace("IDENTIFIED BY '$load_password'", "IDENTIFIED BY 'hunter2'");
                parts[0] = json!(leaked);
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
        (
            "an interface endpoint letting other accounts' principals through",
            every_endpoint_keeps_to_this_account_and_the_s3_gateway_to_the_stacks_buckets,
            Box::new(|t| endpoint_statement(t, "SsmEndpoint", 0)["Condition"] = Value::Null),
        ),
        (
            "an endpoint without a policy",
            every_endpoint_keeps_to_this_account_and_the_s3_gateway_to_the_stacks_buckets,
            Box::new(|t| t["Resources"]["Ec2MessagesEndpoint"]["Properties"]["PolicyDocument"] = Value::Null),
        ),
        (
            "an SNS endpoint reaching other accounts' topics",
            every_endpoint_keeps_to_this_account_and_the_s3_gateway_to_the_stacks_buckets,
            Box::new(|t| endpoint_statement(t, "SnsEndpoint", 0)["Resource"] = json!({"Fn::Sub": "arn:aws:sns:*:*:*"})),
        ),
        (
            "an S3 gateway reaching any bucket",
            every_endpoint_keeps_to_this_account_and_the_s3_gateway_to_the_stacks_buckets,
            Box::new(|t| {
                let resources = endpoint_statement(t, "S3GatewayEndpoint", 0)["Resource"].as_array_mut().unwrap();
                resources.push(json!({"Fn::Sub": "arn:${AWS::Partition}:s3:::*/*"}));
            }),
        ),
        (
            "an S3 gateway writing anonymously to AWS's buckets",
            every_endpoint_keeps_to_this_account_and_the_s3_gateway_to_the_stacks_buckets,
            Box::new(|t| endpoint_statement(t, "S3GatewayEndpoint", 1)["Action"] = json!(["s3:PutObject"])),
        ),
        (
            "HTTPS egress to the internet",
            egress_goes_only_to_the_s3_prefix_list_and_the_stacks_security_groups,
            Box::new(|t| {
                t["Resources"]["DatabaseSecurityGroup"]["Properties"]["SecurityGroupEgress"] =
                    json!([{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}]);
            }),
        ),
        (
            "a prefix list that is not S3's",
            egress_goes_only_to_the_s3_prefix_list_and_the_stacks_security_groups,
            Box::new(|t| {
                let rule = &mut t["Resources"]["FunctionSecurityGroup"]["Properties"]["SecurityGroupEgress"][0];
                rule["DestinationPrefixListId"] = json!("pl-12345678");
            }),
        ),
        (
            "the transform's group reaching MySQL",
            egress_goes_only_to_the_s3_prefix_list_and_the_stacks_security_groups,
            Box::new(|t| {
                let rule = &mut t["Resources"]["NoDatabaseFunctionEgressToEndpoints"]["Properties"];
                rule["DestinationSecurityGroupId"] = json!({"Fn::GetAtt": ["DatabaseSecurityGroup", "GroupId"]});
                rule["FromPort"] = json!(3306);
                rule["ToPort"] = json!(3306);
            }),
        ),
        (
            "a stage region missing from the S3 prefix lists",
            egress_goes_only_to_the_s3_prefix_list_and_the_stacks_security_groups,
            Box::new(|t| t["Mappings"]["S3PrefixList"] = json!({})),
        ),
        (
            "network interfaces managed in any subnet",
            vpc_network_interfaces_are_managed_only_in_the_stacks_subnets_and_own_group,
            Box::new(|t| {
                let eni =
                    role_statements(t).iter_mut().find(|s| s["Sid"] == "ManageNetworkInterfacesInTheStacksSubnets");
                eni.unwrap()["Condition"] = Value::Null;
            }),
        ),
        (
            "network interfaces created in another group",
            vpc_network_interfaces_are_managed_only_in_the_stacks_subnets_and_own_group,
            Box::new(|t| {
                let create = role_statements(t).iter_mut().find(|s| s["Sid"] == "CreateInTheStacksSubnetsAndOwnGroup");
                create.unwrap()["Resource"][2] =
                    json!({"Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:security-group/*"});
            }),
        ),
        (
            "network interfaces deleted anywhere",
            vpc_network_interfaces_are_managed_only_in_the_stacks_subnets_and_own_group,
            Box::new(|t| {
                role_statements(t)
                    .push(json!({"Effect": "Allow", "Action": ["ec2:DeleteNetworkInterface"], "Resource": "*"}))
            }),
        ),
        (
            "the transform outside the VPC",
            every_function_runs_in_the_vpc_and_only_the_database_functions_in_its_group,
            Box::new(|t| t["Resources"]["TransformFunction"]["Properties"]["VpcConfig"] = Value::Null),
        ),
        (
            "the transform in the group the database admits",
            every_function_runs_in_the_vpc_and_only_the_database_functions_in_its_group,
            Box::new(|t| {
                t["Resources"]["TransformFunction"]["Properties"]["VpcConfig"]["SecurityGroupIds"] =
                    json!([{"Fn::GetAtt": ["FunctionSecurityGroup", "GroupId"]}]);
            }),
        ),
        (
            "a load without reserved concurrency",
            every_function_has_the_stages_reserved_concurrency,
            Box::new(|t| {
                t["Resources"]["LoadFunction"]["Properties"]
                    .as_object_mut()
                    .unwrap()
                    .remove("ReservedConcurrentExecutions");
            }),
        ),
        (
            "a reserved concurrency other than the stage's",
            every_function_has_the_stages_reserved_concurrency,
            Box::new(|t| t["Resources"]["MigrateFunction"]["Properties"]["ReservedConcurrentExecutions"] = json!(50)),
        ),
        (
            "an unencrypted summary topic",
            topics_refuse_plain_publishing_and_those_only_functions_publish_to_are_encrypted,
            Box::new(|t| {
                t["Resources"]["LoadTopic"]["Properties"].as_object_mut().unwrap().remove("KmsMasterKeyId");
            }),
        ),
        (
            "a trigger topic accepting publishing without TLS",
            topics_refuse_plain_publishing_and_those_only_functions_publish_to_are_encrypted,
            Box::new(|t| {
                let statements =
                    &mut t["Resources"]["TransformTriggerTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"];
                statements.as_array_mut().unwrap().retain(|s| s["Effect"] != "Deny");
            }),
        ),
        (
            "a summary topic without a policy",
            topics_refuse_plain_publishing_and_those_only_functions_publish_to_are_encrypted,
            Box::new(|t| {
                t["Resources"].as_object_mut().unwrap().remove("TransformTopicPolicy");
            }),
        ),
        (
            "the alarms' topic under the AWS-managed key",
            topics_refuse_plain_publishing_and_those_only_functions_publish_to_are_encrypted,
            Box::new(|t| t["Resources"]["AlertsTopic"]["Properties"]["KmsMasterKeyId"] = json!(AWS_MANAGED_SNS_KEY)),
        ),
        (
            "the alarms' topic closed to CloudWatch",
            topics_refuse_plain_publishing_and_those_only_functions_publish_to_are_encrypted,
            Box::new(|t| {
                let statements = &mut t["Resources"]["AlertsTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"];
                statements.as_array_mut().unwrap().retain(|s| s["Effect"] != "Allow");
            }),
        ),
        (
            "session logs nowhere",
            sessions_on_the_host_are_logged_to_the_logs_bucket,
            Box::new(|t| {
                t["Resources"]["SessionManagerPreferences"]["Properties"]["Content"]["inputs"]["s3BucketName"] =
                    json!("")
            }),
        ),
    ];
    // Each check reports by panicking; the expected panics' messages stay in the captured output.
    let missed: Vec<&str> =
        cases.into_iter().filter_map(|(what, check, mutate)| (!catches(check, mutate)).then_some(what)).collect();
    assert!(missed.is_empty(), "not caught: {missed:?}");
}
