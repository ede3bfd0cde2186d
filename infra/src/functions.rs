//! The stack's functions, written once: the stack, the stage validation, the
//! build and the local stage all read [`FUNCTIONS`].

use crate::constructs::physical_name;
use crate::stage::{FunctionSettings, StageConfig};

/// The template parameter naming the bucket that holds the functions' zips.
pub const ARTIFACT_BUCKET: &str = "ArtifactBucket";

/// What every function runs on: the template's `Architectures`, and what the build
/// compiles the bootstraps for.
pub const LAMBDA_ARCHITECTURE: &str = "arm64";

/// What starts a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// An object created in the input bucket (S3 → the transform-trigger topic → the function).
    InputCreated,
    /// An object created in the staging bucket (S3 → the load-trigger topic → the function).
    StagingCreated,
    /// Only invoked directly (`seed-db` invokes the migrate function).
    Invoked,
}

/// The names a function's logical ID prefix gives it in the template, spelled out
/// at compile time so they can be `&'static str` and [`CODE_KEY_PARAMETERS`] a constant.
#[derive(Debug, Clone, Copy)]
struct Names {
    function: &'static str,
    code_key_parameter: &'static str,
    name_output: &'static str,
}

/// One function of the stack, and how the template and the workspace name it.
#[derive(Debug, Clone, Copy)]
pub struct FunctionDef {
    /// `zipster-<stage>-<name>`; also its settings table in stages.toml (`[<stage>.<name>]`).
    pub name: &'static str,
    /// The workspace package that builds it: `zipster-<name>`.
    pub package: &'static str,
    /// The package's binary, the function's `bootstrap`: `<name>`.
    pub binary: &'static str,
    pub description: &'static str,
    pub trigger: Trigger,
    /// Has the database's host, name and secret, and runs in the security group the
    /// database admits (every function runs in the VPC; the others in a group that
    /// reaches only S3 and the endpoints).
    pub reaches_database: bool,
    names: Names,
    settings: fn(&StageConfig) -> FunctionSettings,
}

/// A [`FunctionDef`] whose every name derives from `id` (the logical ID prefix) and
/// `name` (the physical name, package, binary and stages.toml table).
macro_rules! function {
    (id: $id:ident, name: $name:ident, trigger: $trigger:ident, reaches_database: $database:literal,
     description: $description:literal $(,)?) => {
        FunctionDef {
            name: stringify!($name),
            package: concat!("zipster-", stringify!($name)),
            binary: stringify!($name),
            description: $description,
            trigger: Trigger::$trigger,
            reaches_database: $database,
            names: Names {
                function: concat!(stringify!($id), "Function"),
                code_key_parameter: concat!(stringify!($id), "CodeKey"),
                name_output: concat!(stringify!($id), "FunctionName"),
            },
            settings: |stage| stage.$name,
        }
    };
}

pub const TRANSFORM: FunctionDef = function! {
    id: Transform, name: transform, trigger: InputCreated, reaches_database: false,
    description: "Validates and normalizes an input CSV into staging, rejects and a summary into errors",
};

pub const LOAD: FunctionDef = function! {
    id: Load, name: load, trigger: StagingCreated, reaches_database: true,
    description: "Upserts a staged CSV into MySQL in one transaction",
};

pub const MIGRATE: FunctionDef = function! {
    id: Migrate, name: migrate, trigger: Invoked, reaches_database: true,
    description: "Applies the database migrations (invoked by seed-db)",
};

/// Every function of the stack.
pub const FUNCTIONS: [FunctionDef; 3] = [TRANSFORM, LOAD, MIGRATE];

/// The template parameters taking each function's code key (`<sha256>.zip`), in [`FUNCTIONS`] order.
pub const CODE_KEY_PARAMETERS: [&str; 3] =
    [TRANSFORM.code_key_parameter(), LOAD.code_key_parameter(), MIGRATE.code_key_parameter()];

impl FunctionDef {
    /// The function's logical ID: `TransformFunction`; its companions' IDs start with it.
    pub const fn logical_id(&self) -> &'static str {
        self.names.function
    }

    /// The template parameter taking its code's S3 key: `TransformCodeKey`.
    pub const fn code_key_parameter(&self) -> &'static str {
        self.names.code_key_parameter
    }

    /// The stack output holding its physical name: `TransformFunctionName`.
    pub const fn name_output(&self) -> &'static str {
        self.names.name_output
    }

    /// Its physical name in `stage`: `zipster-<stage>-<name>`.
    pub fn physical_name(&self, stage: &StageConfig) -> String {
        physical_name(stage, self.name)
    }

    /// Its memory, timeout and `/tmp` in `stage`.
    pub fn settings(&self, stage: &StageConfig) -> FunctionSettings {
        (self.settings)(stage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_names_follow_the_logical_id_prefix() {
        assert_eq!(TRANSFORM.logical_id(), "TransformFunction");
        assert_eq!(LOAD.code_key_parameter(), "LoadCodeKey");
        assert_eq!(MIGRATE.name_output(), "MigrateFunctionName");
        assert_eq!(CODE_KEY_PARAMETERS, ["TransformCodeKey", "LoadCodeKey", "MigrateCodeKey"]);
        assert_eq!((LOAD.package, LOAD.binary), ("zipster-load", "load"));
        for function in FUNCTIONS {
            assert!(function.logical_id().eq_ignore_ascii_case(&format!("{}Function", function.name)));
        }
    }
}
