//! The private network: a VPC with two private subnets and no internet route.
//! AWS APIs are reached through endpoints (an S3 gateway, which also serves the
//! Amazon Linux package repositories, and interface endpoints for SNS, Secrets
//! Manager, Session Manager and, for the host's data volume, EC2), so no NAT gateway
//! is needed. Every endpoint has a policy that keeps what passes through it inside
//! this account (and, for S3, inside this stack's buckets plus the AWS repositories
//! the host installs from), and every security group's egress names its
//! destinations: the S3 prefix list, the endpoints' group, the database's.

use std::collections::BTreeMap;

use crate::model::ec2::{
    FlowLog, RouteTable, Rule, SecurityGroup, SecurityGroupEgress, SecurityGroupIngress, Subnet,
    SubnetRouteTableAssociation, Vpc, VpcEndpoint,
};
use crate::model::iam::{PolicyDocument, Principal, Statement};
use crate::model::lambda::VpcConfig;
use crate::model::{Expr, Resource, Template};
use crate::stage::StageConfig;

use super::bucket::BucketRefs;
use super::{arn, tags};

/// The managed prefix list of S3's addresses (`com.amazonaws.<region>.s3`) in each
/// region a stage may use: the security groups' HTTPS egress to S3 (through the
/// gateway endpoint) goes to it. CloudFormation cannot look a prefix list up, so the
/// template carries this table as the `S3PrefixList` mapping and picks the row of the
/// region it is deployed in (another region fails the deploy by name); stage
/// validation refuses a region missing here. The ids are AWS's, per region:
/// `aws ec2 describe-managed-prefix-lists --region <r> --filters Name=prefix-list-name,Values=com.amazonaws.<r>.s3`.
pub const S3_PREFIX_LISTS: [(&str, &str); 2] = [("eu-west-1", "pl-6da54004"), ("us-east-1", "pl-63a5400a")];
const S3_PREFIX_LIST_MAPPING: &str = "S3PrefixList";
const PREFIX_LIST_ID: &str = "Id";

/// The AWS-owned buckets the host reads through the S3 gateway, `${AWS::Region}`
/// filled in: the Amazon Linux 2023 repositories (`dnf` at boot and when patching;
/// the name is AL2023's own repository configuration's, the same suffix in every
/// region), and those SSM Agent and `AWS-RunPatchBaseline` download from (the
/// Linux ones of Systems Manager's list of its buckets).
pub const AWS_OWNED_BUCKETS: [&str; 8] = [
    "al2023-repos-${AWS::Region}-de612dc2",
    "aws-ssm-${AWS::Region}",
    "patch-baseline-snapshot-${AWS::Region}",
    "amazon-ssm-${AWS::Region}",
    "amazon-ssm-packages-${AWS::Region}",
    "${AWS::Region}-birdwatcher-prod",
    "aws-ssm-distributor-file-${AWS::Region}",
    "aws-ssm-document-attachments-${AWS::Region}",
];

/// An interface endpoint: its logical ID prefix, its service, and what its policy
/// lets through besides "principals of this account" (which all of them require).
struct InterfaceEndpoint {
    id: &'static str,
    service: &'static str,
    /// `Some(resource)`: only this account's resources in this region,
    /// `arn:…:<service>:<region>:<account>:<resource>`. A service whose resources can
    /// be shared with another account (a topic or secret with an open resource policy)
    /// could otherwise carry data out with this account's own credentials. `None`
    /// for the agent's services, which also read AWS-owned resources (documents,
    /// public parameters) and whose writes only land in the caller's account.
    own_resources: Option<&'static str>,
    /// In the host's subnet only: only the host calls it (half the cost).
    host_only: bool,
}

const SECRETS_MANAGER_ENDPOINT: InterfaceEndpoint = InterfaceEndpoint {
    id: "SecretsManager",
    service: "secretsmanager",
    own_resources: Some("secret:*"),
    host_only: false,
};
/// The EC2 API, for the host attaching its data volume at boot.
const EC2_ENDPOINT: InterfaceEndpoint =
    InterfaceEndpoint { id: "Ec2", service: "ec2", own_resources: None, host_only: true };
const INTERFACE_ENDPOINTS: [InterfaceEndpoint; 6] = [
    SECRETS_MANAGER_ENDPOINT,
    EC2_ENDPOINT,
    // The functions' summaries and alerts.
    InterfaceEndpoint { id: "Sns", service: "sns", own_resources: Some("*"), host_only: false },
    InterfaceEndpoint { id: "Ssm", service: "ssm", own_resources: None, host_only: false },
    InterfaceEndpoint { id: "SsmMessages", service: "ssmmessages", own_resources: None, host_only: false },
    InterfaceEndpoint { id: "Ec2Messages", service: "ec2messages", own_resources: None, host_only: false },
];

const VPC: &str = "Vpc";
const ROUTE_TABLE: &str = "PrivateRouteTable";
const SUBNETS: [&str; 2] = ["PrivateSubnetA", "PrivateSubnetB"];
const FUNCTION_SECURITY_GROUP: &str = "FunctionSecurityGroup";
const NO_DATABASE_FUNCTION_SECURITY_GROUP: &str = "NoDatabaseFunctionSecurityGroup";
const DATABASE_SECURITY_GROUP: &str = "DatabaseSecurityGroup";
const ENDPOINT_SECURITY_GROUP: &str = "EndpointSecurityGroup";
pub const MYSQL_PORT: i32 = 3306;

/// A security group in the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityGroupRef {
    pub logical_id: String,
}

impl SecurityGroupRef {
    fn new(logical_id: &str) -> Self {
        Self { logical_id: logical_id.to_owned() }
    }

    pub fn group_id(&self) -> Expr {
        group_id(&self.logical_id)
    }

    /// `arn:…:ec2:<region>:<account>:security-group/<id>`, for IAM.
    pub fn arn(&self) -> Expr {
        arn("ec2", &format!("security-group/${{{}.GroupId}}", self.logical_id))
    }
}

/// A private subnet and its route-table association: what runs in the subnet and
/// needs S3 (through the gateway endpoint's route) waits for the association.
#[derive(Debug, Clone, PartialEq)]
pub struct SubnetRef {
    pub logical_id: String,
    pub route_table_association: String,
    /// The subnet's zone (`Fn::Select [i, Fn::GetAZs ""]`), for what must sit beside
    /// what runs in it (the host's data volume).
    pub availability_zone: Expr,
}

impl SubnetRef {
    /// `arn:…:ec2:<region>:<account>:subnet/<id>`, for IAM.
    pub fn arn(&self) -> Expr {
        arn("ec2", &format!("subnet/${{{}}}", self.logical_id))
    }
}

/// What the network offers the resources inside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    pub subnets: Vec<SubnetRef>,
    /// The group of the functions that reach the database: admitted by it and by the endpoints.
    pub function_security_group: SecurityGroupRef,
    /// The group of the functions that do not (the transform, which parses untrusted
    /// files): S3 and the endpoints only.
    pub no_database_function_security_group: SecurityGroupRef,
    /// The database host's group: admits MySQL from the functions only.
    pub database_security_group: SecurityGroupRef,
    /// S3, and through it the Amazon Linux package repositories.
    pub s3_gateway_endpoint: String,
    pub secrets_manager_endpoint: String,
    /// In the first subnet only: the host's.
    pub ec2_endpoint: String,
}

/// Where a function runs in the VPC, and the ARNs its role's network-interface
/// permissions are scoped to.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionNetwork {
    pub config: VpcConfig,
    pub vpc_arn: Expr,
    pub subnet_arns: Vec<Expr>,
    pub security_group_arn: Expr,
}

impl Network {
    pub fn subnet_ids(&self) -> Vec<Expr> {
        self.subnets.iter().map(|subnet| Expr::reference(&subnet.logical_id)).collect()
    }

    /// Where a function runs: every subnet, in the group that the database admits
    /// only if the function reaches the database.
    pub fn for_function(&self, reaches_database: bool) -> FunctionNetwork {
        let group =
            if reaches_database { &self.function_security_group } else { &self.no_database_function_security_group };
        FunctionNetwork {
            config: VpcConfig { security_group_ids: vec![group.group_id()], subnet_ids: self.subnet_ids() },
            vpc_arn: arn("ec2", &format!("vpc/${{{VPC}}}")),
            subnet_arns: self.subnets.iter().map(SubnetRef::arn).collect(),
            security_group_arn: group.arn(),
        }
    }
}

/// Adds the network; the `logs` bucket receives the VPC flow logs, and `buckets`
/// (every bucket of the stack) are the only ones of this account the S3 gateway
/// lets through.
pub fn add(template: &mut Template, stage: &StageConfig, logs: &BucketRefs, buckets: &[&BucketRefs]) -> Network {
    let vpc = Expr::reference(VPC);
    template.add(
        VPC,
        Vpc {
            cidr_block: stage.vpc_cidr.clone(),
            // Interface endpoints with private DNS need both.
            enable_dns_hostnames: true,
            enable_dns_support: true,
            tags: tags(stage),
        },
    );
    template.add(
        "VpcFlowLog",
        Resource::from(FlowLog {
            resource_id: vpc.clone(),
            resource_type: "VPC",
            traffic_type: "ALL",
            log_destination_type: "s3",
            // Flow logs land under AWSLogs/<account>/ at the root of the bucket.
            log_destination: logs.arn_attribute(),
            tags: tags(stage),
        })
        .depends_on(&logs.policy.logical_id),
    );
    template.add(ROUTE_TABLE, RouteTable { vpc_id: vpc.clone(), tags: tags(stage) });
    let mut subnets = Vec::new();
    for (index, subnet) in (0u8..).zip(SUBNETS) {
        let subnet = SubnetRef {
            logical_id: subnet.to_owned(),
            route_table_association: format!("{subnet}RouteTableAssociation"),
            availability_zone: Expr::availability_zone(u32::from(index)),
        };
        template.add(
            &subnet.logical_id,
            Subnet {
                vpc_id: vpc.clone(),
                cidr_block: stage.subnet_cidr(index),
                availability_zone: subnet.availability_zone.clone(),
                map_public_ip_on_launch: false,
                tags: tags(stage),
            },
        );
        template.add(
            &subnet.route_table_association,
            SubnetRouteTableAssociation {
                route_table_id: Expr::reference(ROUTE_TABLE),
                subnet_id: Expr::reference(&subnet.logical_id),
            },
        );
        subnets.push(subnet);
    }

    template.mapping(
        S3_PREFIX_LIST_MAPPING,
        S3_PREFIX_LISTS
            .iter()
            .map(|(region, id)| ((*region).to_owned(), BTreeMap::from([(PREFIX_LIST_ID.to_owned(), (*id).to_owned())])))
            .collect(),
    );
    add_security_groups(template, stage);

    let network = Network {
        subnets,
        function_security_group: SecurityGroupRef::new(FUNCTION_SECURITY_GROUP),
        no_database_function_security_group: SecurityGroupRef::new(NO_DATABASE_FUNCTION_SECURITY_GROUP),
        database_security_group: SecurityGroupRef::new(DATABASE_SECURITY_GROUP),
        s3_gateway_endpoint: "S3GatewayEndpoint".to_owned(),
        secrets_manager_endpoint: endpoint_id(SECRETS_MANAGER_ENDPOINT.id),
        ec2_endpoint: endpoint_id(EC2_ENDPOINT.id),
    };
    template.add(
        &network.s3_gateway_endpoint,
        VpcEndpoint {
            vpc_id: vpc.clone(),
            service_name: Expr::sub("com.amazonaws.${AWS::Region}.s3"),
            vpc_endpoint_type: "Gateway",
            policy_document: s3_gateway_policy(buckets),
            private_dns_enabled: None,
            route_table_ids: vec![Expr::reference(ROUTE_TABLE)],
            subnet_ids: Vec::new(),
            security_group_ids: Vec::new(),
        },
    );
    let host_subnet = vec![Expr::reference(&network.subnets[0].logical_id)];
    for endpoint in INTERFACE_ENDPOINTS {
        let statement = match endpoint.own_resources {
            Some(resource) => {
                Statement::allow([format!("{}:*", endpoint.service)], vec![arn(endpoint.service, resource)])
                    .sid("ThisAccountsPrincipalsOnThisAccountsResources")
            }
            None => Statement::allow(["*"], vec![Expr::lit("*")]).sid("ThisAccountsPrincipals"),
        };
        template.add(
            endpoint_id(endpoint.id),
            VpcEndpoint {
                vpc_id: vpc.clone(),
                service_name: Expr::sub(format!("com.amazonaws.${{AWS::Region}}.{}", endpoint.service)),
                vpc_endpoint_type: "Interface",
                policy_document: PolicyDocument::new(vec![from_this_account(statement)]),
                private_dns_enabled: Some(true),
                route_table_ids: Vec::new(),
                subnet_ids: if endpoint.host_only { host_subnet.clone() } else { network.subnet_ids() },
                security_group_ids: vec![group_id(ENDPOINT_SECURITY_GROUP)],
            },
        );
    }
    network
}

/// An endpoint policy statement for anyone signed in as a principal of this account.
fn from_this_account(statement: Statement) -> Statement {
    statement.principal(Principal::anyone()).condition(
        "StringEquals",
        "aws:PrincipalAccount",
        Expr::reference("AWS::AccountId"),
    )
}

/// The stack's buckets, for this account's principals; reading the AWS-owned
/// buckets, for anyone: `dnf` fetches the repositories without signing its requests,
/// so a principal condition would refuse it.
fn s3_gateway_policy(buckets: &[&BucketRefs]) -> PolicyDocument {
    let own = buckets.iter().flat_map(|bucket| [bucket.arn(), bucket.objects_arn()]).collect();
    let aws_owned =
        AWS_OWNED_BUCKETS.iter().map(|name| Expr::sub(format!("arn:${{AWS::Partition}}:s3:::{name}/*"))).collect();
    PolicyDocument::new(vec![
        from_this_account(Statement::allow(["s3:*"], own).sid("ThisStacksBuckets")),
        Statement::allow(["s3:GetObject"], aws_owned)
            .sid("AmazonLinuxRepositoriesAndSystemsManagerBuckets")
            .principal(Principal::anyone()),
    ])
}

fn endpoint_id(prefix: &str) -> String {
    format!("{prefix}Endpoint")
}

fn group_id(logical_id: &str) -> Expr {
    Expr::get_att(logical_id, "GroupId")
}

/// The groups: what may leave each, and what the database and the endpoints admit.
/// Each group that sends has one inline rule (HTTPS to S3's prefix list, which also
/// replaces EC2's default allow-all egress); the rules between groups are resources
/// of their own, so groups can name each other without a cycle.
fn add_security_groups(template: &mut Template, stage: &StageConfig) {
    let vpc = Expr::reference(VPC);
    let s3 = Expr::FindInMap(
        S3_PREFIX_LIST_MAPPING.to_owned(),
        Box::new(Expr::reference("AWS::Region")),
        PREFIX_LIST_ID.to_owned(),
    );
    let group = |description: &str, egress: Rule| SecurityGroup {
        group_description: description.to_owned(),
        vpc_id: vpc.clone(),
        security_group_egress: vec![egress],
        tags: tags(stage),
    };
    let to_s3 = || Rule::https_to_prefix_list(s3.clone(), "HTTPS to S3 (the gateway endpoint)");
    template.add(FUNCTION_SECURITY_GROUP, group("Lambda functions that reach the database", to_s3()));
    template.add(
        NO_DATABASE_FUNCTION_SECURITY_GROUP,
        group("Lambda functions that reach only S3 and the endpoints", to_s3()),
    );
    template.add(DATABASE_SECURITY_GROUP, group("The MySQL host", to_s3()));
    template.add(ENDPOINT_SECURITY_GROUP, group("Interface VPC endpoints", Rule::no_egress()));

    let ingress = |id: &str, group: &str, port: i32, source: &str, description: &str| {
        (
            id.to_owned(),
            SecurityGroupIngress {
                group_id: group_id(group),
                description: description.to_owned(),
                ip_protocol: "tcp",
                from_port: port,
                to_port: port,
                source_security_group_id: group_id(source),
            },
        )
    };
    let egress = |id: &str, group: &str, port: i32, destination: &str, description: &str| {
        (
            id.to_owned(),
            SecurityGroupEgress {
                group_id: group_id(group),
                description: description.to_owned(),
                ip_protocol: "tcp",
                from_port: port,
                to_port: port,
                destination_security_group_id: group_id(destination),
            },
        )
    };
    let https = 443;
    for (id, rule) in [
        ingress(
            "DatabaseIngressFromFunctions",
            DATABASE_SECURITY_GROUP,
            MYSQL_PORT,
            FUNCTION_SECURITY_GROUP,
            "MySQL from the functions",
        ),
        ingress(
            "EndpointIngressFromFunctions",
            ENDPOINT_SECURITY_GROUP,
            https,
            FUNCTION_SECURITY_GROUP,
            "HTTPS from the functions",
        ),
        ingress(
            "EndpointIngressFromNoDatabaseFunctions",
            ENDPOINT_SECURITY_GROUP,
            https,
            NO_DATABASE_FUNCTION_SECURITY_GROUP,
            "HTTPS from the functions that do not reach the database",
        ),
        ingress(
            "EndpointIngressFromDatabase",
            ENDPOINT_SECURITY_GROUP,
            https,
            DATABASE_SECURITY_GROUP,
            "HTTPS from the MySQL host",
        ),
    ] {
        template.add(id, rule);
    }
    for (id, rule) in [
        egress(
            "FunctionEgressToDatabase",
            FUNCTION_SECURITY_GROUP,
            MYSQL_PORT,
            DATABASE_SECURITY_GROUP,
            "MySQL to the database host",
        ),
        egress(
            "FunctionEgressToEndpoints",
            FUNCTION_SECURITY_GROUP,
            https,
            ENDPOINT_SECURITY_GROUP,
            "HTTPS to the interface endpoints",
        ),
        egress(
            "NoDatabaseFunctionEgressToEndpoints",
            NO_DATABASE_FUNCTION_SECURITY_GROUP,
            https,
            ENDPOINT_SECURITY_GROUP,
            "HTTPS to the interface endpoints",
        ),
        egress(
            "DatabaseEgressToEndpoints",
            DATABASE_SECURITY_GROUP,
            https,
            ENDPOINT_SECURITY_GROUP,
            "HTTPS to the interface endpoints",
        ),
    ] {
        template.add(id, rule);
    }
}
