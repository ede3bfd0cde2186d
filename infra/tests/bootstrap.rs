//! The bootstrap template of every stage, checked on its JSON: who may assume the
//! deploy role (exact `aud` and `sub`), what it may do, that the execution role
//! creates only roles under the boundary, that every role of the stage's stack
//! carries that boundary and stays inside it; each check also on a mutated template
//! that it must reject.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod support;

use std::collections::BTreeSet;
use std::panic::AssertUnwindSafe;

use serde_json::{Value, json};
use support::{as_list, resources, templates};
use zipster_infra::StageConfig;
use zipster_infra::bootstrap::{
    self, ARTIFACT_BUCKET, BOUNDED_ROLE_ACTIONS, DEPLOY_BUCKET_ACTIONS, DEPLOY_OBJECT_ACTIONS, DEPLOY_ROLE,
    DEPLOY_STACK_ACTIONS, EXECUTION_ROLE, GITHUB_AUDIENCE, GITHUB_ISSUER, OIDC_PROVIDER, PERMISSIONS_BOUNDARY,
};

/// Every stage, its bootstrap template and its stack template, as JSON.
fn stages() -> Vec<(StageConfig, Value, Value)> {
    templates()
        .into_iter()
        .map(|(stage, stack)| {
            let bootstrap = serde_json::to_value(bootstrap::bootstrap(&stage)).unwrap();
            (stage, bootstrap, stack)
        })
        .collect()
}

fn json_of(expr: zipster_infra::model::Expr) -> Value {
    serde_json::to_value(expr).unwrap()
}

fn policy_statements(role: &Value) -> Vec<&Value> {
    as_list(&role["Properties"]["Policies"])
        .into_iter()
        .flat_map(|policy| as_list(&policy["PolicyDocument"]["Statement"]))
        .collect()
}

fn strings(value: &Value) -> BTreeSet<String> {
    as_list(value).into_iter().filter_map(Value::as_str).map(str::to_owned).collect()
}

fn the_deploy_role_trusts_only_the_stages_github_environment(stage: &StageConfig, bootstrap: &Value, _: &Value) {
    let trust = as_list(&bootstrap["Resources"][DEPLOY_ROLE]["Properties"]["AssumeRolePolicyDocument"]["Statement"]);
    assert_eq!(trust.len(), 1, "{}: one trust statement", stage.name);
    let statement = trust[0];
    assert_eq!(statement["Effect"], "Allow");
    assert_eq!(statement["Action"], json!(["sts:AssumeRoleWithWebIdentity"]));
    let provider = &statement["Principal"]["Federated"]["Fn::If"];
    assert_eq!(provider[1], json!({"Ref": OIDC_PROVIDER}), "{}: the provider made here", stage.name);
    assert_eq!(
        provider[2],
        json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:oidc-provider/{GITHUB_ISSUER}")}),
        "{}: or the account's",
        stage.name
    );
    // Exactly these two conditions, both exact (no StringLike, no wildcard).
    let expected_sub = format!("repo:{}/{}:environment:{}", stage.github.owner, stage.github.repo, stage.name);
    assert_eq!(
        statement["Condition"],
        json!({"StringEquals": {
            format!("{GITHUB_ISSUER}:aud"): GITHUB_AUDIENCE,
            format!("{GITHUB_ISSUER}:sub"): expected_sub,
        }}),
        "{}",
        stage.name
    );
    let provider = &bootstrap["Resources"][OIDC_PROVIDER];
    assert_eq!(provider["Properties"]["Url"], format!("https://{GITHUB_ISSUER}"));
    assert_eq!(provider["Properties"]["ClientIdList"], json!([GITHUB_AUDIENCE]));
    assert_eq!(provider["Condition"], "CreateGitHubOidcProvider", "{}: created only when asked", stage.name);
}

fn the_deploy_role_runs_change_sets_on_the_stage_and_publishes_artifacts_only(
    stage: &StageConfig,
    bootstrap: &Value,
    _: &Value,
) {
    let role = &bootstrap["Resources"][DEPLOY_ROLE];
    assert!(role["Properties"]["ManagedPolicyArns"].is_null(), "{}: no managed policy", stage.name);
    let stage_stack = json!({"Fn::Sub": format!(
        "arn:${{AWS::Partition}}:cloudformation:${{AWS::Region}}:${{AWS::AccountId}}:stack/zipster-{}/*",
        stage.name
    )});
    let bootstrap_stack = json!({"Fn::Sub": format!(
        "arn:${{AWS::Partition}}:cloudformation:${{AWS::Region}}:${{AWS::AccountId}}:stack/zipster-bootstrap-{}/*",
        stage.name
    )});
    let execution_role = json!({"Fn::GetAtt": [EXECUTION_ROLE, "Arn"]});
    let bucket = json!({"Fn::Sub": format!(
        "arn:${{AWS::Partition}}:s3:::zipster-{}-artifacts-${{AWS::AccountId}}-${{AWS::Region}}",
        stage.name
    )});
    let objects = json!({"Fn::Sub": format!(
        "arn:${{AWS::Partition}}:s3:::zipster-{}-artifacts-${{AWS::AccountId}}-${{AWS::Region}}/*",
        stage.name
    )});
    // Every allowed (action, resource) pair, and the conditions of the two that have them.
    let mut allowed = BTreeSet::new();
    let mut denied = BTreeSet::new();
    for statement in policy_statements(role) {
        let pairs = strings(&statement["Action"]).into_iter().flat_map(|action| {
            as_list(&statement["Resource"]).into_iter().map(move |resource| (action.clone(), resource.to_string()))
        });
        if statement["Effect"] == "Deny" {
            denied.extend(pairs);
            continue;
        }
        for (action, resource) in pairs {
            match action.as_str() {
                "iam:PassRole" => assert_eq!(
                    statement["Condition"],
                    json!({"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}),
                    "{}",
                    stage.name
                ),
                "cloudformation:CreateChangeSet" => assert_eq!(
                    statement["Condition"],
                    json!({"StringEquals": {"cloudformation:RoleArn": execution_role}}),
                    "{}: change sets only with the execution role",
                    stage.name
                ),
                _ => assert!(statement["Condition"].is_null(), "{}: {action}", stage.name),
            }
            allowed.insert((action, resource));
        }
    }
    let mut expected = BTreeSet::new();
    let mut expect = |actions: &[&str], resource: &Value| {
        expected.extend(actions.iter().map(|a| ((*a).to_owned(), resource.to_string())));
    };
    expect(&["cloudformation:CreateChangeSet"], &stage_stack);
    expect(&DEPLOY_STACK_ACTIONS, &stage_stack);
    expect(&["cloudformation:DescribeStacks"], &bootstrap_stack);
    expect(&["iam:PassRole"], &execution_role);
    expect(&DEPLOY_OBJECT_ACTIONS, &objects);
    expect(&DEPLOY_BUCKET_ACTIONS, &bucket);
    assert_eq!(allowed, expected, "{}: the deploy role's grants", stage.name);
    assert!(
        DEPLOY_STACK_ACTIONS.contains(&"cloudformation:ExecuteChangeSet")
            && DEPLOY_STACK_ACTIONS.contains(&"cloudformation:DeleteChangeSet")
            && DEPLOY_STACK_ACTIONS.contains(&"cloudformation:DescribeStackEvents")
    );
    assert!(
        denied.contains(&("secretsmanager:GetSecretValue".to_owned(), json!("*").to_string())),
        "{}: no explicit deny on reading secrets",
        stage.name
    );
}

fn the_execution_role_is_cloudformations_and_creates_roles_only_under_the_boundary(
    stage: &StageConfig,
    bootstrap: &Value,
    _: &Value,
) {
    let role = &bootstrap["Resources"][EXECUTION_ROLE];
    let trust = as_list(&role["Properties"]["AssumeRolePolicyDocument"]["Statement"]);
    assert_eq!(trust.len(), 1);
    assert_eq!(trust[0]["Principal"], json!({"Service": "cloudformation.amazonaws.com"}), "{}", stage.name);
    let boundary = json_of(bootstrap::boundary_arn(stage));
    let conditioned = BOUNDED_ROLE_ACTIONS;
    let statements = policy_statements(role);
    for statement in statements.iter().filter(|s| s["Effect"] == "Allow") {
        for action in strings(&statement["Action"]) {
            if action.starts_with("iam:") {
                assert!(!action.contains('*'), "{}: {action}", stage.name);
            }
            if conditioned.contains(&action.as_str()) {
                assert_eq!(
                    statement["Condition"],
                    json!({"StringEquals": {"iam:PermissionsBoundary": boundary}}),
                    "{}: {action} without the boundary condition",
                    stage.name
                );
            }
            if action == "iam:PassRole" {
                assert!(!statement["Condition"]["StringEquals"]["iam:PassedToService"].is_null(), "{}", stage.name);
            }
        }
    }
    let lifts_forbidden = statements.iter().any(|s| {
        s["Effect"] == "Deny"
            && strings(&s["Action"]).contains("iam:DeleteRolePermissionsBoundary")
            && as_list(&s["Resource"]) == [&json!("*")]
    });
    assert!(lifts_forbidden, "{}: a boundary could be lifted", stage.name);
    let bootstrap_roles = json!({"Fn::Sub": format!(
        "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/zipster-bootstrap-{}-*",
        stage.name
    )});
    let own_roles_protected = statements.iter().any(|s| {
        s["Effect"] == "Deny"
            && strings(&s["Action"]).contains("iam:*")
            && as_list(&s["Resource"]).contains(&&bootstrap_roles)
    });
    assert!(own_roles_protected, "{}: the execution role could change the bootstrap's roles", stage.name);
}

fn every_role_of_the_stage_carries_the_boundary_and_stays_inside_it(
    stage: &StageConfig,
    bootstrap: &Value,
    stack: &Value,
) {
    let boundary = json_of(bootstrap::boundary_arn(stage));
    let policy = &bootstrap["Resources"][PERMISSIONS_BOUNDARY];
    assert_eq!(policy["Type"], "AWS::IAM::ManagedPolicy");
    let name = policy["Properties"]["ManagedPolicyName"].as_str().unwrap();
    assert!(boundary["Fn::Sub"].as_str().unwrap().ends_with(&format!(":policy/{name}")), "{}", stage.name);
    let allowed: Vec<String> = as_list(&policy["Properties"]["PolicyDocument"]["Statement"])
        .into_iter()
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(|s| strings(&s["Action"]))
        .collect();
    assert!(allowed.iter().all(|a| !a.starts_with("iam:") && a != "*"), "{}: {allowed:?}", stage.name);
    let roles = resources(stack, "AWS::IAM::Role");
    assert!(roles.len() >= 5, "{}", stage.name);
    for (id, role) in roles {
        assert_eq!(role["Properties"]["PermissionsBoundary"], boundary, "{}: {id}", stage.name);
        for statement in policy_statements(role).into_iter().filter(|s| s["Effect"] == "Allow") {
            for action in strings(&statement["Action"]) {
                let service = action.split(':').next().unwrap_or_default();
                let inside = allowed.iter().any(|a| a == &action || *a == format!("{service}:*"));
                assert!(inside, "{}: {id} is granted {action}, which the boundary does not allow", stage.name);
            }
        }
    }
}

fn the_artifact_bucket_is_private_encrypted_versioned_and_tls_only(stage: &StageConfig, bootstrap: &Value, _: &Value) {
    let bucket = &bootstrap["Resources"][ARTIFACT_BUCKET]["Properties"];
    for setting in ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"] {
        assert_eq!(bucket["PublicAccessBlockConfiguration"][setting], true, "{}: {setting}", stage.name);
    }
    assert_eq!(
        bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"],
        "AES256"
    );
    assert_eq!(bucket["VersioningConfiguration"]["Status"], "Enabled", "{}", stage.name);
    assert_eq!(bucket["OwnershipControls"]["Rules"][0]["ObjectOwnership"], "BucketOwnerEnforced");
    let policy = &bootstrap["Resources"][format!("{ARTIFACT_BUCKET}Policy")]["Properties"];
    let tls_only = as_list(&policy["PolicyDocument"]["Statement"]).into_iter().any(|s| {
        s["Effect"] == "Deny" && s["Principal"] == "*" && s["Condition"]["Bool"]["aws:SecureTransport"] == "false"
    });
    assert!(tls_only, "{}: the artifact bucket accepts plain HTTP", stage.name);
    // The name deploy has always used, so an existing stage's bucket is the same one.
    assert_eq!(
        bucket["BucketName"],
        json!({"Fn::Sub": format!("zipster-{}-artifacts-${{AWS::AccountId}}-${{AWS::Region}}", stage.name)})
    );
}

type Check = fn(&StageConfig, &Value, &Value);

const CHECKS: [(&str, Check); 5] = [
    ("trust", the_deploy_role_trusts_only_the_stages_github_environment),
    ("deploy role", the_deploy_role_runs_change_sets_on_the_stage_and_publishes_artifacts_only),
    ("execution role", the_execution_role_is_cloudformations_and_creates_roles_only_under_the_boundary),
    ("boundary", every_role_of_the_stage_carries_the_boundary_and_stays_inside_it),
    ("bucket", the_artifact_bucket_is_private_encrypted_versioned_and_tls_only),
];

#[test]
fn every_stages_bootstrap_passes_every_check() {
    for (stage, bootstrap, stack) in stages() {
        for (_, check) in CHECKS {
            check(&stage, &bootstrap, &stack);
        }
    }
}

/// Runs `check` on dev's templates after `mutate`; true if the check fails.
fn catches(check: Check, mutate: impl FnOnce(&mut Value, &mut Value)) -> bool {
    let (stage, mut bootstrap, mut stack) = stages().into_iter().find(|(s, _, _)| s.name == "dev").unwrap();
    mutate(&mut bootstrap, &mut stack);
    std::panic::catch_unwind(AssertUnwindSafe(|| check(&stage, &bootstrap, &stack))).is_err()
}

fn deploy_statements(bootstrap: &mut Value) -> &mut Vec<Value> {
    bootstrap["Resources"][DEPLOY_ROLE]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_array_mut()
        .unwrap()
}

fn execution_statements(bootstrap: &mut Value) -> &mut Vec<Value> {
    bootstrap["Resources"][EXECUTION_ROLE]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_array_mut()
        .unwrap()
}

fn trust_condition(bootstrap: &mut Value) -> &mut Value {
    &mut bootstrap["Resources"][DEPLOY_ROLE]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
}

type Mutation = Box<dyn FnOnce(&mut Value, &mut Value)>;

#[test]
fn the_checks_reject_a_weakened_bootstrap() {
    let sub = format!("{GITHUB_ISSUER}:sub");
    let cases: Vec<(&str, Check, Mutation)> = vec![
        (
            "a sub for every branch",
            the_deploy_role_trusts_only_the_stages_github_environment,
            Box::new(move |b, _| trust_condition(b)["StringEquals"][&sub] = json!("repo:zipster-etl/zipster:*")),
        ),
        (
            "a StringLike sub",
            the_deploy_role_trusts_only_the_stages_github_environment,
            Box::new(|b, _| {
                let condition = trust_condition(b);
                let equals = condition["StringEquals"].take();
                *condition = json!({"StringLike": equals});
            }),
        ),
        (
            "no audience",
            the_deploy_role_trusts_only_the_stages_github_environment,
            Box::new(|b, _| {
                trust_condition(b)["StringEquals"].as_object_mut().unwrap().remove(&format!("{GITHUB_ISSUER}:aud"));
            }),
        ),
        (
            "prod's environment in dev's role",
            the_deploy_role_trusts_only_the_stages_github_environment,
            Box::new(|b, _| {
                trust_condition(b)["StringEquals"][format!("{GITHUB_ISSUER}:sub")] =
                    json!("repo:zipster-etl/zipster:environment:prod")
            }),
        ),
        (
            "the deploy role may delete the stack",
            the_deploy_role_runs_change_sets_on_the_stage_and_publishes_artifacts_only,
            Box::new(|b, _| {
                deploy_statements(b)[1]["Action"].as_array_mut().unwrap().push(json!("cloudformation:DeleteStack"))
            }),
        ),
        (
            "change sets on any stack",
            the_deploy_role_runs_change_sets_on_the_stage_and_publishes_artifacts_only,
            Box::new(|b, _| deploy_statements(b)[1]["Resource"] = json!(["*"])),
        ),
        (
            "change sets without the execution role",
            the_deploy_role_runs_change_sets_on_the_stage_and_publishes_artifacts_only,
            Box::new(|b, _| {
                deploy_statements(b)[0].as_object_mut().unwrap().remove("Condition").map(drop).unwrap_or(())
            }),
        ),
        (
            "passing any role",
            the_deploy_role_runs_change_sets_on_the_stage_and_publishes_artifacts_only,
            Box::new(|b, _| {
                for statement in deploy_statements(b) {
                    if statement["Action"] == json!(["iam:PassRole"]) {
                        statement["Resource"] = json!(["*"]);
                    }
                }
            }),
        ),
        (
            "reading secrets",
            the_deploy_role_runs_change_sets_on_the_stage_and_publishes_artifacts_only,
            Box::new(|b, _| deploy_statements(b).retain(|s| s["Effect"] != "Deny")),
        ),
        (
            "roles without the boundary",
            the_execution_role_is_cloudformations_and_creates_roles_only_under_the_boundary,
            Box::new(|b, _| {
                for statement in execution_statements(b) {
                    if statement["Sid"] == "RolesOnlyUnderTheBoundary" {
                        statement.as_object_mut().unwrap().remove("Condition");
                    }
                }
            }),
        ),
        (
            "iam:* for the execution role",
            the_execution_role_is_cloudformations_and_creates_roles_only_under_the_boundary,
            Box::new(|b, _| execution_statements(b)[0]["Action"].as_array_mut().unwrap().push(json!("iam:*"))),
        ),
        (
            "a boundary that can be lifted",
            the_execution_role_is_cloudformations_and_creates_roles_only_under_the_boundary,
            Box::new(|b, _| execution_statements(b).retain(|s| s["Sid"] != "NeverLiftABoundary")),
        ),
        (
            "a stage role without the boundary",
            every_role_of_the_stage_carries_the_boundary_and_stays_inside_it,
            Box::new(|_, s| {
                s["Resources"]["LoadFunctionRole"]["Properties"].as_object_mut().unwrap().remove("PermissionsBoundary");
            }),
        ),
        (
            "a stage role granted more than the boundary",
            every_role_of_the_stage_carries_the_boundary_and_stays_inside_it,
            Box::new(|_, s| {
                let statements =
                    &mut s["Resources"]["LoadFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"];
                statements
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": "*"}));
            }),
        ),
        (
            "a boundary allowing IAM",
            every_role_of_the_stage_carries_the_boundary_and_stays_inside_it,
            Box::new(|b, _| {
                let statements = &mut b["Resources"][PERMISSIONS_BOUNDARY]["Properties"]["PolicyDocument"]["Statement"];
                statements
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"Effect": "Allow", "Action": ["iam:*"], "Resource": "*"}));
            }),
        ),
        (
            "an unversioned artifact bucket",
            the_artifact_bucket_is_private_encrypted_versioned_and_tls_only,
            Box::new(|b, _| {
                b["Resources"]["ArtifactBucket"]["Properties"]["VersioningConfiguration"]["Status"] = json!("Suspended")
            }),
        ),
    ];
    let missed: Vec<&str> =
        cases.into_iter().filter_map(|(what, check, mutate)| (!catches(check, mutate)).then_some(what)).collect();
    assert!(missed.is_empty(), "not caught: {missed:?}");
}
