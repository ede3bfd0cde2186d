//! `cargo xtask`: the project's automation, in Rust (the rust-analyzer pattern).
//!
//! Quick commands (synth, lint, transform, bench, tools) live here and build in
//! seconds. Commands that need the AWS SDK or a database (deploy, destroy, diff,
//! seed-db, near, local) live in `zipster-ops`, which this binary runs, so that a
//! `cargo xtask transform` never waits for the SDK to compile.

mod bench;
mod ci;
mod fuzz;
mod lint;
mod synth;
mod template_diff;
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
    /// Write infra/templates/<stage>.json for every stage in infra/stages.toml.
    Synth {
        /// Fail (with the command to fix it) if a committed template is stale.
        #[arg(long)]
        check: bool,
    },
    /// Run cfn-lint and checkov on every template, actionlint on every workflow.
    Lint,
    /// Markdown of the resources added, removed, changed or replaced between two templates directories.
    TemplateDiff { old_dir: PathBuf, new_dir: PathBuf },
    /// The whole test suite, as CI runs it (installs or starts what it needs first).
    Ci,
    /// Coverage-guided fuzzing of the transform and the event parsing.
    Fuzz(fuzz::Args),
    /// Benchmarks that print ratios against a baseline measured in the same run.
    Bench(bench::Args),
    /// Install the project-local Python tools (moto, cfn-lint, checkov, cargo-lambda) into .tools/venv.
    Tools,
    /// Commands that need AWS or a database: deploy, destroy, diff, seed-db, near, local...
    #[command(external_subcommand)]
    Ops(Vec<String>),
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Transform(args) => transform::run(&args),
        Command::Synth { check } => synth::run(check),
        Command::Lint => lint::run(),
        Command::TemplateDiff { old_dir, new_dir } => template_diff::run(&old_dir, &new_dir),
        Command::Ci => ci::run(),
        Command::Bench(args) => bench::run(&args),
        Command::Fuzz(args) => fuzz::run(&args),
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
