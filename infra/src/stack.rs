//! The Zipster stack of one stage.

use std::collections::BTreeMap;

use crate::constructs::bucket::{BucketRefs, PrivateBucket};
use crate::constructs::function::{Failures, LambdaFunction};
use crate::constructs::{host, network, physical_name, tags, topic};
use crate::model::cloudwatch::{Alarm, Dimension};
use crate::model::iam::{PolicyDocument, Principal, Statement};
use crate::model::lambda::VpcConfig;
use crate::model::sqs::{Queue, QueuePolicy};
use crate::model::{Expr, Parameter, Resource, Template};
use crate::stage::StageConfig;

/// Parameters: where the functions' code is (content-hash keys, so a code change
/// does not change the template).
pub const ARTIFACT_BUCKET: &str = "ArtifactBucket";
pub const CODE_KEY_PARAMETERS: [&str; 3] = ["TransformCodeKey", "LoadCodeKey", "MigrateCodeKey"];

const DEAD_LETTER_QUEUE: &str = "DeadLetterQueue";
const ALERTS_TOPIC: &str = "AlertsTopic";
const DEAD_LETTER_RETENTION_SECONDS: u32 = 14 * 24 * 3600;

/// The whole stack of `stage`. Pure: the same stage always gives the same template.
pub fn stack(stage: &StageConfig) -> Template {
    let mut t = Template::new(format!("Zipster ETL, stage {}: CSV feed -> transform -> MySQL load", stage.name));
    add_parameters(&mut t);

    let logs = logs_bucket(&mut t, stage);

    // Trigger topics are separate from the summary topics so people subscribed to
    // summaries never receive raw S3 events.
    let transform_trigger = topic::add(&mut t, stage, "TransformTrigger", "transform-trigger", "Zipster input files");
    let load_trigger = topic::add(&mut t, stage, "LoadTrigger", "load-trigger", "Zipster staged files");
    let input = private_bucket(&mut t, stage, "Input", "input", Some(&transform_trigger));
    let staging = private_bucket(&mut t, stage, "Staging", "staging", Some(&load_trigger));
    let errors = private_bucket(&mut t, stage, "Errors", "errors", None);
    let transform_trigger_policy = topic::allow_bucket_to_publish(&mut t, &transform_trigger, &input);
    let load_trigger_policy = topic::allow_bucket_to_publish(&mut t, &load_trigger, &staging);
    debug_assert_eq!(transform_trigger_policy, format!("{transform_trigger}Policy"));
    debug_assert_eq!(load_trigger_policy, format!("{load_trigger}Policy"));

    let transform_topic = topic::add(&mut t, stage, "Transform", "transform", "Zipster transform");
    let load_topic = topic::add(&mut t, stage, "Load", "load", "Zipster load");
    let alerts_topic = topic::add(&mut t, stage, "Alerts", "alerts", "Zipster alerts");
    for topic_id in [&transform_topic, &load_topic, &alerts_topic] {
        topic::subscribe_people(&mut t, topic_id, &stage.notifications);
    }
    dead_letter_queue(&mut t, stage);

    network::add(&mut t, stage, &logs.logical_id, &format!("{}Policy", logs.logical_id));
    host::add(&mut t, stage, &["S3GatewayEndpoint", "SecretsManagerEndpoint", "PrivateSubnetARouteTableAssociation"]);

    let failures = Failures { queue_id: DEAD_LETTER_QUEUE, alerts_topic_id: ALERTS_TOPIC };
    let publish = |topics: &[&str]| {
        Statement::allow(["sns:Publish"], topics.iter().map(|id| Expr::reference(*id)).collect())
            .sid("PublishSummaries")
    };
    let read = |bucket: &BucketRefs| {
        Statement::allow(["s3:GetObject", "s3:GetObjectVersion"], vec![bucket.objects_arn()]).sid("ReadObjects")
    };
    let read_secret = || {
        Statement::allow(["secretsmanager:GetSecretValue"], vec![Expr::reference(host::SECRET)])
            .sid("ReadDatabaseSecret")
    };
    let database_host = || Expr::get_att(host::HOST, "PrivateDnsName");
    let in_vpc = || {
        Some(VpcConfig {
            security_group_ids: vec![network::group_id(network::FUNCTION_SECURITY_GROUP)],
            subnet_ids: network::subnet_ids(),
        })
    };

    let transform = LambdaFunction {
        id: "Transform",
        name: "transform",
        description: "Validates and normalizes an input CSV into staging, rejects and a summary into errors",
        code_key_parameter: CODE_KEY_PARAMETERS[0],
        settings: stage.transform,
        environment: BTreeMap::from([
            ("STAGING_BUCKET", staging.name()),
            ("ERRORS_BUCKET", errors.name()),
            ("TRANSFORM_TOPIC_ARN", Expr::reference(&transform_topic)),
            ("ALERTS_TOPIC_ARN", Expr::reference(&alerts_topic)),
        ]),
        statements: vec![
            read(&input),
            Statement::allow(["s3:PutObject"], vec![staging.objects_arn(), errors.objects_arn()]).sid("WriteResults"),
            publish(&[&transform_topic, &alerts_topic]),
        ],
        vpc: None,
    }
    .add(&mut t, stage, &failures);
    topic::subscribe_function(&mut t, &transform_trigger, &transform);

    let load = LambdaFunction {
        id: "Load",
        name: "load",
        description: "Upserts a staged CSV into MySQL in one transaction",
        code_key_parameter: CODE_KEY_PARAMETERS[1],
        settings: stage.load,
        environment: BTreeMap::from([
            ("LOAD_TOPIC_ARN", Expr::reference(&load_topic)),
            ("ALERTS_TOPIC_ARN", Expr::reference(&alerts_topic)),
            ("DATABASE_SECRET_ARN", Expr::reference(host::SECRET)),
            ("DATABASE_HOST", database_host()),
            ("DATABASE_NAME", host::DATABASE_NAME.into()),
            ("MAX_OBJECT_BYTES", max_staged_bytes(stage.load.ephemeral_storage_mb).to_string().into()),
        ]),
        statements: vec![read(&staging), publish(&[&load_topic, &alerts_topic]), read_secret()],
        vpc: in_vpc(),
    }
    .add(&mut t, stage, &failures);
    topic::subscribe_function(&mut t, &load_trigger, &load);

    let migrate = LambdaFunction {
        id: "Migrate",
        name: "migrate",
        description: "Applies the database migrations (invoked by seed-db)",
        code_key_parameter: CODE_KEY_PARAMETERS[2],
        settings: stage.migrate,
        environment: BTreeMap::from([
            ("DATABASE_SECRET_ARN", Expr::reference(host::SECRET)),
            ("DATABASE_HOST", database_host()),
            ("DATABASE_NAME", host::DATABASE_NAME.into()),
            ("STAGING_BUCKET", staging.name()),
        ]),
        statements: vec![
            read(&staging),
            Statement::allow(["s3:ListBucket"], vec![staging.arn()]).sid("ListStagedFiles"),
            read_secret(),
        ],
        vpc: in_vpc(),
    }
    .add(&mut t, stage, &failures);

    add_outputs(
        &mut t,
        [&input, &staging, &errors],
        [&transform_topic, &load_topic, &alerts_topic],
        [&transform, &load, &migrate],
    );
    t
}

fn add_parameters(t: &mut Template) {
    t.parameter(
        ARTIFACT_BUCKET,
        Parameter {
            allowed_pattern: Some("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$".to_owned()),
            ..Parameter::string("The bucket holding the functions' zips")
        },
    );
    for (key, function) in CODE_KEY_PARAMETERS.into_iter().zip(["transform", "load", "migrate"]) {
        t.parameter(
            key,
            Parameter {
                allowed_pattern: Some("^[0-9a-f]{64}\\.zip$".to_owned()),
                constraint_description: Some("<sha256 of the zip>.zip".to_owned()),
                ..Parameter::string(format!("S3 key of the {function} function's zip"))
            },
        );
    }
    t.parameter(
        host::IMAGE_PARAMETER,
        Parameter {
            type_name: "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>".to_owned(),
            default: Some(host::IMAGE_SSM_PARAMETER.to_owned()),
            ..Parameter::string(
                "The MySQL host's AMI: latest Amazon Linux 2023 arm64, through AWS's public SSM parameter",
            )
        },
    );
}

fn private_bucket(t: &mut Template, stage: &StageConfig, id: &str, purpose: &str, notify: Option<&str>) -> BucketRefs {
    let policy = notify.map(|topic| format!("{topic}Policy"));
    PrivateBucket {
        id,
        purpose,
        // Inputs are kept (they can be replayed) but rarely read after the first days.
        infrequent_access_after_days: (purpose != "staging").then_some(30),
        expire_after_days: None,
        notify: notify.zip(policy.as_deref()),
        access_logs: Some("LogsBucket"),
        extra_statements: Vec::new(),
    }
    .add(t, stage)
}

/// Receives the other buckets' access logs and the VPC flow logs.
fn logs_bucket(t: &mut Template, stage: &StageConfig) -> BucketRefs {
    let name = crate::constructs::bucket::name_template(stage, "logs");
    let objects = |prefix: &str| Expr::sub(format!("arn:${{AWS::Partition}}:s3:::{name}/{prefix}"));
    let from_this_account = Expr::reference("AWS::AccountId");
    let statements = vec![
        Statement::allow(["s3:PutObject"], vec![objects("s3-access/*")])
            .sid("S3AccessLogDelivery")
            .principal(Principal::service("logging.s3.amazonaws.com"))
            .condition("StringEquals", "aws:SourceAccount", from_this_account.clone()),
        Statement::allow(["s3:PutObject"], vec![objects("AWSLogs/${AWS::AccountId}/*")])
            .sid("FlowLogDelivery")
            .principal(Principal::service("delivery.logs.amazonaws.com"))
            .condition("StringEquals", "aws:SourceAccount", from_this_account.clone())
            .condition("StringEquals", "s3:x-amz-acl", "bucket-owner-full-control".into()),
        Statement::allow(["s3:GetBucketAcl"], vec![Expr::sub(format!("arn:${{AWS::Partition}}:s3:::{name}"))])
            .sid("FlowLogAclCheck")
            .principal(Principal::service("delivery.logs.amazonaws.com"))
            .condition("StringEquals", "aws:SourceAccount", from_this_account),
    ];
    PrivateBucket {
        id: "Logs",
        purpose: "logs",
        infrequent_access_after_days: None,
        expire_after_days: Some(stage.log_retention_days),
        notify: None,
        access_logs: None,
        extra_statements: statements,
    }
    .add(t, stage)
}

fn dead_letter_queue(t: &mut Template, stage: &StageConfig) {
    t.add(
        DEAD_LETTER_QUEUE,
        Resource::from(Queue {
            queue_name: physical_name(stage, "dead-letter"),
            message_retention_period: DEAD_LETTER_RETENTION_SECONDS,
            sqs_managed_sse_enabled: true,
            tags: tags(stage),
        })
        .checkov_skip(
            "CKV_AWS_27",
            "Encrypted at rest with SQS-managed SSE (SqsManagedSseEnabled); checkov only recognizes KMS.",
        ),
    );
    t.add(
        format!("{DEAD_LETTER_QUEUE}Policy"),
        QueuePolicy {
            queues: vec![Expr::reference(DEAD_LETTER_QUEUE)],
            policy_document: PolicyDocument::new(vec![
                Statement::deny(["sqs:*"], vec![Expr::get_att(DEAD_LETTER_QUEUE, "Arn")])
                    .sid("DenyInsecureTransport")
                    .principal(Principal::anyone())
                    .condition("Bool", "aws:SecureTransport", "false".into()),
            ]),
        },
    );
    t.add(
        format!("{DEAD_LETTER_QUEUE}MessagesAlarm"),
        Resource::from(Alarm {
            alarm_name: physical_name(stage, "dead-letter-messages"),
            alarm_description: "Events failed every retry and wait in the dead-letter queue".to_owned(),
            namespace: "AWS/SQS",
            metric_name: "ApproximateNumberOfMessagesVisible",
            dimensions: vec![Dimension { name: "QueueName", value: Expr::get_att(DEAD_LETTER_QUEUE, "QueueName") }],
            statistic: "Maximum",
            period: stage.alarms.period_seconds.max(60),
            evaluation_periods: 1,
            threshold: f64::from(stage.alarms.dead_letter_messages_threshold),
            comparison_operator: "GreaterThanThreshold",
            treat_missing_data: "notBreaching",
            alarm_actions: vec![Expr::reference(ALERTS_TOPIC)],
            ok_actions: vec![Expr::reference(ALERTS_TOPIC)],
        }),
    );
}

fn add_outputs(t: &mut Template, buckets: [&BucketRefs; 3], topics: [&String; 3], functions: [&String; 3]) {
    for (name, bucket) in ["InputBucketName", "StagingBucketName", "ErrorsBucketName"].into_iter().zip(buckets) {
        t.output(name, "Bucket name", bucket.name());
    }
    for (name, topic) in ["TransformTopicArn", "LoadTopicArn", "AlertsTopicArn"].into_iter().zip(topics) {
        t.output(name, "Topic ARN", Expr::reference(topic.as_str()));
    }
    for (name, function) in
        ["TransformFunctionName", "LoadFunctionName", "MigrateFunctionName"].into_iter().zip(functions)
    {
        t.output(name, "Function name", Expr::reference(function.as_str()));
    }
    t.output("DeadLetterQueueUrl", "The on-failure queue of every function", Expr::reference(DEAD_LETTER_QUEUE));
    t.output("DatabaseHost", "Private DNS name of the MySQL host", Expr::get_att(host::HOST, "PrivateDnsName"));
    t.output("DatabaseInstanceId", "For Session Manager (aws ssm start-session)", Expr::reference(host::HOST));
    t.output("DatabaseSecretArn", "MySQL credentials", Expr::reference(host::SECRET));
}

/// The largest staged object the load takes: it is downloaded to `/tmp` whole, and
/// the function keeps 64 MiB of `/tmp` for itself.
fn max_staged_bytes(ephemeral_storage_mb: u32) -> u64 {
    u64::from(ephemeral_storage_mb.saturating_sub(64)) * 1024 * 1024
}
