//! Walking a synthesized template as JSON: the tests check what CloudFormation
//! will receive, including anything added through the raw-JSON escape hatch.

#![allow(dead_code, clippy::unwrap_used)]

use serde_json::Value;
use zipster_infra::{StageConfig, stack};

pub const STAGES: &str = include_str!("../../stages.toml");

/// Every stage with its synthesized template as JSON.
pub fn templates() -> Vec<(StageConfig, Value)> {
    StageConfig::from_toml(STAGES)
        .expect("stages.toml is valid")
        .into_iter()
        .map(|stage| {
            let json = serde_json::to_value(stack(&stage)).expect("a template serializes");
            (stage, json)
        })
        .collect()
}

/// `(logical ID, resource)` of every resource of `resource_type`.
pub fn resources<'a>(template: &'a Value, resource_type: &str) -> Vec<(&'a str, &'a Value)> {
    let resources = template["Resources"].as_object().expect("Resources is an object");
    let of_type = resources.iter().filter(|(_, r)| r["Type"] == resource_type);
    of_type.map(|(id, r)| (id.as_str(), r)).collect()
}

/// Every value in `value`, depth first, with the key it is stored under (if any).
pub fn walk<'a>(value: &'a Value, key: Option<&'a str>, visit: &mut dyn FnMut(Option<&'a str>, &'a Value)) {
    visit(key, value);
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| walk(v, Some(k), visit)),
        Value::Array(items) => items.iter().for_each(|v| walk(v, key, visit)),
        _ => {}
    }
}

/// Every IAM statement anywhere in the template (role, bucket, topic and queue policies).
pub fn statements(template: &Value) -> Vec<&Value> {
    let mut found = Vec::new();
    walk(template, None, &mut |key, value| {
        if key == Some("Statement") && value.is_object() {
            found.push(value);
        }
    });
    found
}

/// A statement's `Action` or `Resource` as a list, whether written as one value or an array.
pub fn as_list(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// The logical ID a `{"Ref": id}` or `{"Fn::GetAtt": [id, _]}` points at.
pub fn target(value: &Value) -> Option<&str> {
    value["Ref"].as_str().or_else(|| value["Fn::GetAtt"][0].as_str())
}

/// Logical IDs (and parameters) a resource refers to: `Ref`, `Fn::GetAtt`,
/// `${X}`/`${X.Attr}` inside `Fn::Sub`, and `DependsOn`.
pub fn references(resource: &Value) -> Vec<String> {
    let mut found = Vec::new();
    walk(resource, None, &mut |key, value| match (key, value) {
        (Some("Ref"), Value::String(id)) => found.push(id.clone()),
        (Some("Fn::GetAtt"), Value::Array(parts)) => {
            found.extend(parts.first().and_then(Value::as_str).map(str::to_owned))
        }
        (Some("Fn::Sub"), sub) => {
            let text = sub.as_str().or_else(|| sub[0].as_str()).unwrap_or_default();
            for piece in text.split("${").skip(1) {
                let name = piece.split('}').next().unwrap_or_default();
                found.push(name.split('.').next().unwrap_or_default().to_owned());
            }
        }
        (Some("DependsOn"), ids) => found.extend(as_list(ids).into_iter().filter_map(Value::as_str).map(str::to_owned)),
        _ => {}
    });
    found.retain(|id| !id.starts_with("AWS::") && !id.starts_with('!'));
    found
}

/// The host's user data as the instance receives it (before base64): the literal
/// parts and the `Fn::Sub` texts of its `Fn::Join`, in order.
pub fn user_data(template: &Value) -> String {
    let user_data = &template["Resources"]["DatabaseHost"]["Properties"]["UserData"]["Fn::Base64"];
    let parts = user_data["Fn::Join"][1].as_array().expect("the user data is an Fn::Join");
    parts.iter().map(|part| part.as_str().or_else(|| part["Fn::Sub"].as_str()).expect("a text part")).collect()
}

/// The user data's `Fn::Sub` part (the boot script after the disk script's install).
pub fn boot_script_mut(template: &mut Value) -> &mut Value {
    let parts = &mut template["Resources"]["DatabaseHost"]["Properties"]["UserData"]["Fn::Base64"]["Fn::Join"][1];
    parts.as_array_mut().unwrap().iter_mut().find(|p| p.get("Fn::Sub").is_some()).unwrap().get_mut("Fn::Sub").unwrap()
}
