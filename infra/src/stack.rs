//! The Zipster stack of one stage.

use std::collections::BTreeMap;

use crate::constructs::bucket::{AccessLogs, BucketRefs, Notify, PrivateBucket};
use crate::constructs::function::{Failures, FunctionRef, LambdaFunction};
use crate::constructs::host::{self, Host};
use crate::constructs::network::{self, Network};
use crate::constructs::session;
use crate::constructs::topic::{self, PublishedBy, TopicRef};
use crate::constructs::{physical_name, tags};
use crate::functions::{ARTIFACT_BUCKET, FUNCTIONS, FunctionDef, LOAD, MIGRATE, TRANSFORM, Trigger};
use crate::model::cloudwatch::{Alarm, Dimension};
use crate::model::iam::{PolicyDocument, Principal, Statement};
use crate::model::sqs::{Queue, QueuePolicy};
use crate::model::{Expr, Parameter, Resource, Template};
use crate::stage::StageConfig;

const DEAD_LETTER_QUEUE: &str = "DeadLetterQueue";
const DEAD_LETTER_RETENTION_SECONDS: u32 = 14 * 24 * 3600;

/// The whole stack of `stage`. Pure: the same stage always gives the same template.
pub fn stack(stage: &StageConfig) -> Template {
    let mut t = Template::new(format!("Zipster ETL, stage {}: CSV feed -> transform -> MySQL load", stage.name));
    add_parameters(&mut t);

    let logs = logs_bucket(&mut t, stage);

    // Trigger topics are separate from the summary topics so people subscribed to
    // summaries never receive raw S3 events.
    let by_bucket = PublishedBy::BucketNotifications;
    let transform_trigger =
        topic::add(&mut t, stage, "TransformTrigger", "transform-trigger", "Zipster input files", by_bucket);
    let load_trigger = topic::add(&mut t, stage, "LoadTrigger", "load-trigger", "Zipster staged files", by_bucket);
    let feed = Feed {
        input: private_bucket(&mut t, stage, &logs, "Input", "input", Some(&transform_trigger)),
        staging: private_bucket(&mut t, stage, &logs, "Staging", "staging", Some(&load_trigger)),
        errors: private_bucket(&mut t, stage, &logs, "Errors", "errors", None),
        transform_topic: topic::add(
            &mut t,
            stage,
            "Transform",
            "transform",
            "Zipster transform",
            PublishedBy::Functions,
        ),
        load_topic: topic::add(&mut t, stage, "Load", "load", "Zipster load", PublishedBy::Functions),
        alerts_topic: topic::add(&mut t, stage, "Alerts", "alerts", "Zipster alerts", PublishedBy::Alarms),
    };
    // A feed's owners hear of its files' summaries and failures (the alerts the
    // functions send about one file carry its feed); the alarms' alerts, about no one
    // feed, go to the stage-wide subscribers only.
    for topic in [&feed.transform_topic, &feed.load_topic, &feed.alerts_topic] {
        topic::subscribe_people(&mut t, topic, &stage.notifications);
        topic::subscribe_feed_owners(&mut t, topic, &stage.feeds);
    }
    dead_letter_queue(&mut t, stage, &feed.alerts_topic);

    let network = network::add(&mut t, stage, &logs, &[&logs, &feed.input, &feed.staging, &feed.errors]);
    session::add(&mut t, stage, &logs);
    let database = host::add(&mut t, stage, &network, &logs);

    let failures = Failures { queue_id: DEAD_LETTER_QUEUE, alerts_topic: &feed.alerts_topic };
    let mut functions = Vec::new();
    for def in &FUNCTIONS {
        let function = add_function(&mut t, stage, def, &feed, &network, &database, &failures);
        let trigger = match def.trigger {
            Trigger::InputCreated => Some(&transform_trigger),
            Trigger::StagingCreated => Some(&load_trigger),
            Trigger::Invoked => None,
        };
        if let Some(topic) = trigger {
            topic::subscribe_function(&mut t, topic, &function);
        }
        if let Some(user) = database.user_of(def) {
            host::add_secret_policy(&mut t, user, function.role_arn());
        }
        functions.push((def, function));
    }

    add_outputs(&mut t, &feed, &functions, &database);
    t
}

/// The buckets and topics the functions work with.
struct Feed {
    input: BucketRefs,
    staging: BucketRefs,
    errors: BucketRefs,
    transform_topic: TopicRef,
    load_topic: TopicRef,
    alerts_topic: TopicRef,
}

/// A function of the table, with what its code touches, in the VPC; one that
/// reaches the database is in the group the database admits and may read its secret.
fn add_function(
    t: &mut Template,
    stage: &StageConfig,
    def: &FunctionDef,
    feed: &Feed,
    network: &Network,
    database: &Host,
    failures: &Failures<'_>,
) -> FunctionRef {
    let (mut environment, mut statements) = feed_access(def, stage, feed);
    if let Some(user) = database.user_of(def) {
        environment.extend([
            ("DATABASE_SECRET_ARN", user.secret_arn()),
            ("DATABASE_HOST", database.private_dns_name()),
            ("DATABASE_NAME", host::DATABASE_NAME.into()),
            ("DATABASE_MAX_CONNECTIONS", user.connections.to_string().into()),
        ]);
        statements.push(
            Statement::allow(["secretsmanager:GetSecretValue"], vec![user.secret_arn()]).sid("ReadItsDatabaseSecret"),
        );
    }
    let network = network.for_function(def.reaches_database);
    LambdaFunction { def, environment, statements, network }.add(t, stage, failures)
}

/// The environment and statements a function needs for the feed's buckets and topics.
fn feed_access(def: &FunctionDef, stage: &StageConfig, feed: &Feed) -> (BTreeMap<&'static str, Expr>, Vec<Statement>) {
    let publish = |topics: [&TopicRef; 2]| {
        Statement::allow(["sns:Publish"], topics.iter().map(|topic| topic.arn()).collect()).sid("PublishSummaries")
    };
    let read = |bucket: &BucketRefs| {
        Statement::allow(["s3:GetObject", "s3:GetObjectVersion"], vec![bucket.objects_arn()]).sid("ReadObjects")
    };
    match def.name {
        name if name == TRANSFORM.name => (
            BTreeMap::from([
                ("STAGING_BUCKET", feed.staging.name()),
                ("ERRORS_BUCKET", feed.errors.name()),
                ("TRANSFORM_TOPIC_ARN", feed.transform_topic.arn()),
                ("ALERTS_TOPIC_ARN", feed.alerts_topic.arn()),
            ])
            .into_iter()
            .chain(stage.default_feed.clone().map(|name| ("DEFAULT_FEED", name.into())))
            .collect(),
            vec![
                read(&feed.input),
                Statement::allow(["s3:PutObject"], vec![feed.staging.objects_arn(), feed.errors.objects_arn()])
                    .sid("WriteResults"),
                publish([&feed.transform_topic, &feed.alerts_topic]),
            ],
        ),
        name if name == LOAD.name => (
            BTreeMap::from([
                ("LOAD_TOPIC_ARN", feed.load_topic.arn()),
                ("ALERTS_TOPIC_ARN", feed.alerts_topic.arn()),
                ("MAX_OBJECT_BYTES", max_staged_bytes(def.settings(stage).ephemeral_storage_mb).to_string().into()),
            ])
            .into_iter()
            // Both functions find a key's feed by the same rule and the same stage setting.
            .chain(stage.default_feed.clone().map(|name| ("DEFAULT_FEED", name.into())))
            .collect(),
            vec![read(&feed.staging), publish([&feed.load_topic, &feed.alerts_topic])],
        ),
        name if name == MIGRATE.name => (
            BTreeMap::from([("STAGING_BUCKET", feed.staging.name())]),
            vec![
                read(&feed.staging),
                Statement::allow(["s3:ListBucket"], vec![feed.staging.arn()]).sid("ListStagedFiles"),
            ],
        ),
        name => unreachable!("the stack does not know function {name}"),
    }
}

fn add_parameters(t: &mut Template) {
    t.parameter(
        ARTIFACT_BUCKET,
        Parameter {
            allowed_pattern: Some("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$".to_owned()),
            ..Parameter::string("The bucket holding the functions' zips")
        },
    );
    for function in FUNCTIONS {
        t.parameter(
            function.code_key_parameter(),
            Parameter {
                allowed_pattern: Some("^[0-9a-f]{64}\\.zip$".to_owned()),
                constraint_description: Some("<sha256 of the zip>.zip".to_owned()),
                ..Parameter::string(format!("S3 key of the {} function's zip", function.name))
            },
        );
    }
}

/// A feed bucket; a `trigger` topic receives its object-created events, and only
/// this bucket may publish to it.
fn private_bucket(
    t: &mut Template,
    stage: &StageConfig,
    logs: &BucketRefs,
    id: &str,
    purpose: &str,
    trigger: Option<&TopicRef>,
) -> BucketRefs {
    let holds = match purpose {
        "input" => "It holds the input files, which can be replayed from it.",
        "staging" => "It holds the staged files, which the load replays from.",
        _ => "It holds the rejects and summaries of every file.",
    };
    let mut bucket = PrivateBucket {
        id,
        purpose,
        holds,
        // Inputs are kept (they can be replayed) but rarely read after the first days.
        infrequent_access_after_days: (purpose != "staging").then_some(30),
        expire_after_days: None,
        notify: None,
        access_logs: AccessLogs::To(logs),
        extra_statements: Vec::new(),
    };
    let policy = trigger.map(|topic| topic::allow_bucket_to_publish(t, topic, &bucket.refs(stage)));
    bucket.notify = trigger.zip(policy.as_ref()).map(|(topic, policy)| Notify { topic, policy });
    bucket.add(t, stage)
}

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
        // The host's role writes the patching association's output (SSM Agent runs the
        // document on the host, with the instance role's credentials).
        Statement::allow(["s3:PutObject"], vec![objects(&format!("{}/*", host::PATCH_OUTPUT_PREFIX))])
            .sid("PatchingOutputFromTheDatabaseHost")
            .principal(Principal::aws(Expr::get_att(host::ROLE, "Arn"))),
        // SSM Agent uploads each Session Manager session's log (the stage's session
        // document) with the instance role's credentials too.
        Statement::allow(["s3:PutObject"], vec![objects(&format!("{}/*", session::SESSION_LOG_PREFIX))])
            .sid("SessionLogsFromTheDatabaseHost")
            .principal(Principal::aws(Expr::get_att(host::ROLE, "Arn"))),
    ];
    PrivateBucket {
        id: "Logs",
        purpose: "logs",
        holds: "It holds the access, flow, patching and session logs.",
        infrequent_access_after_days: None,
        expire_after_days: Some(stage.log_retention_days),
        notify: None,
        access_logs: AccessLogs::None { reason: "This is the access-log bucket; logging it to itself would loop." },
        extra_statements: statements,
    }
    .add(t, stage)
}

fn dead_letter_queue(t: &mut Template, stage: &StageConfig, alerts: &TopicRef) {
    t.add(
        DEAD_LETTER_QUEUE,
        Resource::from(Queue {
            queue_name: physical_name(stage, "dead-letter"),
            message_retention_period: DEAD_LETTER_RETENTION_SECONDS,
            sqs_managed_sse_enabled: true,
            tags: tags(stage),
        })
        .stateful("It holds the failed events until they are redriven; a new queue would drop them.")
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
            alarm_actions: vec![alerts.arn()],
            ok_actions: vec![alerts.arn()],
        }),
    );
}

fn add_outputs(t: &mut Template, feed: &Feed, functions: &[(&FunctionDef, FunctionRef)], database: &Host) {
    for (name, bucket) in
        [("InputBucketName", &feed.input), ("StagingBucketName", &feed.staging), ("ErrorsBucketName", &feed.errors)]
    {
        t.output(name, "Bucket name", bucket.name());
    }
    let topics = [
        ("TransformTopicArn", &feed.transform_topic),
        ("LoadTopicArn", &feed.load_topic),
        ("AlertsTopicArn", &feed.alerts_topic),
    ];
    for (name, topic) in topics {
        t.output(name, "Topic ARN", topic.arn());
    }
    for (def, function) in functions {
        t.output(def.name_output(), "Function name", function.name());
    }
    t.output("DeadLetterQueueUrl", "The on-failure queue of every function", Expr::reference(DEAD_LETTER_QUEUE));
    t.output("DatabaseHost", "Private DNS name of the MySQL host", database.private_dns_name());
    t.output("DatabaseInstanceId", "For Session Manager (aws ssm start-session)", database.instance_id());
    for user in &host::DATABASE_USERS {
        t.output(user.secret_output(), "MySQL credentials of one function", user.secret_arn());
    }
}

/// The largest staged object the load takes: it is downloaded to `/tmp` whole, and
/// the function keeps 64 MiB of `/tmp` for itself.
fn max_staged_bytes(ephemeral_storage_mb: u32) -> u64 {
    u64::from(ephemeral_storage_mb.saturating_sub(64)) * 1024 * 1024
}
