//! Arguments and printing for `build`, `deploy`, `diff`, `destroy` and
//! `seed-db --stage`; the work is in the sibling modules.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::{Args, Subcommand};
use serde::Serialize;

use super::build::Target;
use super::deploy::{Code, DeployOptions, Outcome};
use super::destroy::DestroyOptions;
use super::seed::{SEED_FILE, SeedOptions};
use super::ui::{Terminal, TerminalOptions, human_bytes};
use super::{Clients, Ui, load_stage, project_root};

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Build every function for Lambda and package reproducible zips (target/lambda-zips/).
    Build(BuildArgs),
    /// Build, upload, then create and execute a change set for the stage's stack.
    Deploy(DeployArgs),
    /// Show what deploy would change in the stage's stack (a change set, created and deleted).
    Diff(StageArgs),
    /// Empty the stage's buckets (every version) and delete its stack.
    Destroy(DestroyArgs),
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Build for x86-64 instead of arm64 (Graviton).
    #[arg(long = "x86-64", conflicts_with = "host")]
    pub x86_64: bool,
    /// Build for this machine in the dev profile (local stage, tests); no cross-compiling.
    #[arg(long)]
    pub host: bool,
}

impl BuildArgs {
    pub fn target(&self) -> Target {
        if self.host {
            Target::Host
        } else if self.x86_64 {
            Target::X86_64
        } else {
            Target::Arm64
        }
    }
}

#[derive(Args, Debug)]
pub struct OutputArgs {
    /// Print only errors.
    #[arg(long)]
    pub quiet: bool,
    /// Print the report as JSON on stdout (and nothing else).
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct StageArgs {
    /// A stage of infra/stages.toml.
    #[arg(long)]
    pub stage: String,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
pub struct DeployArgs {
    #[command(flatten)]
    pub stage: StageArgs,
    #[command(flatten)]
    pub build: BuildArgs,
    /// Do not ask before IAM changes or replacements.
    #[arg(long)]
    pub yes: bool,
    /// Create and show the change set, then delete it; deploy nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// If the stack is in ROLLBACK_COMPLETE, delete it and create it again.
    #[arg(long)]
    pub recreate: bool,
}

#[derive(Args, Debug)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub stage: StageArgs,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// List what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also empty and delete the stage's artifact bucket.
    #[arg(long)]
    pub include_artifacts: bool,
}

/// `seed-db --stage S`: the options besides the stage.
#[derive(Args, Debug)]
pub struct SeedStageArgs {
    /// The CSV to load (the feed's format); transformed before upload.
    #[arg(long, default_value = SEED_FILE)]
    pub file: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
}

const POLL: Duration = Duration::from_secs(3);

pub fn run(command: Command) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        match command {
            Command::Build(args) => build(&args),
            Command::Deploy(args) => deploy(args).await,
            Command::Diff(args) => diff(&args).await,
            Command::Destroy(args) => destroy(args).await,
        }
    })
}

/// `seed-db --stage S` (the `--database-url` mode lives in db.rs).
pub fn run_seed(stage: &str, args: SeedStageArgs) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let root = project_root();
        let stage = load_stage(&root, stage)?;
        let mut ui = terminal(&args.output, false);
        let clients = Clients::for_stage(&stage).await;
        let file = if args.file.is_absolute() { args.file } else { root.join(args.file) };
        let report = super::seed::seed(SeedOptions { stage, file }, &clients, &mut ui).await?;
        if args.output.json {
            return print_json(&report);
        }
        ui.step(&format!("{} answered:", report.function));
        println!("{}", serde_json::to_string_pretty(&report.result)?);
        Ok(())
    })
}

fn terminal(output: &OutputArgs, yes: bool) -> Terminal {
    Terminal::new(TerminalOptions { quiet: output.quiet, json: output.json, yes })
}

fn print_json<T: Serialize>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn build(args: &BuildArgs) -> Result<()> {
    let mut ui = Terminal::new(TerminalOptions::default());
    let started = Instant::now();
    let built = super::build::build(&project_root(), args.target(), &mut ui)?;
    for b in &built {
        let size = b.artifact.zip.len() as u64;
        // Lambda's limit is 50 MB zipped; ours is 8 MB, for cold starts and uploads.
        let warning =
            if size > 8 * 1024 * 1024 && args.target() != Target::Host { "  (over the 8 MB target)" } else { "" };
        println!(
            "{:<10} {:>10} zipped ({:>10} binary)  {}{warning}",
            b.artifact.function,
            human_bytes(size),
            human_bytes(b.binary_bytes),
            b.zip_path.display()
        );
    }
    ui.step(&format!("done in {:.1?}", started.elapsed()));
    Ok(())
}

async fn deploy(args: DeployArgs) -> Result<()> {
    let root = project_root();
    let stage = load_stage(&root, &args.stage.stage)?;
    let mut ui = terminal(&args.stage.output, args.yes);
    let clients = Clients::for_stage(&stage).await;
    let options = DeployOptions {
        stage,
        root,
        code: Code::Build(args.build.target()),
        dry_run: args.dry_run,
        recreate: args.recreate,
        poll: POLL,
    };
    let report = super::deploy::deploy(options, &clients, &mut ui).await?;
    if args.stage.output.json {
        return print_json(&report);
    }
    match report.outcome {
        Outcome::Created | Outcome::Updated | Outcome::NoChanges => {
            for (key, value) in &report.outputs {
                println!("{key:<24} {value}");
            }
            if let Some(file) = &report.outputs_file {
                ui.step(&format!("outputs written to {}", file.display()));
            }
        }
        Outcome::DryRun | Outcome::Declined => {}
    }
    Ok(())
}

async fn diff(args: &StageArgs) -> Result<()> {
    let root = project_root();
    let stage = load_stage(&root, &args.stage)?;
    let mut ui = terminal(&args.output, false);
    let clients = Clients::for_stage(&stage).await;
    let changes = super::deploy::diff(&stage, &clients, POLL, &mut ui).await?;
    if args.output.json {
        return print_json(&changes);
    }
    Ok(())
}

async fn destroy(args: DestroyArgs) -> Result<()> {
    let root = project_root();
    let stage = load_stage(&root, &args.stage.stage)?;
    let mut ui = terminal(&args.stage.output, args.yes);
    let clients = Clients::for_stage(&stage).await;
    let options =
        DestroyOptions { stage, dry_run: args.dry_run, include_artifacts: args.include_artifacts, poll: POLL };
    let report = super::destroy::destroy(options, &clients, &mut ui).await?;
    if args.stage.output.json {
        return print_json(&report);
    }
    Ok(())
}
