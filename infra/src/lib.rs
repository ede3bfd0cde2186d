//! Zipster's AWS infrastructure as typed Rust, synthesized to CloudFormation.
//!
//! [`model`] is a typed subset of CloudFormation, [`constructs`] are CDK-style
//! building blocks with safe defaults, [`FUNCTIONS`] is the one table of the
//! stack's functions, and [`stack()`] assembles a stage's stack from its
//! [`StageConfig`]. Everything here is pure: no I/O, clock or randomness, so a
//! template is a function of `infra/stages.toml` and the code.

pub mod bootstrap;
pub mod constructs;
pub mod functions;
pub mod model;
mod stack;
mod stage;
pub mod synth;
pub mod template_diff;

pub use bootstrap::bootstrap;
pub use functions::{ARTIFACT_BUCKET, CODE_KEY_PARAMETERS, FUNCTIONS, FunctionDef, LAMBDA_ARCHITECTURE, Trigger};
pub use stack::stack;
pub use stage::{
    AL2023_ARM64_PARAMETER, Alarms, FeedSettings, FunctionSettings, GitHub, HostImage, Notifications, OidcProvider,
    StageConfig, StageError,
};
