//! Every `cargo xtask` command, light and heavy, defined once. The `xtask` binary
//! parses it (so `--help` of any command, and a mistyped argument, answer at once,
//! without building the AWS SDK), runs the light commands itself and hands the heavy
//! ones, unchanged, to the `zipster-ops` binary, which parses the same definition.

use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Zipster ETL: the pipeline, its stages, and its development"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The help's sections, each command in exactly one (a test checks).
pub const GROUPS: [(&str, &[&str]); 3] = [
    ("Pipeline", &["local", "transform", "feed", "seed-db", "near"]),
    (
        "Stage",
        &["bootstrap", "build", "deploy", "diff", "destroy", "put", "status", "logs", "redrive", "reprocess", "drift"],
    ),
    ("Development", &["ci", "synth", "lint", "template-diff", "fuzz", "bench", "tools"]),
];

#[derive(Subcommand, Debug)]
pub enum Command {
    /// The whole pipeline on this machine: moto, a local database and the real Lambda binaries.
    Local(LocalArgs),
    /// Transform a local CSV file into <out>/accepted.csv, rejects.jsonl, summary.json and report.html.
    Transform(TransformArgs),
    /// Feeds' contracts (feeds/<name>/schema.json): infer one from a sample, check them all.
    #[command(subcommand)]
    Feed(FeedCommand),
    /// Apply the migrations and load the static data: on a stage (--stage), else on the local database.
    SeedDb(SeedDbArgs),
    /// The zip codes within --miles of ZIPCODE, nearest first, with their distance in miles.
    Near(NearArgs),
    /// Create or update the stage's bootstrap stack: artifact bucket, execution role, GitHub deploy role.
    Bootstrap(BootstrapArgs),
    /// Build every function for Lambda and package reproducible zips (target/lambda-zips/).
    Build(BuildArgs),
    /// Build, upload, then create and execute a change set for the stage's stack.
    Deploy(DeployArgs),
    /// Show what deploy would change in the stage's stack (a change set, created and deleted).
    Diff(StageArgs),
    /// Delete the stage's stack, keeping its data (buckets, volume snapshot) unless --purge-data.
    Destroy(DestroyArgs),
    /// Upload a file to the stage's input bucket and follow it through transform and load.
    Put(PutArgs),
    /// The stage's recent files with their outcomes, the on-failure queue and the alarms; or one file's story.
    Status(StatusArgs),
    /// The stage's function logs, interleaved by time (`--follow` to keep reading).
    Logs(LogsArgs),
    /// Invoke the functions again with the events waiting in the stage's on-failure queue.
    Redrive(RedriveArgs),
    /// Send input files already in the stage through the transform and the load again (after a contract change).
    Reprocess(ReprocessArgs),
    /// CloudFormation drift detection on the stage's stack: what was changed outside it.
    Drift(StageArgs),
    /// The whole test suite, as CI runs it (installs or starts what it needs first).
    Ci,
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
    /// Coverage-guided fuzzing of the transform and the event parsing.
    Fuzz(FuzzArgs),
    /// Benchmarks that print ratios against a baseline measured in the same run.
    #[command(subcommand)]
    Bench(Bench),
    /// Install the project-local Python tools (moto, cfn-lint, checkov, cargo-lambda) into .tools/venv.
    Tools,
}

impl Command {
    /// Whether it runs in `zipster-ops` (it needs the AWS SDK or sqlx).
    pub fn runs_in_ops(&self) -> bool {
        match self {
            Self::Local(_)
            | Self::SeedDb(_)
            | Self::Near(_)
            | Self::Bootstrap(_)
            | Self::Build(_)
            | Self::Deploy(_)
            | Self::Diff(_)
            | Self::Destroy(_)
            | Self::Put(_)
            | Self::Status(_)
            | Self::Logs(_)
            | Self::Redrive(_)
            | Self::Reprocess(_)
            | Self::Drift(_) => true,
            Self::Bench(bench) => !matches!(bench, Bench::Transform),
            // `feed check` runs its pure checks here, then its tables' in zipster-ops.
            Self::Feed(feed) => matches!(feed, FeedCommand::Migration { .. }),
            Self::Ci
            | Self::Transform(_)
            | Self::Synth { .. }
            | Self::Lint
            | Self::TemplateDiff { .. }
            | Self::Fuzz(_)
            | Self::Tools => false,
        }
    }
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LocalArgs {
    #[command(subcommand)]
    pub command: Option<LocalCommand>,
    #[command(flatten)]
    pub up: UpArgs,
}

#[derive(Debug, Subcommand)]
pub enum LocalCommand {
    /// Start moto and a database, deploy the local stage, send a file through it (the default).
    Up(UpArgs),
    /// Send another file through the running local stage.
    Put {
        file: PathBuf,
        /// The object key in the input bucket (default: the file's name).
        #[arg(long)]
        key: Option<String>,
    },
    /// Invoke the functions again with the events waiting in the on-failure queue.
    Redrive,
    /// Measure bootstrap cold starts and upload-to-rows latency (same as `cargo xtask bench local`).
    Bench(LocalBenchArgs),
    /// Stop what `local` started (moto, a throwaway MariaDB).
    Down,
}

#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    /// The file to send through (default: testdata/zipcodes/sample.csv).
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Keep the local Lambda service running afterwards (Ctrl-C stops it).
    #[arg(long)]
    pub serve: bool,
}

#[derive(Debug, Clone, Args)]
pub struct LocalBenchArgs {
    /// Files to send through (default: the sample and the full real data set).
    pub files: Vec<PathBuf>,
    /// Instead: this many variants of the full data set uploaded at once, all over
    /// the same zip codes; time to the last load and each function's peak memory.
    #[arg(long, value_name = "FILES")]
    pub burst: Option<usize>,
}

#[derive(Debug, Args)]
pub struct TransformArgs {
    /// The input CSV file.
    pub input: PathBuf,
    /// Directory for accepted.csv, rejects.jsonl, summary.json and report.html (the data-quality page).
    #[arg(long, default_value = "target/out")]
    pub out: PathBuf,
    /// Longest line accepted, in bytes.
    #[arg(long, default_value_t = zipster_core::Limits::default().max_line_bytes)]
    pub max_line_bytes: usize,
    /// A Table Schema descriptor file to transform with, instead of a feed of feeds/.
    #[arg(long, conflicts_with = "feed")]
    pub schema: Option<PathBuf>,
    /// The feed (feeds/<NAME>/schema.json) whose contract to transform with.
    #[arg(long, default_value = "zipcodes")]
    pub feed: String,
}

#[derive(Debug, Subcommand)]
pub enum FeedCommand {
    /// Print a starting descriptor inferred from a sample CSV, for you to edit.
    Describe {
        /// The sample CSV file.
        file: PathBuf,
        /// Columns with at most this many distinct values get an `enum`.
        #[arg(long, default_value_t = 12)]
        max_enum: usize,
    },
    /// Check every contract in feeds/: each descriptor loads, key prefixes do not overlap, and
    /// each feed's table as the migrations build it (on a scratch database) is the contract's.
    Check,
    /// Write the migration (db/migrations/) from the feed's table as the migrations build it to
    /// the table its contract declares: create it, add nullable columns, widen columns.
    Migration {
        /// The feed (feeds/<NAME>/schema.json).
        name: String,
        /// Also write the changes that can lose data (drop or narrow a column, another type,
        /// NULL to NOT NULL, another key, a dropped unique index), listed at the migration's top.
        #[arg(long)]
        allow_data_loss: bool,
    },
}

/// The database commands' server: `--database-url`, else `DATABASE_URL`, else the
/// local stage's database (see `zipster_tools::database`).
#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// mysql://user[:password]@host:port/database (default: DATABASE_URL, else the local stage's database).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

/// The file `seed-db` loads by default, from the project root.
pub const SEED_FILE: &str = "db/seed/zipcodes.csv";

#[derive(Debug, Args)]
pub struct SeedDbArgs {
    /// Seed the stage's database through its migrate function (default: the local database).
    #[arg(long)]
    pub stage: Option<String>,
    /// The CSV to load (the feed's format); transformed first.
    #[arg(long, default_value = SEED_FILE)]
    pub file: PathBuf,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct NearArgs {
    pub zipcode: String,
    #[arg(long)]
    pub miles: f64,
    /// Ask a stage's database (through its migrate function, inside the VPC) instead of a local one.
    #[arg(long, conflicts_with = "database_url")]
    pub stage: Option<String>,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Build for this machine in the dev profile (local stage, tests); no cross-compiling.
    /// Without it: for Lambda, in the template's architecture (arm64).
    #[arg(long)]
    pub host: bool,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Print only errors.
    #[arg(long)]
    pub quiet: bool,
    /// Print the report as JSON on stdout (and nothing else).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StageArgs {
    /// A stage of infra/stages.toml.
    #[arg(long)]
    pub stage: String,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct PutArgs {
    /// A stage of infra/stages.toml (`local`: the running local stage).
    #[arg(long)]
    pub stage: String,
    /// The CSV file to upload.
    pub file: PathBuf,
    /// The object key in the input bucket (default: the file's name, under --feed's prefix).
    #[arg(long)]
    pub key: Option<String>,
    /// The feed to send it to: the key gets the feed's prefix (`cities/FILE`); without it,
    /// the key decides (a key under no feed's prefix goes to the stage's default feed).
    #[arg(long, conflicts_with = "key")]
    pub feed: Option<String>,
    /// Only upload; do not follow the file.
    #[arg(long)]
    pub no_wait: bool,
    /// How long to follow before giving up (`90s`, `5m`, `1h`).
    #[arg(long, default_value = "5m")]
    pub timeout: String,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// A stage of infra/stages.toml (`local`: the running local stage).
    #[arg(long)]
    pub stage: String,
    /// One input key: its whole story.
    pub key: Option<String>,
    /// How many recent files to list.
    #[arg(long, default_value_t = 20)]
    pub last: usize,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// A stage of infra/stages.toml (`local`: the running local stage).
    #[arg(long)]
    pub stage: String,
    /// Only this function's logs (transform, load, migrate).
    #[arg(long)]
    pub function: Option<String>,
    /// How far back to start (`10m`, `1h`, `2d`).
    #[arg(long, default_value = "1h")]
    pub since: String,
    /// Keep reading new lines until Ctrl-C.
    #[arg(long)]
    pub follow: bool,
    /// Only lines containing this text.
    #[arg(long)]
    pub filter: Option<String>,
    /// The raw JSON lines.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RedriveArgs {
    /// A stage of infra/stages.toml (`local`: the running local stage).
    #[arg(long)]
    pub stage: String,
    /// List what would be re-driven; invoke and delete nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ReprocessArgs {
    /// A stage of infra/stages.toml (`local`: the running local stage).
    #[arg(long)]
    pub stage: String,
    /// Input keys to reprocess (each must be in the input bucket).
    #[arg(required_unless_present = "feed")]
    pub keys: Vec<String>,
    /// Every input object of this feed (by its key prefix, or the stage's default feed).
    #[arg(long)]
    pub feed: Option<String>,
    /// With --feed: only objects written since then: a date (2026-12-01, UTC) or an age (2d, 12h).
    #[arg(long, requires = "feed")]
    pub since: Option<String>,
    /// Let a replace delete more of its table than the contract allows (the file is complete; the rows are gone).
    #[arg(long)]
    pub allow_shrink: bool,
    /// How long to follow each file before giving up (`90s`, `5m`).
    #[arg(long, default_value = "5m")]
    pub timeout: String,
}

#[derive(Debug, Args)]
pub struct BootstrapArgs {
    #[command(flatten)]
    pub stage: StageArgs,
    /// Do not ask before IAM changes (a change that replaces or removes the artifact
    /// bucket is refused either way), nor before --destroy.
    #[arg(long)]
    pub yes: bool,
    /// Delete the bootstrap stack instead, once the stage's stack is gone (the
    /// artifact bucket is kept with its contents).
    #[arg(long)]
    pub destroy: bool,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub stage: StageArgs,
    /// Do not ask before IAM changes or replacements. A change set that replaces or
    /// removes a stateful resource is still refused, unless --allow-replace names it.
    #[arg(long)]
    pub yes: bool,
    /// Let this change set replace or remove this stateful resource (its logical id,
    /// as the change table shows it); repeat for each. Only the named ones go through.
    #[arg(long, value_name = "LOGICAL_ID")]
    pub allow_replace: Vec<String>,
    /// Create and show the change set, then delete it; deploy nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// If the stack is in ROLLBACK_COMPLETE, delete it and create it again.
    #[arg(long)]
    pub recreate: bool,
    /// Deploy the zips of an earlier `cargo xtask build` (its target/lambda-zips
    /// directory, copied) instead of building: each must match the SHA-256 in its name.
    #[arg(long, value_name = "DIR")]
    pub zips: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub stage: StageArgs,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// List what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also delete the data: empty and delete the stage's buckets (which the stack
    /// retains) and its data volume's snapshots. Asks for the stage's name to be typed.
    #[arg(long)]
    pub purge_data: bool,
    /// The stage's name, confirming --purge-data without a prompt (required with --yes).
    #[arg(long, value_name = "STAGE", requires = "purge_data")]
    pub confirm_stage: Option<String>,
}

#[derive(Debug, Args)]
pub struct FuzzArgs {
    /// One target (default: all).
    #[arg(value_enum)]
    pub target: Option<FuzzTarget>,
    /// How long to fuzz each target.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FuzzTarget {
    /// The streaming transform on arbitrary bytes.
    Transform,
    /// The S3/SNS event parsing both Lambdas share.
    Events,
    /// Arbitrary feed descriptors (refused or accepted, never a panic), then a file under each.
    Descriptor,
}

#[derive(Debug, Subcommand)]
pub enum Bench {
    /// The transform against a bare `csv` parse of the same bytes (1× and 10× the real data).
    Transform,
    /// Each feed's load against `LOAD DATA LOCAL INFILE` of the same rows, and the radius query.
    Load(LoadBenchArgs),
    /// Bootstrap cold starts and upload-to-rows latency through the local stage.
    Local(LocalBenchArgs),
}

#[derive(Debug, Args)]
pub struct LoadBenchArgs {
    /// The server to benchmark on (its database part is ignored: a fresh one is made and dropped).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Timed repetitions of each load; the median is reported.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
}

/// The command line definition, with the help listing the commands by section.
pub fn command() -> clap::Command {
    let command = Cli::command();
    let mut sections = String::new();
    for (title, names) in GROUPS {
        sections.push_str(&format!("{title}:\n"));
        for name in names {
            let about = command
                .find_subcommand(name)
                .and_then(clap::Command::get_about)
                .map(ToString::to_string)
                .unwrap_or_default();
            sections.push_str(&format!("  {name:<14} {about}\n"));
        }
        sections.push('\n');
    }
    sections.push_str("  help           Print this message or the help of the given command\n\n");
    command.help_template(format!(
        "{{about-with-newline}}\n{{usage-heading}} {{usage}}\n\n{sections}Options:\n{{options}}\n\n\
         `cargo xtask help <command>` or `cargo xtask <command> --help` shows a command's options.\n"
    ))
}

/// Parses the process's arguments (printing help or the error, and exiting, as clap does).
pub fn parse() -> Cli {
    let matches = command().get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_is_in_exactly_one_section_of_the_help() {
        let command = Cli::command();
        let listed: Vec<&str> = GROUPS.iter().flat_map(|(_, names)| names.iter().copied()).collect();
        for sub in command.get_subcommands() {
            let name = sub.get_name();
            assert_eq!(listed.iter().filter(|n| **n == name).count(), 1, "{name} in GROUPS");
        }
        assert_eq!(listed.len(), command.get_subcommands().count(), "GROUPS names only real commands");
        command.debug_assert();
    }
}
