//! `cargo bench -p zipster-core --bench transform` (or `cargo xtask bench transform`).
//!
//! Transforms each feed's real data set (the zip codes, the cities) at 1× and 10× through
//! its contract and, in the same run, parses the same bytes with the `csv` crate alone
//! (every record read, nothing validated): the ratio of the two is the cost of the
//! contract and the outputs. The cities file is also validated by `frictionless`. Peak RSS is read
//! from a fresh child process per size, since a process's high-water mark only rises.

use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use zipster_core::{Limits, transform};

const RUNS: usize = 15;
/// The Python prototype's throughput on the same file, measured on this machine.
const PROTOTYPE_ROWS_PER_SEC: f64 = 69_000.0;

/// The feeds measured: name, real data file, the ratio to a bare parse it must stay under
/// (issue 17's, for the zip codes and the second feed; the weather feed, fifteen cells a
/// row and datetimes in its key, is measured without one).
const FEEDS: [(&str, &str, Option<f64>); 3] = [
    ("zipcodes", "db/seed/zipcodes.csv", Some(2.0)),
    ("cities", "testdata/cities/cities15000.csv", Some(2.5)),
    ("weather", "testdata/weather/weather.csv", None),
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--rss") {
        let feed = args.get(i + 1).cloned().unwrap_or_default();
        let path = args.get(i + 2).map(PathBuf::from).unwrap_or_default();
        println!("{}", transform_peak_rss_kib(&feed, &path));
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("target/bench");
    std::fs::create_dir_all(&dir).expect("target/bench");

    println!("transform benchmark: best of {RUNS} runs, outputs to a sink");
    println!(
        "{:<14} {:>7} {:>9} {:>12} {:>9} {:>12} {:>9} {:>7} {:>10}",
        "feed input", "MB", "rows", "bare rows/s", "bare MB/s", "rows/s", "MB/s", "ratio", "peak RSS"
    );
    let mut verdicts = Vec::new();
    for (feed, data, target) in FEEDS {
        let seed = std::fs::read(root.join(data)).unwrap_or_else(|e| panic!("{data}: {e}"));
        let one = dir.join(format!("{feed}-1x.csv"));
        let ten = dir.join(format!("{feed}-10x.csv"));
        let keyed = zipster_core::feeds::builtin(feed).expect("the feed").contract.primary_key().next().is_some();
        write_copies(&seed, 1, keyed, &one);
        write_copies(&seed, 10, keyed, &ten);
        let mut one_x = Duration::ZERO;
        for (label, path) in [("1x", &one), ("10x", &ten)] {
            let bytes = std::fs::metadata(path).expect("bench input").len() as f64;
            let (mut bare, mut ours, mut rows) = (Duration::MAX, Duration::MAX, 0u64);
            for _ in 0..RUNS {
                let (t, n) = timed(|| bare_parse(path));
                bare = bare.min(t);
                let (t, n2) = timed(|| transform_to_sink(feed, path));
                ours = ours.min(t);
                assert_eq!(n, n2, "both passes see every row");
                rows = n;
            }
            let rss = child_peak_rss_kib(feed, path);
            let per_sec = |d: Duration, x: f64| x / d.as_secs_f64();
            let ratio = ours.as_secs_f64() / bare.as_secs_f64();
            println!(
                "{:<14} {:>7.1} {rows:>9} {:>12.0} {:>9.1} {:>12.0} {:>9.1} {ratio:>7.2} {:>7} MiB",
                format!("{feed} {label}"),
                bytes / 1e6,
                per_sec(bare, rows as f64),
                per_sec(bare, bytes) / 1e6,
                per_sec(ours, rows as f64),
                per_sec(ours, bytes) / 1e6,
                rss / 1024,
            );
            if label == "1x" {
                one_x = ours;
            } else {
                // The same pass building the data-quality page, in the same run.
                let with_page = (0..RUNS).map(|_| timed(|| transform_with_page(feed, path)).0).min().unwrap_or(ours);
                verdicts.push(format!(
                    "{feed} 10x: transform/bare-parse ratio {ratio:.2} ({}), {:.2} with the page; {:.0} rows/s",
                    target.map_or_else(
                        || "no target".to_owned(),
                        |t| format!("target <= {t}: {}", if ratio <= t { "met" } else { "MISSED" })
                    ),
                    with_page.as_secs_f64() / bare.as_secs_f64(),
                    per_sec(ours, rows as f64)
                ));
            }
        }
        if feed == "zipcodes" {
            let rows = 10.0 * seed.iter().filter(|b| **b == b'\n').count() as f64;
            verdicts.push(format!(
                "zipcodes: {:.0}x the Python prototype's {PROTOTYPE_ROWS_PER_SEC} rows/s",
                rows / 10.0 / one_x.as_secs_f64() / PROTOTYPE_ROWS_PER_SEC
            ));
        } else if let Some(theirs) = frictionless_seconds(&root, feed, &one) {
            verdicts.push(format!(
                "{feed} 1x: frictionless validate {theirs:.1} s, the transform {:.3} s: {:.0}x faster (goal >= 50x)",
                one_x.as_secs_f64(),
                theirs / one_x.as_secs_f64()
            ));
        }
    }
    for verdict in verdicts {
        println!("{verdict}");
    }
}

/// `frictionless validate` of the same file with the same descriptor, wall time of the
/// process (its own start-up included, as a user would run it); `None` without the venv.
fn frictionless_seconds(root: &Path, feed: &str, data: &Path) -> Option<f64> {
    let tool = root.join(".tools/venv/bin/frictionless");
    if !tool.exists() {
        println!("{feed}: no .tools/venv/bin/frictionless (cargo xtask tools installs it): not compared");
        return None;
    }
    // frictionless refuses paths outside its working directory.
    let dir = data.parent()?;
    std::fs::copy(root.join("feeds").join(feed).join("schema.json"), dir.join(format!("{feed}.schema.json"))).ok()?;
    let name = data.file_name()?.to_string_lossy().into_owned();
    let started = Instant::now();
    let status = Command::new(tool)
        .args(["validate", "--json", "--schema", &format!("{feed}.schema.json"), &name])
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .status()
        .ok()?;
    let seconds = started.elapsed().as_secs_f64();
    status.success().then_some(seconds)
}

/// The data `copies` times; with `keyed`, copy k > 0 gets new keys, so that keys stay
/// unique: a first column that is an integer key becomes `k` followed by the key in nine
/// digits; otherwise (the weather's `(origin, time_hour)`) the last column's year moves
/// `k` hundred years on, to another instant of the same hour.
fn write_copies(seed: &[u8], copies: usize, keyed: bool, path: &Path) {
    let split = seed.iter().position(|b| *b == b'\n').map_or(0, |i| i + 1);
    let (header, rows) = seed.split_at(split);
    let mut out = BufWriter::new(std::fs::File::create(path).expect("bench file"));
    out.write_all(header).expect("write");
    for copy in 0..copies {
        if copy == 0 || !keyed {
            out.write_all(rows).expect("write");
            continue;
        }
        for line in rows.split_inclusive(|b| *b == b'\n') {
            let comma = line.iter().position(|b| *b == b',').unwrap_or(0);
            if let Some(key) = std::str::from_utf8(&line[..comma]).ok().and_then(|k| k.parse::<u64>().ok()) {
                write!(out, "{copy}{key:09}").expect("write");
                out.write_all(&line[comma..]).expect("write");
                continue;
            }
            let last = line.iter().rposition(|b| *b == b',').map_or(0, |i| i + 1);
            let year: u32 =
                std::str::from_utf8(&line[last..last + 4]).ok().and_then(|y| y.parse().ok()).expect("a year");
            out.write_all(&line[..last]).expect("write");
            write!(out, "{}", year + 100 * copy as u32).expect("write");
            out.write_all(&line[last + 4..]).expect("write");
        }
    }
    out.flush().expect("flush");
}

fn timed(f: impl FnOnce() -> u64) -> (Duration, u64) {
    let start = Instant::now();
    let n = f();
    (start.elapsed(), n)
}

/// The practical floor: the `csv` crate reading every record, nothing more.
fn bare_parse(path: &Path) -> u64 {
    let file = std::fs::File::open(path).expect("bench input");
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(BufReader::with_capacity(256 * 1024, file));
    let mut record = csv::ByteRecord::new();
    let mut rows = 0;
    while reader.read_byte_record(&mut record).expect("parse") {
        rows += 1;
    }
    rows
}

fn transform_to_sink(feed: &str, path: &Path) -> u64 {
    let contract = &zipster_core::feeds::builtin(feed).expect("the feed").contract;
    let file = std::fs::File::open(path).expect("bench input");
    let summary = transform(contract, file, std::io::sink(), std::io::sink(), &Limits::default()).expect("transform");
    summary.accepted + summary.rejected + summary.blank
}

fn transform_with_page(feed: &str, path: &Path) -> u64 {
    let contract = &zipster_core::feeds::builtin(feed).expect("the feed").contract;
    let file = std::fs::File::open(path).expect("bench input");
    let (result, page) =
        zipster_core::transform_with_report(contract, file, std::io::sink(), std::io::sink(), &Limits::default(), 200);
    let summary = result.expect("transform");
    assert_eq!(page.rejected_lines(), summary.rejected + summary.blank, "the page sees every rejected line");
    summary.accepted + summary.rejected + summary.blank
}

fn transform_peak_rss_kib(feed: &str, path: &Path) -> u64 {
    transform_to_sink(feed, path);
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn child_peak_rss_kib(feed: &str, path: &Path) -> u64 {
    let exe = std::env::current_exe().expect("own path");
    let out = Command::new(exe).arg("--rss").arg(feed).arg(path).output().expect("child run");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0)
}
