//! zipster-ops: the heavy commands behind `cargo xtask` (AWS SDK, sqlx).
//! A thin dispatcher: each command lives in its own module.

mod db;

use anyhow::Result;
use clap::{Parser, Subcommand};
use zipster_ops::{aws, local};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Zipster ETL's commands that need AWS or a database")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    #[command(flatten)]
    Aws(aws::cli::Command),
    /// Apply the migrations and load the static data: on a stage (through its migrate function),
    /// or without --stage on the database at --database-url (the local one by default).
    SeedDb {
        /// Seed the stage's database through its migrate function.
        #[arg(long)]
        stage: Option<String>,
        #[command(flatten)]
        seed: aws::cli::SeedStageArgs,
        #[command(flatten)]
        database: db::DatabaseArgs,
    },
    /// The zip codes within --miles of ZIPCODE, nearest first, with their distance in miles.
    Near {
        zipcode: String,
        #[arg(long)]
        miles: f64,
        #[command(flatten)]
        database: db::DatabaseArgs,
    },
    /// Benchmarks that need a database.
    #[command(subcommand)]
    Bench(Bench),
    /// The whole pipeline on this machine: moto, a local database and the real bootstrap binaries.
    Local(local::LocalArgs),
}

#[derive(Subcommand)]
enum Bench {
    /// Our load of the real data against LOAD DATA LOCAL INFILE, and the radius query.
    Load(db::BenchArgs),
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Aws(command) => aws::cli::run(command),
        Command::SeedDb { stage: Some(stage), seed, .. } => aws::cli::run_seed(&stage, seed),
        Command::SeedDb { stage: None, seed, database } => block_on(db::seed_db(&database, &seed.file)),
        Command::Near { zipcode, miles, database } => block_on(db::near(&database, &zipcode, miles)),
        Command::Bench(Bench::Load(args)) => block_on(db::bench_load(&args)),
        Command::Local(args) => local::cli(args),
    }
}

fn block_on(command: impl Future<Output = Result<()>>) -> Result<()> {
    tokio::runtime::Runtime::new()?.block_on(command)
}
