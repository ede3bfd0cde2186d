//! The private network: a VPC with two private subnets and no internet route.
//! AWS APIs are reached through endpoints (an S3 gateway, which also serves the
//! Amazon Linux package repositories, and interface endpoints for SNS, Secrets
//! Manager, Session Manager and, for the host's data volume, EC2), so no NAT gateway
//! is needed.

use crate::model::ec2::{
    FlowLog, RouteTable, Rule, SecurityGroup, SecurityGroupEgress, SecurityGroupIngress, Subnet,
    SubnetRouteTableAssociation, Vpc, VpcEndpoint,
};
use crate::model::lambda::VpcConfig;
use crate::model::{Expr, Resource, Template};
use crate::stage::StageConfig;

use super::bucket::BucketRefs;
use super::tags;

/// The interface endpoints the host's boot script needs: `(logical ID prefix, service)`.
const SECRETS_MANAGER_ENDPOINT: (&str, &str) = ("SecretsManager", "secretsmanager");
/// The EC2 API, for the host attaching its data volume at boot. Only the host calls
/// it, so its network interface is in the host's subnet only (half the cost).
const EC2_ENDPOINT: (&str, &str) = ("Ec2", "ec2");
/// The other interface endpoints.
const INTERFACE_ENDPOINTS: [(&str, &str); 4] =
    [("Sns", "sns"), ("Ssm", "ssm"), ("SsmMessages", "ssmmessages"), ("Ec2Messages", "ec2messages")];

const VPC: &str = "Vpc";
const ROUTE_TABLE: &str = "PrivateRouteTable";
const SUBNETS: [&str; 2] = ["PrivateSubnetA", "PrivateSubnetB"];
const FUNCTION_SECURITY_GROUP: &str = "FunctionSecurityGroup";
const DATABASE_SECURITY_GROUP: &str = "DatabaseSecurityGroup";
const ENDPOINT_SECURITY_GROUP: &str = "EndpointSecurityGroup";
pub const MYSQL_PORT: i32 = 3306;

/// Egress on 443 "anywhere" can only reach the endpoints: the route table has no
/// internet or NAT route.
const HTTPS_EGRESS: &str = "HTTPS to the VPC endpoints and S3 (the VPC has no internet route)";

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

/// What the network offers the resources inside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    pub subnets: Vec<SubnetRef>,
    /// The functions' group: admitted by the database and the endpoints.
    pub function_security_group: SecurityGroupRef,
    /// The database host's group: admits MySQL from the functions only.
    pub database_security_group: SecurityGroupRef,
    /// S3, and through it the Amazon Linux package repositories.
    pub s3_gateway_endpoint: String,
    pub secrets_manager_endpoint: String,
    /// In the first subnet only: the host's.
    pub ec2_endpoint: String,
}

impl Network {
    pub fn subnet_ids(&self) -> Vec<Expr> {
        self.subnets.iter().map(|subnet| Expr::reference(&subnet.logical_id)).collect()
    }

    /// Where a function that reaches the database runs: every subnet, the functions' group.
    pub fn function_vpc_config(&self) -> VpcConfig {
        VpcConfig { security_group_ids: vec![self.function_security_group.group_id()], subnet_ids: self.subnet_ids() }
    }
}

/// Adds the network; the `logs` bucket receives the VPC flow logs.
pub fn add(template: &mut Template, stage: &StageConfig, logs: &BucketRefs) -> Network {
    let vpc = Expr::reference(VPC);
    template.add(
        VPC,
        Resource::from(Vpc {
            cidr_block: stage.vpc_cidr.clone(),
            // Interface endpoints with private DNS need both.
            enable_dns_hostnames: true,
            enable_dns_support: true,
            tags: tags(stage),
        })
        .checkov_skip("CKV2_AWS_12", "CloudFormation cannot manage the default security group; nothing uses it."),
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

    add_security_groups(template, stage);

    let network = Network {
        subnets,
        function_security_group: SecurityGroupRef::new(FUNCTION_SECURITY_GROUP),
        database_security_group: SecurityGroupRef::new(DATABASE_SECURITY_GROUP),
        s3_gateway_endpoint: "S3GatewayEndpoint".to_owned(),
        secrets_manager_endpoint: endpoint_id(SECRETS_MANAGER_ENDPOINT.0),
        ec2_endpoint: endpoint_id(EC2_ENDPOINT.0),
    };
    template.add(
        &network.s3_gateway_endpoint,
        VpcEndpoint {
            vpc_id: vpc.clone(),
            service_name: Expr::sub("com.amazonaws.${AWS::Region}.s3"),
            vpc_endpoint_type: "Gateway",
            private_dns_enabled: None,
            route_table_ids: vec![Expr::reference(ROUTE_TABLE)],
            subnet_ids: Vec::new(),
            security_group_ids: Vec::new(),
        },
    );
    let host_subnet = vec![Expr::reference(&network.subnets[0].logical_id)];
    for (id, service) in [SECRETS_MANAGER_ENDPOINT, EC2_ENDPOINT].into_iter().chain(INTERFACE_ENDPOINTS) {
        let subnet_ids = if id == EC2_ENDPOINT.0 { host_subnet.clone() } else { network.subnet_ids() };
        template.add(
            endpoint_id(id),
            VpcEndpoint {
                vpc_id: vpc.clone(),
                service_name: Expr::sub(format!("com.amazonaws.${{AWS::Region}}.{service}")),
                vpc_endpoint_type: "Interface",
                private_dns_enabled: Some(true),
                route_table_ids: Vec::new(),
                subnet_ids,
                security_group_ids: vec![group_id(ENDPOINT_SECURITY_GROUP)],
            },
        );
    }
    network
}

fn endpoint_id(prefix: &str) -> String {
    format!("{prefix}Endpoint")
}

fn group_id(logical_id: &str) -> Expr {
    Expr::get_att(logical_id, "GroupId")
}

fn add_security_groups(template: &mut Template, stage: &StageConfig) {
    let vpc = Expr::reference(VPC);
    let group = |description: &str, egress: Rule| SecurityGroup {
        group_description: description.to_owned(),
        vpc_id: vpc.clone(),
        security_group_egress: vec![egress],
        tags: tags(stage),
    };
    template
        .add(FUNCTION_SECURITY_GROUP, group("Lambda functions in the VPC", Rule::https_to("0.0.0.0/0", HTTPS_EGRESS)));
    template.add(DATABASE_SECURITY_GROUP, group("The MySQL host", Rule::https_to("0.0.0.0/0", HTTPS_EGRESS)));
    template.add(ENDPOINT_SECURITY_GROUP, group("Interface VPC endpoints", Rule::no_egress()));

    let ingress = |group: &str, port: i32, source: &str, description: &str| SecurityGroupIngress {
        group_id: group_id(group),
        description: description.to_owned(),
        ip_protocol: "tcp",
        from_port: port,
        to_port: port,
        source_security_group_id: group_id(source),
    };
    template.add(
        "DatabaseIngressFromFunctions",
        ingress(DATABASE_SECURITY_GROUP, MYSQL_PORT, FUNCTION_SECURITY_GROUP, "MySQL from the functions"),
    );
    template.add(
        "EndpointIngressFromFunctions",
        ingress(ENDPOINT_SECURITY_GROUP, 443, FUNCTION_SECURITY_GROUP, "HTTPS from the functions"),
    );
    template.add(
        "EndpointIngressFromDatabase",
        ingress(ENDPOINT_SECURITY_GROUP, 443, DATABASE_SECURITY_GROUP, "HTTPS from the MySQL host"),
    );
    template.add(
        "FunctionEgressToDatabase",
        SecurityGroupEgress {
            group_id: group_id(FUNCTION_SECURITY_GROUP),
            description: "MySQL to the database host".to_owned(),
            ip_protocol: "tcp",
            from_port: MYSQL_PORT,
            to_port: MYSQL_PORT,
            destination_security_group_id: group_id(DATABASE_SECURITY_GROUP),
        },
    );
}
