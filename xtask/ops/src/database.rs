//! The local database's commands: `seed-db` (migrations, then the static data
//! through the transform and the load), `near` (the radius search) and `bench load`
//! (each feed's load against `LOAD DATA LOCAL INFILE` of the same rows, and the radius
//! query against the prototype's full self-join, each pair measured in the same run). The database is
//! `--database-url`, else the local stage's (`zipster_tools::database::local_url`):
//! the rows `cargo xtask local` loaded.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use sqlx::mysql::MySqlConnectOptions;
use sqlx::{AssertSqlSafe, Executor, MySqlPool};
use xtask::cli::{DatabaseArgs, LoadBenchArgs, NearArgs, SeedDbArgs};
use zipster_db::connect::{self, Limits, describe, quote_identifier};
use zipster_db::contracts::{Table, ValueKind};
use zipster_db::load::{LoadOutcome, ObjectVersion, Overrides, Target, load_table};
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

/// Each feed's load against `LOAD DATA` of the same rows (issue 18: the generic load must
/// not be slower than the hand-written one it replaced, 1.46 on the zip codes).
const TARGET_RATIO: f64 = 1.5;
const TARGET_RADIUS: Duration = Duration::from_millis(5);

/// The feeds `bench load` loads, each with its real data (from the project root).
const BENCH_FEEDS: [(&str, &str); 3] = [
    ("zipcodes", "db/seed/zipcodes.csv"),
    ("cities", "testdata/cities/cities15000.csv"),
    ("weather", "testdata/weather/weather.csv"),
];

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
    println!("bench load: each feed's real data through its transform, then its load; {runs} runs each, medians");
    for (feed, file) in BENCH_FEEDS {
        bench_feed(pool, options, runs, feed, file).await.with_context(|| format!("bench load of feed {feed}"))?;
    }
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

/// One feed: `load_table` into its table, `LOAD DATA` of the same accepted rows into an
/// empty copy of it, alternately, then the two tables compared row by row.
async fn bench_feed(
    pool: &MySqlPool,
    options: &MySqlConnectOptions,
    runs: usize,
    name: &str,
    file: &str,
) -> Result<()> {
    let feed = zipster_core::feeds::builtin(name)?;
    let target = Target::of(feed);
    let table = &target.table;
    if table.primary_key.is_empty() {
        bail!("its table has no key to compare the two loads' rows by");
    }
    let path = zipster_tools::project_root().join(file);
    let raw = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut accepted = Vec::with_capacity(raw.len());
    let summary =
        zipster_core::transform(&feed.contract, &raw[..], &mut accepted, std::io::sink(), &Default::default())
            .map_err(|failure| anyhow::anyhow!("transforming {file}: {failure}"))?;
    let csv = ScratchFile(std::env::temp_dir().join(format!("zipster-bench-{}-{name}.csv", std::process::id())));
    std::fs::write(&csv.0, &accepted)?;
    let rows = summary.accepted;
    let copy = format!("{}_LOAD_DATA", table.name);
    pool.execute(AssertSqlSafe(format!("CREATE TABLE {copy} LIKE {}", table.name))).await?;
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for run in 0..runs {
        for emptied in [table.name.as_str(), copy.as_str()] {
            pool.execute(AssertSqlSafe(format!("TRUNCATE TABLE {emptied}"))).await?;
        }
        let object = ObjectVersion {
            bucket: "bench".to_owned(),
            key: format!("{}{file}", feed.key_prefix),
            etag: format!("run-{run}"),
            version_id: None,
            sequencer: None,
        };
        // This feed's earlier runs' records, which no row's lineage references any more
        // (the other feed's rows still reference theirs: not the whole table).
        sqlx::query("DELETE FROM LOADED_OBJECTS WHERE BUCKET = ? AND OBJECT_KEY = ?")
            .bind(&object.bucket)
            .bind(&object.key)
            .execute(pool)
            .await?;
        let started = Instant::now();
        let outcome =
            load_table(pool, &target, &object, Overrides::default(), std::io::Cursor::new(accepted.as_slice())).await?;
        ours.push(started.elapsed());
        match outcome {
            LoadOutcome::Loaded(counts) if counts.rows == rows && counts.inserted == rows => {}
            other => bail!("the load did something else than insert its {rows} rows into the empty table: {other}"),
        }
        theirs.push(load_data_infile(options, &csv.0, table, &copy)?);
        let loaded: i64 =
            sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {copy}"))).fetch_one(pool).await?;
        if u64::try_from(loaded)? != rows {
            bail!("LOAD DATA loaded {loaded} rows, expected {rows}");
        }
    }
    let on: Vec<String> = table.primary_key.iter().map(|k| format!("a.{k} = b.{k}")).collect();
    let same: Vec<String> = table.columns.iter().map(|c| format!("a.{0} <=> b.{0}", c.name)).collect();
    let differing: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM {} a LEFT JOIN {copy} b ON {} WHERE b.{} IS NULL OR NOT ({})",
        table.name,
        on.join(" AND "),
        table.primary_key[0],
        same.join(" AND ")
    )))
    .fetch_one(pool)
    .await?;
    if differing != 0 {
        bail!("the two loads disagree on {differing} rows");
    }
    let (ours, theirs) = (median(&mut ours), median(&mut theirs));
    let per_second = |d: Duration| rows as f64 / d.as_secs_f64();
    let ratio = ours.as_secs_f64() / theirs.as_secs_f64();
    println!("  {name}: {rows} accepted rows of {file} into {}", table.name);
    println!(
        "    zipster load (one transaction, {}):{:>width$}{:>8.1} ms  {:>9.0} rows/s",
        table.strategy.as_str(),
        "",
        ms(ours),
        per_second(ours),
        width = 10_usize.saturating_sub(table.strategy.as_str().len())
    );
    println!(
        "    LOAD DATA LOCAL INFILE (mariadb client):  {:>8.1} ms  {:>9.0} rows/s",
        ms(theirs),
        per_second(theirs)
    );
    println!("    ratio {ratio:.2} (target <= {TARGET_RATIO}) {}", verdict(ratio <= TARGET_RATIO));
    Ok(())
}

/// The same CSV into the identical empty table `into` through the `mariadb` client: the
/// practical limit of a load. Columns are read as the load reads them: an empty cell is
/// `NULL` where the column allows it, a boolean is `true`/`false`. A server with a
/// password needs `MYSQL_PWD` set for the client (never on its command line).
fn load_data_infile(options: &MySqlConnectOptions, csv: &Path, table: &Table, into: &str) -> Result<Duration> {
    let path = csv.to_str().context("temporary file path is not UTF-8")?.replace('\\', "\\\\").replace('\'', "\\'");
    let (mut read, mut set) = (Vec::new(), Vec::new());
    for (i, c) in table.columns.iter().enumerate() {
        let cell = format!("@c{i}");
        match (c.kind, c.nullable) {
            (ValueKind::Boolean, false) => set.push(format!("{} = ({cell} = 'true')", c.name)),
            (ValueKind::Boolean, true) => set.push(format!("{} = IF({cell} = '', NULL, {cell} = 'true')", c.name)),
            // The server's own reading of a zone (CONVERT_TZ from the value's offset to UTC),
            // so the two tables' comparison also checks the load's conversion.
            (ValueKind::DateTime | ValueKind::Time, _) => {
                let zoned = format!("{cell} REGEXP '[+-][0-9]{{2}}:[0-9]{{2}}$'");
                let value = format!(
                    "IF({cell} LIKE '%Z', LEFT({cell}, CHAR_LENGTH({cell}) - 1), \
                     IF({zoned}, LEFT({cell}, CHAR_LENGTH({cell}) - 6), {cell}))"
                );
                let offset = format!("IF({zoned}, RIGHT({cell}, 6), '+00:00')");
                let utc = match c.kind {
                    ValueKind::Time => format!("TIME(CONVERT_TZ(CONCAT('2000-01-01 ', {value}), {offset}, '+00:00'))"),
                    _ => format!("CONVERT_TZ({value}, {offset}, '+00:00')"),
                };
                set.push(format!("{} = IF({cell} = '', NULL, {utc})", c.name));
            }
            (_, true) => set.push(format!("{} = NULLIF({cell}, '')", c.name)),
            (_, false) => {
                read.push(c.name.clone());
                continue;
            }
        }
        read.push(cell);
    }
    // No escape character: the accepted CSV quotes (doubling quotes) and never escapes, so
    // a backslash in a value is the value's.
    let statement = format!(
        "LOAD DATA LOCAL INFILE '{path}' INTO TABLE {into} CHARACTER SET utf8mb4 \
         FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' LINES TERMINATED BY '\\n' IGNORE 1 LINES \
         ({}) SET {}",
        read.join(", "),
        set.join(", ")
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
