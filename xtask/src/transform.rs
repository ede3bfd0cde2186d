//! `cargo xtask transform FILE [--feed NAME | --schema DESCRIPTOR] --out DIR`: the
//! Lambda's transform on a local file, with a feed's contract or any descriptor.

use std::fs::File;

use anyhow::{Context, Result, bail};
use xtask::cli::TransformArgs;
use zipster_contract::Contract;
use zipster_core::{FileError, Limits, transform_with_report};
use zipster_report::{Counts, DEFAULT_MAX_LINES, Outcome, Page};

/// The contract to transform with: a descriptor file, else a feed of this build; with
/// its name and hash, for the messages and the page.
fn contract(args: &TransformArgs) -> Result<(String, String, std::borrow::Cow<'static, Contract>)> {
    match &args.schema {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            let contract =
                Contract::from_json(&text).with_context(|| format!("{} is not a usable contract", path.display()))?;
            let hash = zipster_core::feeds::contract_hash(&text);
            Ok((path.display().to_string(), hash, std::borrow::Cow::Owned(contract)))
        }
        None => {
            let feed = zipster_core::feeds::builtin(&args.feed)?;
            Ok((format!("feed {}", feed.name), feed.hash.clone(), std::borrow::Cow::Borrowed(&feed.contract)))
        }
    }
}

pub fn run(args: &TransformArgs) -> Result<()> {
    let (contract_name, hash, contract) = contract(args)?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let input = File::open(&args.input).with_context(|| format!("opening {}", args.input.display()))?;
    let create = |name: &str| {
        let path = args.out.join(name);
        File::create(&path).with_context(|| format!("creating {}", path.display()))
    };
    let limits = Limits { max_line_bytes: args.max_line_bytes, ..Limits::default() };
    let accepted_path = args.out.join("accepted.csv");
    let (accepted, rejects) = (create("accepted.csv")?, create("rejects.jsonl")?);
    let (result, page) = transform_with_report(&contract, input, accepted, rejects, &limits, DEFAULT_MAX_LINES);
    let summary = match &result {
        Ok(summary) => summary,
        Err(failure) => {
            // A refused file has no accepted rows to show, only its report.
            std::fs::remove_file(&accepted_path).ok();
            &failure.summary
        }
    };
    let reason = summary.error.as_deref().unwrap_or_default();
    let outcome = match &result {
        Ok(_) => Outcome::Staged,
        Err(failure) if matches!(failure.error, FileError::Halted(_)) => Outcome::Halted { reason },
        Err(_) => Outcome::Refused { reason },
    };
    let key = args.input.display().to_string();
    let page = page.render(&Page {
        key: &key,
        feed: contract_name.strip_prefix("feed ").unwrap_or(&contract_name),
        contract_hash: &hash,
        time: &zipster_report::rfc3339_utc(std::time::SystemTime::now()),
        outcome,
        counts: Counts {
            rows_read: summary.lines_read.saturating_sub(1),
            accepted: summary.accepted,
            rejected: summary.rejected,
            blank: summary.blank,
        },
        rejects_link: Some("rejects.jsonl"),
    });
    std::fs::write(args.out.join("report.html"), page)?;
    let json = serde_json::to_string_pretty(summary)?;
    std::fs::write(args.out.join("summary.json"), format!("{json}\n"))?;
    println!("{json}");
    match result {
        Ok(s) => {
            eprintln!(
                "{} with {contract_name} ({}): {} accepted, {} rejected, {} blank → {} (accepted.csv, rejects.jsonl, summary.json, report.html)",
                args.input.display(),
                &hash[..12],
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
