//! `cargo xtask transform FILE --out DIR`: the Lambda's transform on a local file.

use std::fs::File;

use anyhow::{Context, Result, bail};
use xtask::cli::TransformArgs;
use zipster_core::{Limits, transform};

pub fn run(args: &TransformArgs) -> Result<()> {
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let input = File::open(&args.input).with_context(|| format!("opening {}", args.input.display()))?;
    let create = |name: &str| {
        let path = args.out.join(name);
        File::create(&path).with_context(|| format!("creating {}", path.display()))
    };
    let limits = Limits { max_line_bytes: args.max_line_bytes, ..Limits::default() };
    let accepted_path = args.out.join("accepted.csv");
    let result = transform(input, create("accepted.csv")?, create("rejects.jsonl")?, &limits);
    let summary = match &result {
        Ok(summary) => summary,
        Err(failure) => {
            // A refused file has no accepted rows to show, only its report.
            std::fs::remove_file(&accepted_path).ok();
            &failure.summary
        }
    };
    let json = serde_json::to_string_pretty(summary)?;
    std::fs::write(args.out.join("summary.json"), format!("{json}\n"))?;
    println!("{json}");
    match result {
        Ok(s) => {
            eprintln!(
                "{}: {} accepted, {} rejected, {} blank → {}",
                args.input.display(),
                s.accepted,
                s.rejected,
                s.blank,
                args.out.display()
            );
            Ok(())
        }
        Err(failure) => bail!("{} refused: {}", args.input.display(), failure.error),
    }
}
