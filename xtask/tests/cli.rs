//! The commands a newcomer meets: the help lists every command, each command's own
//! help answers (the README's table included), and a heavy command's exit code and
//! output reach the user unchanged, with nothing said about the plumbing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

use clap::CommandFactory;
use xtask::cli::Cli;

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask")).args(args).output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_help_lists_every_command_with_its_summary_by_section() {
    let output = xtask(&["--help"]);
    assert!(output.status.success());
    let help = stdout(&output);
    for section in ["Pipeline:", "Stage:", "Development:"] {
        assert!(help.contains(section), "{section} in\n{help}");
    }
    let definition = Cli::command();
    for command in definition.get_subcommands() {
        let about = command.get_about().map(ToString::to_string).unwrap_or_default();
        let line = help.lines().find(|l| l.trim_start().starts_with(&format!("{} ", command.get_name())));
        let line = line.unwrap_or_else(|| panic!("{} is not listed in\n{help}", command.get_name()));
        assert!(!about.is_empty() && line.contains(&about), "{line:?} shows {about:?}");
    }
    for heavy in ["deploy", "destroy", "diff", "seed-db", "near", "local", "build"] {
        assert!(help.lines().any(|l| l.trim_start().starts_with(heavy)), "{heavy} in\n{help}");
    }
}

#[test]
fn help_of_a_heavy_command_shows_its_options_without_building_it() {
    for args in [&["help", "deploy"][..], &["deploy", "--help"]] {
        let output = xtask(args);
        assert!(output.status.success(), "{args:?}");
        let help = stdout(&output);
        for option in ["--stage", "--yes", "--dry-run", "--recreate", "--json"] {
            assert!(help.contains(option), "{option} in `cargo xtask {}`:\n{help}", args.join(" "));
        }
    }
}

/// Every `cargo xtask …` in the README's command table answers `--help`.
#[test]
fn every_command_in_the_readme_table_answers_help() {
    let readme = std::fs::read_to_string(zipster_tools::project_root().join("README.md")).unwrap();
    let section = readme.split("## Commands").nth(1).expect("a Commands section");
    let rows: Vec<&str> =
        section.lines().take_while(|l| !l.starts_with("## ")).filter(|l| l.starts_with("| `")).collect();
    assert!(rows.len() >= 10, "the table has its rows: {rows:?}");
    for row in rows {
        let command = row.trim_start_matches("| `").split('`').next().unwrap();
        let words: Vec<&str> = command
            .strip_prefix("cargo xtask ")
            .unwrap_or_else(|| panic!("{command:?} is a cargo xtask command"))
            .split_whitespace()
            .take_while(|w| !w.starts_with('-') && !w.chars().next().is_some_and(|c| c.is_uppercase() || c == '['))
            .map(|w| w.split('|').next().unwrap_or(w).trim_end_matches('\\'))
            .collect();
        let mut args = words.clone();
        args.push("--help");
        let output = xtask(&args);
        assert!(
            output.status.success(),
            "`cargo xtask {}` from the README: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn a_heavy_command_passes_its_output_and_exit_code_through_and_nothing_else() {
    let scratch = tempfile::tempdir().unwrap();
    let fake_ops = scratch.path().join("zipster-ops");
    std::fs::write(&fake_ops, "#!/bin/sh\necho \"ops got: $*\" >&2\necho out\nexit 3\n").unwrap();
    std::fs::set_permissions(&fake_ops, std::fs::Permissions::from_mode(0o755)).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["near", "00705", "--miles", "10"])
        .env("ZIPSTER_OPS", &fake_ops)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(stdout(&output), "out\n");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "ops got: near 00705 --miles 10\n");
}

#[test]
fn a_mistyped_heavy_command_is_refused_before_anything_is_built() {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["deploy", "--stgae", "dev"])
        .env("ZIPSTER_OPS", "/nonexistent/zipster-ops")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--stgae"));
}
