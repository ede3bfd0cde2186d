//! A Lambda function with everything it needs to run safely: its own role with a
//! scoped policy, a log group with retention that only it can write to,
//! asynchronous retries with an on-failure queue, a count of failed summary
//! publishes, and an error alarm.

use std::collections::BTreeMap;

use zipster_core::PUBLISH_FAILURES_COUNTER;

use crate::functions::{ARTIFACT_BUCKET, FunctionDef, LAMBDA_ARCHITECTURE};
use crate::model::cloudwatch::{Alarm, Dimension};
use crate::model::iam::{InlinePolicy, PolicyDocument, Statement};
use crate::model::lambda::{
    Code, DestinationConfig, Environment, EphemeralStorage, EventInvokeConfig, Function, LoggingConfig, OnFailure,
};
use crate::model::logs::{LogGroup, MetricFilter, MetricTransformation};
use crate::model::{Expr, Resource, Template};
use crate::stage::StageConfig;

use super::network::FunctionNetwork;
use super::topic::TopicRef;
use super::{arn, stage_role, tags};

/// Asynchronous invocations (SNS → Lambda) are retried this many times before the
/// event goes to the on-failure queue.
pub const RETRY_ATTEMPTS: u32 = 2;
const MAX_EVENT_AGE_SECONDS: u32 = 6 * 3600;

/// Lambda's look-ups for the function's network interfaces (every function runs in
/// the VPC). EC2 authorizes `Describe*` only on `"*"`: the one statement of a
/// function's role with a wildcard resource (the security tests allow exactly these).
pub const VPC_DESCRIBE_ACTIONS: [&str; 2] = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"];

/// What Lambda does with the function's network interfaces (with the function's
/// role): allowed only on interfaces in the stack's VPC and subnets, and created only
/// there and in the function's security group.
pub const VPC_ENI_ACTIONS: [&str; 4] = [
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:UnassignPrivateIpAddresses",
];

pub struct LambdaFunction<'a> {
    /// Names, description, code parameter and settings come from the function's entry.
    pub def: &'a FunctionDef,
    /// Besides `RUST_LOG`.
    pub environment: BTreeMap<&'a str, Expr>,
    /// What the function's code touches; logs, the on-failure queue and VPC access are added here.
    pub statements: Vec<Statement>,
    /// Every function runs in the VPC: no path to the internet, only to the endpoints
    /// (and to the database, for those in its group).
    pub network: FunctionNetwork,
}

/// Where failures go: the on-failure queue and the alerts topic for the alarm.
pub struct Failures<'a> {
    pub queue_id: &'a str,
    pub alerts_topic: &'a TopicRef,
}

/// A function in the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRef {
    pub logical_id: String,
    /// Its own role's logical ID.
    pub role_id: String,
}

impl FunctionRef {
    /// Its physical name (`Ref`).
    pub fn name(&self) -> Expr {
        Expr::reference(&self.logical_id)
    }

    pub fn arn(&self) -> Expr {
        Expr::get_att(&self.logical_id, "Arn")
    }

    /// The ARN of the role it runs with (what resource policies name).
    pub fn role_arn(&self) -> Expr {
        Expr::get_att(&self.role_id, "Arn")
    }
}

impl LambdaFunction<'_> {
    /// Adds the function and its companions, in the order they depend on each other.
    pub fn add(self, template: &mut Template, stage: &StageConfig, failures: &Failures<'_>) -> FunctionRef {
        let parts = Parts::new(self.def, stage, failures);
        parts.add_log_group(template);
        parts.add_role(template, self.statements, &self.network);
        parts.add_function(template, self.environment, self.network);
        parts.add_invoke_config(template);
        parts.add_publish_failures_filter(template);
        parts.add_errors_alarm(template);
        parts.function
    }
}

/// One function's companions: their logical IDs start with the function's.
struct Parts<'a> {
    def: &'a FunctionDef,
    stage: &'a StageConfig,
    failures: &'a Failures<'a>,
    function: FunctionRef,
    log_group_id: String,
    /// `zipster-<stage>-<name>`.
    physical_name: String,
}

impl<'a> Parts<'a> {
    fn new(def: &'a FunctionDef, stage: &'a StageConfig, failures: &'a Failures<'a>) -> Self {
        let function_id = def.logical_id();
        Parts {
            def,
            stage,
            failures,
            function: FunctionRef { logical_id: function_id.to_owned(), role_id: format!("{function_id}Role") },
            log_group_id: format!("{function_id}LogGroup"),
            physical_name: def.physical_name(stage),
        }
    }

    /// The function's own log group, with the stage's retention.
    fn add_log_group(&self, template: &mut Template) {
        template.add(
            &self.log_group_id,
            Resource::from(LogGroup {
                log_group_name: format!("/aws/lambda/{}", self.physical_name),
                retention_in_days: self.stage.log_retention_days,
                tags: tags(self.stage),
            })
            .checkov_skip(
                "CKV_AWS_158",
                "Encrypted at rest by CloudWatch Logs' own key; the logs hold no secrets, so a KMS key would add only a key policy and cost.",
            ),
        );
    }

    /// The function's own role: its log group, the on-failure queue, `statements`,
    /// and its network interfaces in the stack's subnets.
    fn add_role(&self, template: &mut Template, statements: Vec<Statement>, network: &FunctionNetwork) {
        let mut all = vec![
            Statement::allow(["logs:CreateLogStream", "logs:PutLogEvents"], vec![self.log_group_arn()])
                .sid("WriteOwnLogs"),
            Statement::allow(["sqs:SendMessage"], vec![self.queue_arn()]).sid("SendFailedEvents"),
        ];
        all.extend(statements);
        all.extend(network_interface_statements(network));
        let mut role = stage_role(self.stage, "lambda.amazonaws.com", format!("Runs {}", self.physical_name));
        role.policies
            .push(InlinePolicy { policy_name: "function".to_owned(), policy_document: PolicyDocument::new(all) });
        template.add(&self.function.role_id, role);
    }

    /// The function itself: `bootstrap` on `provided.al2023`, code from the artifact bucket.
    fn add_function(&self, template: &mut Template, environment: BTreeMap<&str, Expr>, network: FunctionNetwork) {
        let mut variables: BTreeMap<String, Expr> =
            environment.into_iter().map(|(name, value)| (name.to_owned(), value)).collect();
        variables.insert("RUST_LOG".to_owned(), "info".into());
        let settings = self.def.settings(self.stage);
        let function = Function {
            function_name: self.physical_name.clone(),
            description: self.def.description.to_owned(),
            handler: "bootstrap",
            runtime: "provided.al2023",
            architectures: vec![LAMBDA_ARCHITECTURE],
            code: Code {
                s3_bucket: Expr::reference(ARTIFACT_BUCKET),
                s3_key: Expr::reference(self.def.code_key_parameter()),
            },
            role: Expr::get_att(&self.function.role_id, "Arn"),
            memory_size: settings.memory_mb,
            timeout: settings.timeout_seconds,
            environment: Environment { variables },
            logging_config: LoggingConfig { log_group: Expr::reference(&self.log_group_id), log_format: "JSON" },
            ephemeral_storage: EphemeralStorage { size: settings.ephemeral_storage_mb },
            reserved_concurrent_executions: settings.reserved_concurrency,
            vpc_config: network.config,
            tags: tags(self.stage),
        };
        let function = Resource::from(function)
            .checkov_skip(
                "CKV_AWS_116",
                "Failed asynchronous events go to the SQS queue through the EventInvokeConfig on-failure destination.",
            )
            .checkov_skip(
                "CKV_AWS_173",
                "Lambda encrypts the environment at rest with its own key; it holds only resource names and ARNs, never secrets.",
            );
        template.add(&self.function.logical_id, function);
    }

    /// Asynchronous retries, then the on-failure queue.
    fn add_invoke_config(&self, template: &mut Template) {
        template.add(
            format!("{}EventInvokeConfig", self.function.logical_id),
            EventInvokeConfig {
                function_name: self.function.name(),
                qualifier: "$LATEST",
                maximum_retry_attempts: RETRY_ATTEMPTS,
                maximum_event_age_in_seconds: MAX_EVENT_AGE_SECONDS,
                destination_config: DestinationConfig { on_failure: OnFailure { destination: self.queue_arn() } },
            },
        );
    }

    /// The functions log a failed summary publish with `counter=<PUBLISH_FAILURES_COUNTER>`
    /// instead of failing (the data is already durable); this counts those lines.
    fn add_publish_failures_filter(&self, template: &mut Template) {
        template.add(
            format!("{}PublishFailures", self.function.logical_id),
            MetricFilter {
                filter_name: format!("{}-publish-failures", self.physical_name),
                log_group_name: Expr::reference(&self.log_group_id),
                filter_pattern: format!(r#"{{ $.fields.counter = "{PUBLISH_FAILURES_COUNTER}" }}"#),
                metric_transformations: vec![MetricTransformation {
                    metric_namespace: format!("Zipster/{}", self.stage.name),
                    metric_name: format!("{}-publish-failures", self.def.name),
                    metric_value: "1",
                    default_value: 0.0,
                    unit: "Count",
                }],
            },
        );
    }

    /// Any reported error alarms the alerts topic.
    fn add_errors_alarm(&self, template: &mut Template) {
        let alarms = &self.stage.alarms;
        template.add(
            format!("{}ErrorsAlarm", self.function.logical_id),
            Alarm {
                alarm_name: format!("{}-errors", self.physical_name),
                alarm_description: format!("{} reported errors", self.physical_name),
                namespace: "AWS/Lambda",
                metric_name: "Errors",
                dimensions: vec![Dimension { name: "FunctionName", value: self.function.name() }],
                statistic: "Sum",
                period: alarms.period_seconds,
                evaluation_periods: 1,
                threshold: f64::from(alarms.function_errors_threshold),
                comparison_operator: "GreaterThanThreshold",
                treat_missing_data: "notBreaching",
                alarm_actions: vec![self.failures.alerts_topic.arn()],
                ok_actions: vec![self.failures.alerts_topic.arn()],
            },
        );
    }

    fn log_group_arn(&self) -> Expr {
        Expr::get_att(&self.log_group_id, "Arn")
    }

    fn queue_arn(&self) -> Expr {
        Expr::get_att(self.failures.queue_id, "Arn")
    }
}

/// Lambda's network-interface permissions, scoped to the function's place in the VPC.
///
/// EC2 evaluates `ec2:Vpc`/`ec2:Subnet` on the interface (for a new one, where it is
/// created), and `CreateNetworkInterface` also on the subnet and security group it
/// uses. The conditions are `…IfExists`: a request naming no existing interface has
/// no such keys, and Lambda's own permission check (a dry run) makes one; every real
/// interface has them, so one outside the stack's subnets is refused.
fn network_interface_statements(network: &FunctionNetwork) -> [Statement; 3] {
    let interfaces = arn("ec2", "network-interface/*");
    let mut placement = network.subnet_arns.clone();
    placement.push(network.security_group_arn.clone());
    [
        Statement::allow(VPC_DESCRIBE_ACTIONS, vec![Expr::lit("*")]).sid("DescribeVpcNetworking"),
        Statement::allow(VPC_ENI_ACTIONS, vec![interfaces])
            .sid("ManageNetworkInterfacesInTheStacksSubnets")
            .condition("ArnEqualsIfExists", "ec2:Vpc", network.vpc_arn.clone())
            .condition("ArnEqualsIfExists", "ec2:Subnet", Expr::List(network.subnet_arns.clone())),
        Statement::allow(["ec2:CreateNetworkInterface"], placement).sid("CreateInTheStacksSubnetsAndOwnGroup"),
    ]
}
