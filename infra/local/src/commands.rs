//! The `cargo xtask local` commands over the library: bring the stage up, send files
//! through, re-drive failures, measure, stop. Each builds a [`LocalStage`] for the
//! command's own duration: events wait in the trigger queues between commands.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use zipster_deploy::StageClients;
use zipster_tools::database;
use zipster_tools::local_state::{self, Daemon};

use crate::pipeline::{self, LocalStage, Options};
use crate::{bench, build_bootstraps, deploy, function, target_debug};

/// The file `cargo xtask local` sends through by default.
pub const SAMPLE_FILE: &str = "testdata/zipcodes/sample.csv";

/// How `up` runs.
#[derive(Debug, Clone, Default)]
pub struct Up {
    /// The file to send through (default: [`SAMPLE_FILE`]).
    pub file: Option<PathBuf>,
    /// Keep the local Lambda service running afterwards (Ctrl-C stops it).
    pub serve: bool,
}

/// Starts moto and a database, deploys the local stage, sends a file through it.
pub async fn up(root: &Path, args: &Up) -> Result<()> {
    let step = Instant::now();
    let endpoint = ensure_moto()?;
    let database_url = ensure_database()?;
    eprintln!(
        "local: moto at {endpoint}, database {} ({:.1} s)",
        redacted(&database_url),
        step.elapsed().as_secs_f64()
    );

    let step = Instant::now();
    seed(&database_url).await?;
    eprintln!("local: seed-db done ({:.1} s)", step.elapsed().as_secs_f64());

    let step = Instant::now();
    let clients = StageClients::local(&endpoint).await;
    // moto is throwaway: confirmations (IAM changes) are answered yes.
    let mut ui =
        zipster_deploy::ui::Terminal::new(zipster_deploy::ui::TerminalOptions { yes: true, ..Default::default() });
    let stack_name = deploy::deploy(root, &clients, &mut ui).await?;
    let bootstraps = pipeline::host_bootstraps(&target_debug());
    eprintln!("local: functions built, stack {stack_name} deployed ({:.1} s)", step.elapsed().as_secs_f64());

    let file = args.file.clone().unwrap_or_else(|| root.join(SAMPLE_FILE));
    let stage =
        LocalStage::start(Options::new(&endpoint, &stack_name, &database_url, bootstraps, function::terminal_logs()))
            .await?;
    let result = send(&stage, &file, None).await;
    if result.is_ok() && args.serve {
        eprintln!(
            "local: serving; send more with `cargo xtask put --stage local FILE` from another terminal; Ctrl-C stops"
        );
        tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    }
    stage.stop().await?;
    result
}

/// Bootstrap cold starts and upload-to-rows latency (sample and full data set).
pub async fn bench(root: &Path, files: Vec<PathBuf>) -> Result<()> {
    let files =
        if files.is_empty() { vec![root.join(SAMPLE_FILE), zipster_db::seed::default_seed_file()] } else { files };
    let stage = running_stage(root).await?;
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    // The dev builds the stage runs, and release builds (what Lambda runs) when present.
    let target = target_debug();
    let builds = [target.clone(), target.with_file_name("release")];
    let result = bench::run(&stage, &paths, &builds).await;
    stage.stop().await?;
    result
}

/// `files` variants of the full data set uploaded at once (see [`bench::burst`]).
pub async fn burst(root: &Path, files: usize) -> Result<()> {
    let stage = running_stage(root).await?;
    let result = bench::burst(&stage, &zipster_db::seed::default_seed_file(), files).await;
    stage.stop().await?;
    result
}

/// The moto endpoint and database of the stage that `local` set up before.
pub fn running() -> Result<(String, String)> {
    let state = local_state::load();
    let (Some(moto), Some(database_url)) = (state.moto.filter(Daemon::alive), state.database_url) else {
        bail!("the local stage is not running; start it with `cargo xtask local`");
    };
    Ok((zipster_tools::moto::endpoint(moto.port), database_url))
}

/// The stage that `local` set up before, its Lambda service running in this process
/// (the bootstraps built if stale), without redeploying.
pub async fn running_stage(root: &Path) -> Result<LocalStage> {
    let (endpoint, database_url) = running()?;
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
            bail!("the file failed every retry; see the alerts above and `cargo xtask redrive --stage local`")
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

/// Migrations and the static data, as `seed-db` does.
async fn seed(database_url: &str) -> Result<()> {
    let pool = pipeline::open_database(database_url).await?;
    let applied = zipster_db::migrate::apply(&pool).await?;
    let report = zipster_db::seed::load_seed_file(&pool, &zipster_db::seed::default_seed_file()).await?;
    eprintln!("local: {} migration(s) applied; seed: {}", applied.len(), report.load);
    pool.close().await;
    Ok(())
}

/// The moto the local state records if it still answers, else a new one in its own
/// process group (Ctrl-C on this command leaves moto, and the stack, up).
fn ensure_moto() -> Result<String> {
    let mut state = local_state::load();
    if let Some(moto) = state.moto.as_ref().filter(|m| m.alive()) {
        let endpoint = zipster_tools::moto::endpoint(moto.port);
        if zipster_tools::moto::answers(&endpoint) {
            return Ok(endpoint);
        }
    }
    let port = zipster_tools::free_port()?;
    std::fs::create_dir_all(local_state::dir())?;
    let log = std::fs::File::create(local_state::dir().join("moto.log"))?;
    let mut command = zipster_tools::moto::command(port)?;
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let child = command.stdout(log.try_clone()?).stderr(log).stdin(Stdio::null()).spawn().context("starting moto")?;
    let endpoint = zipster_tools::moto::endpoint(port);
    zipster_tools::moto::wait_ready(&endpoint, Duration::from_secs(60))?;
    state.moto = Some(Daemon { pid: child.id(), port });
    local_state::save(&state)?;
    Ok(endpoint)
}

/// The local database (see `zipster_tools::database`), a server started if none
/// answers; recorded, so that `seed-db` and `near` use the same one afterwards.
fn ensure_database() -> Result<String> {
    let server = database::ensure_server()?;
    let url = match std::env::var("DATABASE_URL") {
        Ok(url) => database::with_database(&url, database::LOCAL_DATABASE),
        Err(_) => database::with_database(&server, database::LOCAL_DATABASE),
    };
    let mut state = local_state::load();
    state.database_url = Some(url.clone());
    local_state::save(&state)?;
    Ok(url)
}

/// Stops what `local` started (moto, a throwaway MariaDB).
pub fn down() -> Result<()> {
    let mut state = local_state::load();
    if let Some(moto) = state.moto.take() {
        moto.stop()?;
        println!("stopped moto (pid {})", moto.pid);
    }
    if let Some(mariadb) = state.mariadb.take() {
        mariadb.stop()?;
        println!("stopped the throwaway MariaDB (pid {})", mariadb.pid);
        // Its data stays in target/local/mariadb, but nothing serves it now.
        state.database_url = None;
    }
    local_state::save(&state)
}

fn redacted(url: &str) -> String {
    zipster_db::connect::parse_url(url)
        .map_or_else(|_| "(invalid URL)".to_owned(), |o| zipster_db::connect::describe(&o))
}
