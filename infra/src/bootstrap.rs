//! The bootstrap stack of a stage (`cargo xtask bootstrap --stage S`), as `cdk
//! bootstrap` makes for a CDK app: what must exist before the stage's own stack can
//! be deployed, and what lets GitHub deploy it with no more rights than that.
//!
//! - the **artifact bucket** (the functions' zips, the templates), private like the
//!   stack's own buckets;
//! - the **permissions boundary**, a managed policy that every role of the stage's
//!   stack carries ([`boundary_arn`], set by [`crate::constructs::stage_role`]): it
//!   caps what those roles can ever do at the stage's own buckets, topics, queue,
//!   secrets and log groups, and the EC2/SSM calls the host and the functions make;
//! - the **execution role**, which CloudFormation assumes for every change set of the
//!   stage's stack: it may create only roles that carry the boundary, and may not
//!   touch the bootstrap's own roles, boundary or bucket;
//! - the account's **GitHub OIDC provider** (created here or reused, per
//!   `github.oidc_provider` in stages.toml) and the stage's **deploy role**, which only
//!   jobs of the stage's GitHub environment may assume, and which may only run change
//!   sets on the stage's stack with the execution role and read and write artifacts.
//!
//! One bootstrap stack per stage, not per account: its deploy role, trust and boundary
//! are the stage's, the artifact bucket was the stage's already, and a stage's
//! bootstrap can change or go without touching another stage. Only the OIDC provider
//! is per account, hence its parameter.

use crate::constructs::bucket::{AccessLogs, BucketRefs, PrivateBucket};
use crate::constructs::tags;
use crate::model::iam::{InlinePolicy, ManagedPolicy, OidcProvider, PolicyDocument, Principal, Role, Statement};
use crate::model::{Expr, Parameter, Resource, Template};
use crate::stage::{OidcProvider as OidcProviderSetting, StageConfig};

/// What the execution role may do to a role only with `iam:PermissionsBoundary` set
/// to the stage's boundary (the bootstrap tests check exactly these).
pub const BOUNDED_ROLE_ACTIONS: [&str; 6] = [
    "iam:CreateRole",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
];

/// The GitHub Actions token issuer, without its scheme: the trust condition keys' prefix.
pub const GITHUB_ISSUER: &str = "token.actions.githubusercontent.com";
/// The audience GitHub's token carries for `aws-actions/configure-aws-credentials`.
pub const GITHUB_AUDIENCE: &str = "sts.amazonaws.com";

/// The parameter that says whether this stack creates the account's OIDC provider.
pub const OIDC_PROVIDER_PARAMETER: &str = "CreateGitHubOidcProvider";
const CREATE_OIDC_PROVIDER: &str = "CreateGitHubOidcProvider";

pub const ARTIFACT_BUCKET: &str = "ArtifactBucket";
pub const PERMISSIONS_BOUNDARY: &str = "PermissionsBoundary";
pub const EXECUTION_ROLE: &str = "CloudFormationExecutionRole";
pub const OIDC_PROVIDER: &str = "GitHubOidcProvider";
pub const DEPLOY_ROLE: &str = "GitHubDeployRole";

/// The outputs the deploy engine reads (and the workflow's role variable is set from).
pub const ARTIFACT_BUCKET_OUTPUT: &str = "ArtifactBucketName";
pub const EXECUTION_ROLE_OUTPUT: &str = "ExecutionRoleArn";
pub const DEPLOY_ROLE_OUTPUT: &str = "DeployRoleArn";
pub const BOUNDARY_OUTPUT: &str = "PermissionsBoundaryArn";

/// The change-set actions the deploy role may call, on the stage's stack only
/// (and `cloudformation:CreateChangeSet`, only with the execution role).
pub const DEPLOY_STACK_ACTIONS: [&str; 6] = [
    "cloudformation:DescribeChangeSet",
    "cloudformation:ExecuteChangeSet",
    "cloudformation:DeleteChangeSet",
    "cloudformation:DescribeStacks",
    "cloudformation:DescribeStackEvents",
    // The deploy gate reads the deployed template's stateful markers (zipster_deploy::gate).
    "cloudformation:GetTemplate",
];

/// What the deploy role may do with artifacts: HEAD and GET (with checksums) and PUT.
pub const DEPLOY_OBJECT_ACTIONS: [&str; 2] = ["s3:GetObject", "s3:PutObject"];
/// HeadBucket and the region check, on the bucket itself.
pub const DEPLOY_BUCKET_ACTIONS: [&str; 2] = ["s3:ListBucket", "s3:GetBucketLocation"];

/// `zipster-bootstrap-<stage>`: outside `zipster-<stage>-*`, the names the execution
/// role may manage, so that its own roles, boundary and stack are out of its reach.
pub fn prefix(stage: &StageConfig) -> String {
    format!("zipster-bootstrap-{}", stage.name)
}

/// The bootstrap stack's name.
pub fn stack_name(stage: &StageConfig) -> String {
    prefix(stage)
}

/// The boundary's ARN, known without the bootstrap stack (it has a fixed name), so
/// the stage's template writes it into every role.
pub fn boundary_arn(stage: &StageConfig) -> Expr {
    Expr::sub(format!("arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:policy/{}-boundary", prefix(stage)))
}

/// The stage stack's ARN pattern (every stack of that name, whatever its id).
fn stage_stack_arn(stage: &StageConfig) -> Expr {
    Expr::sub(format!(
        "arn:${{AWS::Partition}}:cloudformation:${{AWS::Region}}:${{AWS::AccountId}}:stack/{}/*",
        stage.prefix()
    ))
}

/// The bootstrap stack's ARN pattern: the deploy engine reads its outputs.
fn bootstrap_stack_arn(stage: &StageConfig) -> Expr {
    Expr::sub(format!(
        "arn:${{AWS::Partition}}:cloudformation:${{AWS::Region}}:${{AWS::AccountId}}:stack/{}/*",
        stack_name(stage)
    ))
}

/// A resource ARN of the stage's, in its region and account: `arn:…:<service>:<r>:<a>:<resource>`.
fn regional(service: &str, resource: &str) -> Expr {
    crate::constructs::arn(service, resource)
}

/// The parameters a bootstrap change set passes: whether to create the OIDC provider,
/// from `github.oidc_provider` in stages.toml.
pub fn parameters(stage: &StageConfig) -> Vec<(String, String)> {
    let create = matches!(stage.github.oidc_provider, OidcProviderSetting::Create);
    vec![(OIDC_PROVIDER_PARAMETER.to_owned(), create.to_string())]
}

/// The bootstrap template of `stage`. Pure, like [`crate::stack`].
pub fn bootstrap(stage: &StageConfig) -> Template {
    let mut t = Template::new(format!(
        "Zipster ETL, bootstrap of stage {}: artifact bucket, permissions boundary, CloudFormation execution role, \
         GitHub deploy role",
        stage.name
    ));
    t.parameter(
        OIDC_PROVIDER_PARAMETER,
        Parameter {
            allowed_values: vec!["true".to_owned(), "false".to_owned()],
            ..Parameter::string(
                "true: create the account's GitHub OIDC provider; false: use the one already in the account",
            )
        },
    );
    t.conditions.insert(
        CREATE_OIDC_PROVIDER.to_owned(),
        serde_json::json!({"Fn::Equals": [{"Ref": OIDC_PROVIDER_PARAMETER}, "true"]}),
    );

    let bucket = PrivateBucket {
        // The construct names it `<id>Bucket`: ARTIFACT_BUCKET.
        id: ARTIFACT_BUCKET.trim_end_matches("Bucket"),
        purpose: "artifacts",
        holds: "It holds the functions' zips and the templates the stage's stack runs on; a rollback needs them.",
        infrequent_access_after_days: None,
        expire_after_days: None,
        notify: None,
        access_logs: AccessLogs::None {
            reason: "No logs bucket exists before it: the stage's is made by the stage's stack, which needs this \
                     bucket first. Only the deploy role writes it; CloudTrail data events, where the account \
                     enables them, record its object calls.",
        },
        extra_statements: Vec::new(),
    }
    .add(&mut t, stage);

    t.add(PERMISSIONS_BOUNDARY, boundary(stage));
    t.add(EXECUTION_ROLE, execution_role(stage, &bucket));
    t.add(
        OIDC_PROVIDER,
        Resource::from(OidcProvider {
            url: format!("https://{GITHUB_ISSUER}"),
            client_id_list: vec![GITHUB_AUDIENCE.to_owned()],
            tags: tags(stage),
        })
        .condition(CREATE_OIDC_PROVIDER),
    );
    t.add(DEPLOY_ROLE, deploy_role(stage, &bucket));

    t.output(ARTIFACT_BUCKET_OUTPUT, "The bucket of the functions' zips and the templates", bucket.name());
    t.output(
        EXECUTION_ROLE_OUTPUT,
        "The role CloudFormation assumes for the stage's change sets",
        Expr::get_att(EXECUTION_ROLE, "Arn"),
    );
    t.output(
        DEPLOY_ROLE_OUTPUT,
        "The role the stage's GitHub environment assumes (its AWS_DEPLOY_ROLE_ARN)",
        Expr::get_att(DEPLOY_ROLE, "Arn"),
    );
    t.output(
        BOUNDARY_OUTPUT,
        "The boundary every role of the stage's stack carries",
        Expr::reference(PERMISSIONS_BOUNDARY),
    );
    t
}

fn oidc_provider_arn() -> Expr {
    Expr::If(
        CREATE_OIDC_PROVIDER.to_owned(),
        Box::new(Expr::reference(OIDC_PROVIDER)),
        Box::new(Expr::sub(format!("arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:oidc-provider/{GITHUB_ISSUER}"))),
    )
}

/// What the stage's roles (functions, host, snapshots) can ever be granted: the
/// services they call, on the stage's own resources where the service names them.
/// It grants nothing by itself; a role's own policy must allow too.
fn boundary(stage: &StageConfig) -> Resource {
    let prefix = stage.prefix();
    let s3 = |suffix: &str| Expr::sub(format!("arn:${{AWS::Partition}}:s3:::{prefix}-{suffix}"));
    let statements = vec![
        Statement::allow(["s3:*"], vec![s3("*")]).sid("TheStagesBuckets"),
        Statement::allow(["sns:*"], vec![regional("sns", &format!("{prefix}-*"))]).sid("TheStagesTopics"),
        Statement::allow(["sqs:*"], vec![regional("sqs", &format!("{prefix}-*"))]).sid("TheStagesQueue"),
        Statement::allow(["secretsmanager:*"], vec![regional("secretsmanager", &format!("secret:{prefix}/*"))])
            .sid("TheStagesSecrets"),
        Statement::allow(["logs:*"], vec![regional("logs", "log-group:*")]).sid("LogGroupsOfThisRegion"),
        // The host (Session and State Manager, its volume), the functions' network
        // interfaces and the snapshot policy (AWSDataLifecycleManagerServiceRole):
        // EC2 and SSM authorize most of these only on "*".
        Statement::allow(["ec2:*", "ssm:*", "ssmmessages:*", "ec2messages:*"], vec![Expr::lit("*")])
            .sid("HostFunctionsAndSnapshots"),
    ];
    Resource::from(ManagedPolicy {
        managed_policy_name: format!("{}-boundary", self::prefix(stage)),
        description: format!("The most any role of the zipster-{} stack may do", stage.name),
        policy_document: PolicyDocument::new(statements),
    })
    .checkov_skip("CKV_AWS_108", "A permissions boundary grants nothing; it caps the stage's roles at these services.")
    .checkov_skip("CKV_AWS_109", "A permissions boundary grants nothing; it caps the stage's roles at these services.")
    .checkov_skip("CKV_AWS_110", "A permissions boundary grants nothing; it allows no IAM action at all.")
    .checkov_skip("CKV_AWS_111", "A permissions boundary grants nothing; it caps the stage's roles at these services.")
    .checkov_skip("CKV_AWS_289", "A permissions boundary grants nothing; it allows no IAM action at all.")
    .checkov_skip("CKV_AWS_290", "A permissions boundary grants nothing; it caps the stage's roles at these services.")
    .checkov_skip(
        "CKV_AWS_107",
        "A permissions boundary grants nothing; the stage's roles read only the secrets their policies name.",
    )
    .checkov_skip(
        "CKV_AWS_355",
        "EC2 and SSM authorize the host's and functions' calls only on \"*\"; a boundary grants nothing.",
    )
}

/// The services the stage's template creates resources of, which CloudFormation
/// calls with this role (on the stage's names where the service has them).
fn execution_role(stage: &StageConfig, artifacts: &BucketRefs) -> Resource {
    let prefix = stage.prefix();
    let iam = |resource: &str| Expr::sub(format!("arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:{resource}"));
    let stage_roles = iam(&format!("role/{prefix}-*"));
    let boundary = boundary_arn(stage);
    let mut role = Role::for_service(
        "cloudformation.amazonaws.com",
        format!("CloudFormation's role for the zipster-{} stack: only roles under its boundary", stage.name),
        tags(stage),
    );
    role.role_name = Some(format!("{}-cfn-exec", self::prefix(stage)));
    let statements = vec![
        Statement::allow(
            ["s3:*"],
            vec![
                Expr::sub(format!("arn:${{AWS::Partition}}:s3:::{prefix}-*")),
                Expr::sub(format!("arn:${{AWS::Partition}}:s3:::{prefix}-*/*")),
            ],
        )
        .sid("TheStagesBuckets"),
        Statement::allow(["s3:GetObject", "s3:GetObjectVersion"], vec![artifacts.objects_arn()]).sid("ReadArtifacts"),
        Statement::allow(["sns:*"], vec![regional("sns", &format!("{prefix}-*"))]).sid("TheStagesTopics"),
        Statement::allow(["sqs:*"], vec![regional("sqs", &format!("{prefix}-*"))]).sid("TheStagesQueue"),
        Statement::allow(["lambda:*"], vec![regional("lambda", &format!("function:{prefix}-*"))])
            .sid("TheStagesFunctions"),
        Statement::allow(["secretsmanager:*"], vec![regional("secretsmanager", &format!("secret:{prefix}/*"))])
            .sid("TheStagesSecrets"),
        // No names to scope by (VPC, subnets, groups, endpoints, instance, volume,
        // alarms, log groups, documents, associations, the snapshot policy), or
        // names CloudFormation generates.
        Statement::allow(
            ["ec2:*", "ssm:*", "logs:*", "cloudwatch:*", "dlm:*", "secretsmanager:GetRandomPassword"],
            vec![Expr::lit("*")],
        )
        .sid("ResourcesWithoutStageNames"),
        // Roles only with the boundary: a role the stack creates cannot exceed it,
        // and a policy cannot be put on, nor the boundary taken from, one without it.
        Statement::allow(BOUNDED_ROLE_ACTIONS, vec![stage_roles.clone()]).sid("RolesOnlyUnderTheBoundary").condition(
            "StringEquals",
            "iam:PermissionsBoundary",
            boundary.clone(),
        ),
        Statement::allow(
            [
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListRolePolicies",
                "iam:ListAttachedRolePolicies",
                "iam:ListInstanceProfilesForRole",
                "iam:DeleteRole",
                "iam:UpdateRole",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateRoleDescription",
                "iam:UpdateAssumeRolePolicy",
            ],
            vec![stage_roles.clone()],
        )
        .sid("TheStagesRoles"),
        Statement::allow(["iam:PassRole"], vec![stage_roles]).sid("PassTheStagesRolesToItsServices").condition(
            "StringEquals",
            "iam:PassedToService",
            Expr::List(vec!["lambda.amazonaws.com".into(), "ec2.amazonaws.com".into(), "dlm.amazonaws.com".into()]),
        ),
        Statement::allow(
            [
                "iam:CreateInstanceProfile",
                "iam:DeleteInstanceProfile",
                "iam:GetInstanceProfile",
                "iam:AddRoleToInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:TagInstanceProfile",
            ],
            vec![iam(&format!("instance-profile/{prefix}-*"))],
        )
        .sid("TheHostsInstanceProfile"),
        Statement::deny(["iam:DeleteRolePermissionsBoundary"], vec![Expr::lit("*")]).sid("NeverLiftABoundary"),
        Statement::deny(
            ["iam:*"],
            vec![iam(&format!("role/{}-*", self::prefix(stage))), iam(&format!("policy/{}-*", self::prefix(stage)))],
        )
        .sid("NotTheBootstrapsRolesNorBoundary"),
        Statement::deny(
            [
                "s3:DeleteBucket",
                "s3:DeleteBucketPolicy",
                "s3:PutBucketPolicy",
                "s3:PutBucketVersioning",
                "s3:PutLifecycleConfiguration",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:DeleteObjectVersion",
            ],
            vec![artifacts.arn(), artifacts.objects_arn()],
        )
        .sid("ArtifactsAreReadOnly"),
    ];
    role.policies
        .push(InlinePolicy { policy_name: "stage-stack".to_owned(), policy_document: PolicyDocument::new(statements) });
    Resource::from(role)
        .checkov_skip(
            "CKV_AWS_109",
            "CloudFormation creates the stage's roles with it; IAM is limited to roles carrying the boundary.",
        )
        .checkov_skip(
            "CKV_AWS_111",
            "It creates and updates the stage's resources; EC2, SSM, alarms and log groups have no stage names.",
        )
        .checkov_skip(
            "CKV_AWS_108",
            "It creates and configures the stage's buckets and secrets, on those names only; only \
             CloudFormation assumes it, and only the deploy role may pass it.",
        )
        .checkov_skip(
            "CKV_AWS_107",
            "ec2:* (the host has no key pair, so no password data) and secretsmanager:* on the stage's secrets, \
             which it creates; the deploy role that passes it cannot read secrets.",
        )
        .checkov_skip(
            "CKV_AWS_110",
            "It creates roles only with the boundary (iam:PermissionsBoundary) and may never remove one.",
        )
}

/// Assumable only by the stage's GitHub environment; runs change sets on the stage's
/// stack with the execution role and publishes artifacts; reads no secret.
fn deploy_role(stage: &StageConfig, artifacts: &BucketRefs) -> Resource {
    let trust = Statement::allow(["sts:AssumeRoleWithWebIdentity"], Vec::new())
        .principal(Principal::Federated(oidc_provider_arn()))
        .condition("StringEquals", &format!("{GITHUB_ISSUER}:aud"), GITHUB_AUDIENCE.into())
        .condition("StringEquals", &format!("{GITHUB_ISSUER}:sub"), stage.github.subject(&stage.name).into());
    let execution_role = Expr::get_att(EXECUTION_ROLE, "Arn");
    let statements = vec![
        Statement::allow(["cloudformation:CreateChangeSet"], vec![stage_stack_arn(stage)])
            .sid("ChangeSetsOnlyWithTheExecutionRole")
            .condition("StringEquals", "cloudformation:RoleArn", execution_role.clone()),
        Statement::allow(DEPLOY_STACK_ACTIONS, vec![stage_stack_arn(stage)]).sid("ChangeSetsOnTheStagesStack"),
        Statement::allow(["cloudformation:DescribeStacks"], vec![bootstrap_stack_arn(stage)])
            .sid("ReadTheBootstrapsOutputs"),
        Statement::allow(["iam:PassRole"], vec![execution_role]).sid("PassOnlyTheExecutionRole").condition(
            "StringEquals",
            "iam:PassedToService",
            "cloudformation.amazonaws.com".into(),
        ),
        Statement::allow(DEPLOY_OBJECT_ACTIONS, vec![artifacts.objects_arn()]).sid("ReadAndWriteArtifacts"),
        Statement::allow(DEPLOY_BUCKET_ACTIONS, vec![artifacts.arn()]).sid("FindTheArtifactBucket"),
        Statement::deny(["secretsmanager:GetSecretValue"], vec![Expr::lit("*")]).sid("NeverReadSecrets"),
    ];
    let mut role = Role {
        role_name: Some(format!("{}-github-deploy", prefix(stage))),
        assume_role_policy_document: PolicyDocument::new(vec![trust]),
        description: format!("GitHub Actions, environment {}: change sets on zipster-{}", stage.name, stage.name),
        managed_policy_arns: Vec::new(),
        permissions_boundary: None,
        policies: Vec::new(),
        tags: tags(stage),
    };
    role.policies
        .push(InlinePolicy { policy_name: "deploy".to_owned(), policy_document: PolicyDocument::new(statements) });
    Resource::from(role)
}
