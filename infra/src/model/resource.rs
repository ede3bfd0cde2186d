use std::collections::BTreeSet;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::Value;

use super::{cloudwatch, dlm, ec2, iam, lambda, logs, s3, secretsmanager, sns, sqs, ssm};

/// What CloudFormation does with a resource's physical resource when the stack is
/// deleted (`DeletionPolicy`) or the resource is replaced (`UpdateReplacePolicy`):
/// the CDK's `RemovalPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RemovalPolicy {
    /// The default: the physical resource goes with the logical one.
    Delete,
    /// The physical resource is left behind, outside the stack.
    Retain,
    /// A final snapshot is taken, then the resource is deleted (volumes, databases).
    Snapshot,
}

/// One entry of `Resources`: typed properties plus the resource attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub properties: Properties,
    /// The template condition that decides whether the resource is created.
    pub condition: Option<String>,
    pub depends_on: BTreeSet<String>,
    /// Resource metadata, e.g. `checkov.skip` with the reason a check does not apply,
    /// and `zipster.stateful` (see [`Resource::stateful`]).
    pub metadata: Option<Value>,
    pub deletion_policy: Option<RemovalPolicy>,
    pub update_replace_policy: Option<RemovalPolicy>,
}

/// Where [`Resource::stateful`] writes its reason: `Metadata.zipster.stateful`, which
/// the deploy engine reads to refuse replacing or deleting the resource unless told.
pub const STATEFUL_METADATA: [&str; 2] = ["zipster", "stateful"];

impl Resource {
    pub fn type_name(&self) -> &str {
        self.properties.type_name()
    }

    /// Created only when the template's condition `name` is true.
    pub fn condition(mut self, name: impl Into<String>) -> Self {
        self.condition = Some(name.into());
        self
    }

    pub fn depends_on(mut self, logical_id: impl Into<String>) -> Self {
        self.depends_on.insert(logical_id.into());
        self
    }

    /// `DeletionPolicy`: what a stack deletion does with the physical resource.
    pub fn deletion_policy(mut self, policy: RemovalPolicy) -> Self {
        self.deletion_policy = Some(policy);
        self
    }

    /// `UpdateReplacePolicy`: what a replacement does with the old physical resource.
    pub fn update_replace_policy(mut self, policy: RemovalPolicy) -> Self {
        self.update_replace_policy = Some(policy);
        self
    }

    /// Both `DeletionPolicy` and `UpdateReplacePolicy`.
    pub fn removal_policy(self, policy: RemovalPolicy) -> Self {
        self.deletion_policy(policy).update_replace_policy(policy)
    }

    /// Marks the resource as holding state that a replacement or deletion would
    /// destroy: `Metadata: {"zipster": {"stateful": reason}}`, `reason` being one
    /// sentence saying why. The deploy engine refuses such a change unless told.
    pub fn stateful(mut self, reason: &str) -> Self {
        let [section, key] = STATEFUL_METADATA;
        if let Some(zipster) = self.metadata_section(section).as_object_mut() {
            zipster.insert(key.to_owned(), Value::String(reason.to_owned()));
        }
        self
    }

    /// Skips a checkov check on this resource; `reason` says why it does not apply.
    pub fn checkov_skip(mut self, id: &str, reason: &str) -> Self {
        let checkov = self.metadata_section("checkov");
        if let Some(map) = checkov.as_object_mut() {
            let skips = map.entry("skip").or_insert_with(|| serde_json::json!([]));
            if let Some(skips) = skips.as_array_mut() {
                skips.push(serde_json::json!({ "id": id, "comment": reason }));
            }
        }
        self
    }

    /// `Metadata.<name>`, created as an empty object if missing.
    fn metadata_section(&mut self, name: &str) -> &mut Value {
        let metadata = self.metadata.get_or_insert_with(|| serde_json::json!({}));
        if !metadata.is_object() {
            *metadata = serde_json::json!({});
        }
        match metadata {
            Value::Object(map) => map.entry(name).or_insert_with(|| serde_json::json!({})),
            other => other,
        }
    }
}

impl<P: Into<Properties>> From<P> for Resource {
    fn from(properties: P) -> Self {
        Self {
            properties: properties.into(),
            condition: None,
            depends_on: BTreeSet::new(),
            metadata: None,
            deletion_policy: None,
            update_replace_policy: None,
        }
    }
}

impl Serialize for Resource {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("Type", self.type_name())?;
        if let Some(condition) = &self.condition {
            map.serialize_entry("Condition", condition)?;
        }
        if !self.depends_on.is_empty() {
            map.serialize_entry("DependsOn", &self.depends_on)?;
        }
        if let Some(policy) = self.deletion_policy {
            map.serialize_entry("DeletionPolicy", &policy)?;
        }
        if let Some(policy) = self.update_replace_policy {
            map.serialize_entry("UpdateReplacePolicy", &policy)?;
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
    ManagedPolicy(iam::ManagedPolicy) = "AWS::IAM::ManagedPolicy",
    OidcProvider(iam::OidcProvider) = "AWS::IAM::OIDCProvider",
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
    Volume(ec2::Volume) = "AWS::EC2::Volume",
    Association(ssm::Association) = "AWS::SSM::Association",
    Document(ssm::Document) = "AWS::SSM::Document",
    LifecyclePolicy(dlm::LifecyclePolicy) = "AWS::DLM::LifecyclePolicy",
    Secret(secretsmanager::Secret) = "AWS::SecretsManager::Secret",
    SecretPolicy(secretsmanager::SecretPolicy) = "AWS::SecretsManager::ResourcePolicy",
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn queue() -> Resource {
        Resource::from(sqs::Queue {
            queue_name: "q".to_owned(),
            message_retention_period: 60,
            sqs_managed_sse_enabled: true,
            tags: Vec::new(),
        })
    }

    #[test]
    fn removal_policies_and_the_stateful_marker_serialize_as_cloudformation_attributes() {
        let resource = queue()
            .checkov_skip("CKV_1", "why not")
            .stateful("holds failed events")
            .deletion_policy(RemovalPolicy::Retain)
            .update_replace_policy(RemovalPolicy::Snapshot);
        let json = serde_json::to_value(&resource).unwrap();
        assert_eq!(json["DeletionPolicy"], "Retain");
        assert_eq!(json["UpdateReplacePolicy"], "Snapshot");
        assert_eq!(json["Metadata"]["zipster"], json!({"stateful": "holds failed events"}));
        assert_eq!(json["Metadata"]["checkov"]["skip"], json!([{"id": "CKV_1", "comment": "why not"}]));
        let text = serde_json::to_string(&resource).unwrap();
        let at = |key: &str| text.find(&format!("\"{key}\"")).unwrap();
        let order = ["Type", "DeletionPolicy", "UpdateReplacePolicy", "Metadata", "Properties"].map(at);
        assert!(order.is_sorted(), "{text}");
    }

    #[test]
    fn a_resource_without_attributes_has_none() {
        let json = serde_json::to_value(queue().removal_policy(RemovalPolicy::Delete)).unwrap();
        assert_eq!(
            (json["DeletionPolicy"].as_str(), json["UpdateReplacePolicy"].as_str()),
            (Some("Delete"), Some("Delete"))
        );
        let json = serde_json::to_value(queue()).unwrap();
        assert!(json.get("DeletionPolicy").is_none() && json.get("Metadata").is_none());
    }
}
