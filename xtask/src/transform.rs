//! `cargo xtask transform FILE [--feed NAME | --schema DESCRIPTOR] --out DIR`: the
//! Lambda's transform on a local file, with a feed's contract or any descriptor.

use std::fs::File;

use anyhow::{Context, Result, bail};
use xtask::cli::TransformArgs;
use zipster_contract::Contract;
use zipster_core::{Limits, transform};

/// The contract to transform with: a descriptor file, else a feed of this build.
fn contract(args: &TransformArgs) -> Result<(String, std::borrow::Cow<'static, Contract>)> {
    match &args.schema {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            let contract =
                Contract::from_json(&text).with_context(|| format!("{} is not a usable contract", path.display()))?;
            Ok((path.display().to_string(), std::borrow::Cow::Owned(contract)))
        }
        None => {
            let feed = zipster_core::feeds::builtin(&args.feed)?;
            Ok((format!("feed {} ({})", feed.name, feed.short_hash()), std::borrow::Cow::Borrowed(&feed.contract)))
        }
    }
}

pub fn run(args: &TransformArgs) -> Result<()> {
    let (contract_name, contract) = contract(args)?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let input = File::open(&args.input).with_context(|| format!("opening {}", args.input.display()))?;
    let create = |name: &str| {
        let path = args.out.join(name);
        File::create(&path).with_context(|| format!("creating {}", path.display()))
    };
    let limits = Limits { max_line_bytes: args.max_line_bytes, ..Limits::default() };
    let accepted_path = args.out.join("accepted.csv");
    let result = transform(&contract, input, create("accepted.csv")?, create("rejects.jsonl")?, &limits);
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
                "{} with {contract_name}: {} accepted, {} rejected, {} blank → {}",
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
