//! Secrets Manager secrets whose value AWS generates (never written in the template).

use serde::Serialize;

use super::Tag;

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
