//! Which resources a change adds, removes or modifies in each stage's template, as
//! Markdown for a pull-request comment (`cargo xtask template-diff OLD NEW`), marking
//! the property changes that make CloudFormation replace a resource.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Properties whose change makes CloudFormation replace the resource (create the
/// new one, delete the old). `"*"`: every property.
fn replacing_properties(resource_type: &str) -> &'static [&'static str] {
    match resource_type {
        "AWS::S3::Bucket" => &["BucketName"],
        "AWS::S3::BucketPolicy" => &["Bucket"],
        "AWS::SNS::Topic" => &["TopicName", "FifoTopic"],
        "AWS::SNS::Subscription" => &["Endpoint", "Protocol", "TopicArn"],
        "AWS::SQS::Queue" => &["QueueName", "FifoQueue"],
        "AWS::Lambda::Function" => &["FunctionName"],
        "AWS::Lambda::Permission" | "AWS::EC2::FlowLog" | "AWS::EC2::SubnetRouteTableAssociation" => &["*"],
        "AWS::Lambda::EventInvokeConfig" => &["FunctionName", "Qualifier"],
        "AWS::IAM::Role" => &["RoleName", "Path"],
        "AWS::IAM::InstanceProfile" => &["InstanceProfileName", "Path"],
        "AWS::Logs::LogGroup" => &["LogGroupName"],
        "AWS::CloudWatch::Alarm" => &["AlarmName"],
        "AWS::SecretsManager::Secret" => &["Name"],
        "AWS::EC2::VPC" => &["CidrBlock", "InstanceTenancy"],
        "AWS::EC2::Subnet" => &["CidrBlock", "AvailabilityZone", "VpcId"],
        "AWS::EC2::RouteTable" => &["VpcId"],
        "AWS::EC2::VPCEndpoint" => &["ServiceName", "VpcId", "VpcEndpointType"],
        "AWS::EC2::SecurityGroup" => &["GroupDescription", "GroupName", "VpcId"],
        "AWS::EC2::SecurityGroupIngress" | "AWS::EC2::SecurityGroupEgress" => &[
            "GroupId",
            "IpProtocol",
            "FromPort",
            "ToPort",
            "CidrIp",
            "SourceSecurityGroupId",
            "DestinationSecurityGroupId",
        ],
        "AWS::EC2::LaunchTemplate" => &["LaunchTemplateName"],
        "AWS::EC2::Instance" => {
            &["ImageId", "SubnetId", "AvailabilityZone", "KeyName", "PrivateIpAddress", "LaunchTemplate", "Tenancy"]
        }
        _ => &[],
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Change {
    Added { resource_type: String },
    Removed { resource_type: String },
    Modified { resource_type: String, properties: Vec<PropertyChange> },
}

#[derive(Debug, PartialEq, Eq)]
pub struct PropertyChange {
    /// A property name, or a resource attribute (`Type`, `DependsOn`, `Metadata`…).
    pub name: String,
    pub replaces: bool,
}

impl Change {
    pub fn replaces(&self) -> bool {
        matches!(self, Self::Modified { properties, .. } if properties.iter().any(|p| p.replaces))
    }
}

/// Differences of one template file.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FileDiff {
    pub resources: BTreeMap<String, Change>,
    /// `(section, name, "added" | "removed" | "changed")` for Parameters and Outputs.
    pub other: Vec<(String, String, &'static str)>,
    pub file_added: bool,
    pub file_removed: bool,
}

pub fn diff(old: &BTreeMap<String, Value>, new: &BTreeMap<String, Value>) -> BTreeMap<String, FileDiff> {
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    names
        .into_iter()
        .map(|name| {
            let empty = Value::Null;
            let (o, n) = (old.get(name).unwrap_or(&empty), new.get(name).unwrap_or(&empty));
            let mut file = diff_template(o, n);
            file.file_added = !old.contains_key(name);
            file.file_removed = !new.contains_key(name);
            (name.clone(), file)
        })
        .filter(|(_, file)| {
            !file.resources.is_empty() || !file.other.is_empty() || file.file_added || file.file_removed
        })
        .collect()
}

fn section<'a>(template: &'a Value, name: &str) -> BTreeMap<&'a String, &'a Value> {
    template.get(name).and_then(Value::as_object).map(|m| m.iter().collect()).unwrap_or_default()
}

fn diff_template(old: &Value, new: &Value) -> FileDiff {
    let mut file = FileDiff::default();
    let (old_resources, new_resources) = (section(old, "Resources"), section(new, "Resources"));
    let type_of = |r: &Value| r.get("Type").and_then(Value::as_str).unwrap_or_default().to_owned();
    for (id, resource) in &old_resources {
        if !new_resources.contains_key(id) {
            file.resources.insert((*id).clone(), Change::Removed { resource_type: type_of(resource) });
        }
    }
    for (id, resource) in &new_resources {
        let resource_type = type_of(resource);
        match old_resources.get(id) {
            None => {
                file.resources.insert((*id).clone(), Change::Added { resource_type });
            }
            Some(before) if before != resource => {
                let properties = changed_properties(before, resource, &resource_type);
                file.resources.insert((*id).clone(), Change::Modified { resource_type, properties });
            }
            Some(_) => {}
        }
    }
    for name in ["Parameters", "Outputs"] {
        let (o, n) = (section(old, name), section(new, name));
        for key in o.keys().chain(n.keys()).collect::<BTreeSet<_>>() {
            let status = match (o.get(key), n.get(key)) {
                (None, Some(_)) => "added",
                (Some(_), None) => "removed",
                (Some(a), Some(b)) if a != b => "changed",
                _ => continue,
            };
            file.other.push((name.to_owned(), (*key).clone(), status));
        }
    }
    file
}

fn changed_properties(old: &Value, new: &Value, resource_type: &str) -> Vec<PropertyChange> {
    let replacing = replacing_properties(resource_type);
    let mut changes = Vec::new();
    if old.get("Type") != new.get("Type") {
        changes.push(PropertyChange { name: "Type".to_owned(), replaces: true });
    }
    for attribute in ["DependsOn", "Metadata", "DeletionPolicy", "UpdateReplacePolicy", "Condition"] {
        if old.get(attribute) != new.get(attribute) {
            changes.push(PropertyChange { name: attribute.to_owned(), replaces: false });
        }
    }
    let (o, n) = (section(old, "Properties"), section(new, "Properties"));
    for key in o.keys().chain(n.keys()).collect::<BTreeSet<_>>() {
        if o.get(key) != n.get(key) {
            let replaces = replacing.contains(&"*") || replacing.contains(&key.as_str());
            changes.push(PropertyChange { name: (*key).clone(), replaces });
        }
    }
    changes
}

/// Markdown for a pull-request comment.
pub fn render(diffs: &BTreeMap<String, FileDiff>) -> String {
    let mut out = String::from("## CloudFormation template diff\n\n");
    if diffs.is_empty() {
        out.push_str("No template changes.\n");
        return out;
    }
    for (name, file) in diffs {
        let replacements = file.resources.values().filter(|c| c.replaces()).count();
        let _ = write!(out, "### `{name}`");
        if file.file_added {
            out.push_str(" (new stage)");
        } else if file.file_removed {
            out.push_str(" (stage removed)");
        }
        if replacements > 0 {
            let _ = write!(out, " — ⚠️ {replacements} resource(s) replaced");
        }
        out.push_str("\n\n");
        if !file.resources.is_empty() {
            out.push_str("| Change | Logical ID | Type | Properties |\n|---|---|---|---|\n");
            for (id, change) in &file.resources {
                let (kind, resource_type, details) = match change {
                    Change::Added { resource_type } => ("➕ added", resource_type, String::new()),
                    Change::Removed { resource_type } => ("➖ removed", resource_type, String::new()),
                    Change::Modified { resource_type, properties } => {
                        let kind = if change.replaces() { "⚠️ replaced" } else { "✏️ modified" };
                        let names: Vec<String> = properties
                            .iter()
                            .map(|p| if p.replaces { format!("**{}** (replacement)", p.name) } else { p.name.clone() })
                            .collect();
                        (kind, resource_type, names.join(", "))
                    }
                };
                let _ = writeln!(out, "| {kind} | `{id}` | `{resource_type}` | {details} |");
            }
            out.push('\n');
        }
        for (section, key, status) in &file.other {
            let _ = writeln!(out, "- {section}: `{key}` {status}");
        }
        if !file.other.is_empty() {
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn files(template: Value) -> BTreeMap<String, Value> {
        BTreeMap::from([("dev.json".to_owned(), template)])
    }

    fn base() -> Value {
        json!({
            "Parameters": {"CodeKey": {"Type": "String"}},
            "Resources": {
                "Input": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "a", "Tags": []}},
                "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "f", "MemorySize": 128}},
                "Old": {"Type": "AWS::SNS::Topic", "Properties": {}}
            },
            "Outputs": {"Name": {"Value": "x"}}
        })
    }

    #[test]
    fn identical_templates_have_no_diff() {
        let diffs = diff(&files(base()), &files(base()));
        assert!(diffs.is_empty());
        assert!(render(&diffs).contains("No template changes"));
    }

    #[test]
    fn classifies_added_removed_modified_and_replaced_resources() {
        let mut new = base();
        new["Resources"]["Input"]["Properties"]["BucketName"] = json!("b");
        new["Resources"]["Fn"]["Properties"]["MemorySize"] = json!(256);
        new["Resources"]["Fn"]["DependsOn"] = json!(["Input"]);
        new["Resources"].as_object_mut().unwrap().remove("Old");
        new["Resources"]["Queue"] = json!({"Type": "AWS::SQS::Queue", "Properties": {}});
        new["Outputs"]["Url"] = json!({"Value": "u"});

        let diffs = diff(&files(base()), &files(new));
        let file = &diffs["dev.json"];
        assert_eq!(file.resources["Old"], Change::Removed { resource_type: "AWS::SNS::Topic".into() });
        assert_eq!(file.resources["Queue"], Change::Added { resource_type: "AWS::SQS::Queue".into() });
        assert!(file.resources["Input"].replaces());
        assert_eq!(
            file.resources["Fn"],
            Change::Modified {
                resource_type: "AWS::Lambda::Function".into(),
                properties: vec![
                    PropertyChange { name: "DependsOn".into(), replaces: false },
                    PropertyChange { name: "MemorySize".into(), replaces: false },
                ],
            }
        );
        assert_eq!(file.other, [("Outputs".to_owned(), "Url".to_owned(), "added")]);

        let markdown = render(&diffs);
        assert!(
            markdown.contains("| ⚠️ replaced | `Input` | `AWS::S3::Bucket` | **BucketName** (replacement) |"),
            "{markdown}"
        );
        assert!(markdown.contains("1 resource(s) replaced"), "{markdown}");
        assert!(markdown.contains("| ✏️ modified | `Fn` |"), "{markdown}");
    }

    #[test]
    fn a_new_stage_lists_every_resource_as_added() {
        let diffs = diff(&BTreeMap::new(), &files(base()));
        let file = &diffs["dev.json"];
        assert!(file.file_added);
        assert_eq!(file.resources.len(), 3);
        assert!(render(&diffs).contains("(new stage)"));
    }
}
