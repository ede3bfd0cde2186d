use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::{Expr, Resource};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Template {
    #[serde(rename = "AWSTemplateFormatVersion")]
    pub format_version: &'static str,
    pub description: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, Parameter>,
    /// Map name → top-level key → second-level key → value, read with `Fn::FindInMap`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub mappings: BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub conditions: BTreeMap<String, Value>,
    pub resources: BTreeMap<String, Resource>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, Output>,
}

impl Template {
    pub fn new(description: impl Into<String>) -> Self {
        Self {
            format_version: "2010-09-09",
            description: description.into(),
            parameters: BTreeMap::new(),
            mappings: BTreeMap::new(),
            conditions: BTreeMap::new(),
            resources: BTreeMap::new(),
            outputs: BTreeMap::new(),
        }
    }

    /// Adds a resource; a duplicate logical ID is a bug in the stack code, so it panics
    /// rather than silently replacing the first resource.
    pub fn add(&mut self, logical_id: impl Into<String>, resource: impl Into<Resource>) {
        let logical_id = logical_id.into();
        let previous = self.resources.insert(logical_id.clone(), resource.into());
        assert!(previous.is_none(), "duplicate logical ID {logical_id}");
    }

    pub fn parameter(&mut self, name: impl Into<String>, parameter: Parameter) {
        self.parameters.insert(name.into(), parameter);
    }

    /// Adds a mapping; a second mapping of the same name is a bug in the stack code.
    pub fn mapping(&mut self, name: impl Into<String>, entries: BTreeMap<String, BTreeMap<String, String>>) {
        let name = name.into();
        let previous = self.mappings.insert(name.clone(), entries);
        assert!(previous.is_none(), "duplicate mapping {name}");
    }

    pub fn output(&mut self, name: impl Into<String>, description: impl Into<String>, value: Expr) {
        self.outputs.insert(name.into(), Output { description: description.into(), value });
    }

    /// Pretty JSON with a trailing newline: the committed form.
    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self).unwrap_or_default();
        json.push('\n');
        json
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parameter {
    #[serde(rename = "Type")]
    pub type_name: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_values: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_pattern: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraint_description: Option<String>,
}

impl Parameter {
    pub fn string(description: impl Into<String>) -> Self {
        Self {
            type_name: "String".to_owned(),
            description: description.into(),
            default: None,
            allowed_values: Vec::new(),
            allowed_pattern: None,
            constraint_description: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    pub description: String,
    pub value: Expr,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

impl Tag {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self { key: key.into(), value: value.into() }
    }
}
