use std::collections::BTreeSet;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use super::{cloudwatch, ec2, iam, lambda, logs, s3, secretsmanager, sns, sqs};

/// One entry of `Resources`: typed properties plus the resource attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub properties: Properties,
    pub depends_on: BTreeSet<String>,
    /// Resource metadata, e.g. `checkov.skip` with the reason a check does not apply.
    pub metadata: Option<Value>,
    pub deletion_policy: Option<&'static str>,
}

impl Resource {
    pub fn type_name(&self) -> &str {
        self.properties.type_name()
    }

    pub fn depends_on(mut self, logical_id: impl Into<String>) -> Self {
        self.depends_on.insert(logical_id.into());
        self
    }

    /// Skips a checkov check on this resource; `reason` says why it does not apply.
    pub fn checkov_skip(mut self, id: &str, reason: &str) -> Self {
        let metadata = self.metadata.get_or_insert_with(|| serde_json::json!({}));
        if let Some(map) = metadata.as_object_mut() {
            let checkov = map.entry("checkov").or_insert_with(|| serde_json::json!({ "skip": [] }));
            if let Some(skips) = checkov.get_mut("skip").and_then(Value::as_array_mut) {
                skips.push(serde_json::json!({ "id": id, "comment": reason }));
            }
        }
        self
    }
}

impl<P: Into<Properties>> From<P> for Resource {
    fn from(properties: P) -> Self {
        Self { properties: properties.into(), depends_on: BTreeSet::new(), metadata: None, deletion_policy: None }
    }
}

impl Serialize for Resource {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("Type", self.type_name())?;
        if !self.depends_on.is_empty() {
            map.serialize_entry("DependsOn", &self.depends_on)?;
        }
        if let Some(policy) = self.deletion_policy {
            map.serialize_entry("DeletionPolicy", policy)?;
            map.serialize_entry("UpdateReplacePolicy", policy)?;
        }
        if let Some(metadata) = &self.metadata {
            map.serialize_entry("Metadata", metadata)?;
        }
        map.serialize_entry("Properties", &self.properties)?;
        map.end()
    }
}

macro_rules! resource_types {
    ($($variant:ident($ty:ty) = $name:literal,)*) => {
        /// The properties of every resource type the stack uses, plus an escape hatch.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Properties {
            $($variant($ty),)*
            /// Any other resource type, as raw JSON properties.
            Other { type_name: String, properties: Value },
        }

        impl Properties {
            pub fn type_name(&self) -> &str {
                match self {
                    $(Self::$variant(_) => $name,)*
                    Self::Other { type_name, .. } => type_name,
                }
            }
        }

        impl Serialize for Properties {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(Self::$variant(p) => p.serialize(serializer),)*
                    Self::Other { properties, .. } => properties.serialize(serializer),
                }
            }
        }

        $(impl From<$ty> for Properties {
            fn from(p: $ty) -> Self {
                Self::$variant(p)
            }
        })*
    };
}

resource_types! {
    Bucket(s3::Bucket) = "AWS::S3::Bucket",
    BucketPolicy(s3::BucketPolicy) = "AWS::S3::BucketPolicy",
    Topic(sns::Topic) = "AWS::SNS::Topic",
    TopicPolicy(sns::TopicPolicy) = "AWS::SNS::TopicPolicy",
    Subscription(sns::Subscription) = "AWS::SNS::Subscription",
    Queue(sqs::Queue) = "AWS::SQS::Queue",
    QueuePolicy(sqs::QueuePolicy) = "AWS::SQS::QueuePolicy",
    Function(lambda::Function) = "AWS::Lambda::Function",
    Permission(lambda::Permission) = "AWS::Lambda::Permission",
    EventInvokeConfig(lambda::EventInvokeConfig) = "AWS::Lambda::EventInvokeConfig",
    Role(iam::Role) = "AWS::IAM::Role",
    InstanceProfile(iam::InstanceProfile) = "AWS::IAM::InstanceProfile",
    LogGroup(logs::LogGroup) = "AWS::Logs::LogGroup",
    MetricFilter(logs::MetricFilter) = "AWS::Logs::MetricFilter",
    Alarm(cloudwatch::Alarm) = "AWS::CloudWatch::Alarm",
    Vpc(ec2::Vpc) = "AWS::EC2::VPC",
    Subnet(ec2::Subnet) = "AWS::EC2::Subnet",
    RouteTable(ec2::RouteTable) = "AWS::EC2::RouteTable",
    SubnetRouteTableAssociation(ec2::SubnetRouteTableAssociation) = "AWS::EC2::SubnetRouteTableAssociation",
    VpcEndpoint(ec2::VpcEndpoint) = "AWS::EC2::VPCEndpoint",
    SecurityGroup(ec2::SecurityGroup) = "AWS::EC2::SecurityGroup",
    SecurityGroupIngress(ec2::SecurityGroupIngress) = "AWS::EC2::SecurityGroupIngress",
    SecurityGroupEgress(ec2::SecurityGroupEgress) = "AWS::EC2::SecurityGroupEgress",
    FlowLog(ec2::FlowLog) = "AWS::EC2::FlowLog",
    LaunchTemplate(ec2::LaunchTemplate) = "AWS::EC2::LaunchTemplate",
    Instance(ec2::Instance) = "AWS::EC2::Instance",
    Secret(secretsmanager::Secret) = "AWS::SecretsManager::Secret",
}
