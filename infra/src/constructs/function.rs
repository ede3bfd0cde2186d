//! A Lambda function with everything it needs to run safely: its own role with a
//! scoped policy, a log group with retention that only it can write to,
//! asynchronous retries with an on-failure queue, and an error alarm.

use std::collections::BTreeMap;

use crate::model::cloudwatch::{Alarm, Dimension};
use crate::model::iam::{InlinePolicy, PolicyDocument, Role, Statement};
use crate::model::lambda::{
    Code, DestinationConfig, Environment, EphemeralStorage, EventInvokeConfig, Function, LoggingConfig, OnFailure,
    VpcConfig,
};
use crate::model::logs::{LogGroup, MetricFilter, MetricTransformation};
use crate::model::{Expr, Resource, Template};
use crate::stage::{FunctionSettings, StageConfig};

use super::{physical_name, tags};

/// Asynchronous invocations (SNS → Lambda) are retried this many times before the
/// event goes to the on-failure queue.
pub const RETRY_ATTEMPTS: u32 = 2;
const MAX_EVENT_AGE_SECONDS: u32 = 6 * 3600;

/// The actions a Lambda in a VPC needs to manage its network interfaces. EC2 only
/// authorizes `CreateNetworkInterface` and the `Describe*` calls on `"*"`, so this
/// is the one statement with a wildcard resource (the security tests allow exactly it).
pub const VPC_ENI_ACTIONS: [&str; 6] = [
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:UnassignPrivateIpAddresses",
];

pub struct LambdaFunction<'a> {
    /// Logical ID prefix: `Transform` gives `TransformFunction`, `TransformFunctionRole`…
    pub id: &'a str,
    /// `zipster-<stage>-<name>`.
    pub name: &'a str,
    pub description: &'a str,
    /// The template parameter holding the code's S3 key.
    pub code_key_parameter: &'a str,
    pub settings: FunctionSettings,
    /// Besides `RUST_LOG`.
    pub environment: BTreeMap<&'a str, Expr>,
    /// What the function's code touches; logs, the on-failure queue and VPC access are added here.
    pub statements: Vec<Statement>,
    pub vpc: Option<VpcConfig>,
}

/// Where failures go: the on-failure queue and the alerts topic for the alarm.
pub struct Failures<'a> {
    pub queue_id: &'a str,
    pub alerts_topic_id: &'a str,
}

impl LambdaFunction<'_> {
    /// Adds the function and its companions; returns the function's logical ID.
    pub fn add(self, template: &mut Template, stage: &StageConfig, failures: &Failures<'_>) -> String {
        let function_id = format!("{}Function", self.id);
        let role_id = format!("{function_id}Role");
        let log_group_id = format!("{function_id}LogGroup");
        let function_name = physical_name(stage, self.name);

        template.add(
            &log_group_id,
            Resource::from(LogGroup {
                log_group_name: format!("/aws/lambda/{function_name}"),
                retention_in_days: stage.log_retention_days,
                tags: tags(stage),
            })
            .checkov_skip(
                "CKV_AWS_158",
                "Logs hold no secrets; the service key CloudWatch Logs uses by default is enough.",
            )
            .checkov_skip(
                "CKV_AWS_338",
                "Retention is a per-stage choice in stages.toml (a year in prod, days in dev).",
            ),
        );

        let mut statements = vec![
            Statement::allow(["logs:CreateLogStream", "logs:PutLogEvents"], vec![Expr::get_att(&log_group_id, "Arn")])
                .sid("WriteOwnLogs"),
            Statement::allow(["sqs:SendMessage"], vec![Expr::get_att(failures.queue_id, "Arn")])
                .sid("SendFailedEvents"),
        ];
        statements.extend(self.statements);
        if self.vpc.is_some() {
            statements.push(Statement::allow(VPC_ENI_ACTIONS, vec![Expr::lit("*")]).sid("ManageVpcNetworkInterfaces"));
        }
        let mut role = Role::for_service("lambda.amazonaws.com", format!("Runs {function_name}"), tags(stage));
        role.policies.push(InlinePolicy {
            policy_name: "function".to_owned(),
            policy_document: PolicyDocument::new(statements),
        });
        let mut role = Resource::from(role);
        if self.vpc.is_some() {
            role = role
                .checkov_skip(
                    "CKV_AWS_111",
                    "EC2 authorizes the VPC Lambda network-interface actions only on resource *.",
                )
                .checkov_skip(
                    "CKV_AWS_356",
                    "EC2 authorizes the VPC Lambda network-interface actions only on resource *.",
                );
        }
        template.add(&role_id, role);

        let mut variables: BTreeMap<String, Expr> =
            self.environment.into_iter().map(|(name, value)| (name.to_owned(), value)).collect();
        variables.insert("RUST_LOG".to_owned(), "info".into());
        let in_vpc = self.vpc.is_some();
        let function = Function {
            function_name: function_name.clone(),
            description: self.description.to_owned(),
            handler: "bootstrap",
            runtime: "provided.al2023",
            architectures: vec!["arm64"],
            code: Code {
                s3_bucket: Expr::reference("ArtifactBucket"),
                s3_key: Expr::reference(self.code_key_parameter),
            },
            role: Expr::get_att(&role_id, "Arn"),
            memory_size: self.settings.memory_mb,
            timeout: self.settings.timeout_seconds,
            environment: Environment { variables },
            logging_config: LoggingConfig { log_group: Expr::reference(&log_group_id), log_format: "JSON" },
            ephemeral_storage: EphemeralStorage { size: self.settings.ephemeral_storage_mb },
            vpc_config: self.vpc,
            tags: tags(stage),
        };
        let mut function = Resource::from(function)
            .checkov_skip(
                "CKV_AWS_116",
                "Failed asynchronous events go to the SQS queue through the EventInvokeConfig on-failure destination.",
            )
            .checkov_skip(
                "CKV_AWS_115",
                "Concurrency is left to the account pool; the load is idempotent and the feed is small.",
            )
            .checkov_skip("CKV_AWS_173", "The environment holds only resource names and ARNs, never secrets.")
            .checkov_skip(
                "CKV_AWS_272",
                "Artifacts are content-addressed zips built by CI; code signing is not set up.",
            );
        if !in_vpc {
            function = function.checkov_skip(
                "CKV_AWS_117",
                "Touches only S3 and SNS through public AWS endpoints; no private resources.",
            );
        }
        template.add(&function_id, function);

        template.add(
            format!("{function_id}EventInvokeConfig"),
            EventInvokeConfig {
                function_name: Expr::reference(&function_id),
                qualifier: "$LATEST",
                maximum_retry_attempts: RETRY_ATTEMPTS,
                maximum_event_age_in_seconds: MAX_EVENT_AGE_SECONDS,
                destination_config: DestinationConfig {
                    on_failure: OnFailure { destination: Expr::get_att(failures.queue_id, "Arn") },
                },
            },
        );

        // The functions log a failed summary publish with `counter="publish_failures"`
        // instead of failing (the data is already durable); this counts those lines.
        template.add(
            format!("{function_id}PublishFailures"),
            MetricFilter {
                filter_name: format!("{function_name}-publish-failures"),
                log_group_name: Expr::reference(&log_group_id),
                filter_pattern: r#"{ $.fields.counter = "publish_failures" }"#,
                metric_transformations: vec![MetricTransformation {
                    metric_namespace: format!("Zipster/{}", stage.name),
                    metric_name: format!("{}-publish-failures", self.name),
                    metric_value: "1",
                    default_value: 0.0,
                    unit: "Count",
                }],
            },
        );

        template.add(
            format!("{function_id}ErrorsAlarm"),
            Alarm {
                alarm_name: format!("{function_name}-errors"),
                alarm_description: format!("{function_name} reported errors"),
                namespace: "AWS/Lambda",
                metric_name: "Errors",
                dimensions: vec![Dimension { name: "FunctionName", value: Expr::reference(&function_id) }],
                statistic: "Sum",
                period: stage.alarms.period_seconds,
                evaluation_periods: 1,
                threshold: f64::from(stage.alarms.function_errors_threshold),
                comparison_operator: "GreaterThanThreshold",
                treat_missing_data: "notBreaching",
                alarm_actions: vec![Expr::reference(failures.alerts_topic_id)],
                ok_actions: vec![Expr::reference(failures.alerts_topic_id)],
            },
        );
        function_id
    }
}
