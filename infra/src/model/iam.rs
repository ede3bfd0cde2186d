//! IAM policy documents, roles and instance profiles.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Expr, Tag};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    pub version: &'static str,
    pub statement: Vec<Statement>,
}

impl PolicyDocument {
    pub fn new(statement: Vec<Statement>) -> Self {
        Self { version: "2012-10-17", statement }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    Allow,
    Deny,
}

/// `{"Service": ...}`, `{"AWS": <role ARN>}`, `{"Federated": <OIDC provider ARN>}`, or
/// `"*"` (only for deny statements and service-principal conditions such as TLS-only
/// bucket policies).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Principal {
    Service(String),
    #[serde(rename = "AWS")]
    Aws(Expr),
    Federated(Expr),
    #[serde(untagged)]
    Anyone(&'static str),
}

impl Principal {
    pub fn service(name: impl Into<String>) -> Self {
        Self::Service(name.into())
    }

    /// An IAM principal of this account, e.g. a role's `Fn::GetAtt [Role, Arn]`.
    pub fn aws(arn: Expr) -> Self {
        Self::Aws(arn)
    }

    pub fn anyone() -> Self {
        Self::Anyone("*")
    }
}

/// Condition operator → condition key → value(s).
pub type Condition = BTreeMap<String, BTreeMap<String, Expr>>;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub effect: Effect,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    pub action: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource: Vec<Expr>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub condition: Condition,
}

impl Statement {
    pub fn allow<A: Into<String>>(actions: impl IntoIterator<Item = A>, resources: Vec<Expr>) -> Self {
        Self {
            sid: None,
            effect: Effect::Allow,
            principal: None,
            action: actions.into_iter().map(Into::into).collect(),
            resource: resources,
            condition: Condition::new(),
        }
    }

    pub fn deny<A: Into<String>>(actions: impl IntoIterator<Item = A>, resources: Vec<Expr>) -> Self {
        Self { effect: Effect::Deny, ..Self::allow(actions, resources) }
    }

    pub fn sid(mut self, sid: impl Into<String>) -> Self {
        self.sid = Some(sid.into());
        self
    }

    pub fn principal(mut self, principal: Principal) -> Self {
        self.principal = Some(principal);
        self
    }

    pub fn condition(mut self, operator: &str, key: &str, value: Expr) -> Self {
        self.condition.entry(operator.to_owned()).or_default().insert(key.to_owned(), value);
        self
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InlinePolicy {
    pub policy_name: String,
    pub policy_document: PolicyDocument,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Role {
    /// `None`: CloudFormation names it `<stack>-<logical id>-<suffix>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_name: Option<String>,
    pub assume_role_policy_document: PolicyDocument,
    pub description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub managed_policy_arns: Vec<Expr>,
    /// The managed policy that caps whatever the role's policies grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<Expr>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<InlinePolicy>,
    pub tags: Vec<Tag>,
}

impl Role {
    /// A role that only `service` (e.g. `lambda.amazonaws.com`) can assume.
    pub fn for_service(service: &str, description: impl Into<String>, tags: Vec<Tag>) -> Self {
        let trust = Statement::allow(["sts:AssumeRole"], Vec::new()).principal(Principal::service(service));
        Self {
            role_name: None,
            assume_role_policy_document: PolicyDocument::new(vec![trust]),
            description: description.into(),
            managed_policy_arns: Vec::new(),
            permissions_boundary: None,
            policies: Vec::new(),
            tags,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceProfile {
    pub roles: Vec<Expr>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManagedPolicy {
    pub managed_policy_name: String,
    pub description: String,
    pub policy_document: PolicyDocument,
}

/// `AWS::IAM::OIDCProvider`: an identity provider whose tokens roles may trust.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OidcProvider {
    pub url: String,
    pub client_id_list: Vec<String>,
    pub tags: Vec<Tag>,
}
