//! Secrets Manager secrets whose value AWS generates (never written in the template).

use serde::Serialize;

use super::iam::PolicyDocument;
use super::{Expr, Tag};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Secret {
    pub name: String,
    pub description: String,
    pub generate_secret_string: GenerateSecretString,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateSecretString {
    pub secret_string_template: String,
    pub generate_string_key: String,
    pub password_length: u32,
    pub exclude_punctuation: bool,
}

/// `AWS::SecretsManager::ResourcePolicy`: who may do what with one secret, beside IAM.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretPolicy {
    pub secret_id: Expr,
    pub resource_policy: PolicyDocument,
    /// Refuses a policy that would open the secret to other accounts.
    pub block_public_policy: bool,
}
