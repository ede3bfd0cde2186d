//! A focused, typed model of the CloudFormation we emit: the template, its
//! parameters and outputs, and the ~30 resource types the stack uses.
//!
//! Every struct serializes with CloudFormation's own property names in a fixed
//! field order, and every map is a `BTreeMap`, so the same input always gives
//! byte-identical JSON.

mod expr;
pub mod iam;
mod resource;
mod template;

pub mod cloudwatch;
pub mod dlm;
pub mod ec2;
pub mod lambda;
pub mod logs;
pub mod s3;
pub mod secretsmanager;
pub mod sns;
pub mod sqs;
pub mod ssm;

pub use expr::Expr;
pub use resource::{Properties, RemovalPolicy, Resource, STATEFUL_METADATA};
pub use template::{Output, Parameter, Tag, Template};
