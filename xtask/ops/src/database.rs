//! The local database's commands: `seed-db` (migrations, then the static data
//! through the transform and the load), `near` (the radius search) and `bench load`
//! (our load against `LOAD DATA LOCAL INFILE`, and the radius query against the
//! prototype's full self-join, each pair measured in the same run). The database is
//! `--database-url`, else the local stage's (`zipster_tools::database::local_url`):
//! the rows `cargo xtask local` loaded.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use sqlx::mysql::MySqlConnectOptions;
use sqlx::{Executor, MySqlPool};
use xtask::cli::{DatabaseArgs, LoadBenchArgs, NearArgs, SeedDbArgs};
use zipster_db::connect::{self, Limits, describe, quote_identifier};
use zipster_db::load::{LoadCounts, LoadOutcome, ObjectVersion, load_csv};
use zipster_db::{migrate, radius, seed};
use zipster_tools::database;

fn options(args: &DatabaseArgs) -> Result<MySqlConnectOptions> {
    let url = args.database_url.clone().unwrap_or_else(database::local_url);
    Ok(connect::parse_url(&url)?)
}

/// `seed-db` without `--stage`: creates the database if needed, applies pending
/// migrations, then transforms and loads `--file` (relative paths are from the
/// project root).
pub async fn seed(args: &SeedDbArgs) -> Result<()> {
    let options = options(&args.database)?;
    let pool = connect::pool_creating_database(options.clone(), Limits::default()).await?;
    let applied = migrate::apply(&pool).await?;
    for m in &applied {
        println!("applied migration {} {}", m.version, m.description);
    }
    let file = zipster_tools::project_root().join(&args.file);
    let report = seed::load_seed_file(&pool, &file).await?;
    let t = &report.transform;
    println!(
        "{}: {} data lines, {} accepted, {} rejected, {} blank",
        file.display(),
        t.lines_read.saturating_sub(1),
        t.accepted,
        t.rejected,
        t.blank
    );
    println!("{}: {} migrations applied, {}", describe(&options), applied.len(), report.load);
    Ok(())
}

/// `near ZIPCODE --miles R`: one line per zip code, nearest first.
pub async fn near(args: &NearArgs) -> Result<()> {
    let options = options(&args.database)?;
    let pool = connect::pool(options, Limits::default()).await?;
    let neighbors = radius::near(&pool, &args.zipcode, args.miles).await?;
    if neighbors.is_empty() {
        eprintln!("no zip code within {} miles of {}", args.miles, args.zipcode);
    }
    for n in neighbors {
        println!("{} {:.9}", n.zipcode, n.miles);
    }
    Ok(())
}

const TARGET_RATIO: f64 = 2.0;
const TARGET_ROWS_PER_SECOND: f64 = 160_000.0;
const TARGET_RADIUS: Duration = Duration::from_millis(5);

/// `bench load`.
pub async fn bench_load(args: &LoadBenchArgs) -> Result<()> {
    let url = args.database_url.clone().unwrap_or_else(database::server_url);
    let server = connect::parse_url(&database::server_of(&url))?;
    let name = format!("zipster_bench_{}", std::process::id());
    let options = server.clone().database(&name);
    let pool = connect::pool_creating_database(options.clone(), Limits::default()).await?;
    let result = bench_in(&pool, &options, args.runs.max(1)).await;
    pool.close().await;
    let dropped = drop_database(&server, &name).await;
    result.and(dropped)
}

async fn bench_in(pool: &MySqlPool, options: &MySqlConnectOptions, runs: usize) -> Result<()> {
    migrate::apply(pool).await?;
    let raw = std::fs::read(seed::default_seed_file()).context("reading the seed file")?;
    let (accepted, summary) = seed::transform_export(&raw)?;
    let csv = ScratchFile(std::env::temp_dir().join(format!("zipster-bench-{}.csv", std::process::id())));
    std::fs::write(&csv.0, &accepted)?;
    let rows = summary.accepted;
    println!("bench load: {rows} accepted rows of the real data, {runs} runs each, medians");

    pool.execute("CREATE TABLE ZIPCODES_LOAD_DATA LIKE ZIPCODES").await?;
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for run in 0..runs {
        pool.execute("TRUNCATE TABLE ZIPCODES").await?;
        pool.execute("TRUNCATE TABLE LOADED_OBJECTS").await?;
        pool.execute("TRUNCATE TABLE ZIPCODES_LOAD_DATA").await?;
        let object = ObjectVersion {
            bucket: "bench".to_owned(),
            key: "zipcodes.csv".to_owned(),
            etag: format!("run-{run}"),
            version_id: None,
            sequencer: None,
        };
        let started = Instant::now();
        let outcome = load_csv(pool, &object, std::io::Cursor::new(accepted.as_slice())).await?;
        ours.push(started.elapsed());
        let expected = LoadOutcome::Loaded(LoadCounts::upsert(rows, rows, 0, 0));
        if outcome != expected {
            bail!("our load did something else than {expected}: {outcome}");
        }
        theirs.push(load_data_infile(options, &csv.0)?);
        let loaded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ZIPCODES_LOAD_DATA").fetch_one(pool).await?;
        if u64::try_from(loaded)? != rows {
            bail!("LOAD DATA loaded {loaded} rows, expected {rows}");
        }
    }
    let differing: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM ZIPCODES a LEFT JOIN ZIPCODES_LOAD_DATA b ON a.ZIPCODE = b.ZIPCODE \
         WHERE b.ZIPCODE IS NULL OR NOT (a.CITY <=> b.CITY AND a.LATITUDE <=> b.LATITUDE \
         AND a.LONGITUDE <=> b.LONGITUDE AND a.DECOMISSIONED <=> b.DECOMISSIONED AND a.LOCATION <=> b.LOCATION)",
    )
    .fetch_one(pool)
    .await?;
    if differing != 0 {
        bail!("the two loads disagree on {differing} rows");
    }
    let (ours, theirs) = (median(&mut ours), median(&mut theirs));
    let per_second = |d: Duration| rows as f64 / d.as_secs_f64();
    let ratio = ours.as_secs_f64() / theirs.as_secs_f64();
    println!("  zipster load (one transaction, upserts):   {:>8.1} ms  {:>9.0} rows/s", ms(ours), per_second(ours));
    println!(
        "  LOAD DATA LOCAL INFILE (mariadb client):    {:>8.1} ms  {:>9.0} rows/s",
        ms(theirs),
        per_second(theirs)
    );
    println!(
        "  ratio {ratio:.2} (target <= {TARGET_RATIO}) {}; {:.0} rows/s (target >= {TARGET_ROWS_PER_SECOND}) {}",
        verdict(ratio <= TARGET_RATIO),
        per_second(ours),
        verdict(per_second(ours) >= TARGET_ROWS_PER_SECOND)
    );

    let (radius, baseline) = bench_radius(pool).await?;
    println!(
        "  radius 07440 within 2 miles: {:.3} ms (target < {} ms) {}; prototype self-join {:.1} ms, {:.0}x faster",
        ms(radius),
        TARGET_RADIUS.as_millis(),
        verdict(radius < TARGET_RADIUS),
        ms(baseline),
        baseline.as_secs_f64() / radius.as_secs_f64()
    );
    Ok(())
}

/// The same CSV into the identical empty table through the `mariadb` client: the
/// practical limit of a load. A server with a password needs `MYSQL_PWD` set for the
/// client (never on its command line).
fn load_data_infile(options: &MySqlConnectOptions, csv: &Path) -> Result<Duration> {
    let path = csv.to_str().context("temporary file path is not UTF-8")?.replace('\\', "\\\\").replace('\'', "\\'");
    let statement = format!(
        "LOAD DATA LOCAL INFILE '{path}' INTO TABLE ZIPCODES_LOAD_DATA \
         FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' IGNORE 1 LINES \
         (ZIPCODE, ZIPCODE_TYPE, CITY, STATE, LOCATION_TYPE, @lat, @lon, LOCATION, @decommissioned) \
         SET LATITUDE = NULLIF(@lat, ''), LONGITUDE = NULLIF(@lon, ''), DECOMISSIONED = (@decommissioned = 'true')"
    );
    let mut command = Command::new("mariadb");
    command
        .arg("--local-infile=1")
        .arg(format!("--host={}", options.get_host()))
        .arg(format!("--port={}", options.get_port()))
        .arg(format!("--user={}", options.get_username()))
        .arg(format!("--database={}", options.get_database().unwrap_or_default()))
        .arg("--execute")
        .arg(&statement);
    let started = Instant::now();
    let output = command
        .output()
        .context("running the `mariadb` command-line client (install it with `apt-get install mariadb-client`)")?;
    let elapsed = started.elapsed();
    if !output.status.success() {
        bail!("mariadb LOAD DATA failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(elapsed)
}

async fn bench_radius(pool: &MySqlPool) -> Result<(Duration, Duration)> {
    let expected = radius::near(pool, "07440", 2.0).await?;
    if expected.iter().map(|n| n.zipcode.as_str()).collect::<Vec<_>>() != ["07444", "07035", "07477"] {
        bail!("the radius query found {expected:?}");
    }
    let mut ours = Vec::new();
    for _ in 0..200 {
        let started = Instant::now();
        radius::near(pool, "07440", 2.0).await?;
        ours.push(started.elapsed());
    }
    let mut prototype = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let found: Vec<(String, f64)> = sqlx::query_as(
            "SELECT b.ZIPCODE, ST_Distance_Sphere(a.COORDS, b.COORDS) * 0.000621371192 AS MILES \
             FROM ZIPCODES a JOIN ZIPCODES b ON a.ZIPCODE <> b.ZIPCODE \
             WHERE a.ZIPCODE = ? HAVING MILES <= ? ORDER BY MILES, b.ZIPCODE",
        )
        .bind("07440")
        .bind(2.0)
        .fetch_all(pool)
        .await?;
        prototype.push(started.elapsed());
        if found.len() != expected.len() {
            bail!("the self-join found {} zip codes, the radius query {}", found.len(), expected.len());
        }
    }
    Ok((median(&mut ours), median(&mut prototype)))
}

async fn drop_database(server: &MySqlConnectOptions, name: &str) -> Result<()> {
    let pool = connect::pool(server.clone().database(""), Limits::default()).await?;
    pool.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {}", quote_identifier(name)))).await?;
    pool.close().await;
    Ok(())
}

/// Removed when dropped, whatever happened.
struct ScratchFile(std::path::PathBuf);

impl Drop for ScratchFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn verdict(met: bool) -> &'static str {
    if met { "MET" } else { "MISSED" }
}
