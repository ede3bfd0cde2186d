//! `cargo xtask fuzz [TARGET] [--seconds N]`: coverage-guided fuzzing with cargo-fuzz
//! (libFuzzer) of the transform and of the event parsing both Lambdas share.
//!
//! cargo-fuzz wants a nightly toolchain for its `-Z` flags; only stable can be had
//! here, so the build runs stable with `RUSTC_BOOTSTRAP=1` and without a sanitizer
//! (safe Rust: the assertions in the targets are the oracle). The corpus lives in the
//! repository (`functions/core/fuzz/corpus/<target>`) and grows with every run.

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

use clap::ValueEnum;
use xtask::cli::{FuzzArgs, FuzzTarget};
use zipster_tools::project_root;

/// Every target, by the name cargo-fuzz knows it by (`functions/core/fuzz/fuzz_targets/<name>.rs`).
pub fn targets() -> Vec<String> {
    FuzzTarget::value_variants().iter().filter_map(|t| t.to_possible_value()).map(|v| v.get_name().to_owned()).collect()
}

pub fn run(args: &FuzzArgs) -> Result<()> {
    let targets = match args.target.and_then(|t| t.to_possible_value()) {
        Some(target) => vec![target.get_name().to_owned()],
        None => targets(),
    };
    for target in &targets {
        fuzz(target, args.seconds, Corpus::Grow)?;
    }
    Ok(())
}

/// Whether new interesting inputs are added to the committed corpus.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Corpus {
    /// `cargo xtask fuzz`: the corpus grows, to be committed.
    Grow,
    /// CI: the committed corpus seeds the run; new inputs go to a scratch directory,
    /// so a check never changes the checkout.
    ReadOnly,
}

pub fn fuzz(target: &str, seconds: u64, corpus: Corpus) -> Result<()> {
    let sh = Shell::new()?;
    zipster_tools::venv::ensure_cargo_subcommand("fuzz", "cargo-fuzz")?;
    sh.change_dir(project_root().join("functions/core/fuzz"));
    let _bootstrap = sh.push_env("RUSTC_BOOTSTRAP", "1");
    let committed = format!("corpus/{target}");
    let scratch = sh.create_temp_dir()?;
    let corpora: Vec<String> = match corpus {
        Corpus::Grow => vec![committed],
        // libFuzzer writes new inputs to the first directory only.
        Corpus::ReadOnly => vec![scratch.path().display().to_string(), committed],
    };
    let time = format!("-max_total_time={seconds}");
    cmd!(sh, "cargo fuzz run --sanitizer none -O {target} {corpora...} -- {time} -max_len=65536 -rss_limit_mb=2048")
        .run()
        .with_context(|| {
            format!("fuzz target {target} found a failure: see functions/core/fuzz/artifacts/{target}/")
        })?;
    Ok(())
}
