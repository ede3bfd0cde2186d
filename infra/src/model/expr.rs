//! CloudFormation values: literals and intrinsic functions.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};
use serde_json::{Value, json};

/// A string-valued (or list-valued) CloudFormation expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Lit(String),
    /// `{"Ref": name}`: a parameter, a resource, or a pseudo parameter such as `AWS::Region`.
    Ref(String),
    GetAtt(String, String),
    Sub(String),
    SubWith(String, BTreeMap<String, Expr>),
    Join(String, Vec<Expr>),
    Select(u32, Box<Expr>),
    /// `{"Fn::GetAZs": ""}`: the availability zones of the stack's region.
    GetAzs,
    If(String, Box<Expr>, Box<Expr>),
    Base64(Box<Expr>),
    /// `{"Fn::FindInMap": [map, key, second key]}`.
    FindInMap(String, Box<Expr>, String),
    List(Vec<Expr>),
}

impl Expr {
    pub fn lit(s: impl Into<String>) -> Self {
        Self::Lit(s.into())
    }

    pub fn reference(logical_id: impl Into<String>) -> Self {
        Self::Ref(logical_id.into())
    }

    pub fn get_att(logical_id: impl Into<String>, attribute: impl Into<String>) -> Self {
        Self::GetAtt(logical_id.into(), attribute.into())
    }

    pub fn sub(template: impl Into<String>) -> Self {
        Self::Sub(template.into())
    }

    pub fn base64(inner: Expr) -> Self {
        Self::Base64(Box::new(inner))
    }

    /// The `index`-th availability zone of the stack's region.
    pub fn availability_zone(index: u32) -> Self {
        Self::Select(index, Box::new(Self::GetAzs))
    }

    /// `Ref AWS::NoValue`, which removes the property it is assigned to.
    pub fn no_value() -> Self {
        Self::reference("AWS::NoValue")
    }

    /// The literal text, if this is a literal.
    pub fn as_lit(&self) -> Option<&str> {
        match self {
            Self::Lit(s) => Some(s),
            _ => None,
        }
    }

    pub fn to_value(&self) -> Value {
        match self {
            Self::Lit(s) => Value::String(s.clone()),
            Self::Ref(name) => json!({ "Ref": name }),
            Self::GetAtt(id, attribute) => json!({ "Fn::GetAtt": [id, attribute] }),
            Self::Sub(template) => json!({ "Fn::Sub": template }),
            Self::SubWith(template, vars) => {
                let vars: serde_json::Map<String, Value> =
                    vars.iter().map(|(k, v)| (k.clone(), v.to_value())).collect();
                json!({ "Fn::Sub": [template, vars] })
            }
            Self::Join(delimiter, parts) => {
                json!({ "Fn::Join": [delimiter, parts.iter().map(Self::to_value).collect::<Vec<_>>()] })
            }
            Self::Select(index, list) => json!({ "Fn::Select": [index, list.to_value()] }),
            Self::GetAzs => json!({ "Fn::GetAZs": "" }),
            Self::If(condition, then, otherwise) => {
                json!({ "Fn::If": [condition, then.to_value(), otherwise.to_value()] })
            }
            Self::Base64(inner) => json!({ "Fn::Base64": inner.to_value() }),
            Self::FindInMap(map, key, second) => json!({ "Fn::FindInMap": [map, key.to_value(), second] }),
            Self::List(items) => Value::Array(items.iter().map(Self::to_value).collect()),
        }
    }
}

impl From<&str> for Expr {
    fn from(s: &str) -> Self {
        Self::Lit(s.to_owned())
    }
}

impl From<String> for Expr {
    fn from(s: String) -> Self {
        Self::Lit(s)
    }
}

impl Serialize for Expr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn intrinsics_serialize_in_cloudformation_syntax() {
        let vars = BTreeMap::from([("Name".to_owned(), Expr::reference("Bucket"))]);
        let cases = [
            (Expr::lit("x"), json!("x")),
            (Expr::reference("AWS::Region"), json!({"Ref": "AWS::Region"})),
            (Expr::get_att("Fn", "Arn"), json!({"Fn::GetAtt": ["Fn", "Arn"]})),
            (Expr::SubWith("${Name}/*".into(), vars), json!({"Fn::Sub": ["${Name}/*", {"Name": {"Ref": "Bucket"}}]})),
            (
                Expr::Join(",".into(), vec!["a".into(), Expr::reference("B")]),
                json!({"Fn::Join": [",", ["a", {"Ref": "B"}]]}),
            ),
            (Expr::availability_zone(1), json!({"Fn::Select": [1, {"Fn::GetAZs": ""}]})),
            (
                Expr::If("IsProd".into(), Box::new("a".into()), Box::new(Expr::no_value())),
                json!({"Fn::If": ["IsProd", "a", {"Ref": "AWS::NoValue"}]}),
            ),
            (Expr::base64(Expr::sub("#!/bin/sh")), json!({"Fn::Base64": {"Fn::Sub": "#!/bin/sh"}})),
            (
                Expr::FindInMap("M".into(), Box::new(Expr::reference("AWS::Region")), "Id".into()),
                json!({"Fn::FindInMap": ["M", {"Ref": "AWS::Region"}, "Id"]}),
            ),
        ];
        for (expr, expected) in cases {
            assert_eq!(serde_json::to_value(&expr).unwrap(), expected);
        }
    }
}
