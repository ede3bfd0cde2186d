//! `cargo xtask ci`: the whole test suite, exactly what `.ci/run` and the GitHub
//! workflow run. It first installs or starts what the tests need, so that a fresh
//! machine gets from `git clone` to a green run with this one command.

use std::time::Instant;

use anyhow::{Context, Result};
use xshell::{Shell, cmd};
use zipster_tools::{project_root, venv};

pub fn run() -> Result<()> {
    let sh = Shell::new()?;
    sh.change_dir(project_root());
    let started = Instant::now();
    step("tools", || {
        venv::ensure()?;
        cmd!(sh, "rustup target add aarch64-unknown-linux-gnu").quiet().ignore_stdout().run()?;
        // The tests need a real MySQL-compatible server and must not silently skip;
        // they find this one the same way (zipster_tools::database::server_url).
        let server = zipster_tools::database::ensure_server()?;
        eprintln!("ci: database server {}", zipster_tools::database::host_port(&server).unwrap_or_default());
        Ok(())
    })?;
    step("rustfmt", || Ok(cmd!(sh, "cargo fmt --all -- --check").run()?))?;
    step("clippy", || Ok(cmd!(sh, "cargo clippy --workspace --all-targets --quiet -- -D warnings").run()?))?;
    step("templates are fresh", || crate::synth::run(true))?;
    step("template and workflow linters", crate::lint::run)?;
    // deny.toml's licenses, wildcards and sources over the lock file (crate::deny); the
    // GitHub workflow also runs cargo-deny itself, advisories included.
    step("licenses, wildcards and sources (deny.toml)", crate::deny::run)?;
    step("tests", || Ok(cmd!(sh, "cargo nextest run --workspace --no-fail-fast").run()?))?;
    // The Lambda artifacts themselves: release, cross-compiled with cargo-lambda and zig.
    // Only this build sees release-only failures (a future too deep for rustc's layout
    // limit once optimized, seen in the migrate function).
    step("Lambda artifacts (cargo lambda build --arm64)", || {
        // `cargo run -p zipster-ops` would resolve features without the workspace's
        // dev-dependencies and rebuild most of the tree (200 s measured); this build is
        // the one the tests just made, so it only checks freshness.
        cmd!(sh, "cargo build --workspace --tests --quiet").run()?;
        let ops = zipster_tools::target_dir().join("debug/zipster-ops");
        Ok(cmd!(sh, "{ops} build").run()?)
    })?;
    // Each feed's table as the migrations build it (on a scratch database of the server the
    // tools step made sure of) against its contract: the pure checks here, the tables in
    // the zipster-ops binary the previous step built.
    step("feed check (contracts and the migrations agree)", || {
        crate::feed::check(&project_root())?;
        let ops = zipster_tools::target_dir().join("debug/zipster-ops");
        Ok(cmd!(sh, "{ops} feed check").run()?)
    })?;
    step("short fuzz run", || {
        crate::fuzz::targets().iter().try_for_each(|t| crate::fuzz::fuzz(t, 10, crate::fuzz::Corpus::ReadOnly))
    })?;
    eprintln!("ci: all green in {:.0?}", started.elapsed());
    Ok(())
}

fn step(name: &str, f: impl FnOnce() -> Result<()>) -> Result<()> {
    let started = Instant::now();
    eprintln!("ci: {name}...");
    f().with_context(|| format!("ci step `{name}` failed"))?;
    eprintln!("ci: {name} ok ({:.1?})", started.elapsed());
    Ok(())
}
