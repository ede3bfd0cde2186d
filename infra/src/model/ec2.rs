//! The network (VPC, subnets, routes, endpoints, security groups, flow logs) and the host.

use serde::Serialize;

use super::iam::PolicyDocument;
use super::{Expr, Tag};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Vpc {
    pub cidr_block: String,
    pub enable_dns_hostnames: bool,
    pub enable_dns_support: bool,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Subnet {
    pub vpc_id: Expr,
    pub cidr_block: String,
    pub availability_zone: Expr,
    pub map_public_ip_on_launch: bool,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RouteTable {
    pub vpc_id: Expr,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubnetRouteTableAssociation {
    pub route_table_id: Expr,
    pub subnet_id: Expr,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VpcEndpoint {
    pub vpc_id: Expr,
    pub service_name: Expr,
    pub vpc_endpoint_type: &'static str,
    /// What may pass through the endpoint (a limit on top of IAM; it grants nothing).
    pub policy_document: PolicyDocument,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_dns_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub route_table_ids: Vec<Expr>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subnet_ids: Vec<Expr>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_group_ids: Vec<Expr>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecurityGroup {
    pub group_description: String,
    pub vpc_id: Expr,
    pub security_group_egress: Vec<Rule>,
    pub tags: Vec<Tag>,
}

/// An inline rule. Rules between groups are separate resources
/// ([`SecurityGroupIngress`], [`SecurityGroupEgress`]) so groups can refer to each other.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Rule {
    pub description: String,
    pub ip_protocol: &'static str,
    pub from_port: i32,
    pub to_port: i32,
    #[serde(flatten)]
    pub destination: Destination,
}

/// Where an inline egress rule goes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Destination {
    CidrIp(String),
    /// A managed prefix list, e.g. the region's S3 addresses (`pl-…`).
    DestinationPrefixListId(Expr),
}

impl Rule {
    /// Egress that matches nothing, replacing the default allow-all egress of a group
    /// that should only receive (the CDK's `allowAllOutbound: false`).
    pub fn no_egress() -> Self {
        Self {
            description: "Disallow all egress".to_owned(),
            ip_protocol: "icmp",
            from_port: 252,
            to_port: 86,
            destination: Destination::CidrIp("255.255.255.255/32".to_owned()),
        }
    }

    /// HTTPS to the addresses of a managed prefix list.
    pub fn https_to_prefix_list(prefix_list_id: Expr, description: &str) -> Self {
        Self {
            description: description.to_owned(),
            ip_protocol: "tcp",
            from_port: 443,
            to_port: 443,
            destination: Destination::DestinationPrefixListId(prefix_list_id),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecurityGroupIngress {
    pub group_id: Expr,
    pub description: String,
    pub ip_protocol: &'static str,
    pub from_port: i32,
    pub to_port: i32,
    pub source_security_group_id: Expr,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecurityGroupEgress {
    pub group_id: Expr,
    pub description: String,
    pub ip_protocol: &'static str,
    pub from_port: i32,
    pub to_port: i32,
    pub destination_security_group_id: Expr,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FlowLog {
    pub resource_id: Expr,
    pub resource_type: &'static str,
    pub traffic_type: &'static str,
    pub log_destination_type: &'static str,
    pub log_destination: Expr,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LaunchTemplate {
    pub launch_template_data: LaunchTemplateData,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LaunchTemplateData {
    pub metadata_options: MetadataOptions,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetadataOptions {
    pub http_endpoint: &'static str,
    pub http_tokens: &'static str,
    pub http_put_response_hop_limit: u32,
}

impl MetadataOptions {
    pub fn imdsv2_only() -> Self {
        Self { http_endpoint: "enabled", http_tokens: "required", http_put_response_hop_limit: 1 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Instance {
    pub image_id: Expr,
    pub instance_type: String,
    pub subnet_id: Expr,
    pub security_group_ids: Vec<Expr>,
    pub iam_instance_profile: Expr,
    pub launch_template: LaunchTemplateRef,
    pub block_device_mappings: Vec<BlockDeviceMapping>,
    pub ebs_optimized: bool,
    pub monitoring: bool,
    pub user_data: Expr,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LaunchTemplateRef {
    pub launch_template_id: Expr,
    pub version: Expr,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BlockDeviceMapping {
    pub device_name: String,
    pub ebs: Ebs,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ebs {
    pub volume_size: u32,
    pub volume_type: &'static str,
    pub encrypted: bool,
    pub delete_on_termination: bool,
}

/// An EBS volume of its own (the database's), outliving any one instance.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Volume {
    pub availability_zone: Expr,
    pub size: u32,
    pub volume_type: &'static str,
    pub encrypted: bool,
    pub tags: Vec<Tag>,
}
