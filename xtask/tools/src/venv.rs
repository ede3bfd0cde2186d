//! The project's Python tools (moto, cfn-lint, checkov, cargo-lambda with zig,
//! actionlint) live in a project-local virtualenv, `.tools/venv`, installed from
//! `xtask/requirements.txt` and reinstalled only when that file changes.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::project_root;

const REQUIREMENTS: &str = include_str!("../../requirements.txt");

/// The venv's `bin` directory (whether or not it is installed yet).
pub fn bin_dir() -> PathBuf {
    project_root().join(".tools/venv/bin")
}

/// The venv's `bin` directory, installing or updating the venv first if needed.
///
/// The stamp is written only after pip finishes: a venv half-way through an install
/// already has `moto_server` but not all its modules.
pub fn ensure() -> Result<PathBuf> {
    let venv = project_root().join(".tools/venv");
    let bin = bin_dir();
    let stamp = venv.join("requirements.stamp");
    let current = || std::fs::read_to_string(&stamp).is_ok_and(|s| s == REQUIREMENTS);
    if current() {
        return Ok(bin);
    }
    // Parallel tests each ask for the tools; one installs while the others wait,
    // instead of several pips writing into the same venv.
    std::fs::create_dir_all(project_root().join(".tools"))?;
    let lock = std::fs::File::create(project_root().join(".tools/install.lock"))?;
    lock.lock().context("waiting for another install of the Python tools")?;
    if current() {
        return Ok(bin);
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    eprintln!("installing Python tools into {} (once; xtask/requirements.txt)", venv.display());
    run(Command::new(&python).args(["-m", "venv"]).arg(&venv)).with_context(|| {
        format!("creating a venv with `{python} -m venv` (on Debian: apt-get install python3-venv)")
    })?;
    let requirements = project_root().join("xtask/requirements.txt");
    run(Command::new(bin.join("pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(&requirements))
    .context("installing xtask/requirements.txt from PyPI")?;
    std::fs::write(&stamp, REQUIREMENTS)?;
    Ok(bin)
}

/// The path of a tool installed in the venv.
pub fn tool(name: &str) -> Result<PathBuf> {
    Ok(ensure()?.join(name))
}

/// Makes `cargo <subcommand>` available, installing `package` from crates.io (once,
/// into `~/.cargo/bin`) when it is missing.
pub fn ensure_cargo_subcommand(subcommand: &str, package: &str) -> Result<()> {
    let present = Command::new(crate::cargo())
        .args([subcommand, "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if present {
        return Ok(());
    }
    eprintln!("installing {package} (once)");
    run(Command::new(crate::cargo()).args(["install", "--locked", package]))
        .with_context(|| format!("installing {package} from crates.io"))
}

fn run(command: &mut Command) -> Result<()> {
    let status = command.status().with_context(|| format!("starting {:?}", command.get_program()))?;
    if !status.success() {
        bail!("{:?} exited with {status}", command.get_program());
    }
    Ok(())
}
