//! The private network: a VPC with two private subnets and no internet route.
//! AWS APIs are reached through endpoints (an S3 gateway, which also serves the
//! Amazon Linux package repositories, and interface endpoints for SNS, Secrets
//! Manager and Session Manager), so no NAT gateway is needed.

use crate::model::ec2::{
    FlowLog, RouteTable, Rule, SecurityGroup, SecurityGroupEgress, SecurityGroupIngress, Subnet,
    SubnetRouteTableAssociation, Vpc, VpcEndpoint,
};
use crate::model::{Expr, Resource, Template};
use crate::stage::StageConfig;

use super::tags;

/// The interface endpoints: `(logical ID prefix, service)`.
const INTERFACE_ENDPOINTS: [(&str, &str); 5] = [
    ("Sns", "sns"),
    ("SecretsManager", "secretsmanager"),
    ("Ssm", "ssm"),
    ("SsmMessages", "ssmmessages"),
    ("Ec2Messages", "ec2messages"),
];

pub const SUBNETS: [&str; 2] = ["PrivateSubnetA", "PrivateSubnetB"];
pub const FUNCTION_SECURITY_GROUP: &str = "FunctionSecurityGroup";
pub const DATABASE_SECURITY_GROUP: &str = "DatabaseSecurityGroup";
const ENDPOINT_SECURITY_GROUP: &str = "EndpointSecurityGroup";
pub const MYSQL_PORT: i32 = 3306;

/// Egress on 443 "anywhere" can only reach the endpoints: the route table has no
/// internet or NAT route.
const HTTPS_EGRESS: &str = "HTTPS to the VPC endpoints and S3 (the VPC has no internet route)";

/// Adds the network; `logs_bucket` receives the VPC flow logs.
pub fn add(template: &mut Template, stage: &StageConfig, logs_bucket: &str, logs_bucket_policy: &str) {
    let vpc = Expr::reference("Vpc");
    template.add(
        "Vpc",
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
            log_destination: Expr::get_att(logs_bucket, "Arn"),
            tags: tags(stage),
        })
        .depends_on(logs_bucket_policy),
    );
    template.add("PrivateRouteTable", RouteTable { vpc_id: vpc.clone(), tags: tags(stage) });
    for (index, subnet) in (0u8..).zip(SUBNETS) {
        template.add(
            subnet,
            Subnet {
                vpc_id: vpc.clone(),
                cidr_block: stage.subnet_cidr(index),
                availability_zone: Expr::availability_zone(u32::from(index)),
                map_public_ip_on_launch: false,
                tags: tags(stage),
            },
        );
        template.add(
            format!("{subnet}RouteTableAssociation"),
            SubnetRouteTableAssociation {
                route_table_id: Expr::reference("PrivateRouteTable"),
                subnet_id: Expr::reference(subnet),
            },
        );
    }

    add_security_groups(template, stage);

    template.add(
        "S3GatewayEndpoint",
        VpcEndpoint {
            vpc_id: vpc.clone(),
            service_name: Expr::sub("com.amazonaws.${AWS::Region}.s3"),
            vpc_endpoint_type: "Gateway",
            private_dns_enabled: None,
            route_table_ids: vec![Expr::reference("PrivateRouteTable")],
            subnet_ids: Vec::new(),
            security_group_ids: Vec::new(),
        },
    );
    for (id, service) in INTERFACE_ENDPOINTS {
        template.add(
            format!("{id}Endpoint"),
            VpcEndpoint {
                vpc_id: vpc.clone(),
                service_name: Expr::sub(format!("com.amazonaws.${{AWS::Region}}.{service}")),
                vpc_endpoint_type: "Interface",
                private_dns_enabled: Some(true),
                route_table_ids: Vec::new(),
                subnet_ids: subnet_ids(),
                security_group_ids: vec![group_id(ENDPOINT_SECURITY_GROUP)],
            },
        );
    }
}

pub fn subnet_ids() -> Vec<Expr> {
    SUBNETS.iter().map(|s| Expr::reference(*s)).collect()
}

pub fn group_id(logical_id: &str) -> Expr {
    Expr::get_att(logical_id, "GroupId")
}

fn add_security_groups(template: &mut Template, stage: &StageConfig) {
    let vpc = Expr::reference("Vpc");
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
