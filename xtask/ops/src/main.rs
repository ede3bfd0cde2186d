//! zipster-ops: the commands behind `cargo xtask` that need the AWS SDK or sqlx.
//! A thin shell: it parses the same command line as `xtask` (`xtask::cli`), calls
//! the deploy engine (zipster-deploy), the stage commands (zipster-operate), the
//! local stage (zipster-local) or the database crate (zipster-db), and prints what
//! they report.

mod database;
mod feed;
mod operate;
mod stage;

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use xtask::cli::{self, Bench, Command, FeedCommand, LocalArgs, LocalBenchArgs, LocalCommand};
use zipster_local::commands::{self as local, Up};
use zipster_tools::project_root;

fn main() -> ExitCode {
    match run(cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    match command {
        Command::Bootstrap(args) => runtime.block_on(stage::bootstrap(args)),
        Command::Build(args) => stage::build(&args),
        Command::Deploy(args) => runtime.block_on(stage::deploy(args)),
        Command::Diff(args) => runtime.block_on(stage::diff(&args)),
        Command::Destroy(args) => runtime.block_on(stage::destroy(args)),
        Command::Put(args) => runtime.block_on(operate::put(args)),
        Command::Status(args) => runtime.block_on(operate::status(args)),
        Command::Logs(args) => runtime.block_on(operate::logs(args)),
        Command::Redrive(args) => runtime.block_on(operate::redrive(args)),
        Command::Reprocess(args) => runtime.block_on(operate::reprocess(args)),
        Command::Drift(args) => runtime.block_on(operate::drift(args)),
        Command::SeedDb(args) => match args.stage.clone() {
            Some(name) => runtime.block_on(stage::seed(&name, args)),
            None => runtime.block_on(database::seed(&args)),
        },
        Command::Near(args) => match args.stage.clone() {
            Some(stage) => runtime.block_on(operate::near(&stage, &args)),
            None => runtime.block_on(database::near(&args)),
        },
        Command::Feed(FeedCommand::Check) => runtime.block_on(feed::check()),
        Command::Feed(FeedCommand::Migration { name, allow_data_loss }) => {
            runtime.block_on(feed::migration(&name, allow_data_loss))
        }
        Command::Bench(Bench::Load(args)) => runtime.block_on(database::bench_load(&args)),
        Command::Bench(Bench::Local(args)) => runtime.block_on(local_bench(args)),
        Command::Local(args) => runtime.block_on(run_local(args)),
        light => bail!("{light:?} is not a command of zipster-ops; run it with `cargo xtask`"),
    }
}

async fn run_local(args: LocalArgs) -> Result<()> {
    let root = project_root();
    match args.command {
        None => local::up(&root, &Up { file: args.up.file, serve: args.up.serve }).await,
        Some(LocalCommand::Up(up)) => local::up(&root, &Up { file: up.file, serve: up.serve }).await,
        Some(LocalCommand::Put { file, key }) => operate::put(operate::local_put(file, key)).await,
        Some(LocalCommand::Redrive) => operate::redrive(operate::local_redrive()).await,
        Some(LocalCommand::Bench(args)) => local_bench(args).await,
        Some(LocalCommand::Down) => local::down(),
    }
}

async fn local_bench(args: LocalBenchArgs) -> Result<()> {
    let root = project_root();
    match args.burst {
        Some(files) => local::burst(&root, files).await,
        None => local::bench(&root, args.files).await,
    }
}
