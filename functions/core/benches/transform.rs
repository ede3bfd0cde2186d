//! `cargo bench -p zipster-core --bench transform` (or `cargo xtask bench transform`).
//!
//! Transforms the real data set at 1× and 10× and, in the same run, parses the same
//! bytes with the `csv` crate alone (every record read, nothing validated): the
//! ratio of the two is the cost of the feed's rules and outputs. Peak RSS is read
//! from a fresh child process per size, since a process's high-water mark only rises.

use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use zipster_core::{Limits, transform};

const RUNS: usize = 5;
/// The Python prototype's throughput on the same file, measured on this machine.
const PROTOTYPE_ROWS_PER_SEC: f64 = 69_000.0;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--rss") {
        let path = args.get(i + 1).map(PathBuf::from).unwrap_or_default();
        println!("{}", transform_peak_rss_kib(&path));
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let seed = std::fs::read(root.join("db/seed/zipcodes.csv")).expect("db/seed/zipcodes.csv");
    let dir = root.join("target/bench");
    std::fs::create_dir_all(&dir).expect("target/bench");
    let one = dir.join("zipcodes-1x.csv");
    let ten = dir.join("zipcodes-10x.csv");
    write_copies(&seed, 1, &one);
    write_copies(&seed, 10, &ten);

    println!("transform benchmark: best of {RUNS} runs, outputs to a sink");
    println!(
        "{:<6} {:>9} {:>9} {:>12} {:>9} {:>12} {:>9} {:>7} {:>10}",
        "input", "MB", "rows", "bare rows/s", "bare MB/s", "rows/s", "MB/s", "ratio", "peak RSS"
    );
    for (label, path) in [("1x", &one), ("10x", &ten)] {
        let bytes = std::fs::metadata(path).expect("bench input").len() as f64;
        let (mut bare, mut ours, mut rows) = (Duration::MAX, Duration::MAX, 0u64);
        for _ in 0..RUNS {
            let (t, n) = timed(|| bare_parse(path));
            bare = bare.min(t);
            let (t, n2) = timed(|| transform_to_sink(path));
            ours = ours.min(t);
            assert_eq!(n, n2, "both passes see every row");
            rows = n;
        }
        let rss = child_peak_rss_kib(path);
        let per_sec = |d: Duration, x: f64| x / d.as_secs_f64();
        println!(
            "{label:<6} {:>9.1} {rows:>9} {:>12.0} {:>9.1} {:>12.0} {:>9.1} {:>7.2} {:>7} MiB",
            bytes / 1e6,
            per_sec(bare, rows as f64),
            per_sec(bare, bytes) / 1e6,
            per_sec(ours, rows as f64),
            per_sec(ours, bytes) / 1e6,
            ours.as_secs_f64() / bare.as_secs_f64(),
            rss / 1024,
        );
        if label == "10x" {
            println!(
                "10x: transform/bare-parse ratio {:.2} (target <= 2.0); {:.0} rows/s (target >= 3,000,000; {:.0}x the prototype's {PROTOTYPE_ROWS_PER_SEC} rows/s)",
                ours.as_secs_f64() / bare.as_secs_f64(),
                per_sec(ours, rows as f64),
                per_sec(ours, rows as f64) / PROTOTYPE_ROWS_PER_SEC,
            );
        }
    }
}

fn write_copies(seed: &[u8], copies: usize, path: &Path) {
    let split = seed.iter().position(|b| *b == b'\n').map_or(0, |i| i + 1);
    let (header, rows) = seed.split_at(split);
    let mut out = BufWriter::new(std::fs::File::create(path).expect("bench file"));
    out.write_all(header).expect("write");
    for _ in 0..copies {
        out.write_all(rows).expect("write");
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

fn transform_to_sink(path: &Path) -> u64 {
    let file = std::fs::File::open(path).expect("bench input");
    let summary = transform(
        &zipster_core::feeds::builtin(zipster_core::feeds::ZIPCODES).expect("the zip code feed").contract,
        file,
        std::io::sink(),
        std::io::sink(),
        &Limits::default(),
    )
    .expect("transform");
    summary.accepted + summary.rejected + summary.blank
}

fn transform_peak_rss_kib(path: &Path) -> u64 {
    transform_to_sink(path);
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn child_peak_rss_kib(path: &Path) -> u64 {
    let exe = std::env::current_exe().expect("own path");
    let out = Command::new(exe).arg("--rss").arg(path).output().expect("child run");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0)
}
