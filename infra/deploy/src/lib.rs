//! The deploy engine: what takes a stage from the synthesized template to a running
//! stack and back. `bootstrap` (what a stage's stack needs first: the artifact bucket,
//! the execution role CloudFormation runs its change sets with, the GitHub deploy
//! role), `build` (the functions, cross-compiled, packaged as reproducible zips),
//! `deploy` (content-addressed artifacts, a change set shown and confirmed, its
//! events followed, the outputs recorded), `diff`, `destroy` and `seed-db --stage`.
//!
//! Each command is an async function over [`StageClients`] and a [`Ui`] that returns
//! a report, so the moto tests drive the same code as the CLI and assert on the
//! report; the `zipster-ops` binary parses arguments and prints. Nothing here knows
//! about moto: the endpoint comes from aws-config's usual chain (`AWS_ENDPOINT_URL`
//! included), or from [`StageClients::local`] for the local stage.

pub mod artifacts;
pub mod bootstrap;
pub mod build;
pub mod changeset;
mod clients;
pub mod deploy;
pub mod destroy;
pub mod ec2;
pub mod error;
pub mod events;
pub mod gate;
pub mod query;
pub mod seed;
pub mod ui;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use zipster_infra::StageConfig;

pub use clients::{LOCAL_ACCOUNT, LOCAL_REGION, StageClients};
pub use ui::Ui;

/// The stage's settings from `infra/stages.toml`.
pub fn load_stage(root: &Path, name: &str) -> Result<StageConfig> {
    let path = root.join(zipster_infra::synth::STAGES_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(StageConfig::named(&text, name)?)
}

/// The stack of a stage: one per stage and region.
pub fn stack_name(stage: &StageConfig) -> String {
    stage.prefix()
}

/// Where `deploy` writes a stage's outputs for the other commands.
pub fn outputs_path(root: &Path, stage: &str) -> PathBuf {
    root.join("target/stacks").join(format!("{stage}.outputs.json"))
}
