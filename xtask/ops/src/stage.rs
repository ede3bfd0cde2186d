//! `bootstrap`, `build`, `deploy`, `diff`, `destroy` and `seed-db --stage`: the deploy engine
//! (zipster-deploy) with a terminal, and what it reports printed.

use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;
use xtask::cli::{BootstrapArgs, BuildArgs, DeployArgs, DestroyArgs, OutputArgs, SeedDbArgs, StageArgs};
use zipster_deploy::bootstrap::BootstrapOptions;
use zipster_deploy::build::Target;
use zipster_deploy::deploy::{AllowReplace, Code, DeployOptions, Outcome};
use zipster_deploy::destroy::DestroyOptions;
use zipster_deploy::seed::SeedOptions;
use zipster_deploy::ui::{Terminal, TerminalOptions, human_bytes};
use zipster_deploy::{StageClients, Ui, load_stage};
use zipster_tools::project_root;

const POLL: Duration = Duration::from_secs(3);

/// `seed-db --stage S` (without `--stage`: database.rs).
pub async fn seed(stage: &str, args: SeedDbArgs) -> Result<()> {
    let root = project_root();
    let stage = load_stage(&root, stage)?;
    let mut ui = terminal(&args.output, false);
    let clients = StageClients::for_stage(&stage).await;
    let file = if args.file.is_absolute() { args.file } else { root.join(args.file) };
    let report = zipster_deploy::seed::seed(SeedOptions { stage, file }, &clients, &mut ui).await?;
    if args.output.json {
        return print_json(&report);
    }
    ui.step(&format!("{} answered:", report.function));
    println!("{}", serde_json::to_string_pretty(&report.result)?);
    Ok(())
}

fn terminal(output: &OutputArgs, yes: bool) -> Terminal {
    Terminal::new(TerminalOptions { quiet: output.quiet, json: output.json, yes })
}

fn print_json<T: Serialize>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub fn build(args: &BuildArgs) -> Result<()> {
    let target = if args.host { Target::Host } else { Target::Lambda };
    let mut ui = Terminal::new(TerminalOptions::default());
    let started = Instant::now();
    let built = zipster_deploy::build::build(&project_root(), target, &mut ui)?;
    for b in &built {
        let size = b.artifact.zip.len() as u64;
        // Lambda's limit is 50 MB zipped; ours is 8 MB, for cold starts and uploads.
        let warning = if size > 8 * 1024 * 1024 && target != Target::Host { "  (over the 8 MB target)" } else { "" };
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

pub async fn bootstrap(args: BootstrapArgs) -> Result<()> {
    let root = project_root();
    let stage = load_stage(&root, &args.stage.stage)?;
    let mut ui = terminal(&args.stage.output, args.yes);
    let clients = StageClients::for_stage(&stage).await;
    let options = BootstrapOptions { stage, poll: POLL };
    if args.destroy {
        let report = zipster_deploy::bootstrap::remove(options, &clients, &mut ui).await?;
        return if args.stage.output.json { print_json(&report) } else { Ok(()) };
    }
    let report = zipster_deploy::bootstrap::bootstrap(options, &clients, &mut ui).await?;
    if args.stage.output.json {
        return print_json(&report);
    }
    for (key, value) in &report.outputs {
        println!("{key:<24} {value}");
    }
    Ok(())
}

pub async fn deploy(args: DeployArgs) -> Result<()> {
    let root = project_root();
    let stage = load_stage(&root, &args.stage.stage)?;
    let mut ui = terminal(&args.stage.output, args.yes);
    let clients = StageClients::for_stage(&stage).await;
    let options = DeployOptions {
        stage,
        root,
        code: match &args.zips {
            Some(dir) => Code::Prebuilt(zipster_deploy::artifacts::read_built(dir)?),
            None => Code::Build(Target::Lambda),
        },
        dry_run: args.dry_run,
        recreate: args.recreate,
        poll: POLL,
        allow_replace: AllowReplace::Named(args.allow_replace.clone()),
    };
    let report = zipster_deploy::deploy::deploy(options, &clients, &mut ui).await?;
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

pub async fn diff(args: &StageArgs) -> Result<()> {
    let root = project_root();
    let stage = load_stage(&root, &args.stage)?;
    let mut ui = terminal(&args.output, false);
    let clients = StageClients::for_stage(&stage).await;
    let changes = zipster_deploy::deploy::diff(&stage, &clients, POLL, &mut ui).await?;
    if args.output.json {
        return print_json(&changes);
    }
    Ok(())
}

pub async fn destroy(args: DestroyArgs) -> Result<()> {
    let root = project_root();
    let stage = load_stage(&root, &args.stage.stage)?;
    let mut ui = terminal(&args.stage.output, args.yes);
    let clients = StageClients::for_stage(&stage).await;
    let options = DestroyOptions {
        stage,
        dry_run: args.dry_run,
        purge_data: args.purge_data,
        confirm_stage: args.confirm_stage,
        poll: POLL,
    };
    let report = zipster_deploy::destroy::destroy(options, &clients, &mut ui).await?;
    if args.stage.output.json {
        return print_json(&report);
    }
    Ok(())
}
