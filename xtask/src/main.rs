//! `cargo xtask`: the project's automation, in Rust (the rust-analyzer pattern).
//!
//! Every command is parsed here (`xtask::cli`), so help and argument errors answer
//! at once. The light ones (transform, synth, lint, ci, fuzz, bench transform, tools)
//! run here and build in seconds; the ones that need the AWS SDK or a database run
//! in `zipster-ops`, which this binary starts with the same arguments, so that a
//! `cargo xtask transform` never waits for the SDK to compile.

mod bench;
mod ci;
mod deny;
mod feed;
mod fuzz;
mod lint;
mod synth;
mod transform;

use std::process::ExitCode;

use anyhow::Result;
use xtask::cli::{self, Command};

fn main() -> ExitCode {
    let cli = cli::parse();
    if cli.command.runs_in_ops() {
        return forward_to_ops();
    }
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Transform(args) => transform::run(&args),
        Command::Feed(command) => feed::run(&command),
        Command::Synth { check } => synth::run(check),
        Command::Lint => lint::run(),
        Command::TemplateDiff { old_dir, new_dir } => synth::template_diff(&old_dir, &new_dir),
        Command::Ci => ci::run(),
        Command::Bench(_) => bench::transform(),
        Command::Fuzz(args) => fuzz::run(&args),
        Command::Tools => zipster_tools::venv::ensure().map(drop),
        other => anyhow::bail!("{other:?} runs in zipster-ops"),
    }
}

/// Runs `zipster-ops` with this process's arguments and exits with its exit code,
/// saying nothing of its own: what the user reads is the command's output.
///
/// `cargo run` in the same (dev) profile as the tests, so nothing is compiled twice;
/// `ZIPSTER_OPS` names a binary to run instead (CI runs the one its test build made).
fn forward_to_ops() -> ExitCode {
    let arguments: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let mut command = match std::env::var_os("ZIPSTER_OPS") {
        Some(binary) => std::process::Command::new(binary),
        None => {
            let mut command = std::process::Command::new(zipster_tools::cargo());
            command
                .args(["run", "--quiet", "--package", "zipster-ops", "--"])
                .current_dir(zipster_tools::project_root());
            command
        }
    };
    match command.args(&arguments).status() {
        Ok(status) => match status.code() {
            Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            // Killed by a signal (Ctrl-C): the shell's convention is 128 + the signal.
            None => ExitCode::from(128 + std::os::unix::process::ExitStatusExt::signal(&status).map_or(0, |s| s as u8)),
        },
        Err(error) => {
            eprintln!("error: could not start {:?}: {error}", command.get_program());
            ExitCode::FAILURE
        }
    }
}
