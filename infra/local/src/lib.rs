//! The local stage: a stage's real template on moto, its real bootstrap binaries
//! behind a local Lambda Runtime API, a local MySQL for the database host. moto
//! stands in for S3, SNS, SQS and CloudFormation; [`service`] and [`runtime_api`]
//! for the part of Lambda that moto cannot run without Docker; [`pipeline`] follows
//! a file from its upload to the rows in the database.
//!
//! moto and a throwaway MariaDB (when one had to be started) outlive a command,
//! recorded in `target/local/state.json`, so that the next command reuses them and
//! `local down` stops them. The Lambda service runs inside each command instead:
//! events wait in the trigger queues between commands, and the functions' logs go
//! to the terminal of the command that caused them, with no daemon left behind.

pub mod bench;
pub mod cloudwatch;
pub mod commands;
pub mod deploy;
pub mod function;
pub mod pipeline;
pub mod plumbing;
pub mod runtime_api;
pub mod service;
pub mod stack;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use zipster_infra::{FUNCTIONS, FunctionDef, Trigger};

/// Where cargo puts the host-built bootstraps.
pub fn target_debug() -> PathBuf {
    zipster_tools::target_dir().join("debug")
}

/// The functions the local stage runs, built for this machine: those an S3 event
/// triggers (`seed-db` does the migrate function's work directly).
pub fn triggered_functions() -> impl Iterator<Item = &'static FunctionDef> {
    FUNCTIONS.iter().filter(|f| f.trigger != Trigger::Invoked)
}

pub fn build_bootstraps(root: &Path) -> Result<PathBuf> {
    let mut command = std::process::Command::new(zipster_tools::cargo());
    command.arg("build").arg("--quiet").current_dir(root);
    // Every function, the migrate one included: `status` and `near --stage local` ask it.
    for function in FUNCTIONS {
        command.args(["--package", function.package]);
    }
    let status = command.status().context("running cargo build for the functions")?;
    if !status.success() {
        bail!("building the functions failed");
    }
    Ok(target_debug())
}
