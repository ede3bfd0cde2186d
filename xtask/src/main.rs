//! `cargo xtask`: the project's automation, in Rust (the rust-analyzer pattern).
//!
//! Quick commands (synth, lint, transform, bench, tools) live here and build in
//! seconds. Commands that need the AWS SDK or a database (deploy, destroy, diff,
//! seed-db, near, local) live in `zipster-ops`, which this binary runs, so that a
//! `cargo xtask transform` never waits for the SDK to compile.

mod tools;
mod transform;

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Zipster ETL's developer commands")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Transform a local CSV file into <out>/accepted.csv, rejects.jsonl and summary.json.
    Transform(transform::Args),
    /// Install the project-local Python tools (moto, cfn-lint, checkov, cargo-lambda) into .tools/venv.
    Tools,
    /// Commands that need AWS or a database: deploy, destroy, diff, seed-db, near, local...
    #[command(external_subcommand)]
    Ops(Vec<String>),
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Transform(args) => transform::run(&args),
        Command::Tools => tools::ensure_venv().map(drop),
        Command::Ops(args) => ops(&args),
    }
}

/// Runs `zipster-ops` with the same arguments, in the same (dev) profile as the tests,
/// so nothing is compiled twice.
fn ops(args: &[String]) -> Result<()> {
    let sh = xshell::Shell::new()?;
    sh.change_dir(project_root());
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    xshell::cmd!(sh, "{cargo} run --quiet --package zipster-ops -- {args...}").run()?;
    Ok(())
}

pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(1).map(Path::to_path_buf).unwrap_or_default()
}
