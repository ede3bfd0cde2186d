//! `cargo xtask local`: the whole pipeline on this machine with the real bootstrap
//! binaries. moto stands in for S3, SNS, SQS and CloudFormation; a local MySQL for
//! the database host; [`service`] and [`runtime_api`] for the part of Lambda that
//! moto cannot run without Docker.
//!
//! moto and a throwaway MariaDB (when one had to be started) outlive the command,
//! recorded in `target/local/state.json`, so that the next command reuses them and
//! `local down` stops them. The Lambda service runs inside each command instead:
//! events wait in the trigger queues between commands, and the functions' logs go
//! to the terminal of the command that caused them, with no daemon left behind.

pub mod aws;
pub mod bench;
pub mod deploy;
pub mod function;
pub mod mariadb;
pub mod moto;
pub mod pipeline;
pub mod plumbing;
pub mod runtime_api;
pub mod service;
pub mod stack;
pub mod state;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

use pipeline::{LocalStage, Options};
use state::Daemon;

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
    /// Measure bootstrap cold starts and upload-to-rows latency (sample and full data set).
    Bench {
        /// Files to send through (default: the sample and the full real data set).
        files: Vec<PathBuf>,
        /// Instead: this many variants of the full data set uploaded at once, all over
        /// the same zip codes; time to the last load and each function's peak memory.
        #[arg(long, value_name = "FILES")]
        burst: Option<usize>,
    },
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

/// The repository root (xtask/ops is two levels down).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).map(Path::to_path_buf).unwrap_or_default()
}

/// Where cargo puts the host-built bootstraps.
pub fn target_debug(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from).join("debug")
}

/// The functions the local stage runs, built for this machine.
pub const FUNCTION_PACKAGES: [&str; 2] = ["zipster-transform", "zipster-load"];

pub fn build_bootstraps(root: &Path) -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = std::process::Command::new(cargo);
    command.arg("build").arg("--quiet").current_dir(root);
    for package in FUNCTION_PACKAGES {
        command.args(["--package", package]);
    }
    let status = command.status().context("running cargo build for the functions")?;
    if !status.success() {
        bail!("building the functions failed");
    }
    Ok(target_debug(root))
}

/// The `local` command, on its own runtime.
pub fn cli(args: LocalArgs) -> Result<()> {
    tokio::runtime::Runtime::new().context("starting the async runtime")?.block_on(run(args))
}

pub async fn run(args: LocalArgs) -> Result<()> {
    let root = project_root();
    match args.command {
        None => up(&root, &args.up).await,
        Some(LocalCommand::Up(up_args)) => up(&root, &up_args).await,
        Some(LocalCommand::Put { file, key }) => put(&root, &file, key).await,
        Some(LocalCommand::Redrive) => redrive(&root).await,
        Some(LocalCommand::Bench { files, burst: None }) => bench(&root, files).await,
        Some(LocalCommand::Bench { burst: Some(files), .. }) => {
            let stage = running_stage(&root).await?;
            let result = bench::burst(&stage, &zipster_db::seed::default_seed_file(), files).await;
            stage.stop().await?;
            result
        }
        Some(LocalCommand::Down) => down(&root),
    }
}

async fn up(root: &Path, args: &UpArgs) -> Result<()> {
    let step = Instant::now();
    let endpoint = ensure_moto(root).await?;
    let database_url = ensure_database(root).await?;
    eprintln!(
        "local: moto at {endpoint}, database {} ({:.1} s)",
        redacted(&database_url),
        step.elapsed().as_secs_f64()
    );

    let step = Instant::now();
    seed(&database_url).await?;
    eprintln!("local: seed-db done ({:.1} s)", step.elapsed().as_secs_f64());

    let step = Instant::now();
    let clients = aws::Clients::new(&endpoint).await;
    // moto is throwaway: confirmations (IAM changes) are answered yes.
    let mut ui = crate::aws::ui::Terminal::new(crate::aws::ui::TerminalOptions { yes: true, ..Default::default() });
    let stack_name = deploy::deploy(root, &clients, &mut ui).await?;
    let bootstraps = pipeline::host_bootstraps(&target_debug(root));
    eprintln!("local: functions built, stack {stack_name} deployed ({:.1} s)", step.elapsed().as_secs_f64());

    let file = args.file.clone().unwrap_or_else(|| root.join("testdata/zipcodes/sample.csv"));
    let stage =
        LocalStage::start(Options::new(&endpoint, &stack_name, &database_url, bootstraps, function::terminal_logs()))
            .await?;
    let result = send(&stage, &file, None).await;
    if result.is_ok() && args.serve {
        eprintln!("local: serving; send more with `cargo xtask local put FILE` from another terminal; Ctrl-C stops");
        tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    }
    stage.stop().await?;
    result
}

async fn put(root: &Path, file: &Path, key: Option<String>) -> Result<()> {
    let stage = running_stage(root).await?;
    let result = send(&stage, file, key).await;
    stage.stop().await?;
    result
}

async fn redrive(root: &Path) -> Result<()> {
    let stage = running_stage(root).await?;
    let queue = stage.stack.functions.iter().find_map(|f| f.on_failure_queue.clone());
    let result = match queue {
        Some(queue) => stage.service.redrive(&queue).await.map(|deliveries| {
            for d in &deliveries {
                let verdict = if d.succeeded() { "succeeded" } else { "failed again (back in the queue)" };
                println!("{} {}: {verdict} after {} attempt(s)", d.function, d.request_id, d.attempts.len());
            }
            println!("{} event(s) re-driven", deliveries.len());
        }),
        None => {
            println!("no function has an on-failure queue");
            Ok(())
        }
    };
    stage.stop().await?;
    result
}

async fn bench(root: &Path, files: Vec<PathBuf>) -> Result<()> {
    let files = if files.is_empty() {
        vec![root.join("testdata/zipcodes/sample.csv"), zipster_db::seed::default_seed_file()]
    } else {
        files
    };
    let stage = running_stage(root).await?;
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    // The dev builds the stage runs, and release builds (what Lambda runs) when present.
    let target = target_debug(root);
    let builds = [target.clone(), target.with_file_name("release")];
    let result = bench::run(&stage, &paths, &builds).await;
    stage.stop().await?;
    result
}

/// The stage that `local` set up before, without rebuilding or redeploying.
async fn running_stage(root: &Path) -> Result<LocalStage> {
    let state = state::load(root);
    let (Some(moto), Some(database_url)) = (state.moto.filter(Daemon::alive), state.database_url) else {
        bail!("the local stage is not running; start it with `cargo xtask local`");
    };
    let endpoint = format!("http://127.0.0.1:{}", moto.port);
    let bootstraps = pipeline::host_bootstraps(&build_bootstraps(root)?);
    let stack_name = deploy::stack_name(root)?;
    LocalStage::start(Options::new(&endpoint, &stack_name, &database_url, bootstraps, function::terminal_logs())).await
}

async fn send(stage: &LocalStage, file: &Path, key: Option<String>) -> Result<()> {
    let key = key.unwrap_or_else(|| {
        file.file_name().map_or_else(|| "upload.csv".to_owned(), |n| n.to_string_lossy().into_owned())
    });
    eprintln!("local: uploading {} as {key}", file.display());
    let trace = stage.put(file, &key, Duration::from_secs(300)).await?;
    println!("{}", trace.render(stage.row_count().await?));
    if trace.outcome == pipeline::Outcome::Loaded {
        radius_example(stage, &trace).await?;
    }
    match trace.outcome {
        pipeline::Outcome::Loaded | pipeline::Outcome::Refused => Ok(()),
        pipeline::Outcome::Failed => {
            bail!("the file failed every retry; see the alerts above and `cargo xtask local redrive`")
        }
        pipeline::Outcome::TimedOut => bail!("the file was not through within 300 s"),
    }
}

/// Neighbors of the first staged zip code that has coordinates.
async fn radius_example(stage: &LocalStage, trace: &pipeline::Trace) -> Result<()> {
    let staging = stage.bucket("StagingBucket")?;
    let csv = stage.object_text(staging, &trace.key).await?;
    let center = csv.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split(',').collect();
        (fields.len() > 6 && !fields[5].is_empty()).then(|| fields[0].to_owned())
    });
    let Some(center) = center else { return Ok(()) };
    let miles = 10.0;
    let started = Instant::now();
    let neighbors = zipster_db::radius::near(&stage.pool, &center, miles).await?;
    println!(
        "Radius query: zip codes within {miles} miles of {center} ({} found in {:.1} ms; `cargo xtask near {center} --miles {miles}`):",
        neighbors.len(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    for n in neighbors.iter().take(5) {
        println!("  {} {:.3} mi", n.zipcode, n.miles);
    }
    Ok(())
}

/// Migrations and the static data, as `seed-db --database-url` does.
async fn seed(database_url: &str) -> Result<()> {
    let options = mariadb::prepare(database_url).await?;
    let pool = zipster_db::connect::pool(options, zipster_db::connect::Limits::default()).await?;
    let applied = zipster_db::migrate::apply(&pool).await?;
    let report = zipster_db::seed::load_seed_file(&pool, &zipster_db::seed::default_seed_file()).await?;
    eprintln!("local: {} migration(s) applied; seed: {}", applied.len(), report.load);
    pool.close().await;
    Ok(())
}

async fn ensure_moto(root: &Path) -> Result<String> {
    let mut state = state::load(root);
    if let Some(moto) = state.moto.as_ref().filter(|m| m.alive()) {
        let endpoint = format!("http://127.0.0.1:{}", moto.port);
        if moto::answers(&endpoint).await {
            return Ok(endpoint);
        }
    }
    moto::ensure_tools(root)?;
    let port = moto::free_port()?;
    std::fs::create_dir_all(state::dir(root))?;
    let log = std::fs::File::create(state::dir(root).join("moto.log"))?;
    let mut command = moto::command(root, port);
    // Its own process group: Ctrl-C on this command leaves moto (and the stack) up.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let child = command.stdout(log.try_clone()?).stderr(log).stdin(Stdio::null()).spawn().context("starting moto")?;
    let endpoint = format!("http://127.0.0.1:{port}");
    moto::ready(&endpoint, Duration::from_secs(60)).await?;
    state.moto = Some(Daemon { pid: child.id(), port });
    state::save(root, &state)?;
    Ok(endpoint)
}

async fn ensure_database(root: &Path) -> Result<String> {
    let mut state = state::load(root);
    let (url, started) = mariadb::find_or_start(root, state.mariadb.as_ref()).await?;
    state.mariadb = started;
    state.database_url = Some(url.clone());
    state::save(root, &state)?;
    Ok(url)
}

fn down(root: &Path) -> Result<()> {
    let mut state = state::load(root);
    if let Some(moto) = state.moto.take() {
        moto.stop()?;
        println!("stopped moto (pid {})", moto.pid);
    }
    if let Some(mariadb) = state.mariadb.take() {
        mariadb.stop()?;
        println!("stopped the throwaway MariaDB (pid {})", mariadb.pid);
    }
    state.database_url = None;
    state::save(root, &state)
}

fn redacted(url: &str) -> String {
    zipster_db::connect::parse_url(url)
        .map_or_else(|_| "(invalid URL)".to_owned(), |o| zipster_db::connect::describe(&o))
}
