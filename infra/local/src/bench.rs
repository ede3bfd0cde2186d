//! `cargo xtask local bench`: what the local stage costs, each figure beside a
//! baseline measured in the same run.
//!
//! - Cold start of each bootstrap (process start → its first `/next`), against
//!   starting and reaping `/bin/true` (the cost of a process at all); target < 50 ms.
//! - Upload-to-rows latency for the sample and the full data set, against the same
//!   transform and load called in-process on the same file and database (no S3, SNS,
//!   SQS or processes): the ratio is what the plumbing adds.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use zipster_db::load::{ObjectVersion, load_csv};

use crate::function::{Function, FunctionSpec};
use crate::pipeline::{LocalStage, Outcome, latest_result};

const COLD_STARTS: usize = 10;

/// `builds`: directories of bootstraps to time (e.g. `target/debug`, `target/release`).
pub async fn run(stage: &LocalStage, files: &[&Path], builds: &[PathBuf]) -> Result<()> {
    println!("cold start (process start → first /next), {COLD_STARTS} runs each:");
    let baseline = median(&process_baseline(COLD_STARTS)?);
    println!("  {:<28} median {:>7.2} ms   (baseline: /bin/true start→exit)", "process", ms(baseline));
    for id in crate::triggered_functions().map(|f| f.logical_id()) {
        let Some(served) = stage.service.served(id) else { continue };
        let spec = served.function.lock().await.spec().clone();
        for dir in builds {
            let Some(bin) = spec.bootstrap.file_name() else { continue };
            let bootstrap = dir.join(bin);
            if !bootstrap.exists() {
                println!("  {:<28} (not built)", bootstrap.display());
                continue;
            }
            let spec = FunctionSpec { bootstrap: bootstrap.clone(), ..spec.clone() };
            let mut function = Function::new(spec, Arc::new(|_: &str| {})).await?;
            let mut runs = Vec::with_capacity(COLD_STARTS);
            for _ in 0..COLD_STARTS {
                runs.push(function.cold_start().await?);
            }
            function.stop().await;
            let (median, max) = (median(&runs), runs.iter().max().copied().unwrap_or_default());
            let verdict = if median < Duration::from_millis(50) { "under" } else { "OVER" };
            let size = std::fs::metadata(&bootstrap).map_or(0, |m| m.len()) / (1024 * 1024);
            println!(
                "  {:<28} median {:>7.2} ms, max {:>7.2} ms, {:.1}x the baseline; {verdict} the 50 ms target ({size} MiB)",
                bootstrap.strip_prefix(zipster_tools::project_root()).unwrap_or(&bootstrap).display().to_string(),
                ms(median),
                ms(max),
                ratio(median, baseline)
            );
        }
    }

    println!("\nupload → rows in the database, against the same transform + load in-process:");
    for file in files {
        let raw = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let direct = direct_load(stage, &raw, file).await?;
        let key = format!("bench/{}-{}", unique(), file.file_name().map_or("file".into(), |n| n.to_string_lossy()));
        let trace = stage.put(file, &key, Duration::from_secs(600)).await?;
        if trace.outcome != Outcome::Loaded {
            bail!("{} did not load: {:?}\n{}", file.display(), trace.outcome, trace.render(stage.row_count().await?));
        }
        let total = trace.step("total").unwrap_or_default();
        let rows = trace
            .transform
            .as_ref()
            .and_then(|t| t.pointer("/summary/accepted"))
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        let steps: Vec<String> = trace.steps.iter().map(|(n, d)| format!("{n} {:.0} ms", ms(*d))).collect();
        println!(
            "  {:<40} {rows:>6} rows: local stage {:>8.1} ms ({}), in-process {:>8.1} ms, ratio {:.2}",
            file.display().to_string(),
            ms(total),
            steps.join(", "),
            ms(direct),
            ratio(total, direct)
        );
    }
    Ok(())
}

/// The transform and the load on `raw`, called directly, as a never-seen object.
async fn direct_load(stage: &LocalStage, raw: &[u8], file: &Path) -> Result<Duration> {
    let started = Instant::now();
    let (accepted, _) = zipster_db::seed::transform_export(raw)?;
    let object = ObjectVersion {
        bucket: "bench-in-process".to_owned(),
        key: format!("{}-{}", unique(), file.display()),
        etag: unique(),
        version_id: None,
        sequencer: None,
    };
    load_csv(&stage.pool, &object, std::io::Cursor::new(accepted.as_slice())).await?;
    Ok(started.elapsed())
}

fn process_baseline(runs: usize) -> Result<Vec<Duration>> {
    (0..runs)
        .map(|_| {
            let started = Instant::now();
            std::process::Command::new("/bin/true").status().context("running /bin/true")?;
            Ok(started.elapsed())
        })
        .collect()
}

fn unique() -> String {
    format!("{}", SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos()))
}

fn median(runs: &[Duration]) -> Duration {
    let mut sorted = runs.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn ratio(a: Duration, b: Duration) -> f64 {
    if b.is_zero() { f64::INFINITY } else { a.as_secs_f64() / b.as_secs_f64() }
}

/// `local bench burst`: `files` variants of the real data set uploaded at once. Every
/// file holds the same zip codes (in its own order; every other one flips the
/// decommissioned flag), so each overlaps all the others and changes their rows.
/// Reports the time to the last load, each function's peak memory, and checks that
/// every file was loaded exactly once, whole.
pub async fn burst(stage: &LocalStage, seed: &Path, files: usize) -> Result<()> {
    let raw = std::fs::read_to_string(seed).with_context(|| format!("reading {}", seed.display()))?;
    let (header, rows) = raw.split_once('\n').context("the seed file has no header")?;
    let rows: Vec<&str> = rows.lines().filter(|l| !l.is_empty()).collect();
    let run = unique();
    let keys: Vec<String> = (0..files).map(|i| format!("burst-{run}/{i:02}.csv")).collect();
    let input = stage.bucket("InputBucket")?.to_owned();
    let staging = stage.bucket("StagingBucket")?.to_owned();
    let before: i64 = stage.row_count().await?;

    let mark = stage.mark();
    let started = mark.started;
    let mut uploads = tokio::task::JoinSet::new();
    for (i, key) in keys.iter().enumerate() {
        let mut body = String::with_capacity(raw.len());
        body.push_str(header);
        body.push('\n');
        let shift = i * rows.len() / files.max(1);
        for row in rows[shift..].iter().chain(&rows[..shift]) {
            if i % 2 == 1 {
                body.push_str(&row.replacen(",FALSE,", ",TRUE,", 1));
            } else {
                body.push_str(row);
            }
            body.push('\n');
        }
        let (clients, input, key) = (stage.clients.clone(), input.clone(), key.clone());
        uploads.spawn(async move {
            clients
                .s3
                .put_object()
                .bucket(&input)
                .key(&key)
                .body(body.into_bytes().into())
                .send()
                .await
                .map_err(clients.error("PutObject", format!("s3://{input}/{key}")))
        });
    }
    for upload in uploads.join_all().await {
        upload?;
    }
    let uploaded = started.elapsed();
    println!("burst: {files} files of {} rows uploaded at once in {:.1} s", rows.len(), uploaded.as_secs_f64());

    // Followed through the service's own records of each load, as `put` is.
    let (mut loaded, mut failed) = (std::collections::BTreeSet::new(), 0);
    while loaded.len() + failed < files && started.elapsed() < Duration::from_secs(30 * 60) {
        let since = stage.service.deliveries_since(mark.deliveries);
        failed = 0;
        for key in &keys {
            match latest_result(&since, zipster_infra::functions::LOAD.logical_id(), &staging, key) {
                Some((_, Some(_))) => {
                    loaded.insert(key.clone());
                }
                Some((_, None)) => failed += 1,
                None => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = started.elapsed();

    let recorded: Vec<(String, u32)> =
        sqlx::query_as("SELECT OBJECT_KEY, ROWS_READ FROM LOADED_OBJECTS WHERE OBJECT_KEY LIKE ? ORDER BY OBJECT_KEY")
            .bind(format!("burst-{run}/%"))
            .fetch_all(&stage.pool)
            .await?;
    let after: i64 = stage.row_count().await?;
    println!(
        "burst: {} of {files} loaded, {failed} failed every retry, in {:.1} s ({:.0} rows/s through the stage)",
        loaded.len(),
        elapsed.as_secs_f64(),
        (files * rows.len()) as f64 / elapsed.as_secs_f64()
    );
    for id in crate::triggered_functions().map(|f| f.logical_id()) {
        let Some(served) = stage.service.served(id) else { continue };
        // The process that handled the burst: a new one would report an idle peak.
        let Some(pid) = served.function.lock().await.running_pid() else {
            println!("  {id:<18} peak memory unknown: its process is gone");
            continue;
        };
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let peak = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).map_or("unknown", str::trim);
        println!("  {id:<18} peak memory {peak}");
    }
    if loaded.len() != files || failed > 0 {
        bail!("{} of {files} files loaded, {failed} failed every retry", loaded.len());
    }
    if recorded.len() != files {
        bail!("LOADED_OBJECTS records {} of the {files} files", recorded.len());
    }
    if before > 0 && after != before {
        bail!("the files hold the zip codes already loaded, yet the row count went from {before} to {after}");
    }
    if let Some((key, read)) = recorded.iter().find(|(_, read)| i64::from(*read) != after) {
        bail!("{key} loaded {read} rows, not all {after}");
    }
    println!("  every file recorded once in LOADED_OBJECTS; {after} zip codes in the table (was {before})");
    Ok(())
}
