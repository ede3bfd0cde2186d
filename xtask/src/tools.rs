//! The project's Python tools (moto, cfn-lint, checkov, cargo-lambda with zig,
//! actionlint) live in a project-local virtualenv, `.tools/venv`, installed from
//! `xtask/requirements.txt` and reinstalled only when that file changes.

use std::path::PathBuf;

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

use crate::project_root;

const REQUIREMENTS: &str = include_str!("../requirements.txt");

/// The venv's `bin` directory, installing or updating the venv first if needed.
pub fn ensure_venv() -> Result<PathBuf> {
    let venv = project_root().join(".tools/venv");
    let bin = venv.join("bin");
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
    let sh = Shell::new()?;
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    eprintln!("installing Python tools into {} (once; xtask/requirements.txt)", venv.display());
    cmd!(sh, "{python} -m venv {venv}").run().with_context(|| {
        format!("creating a venv with `{python} -m venv` (on Debian: apt-get install python3-venv)")
    })?;
    let pip = bin.join("pip");
    let requirements = project_root().join("xtask/requirements.txt");
    cmd!(sh, "{pip} install --quiet --disable-pip-version-check -r {requirements}")
        .run()
        .context("installing xtask/requirements.txt from PyPI")?;
    std::fs::write(&stamp, REQUIREMENTS)?;
    Ok(bin)
}

/// The path of a tool installed in the venv.
pub fn venv_tool(name: &str) -> Result<PathBuf> {
    Ok(ensure_venv()?.join(name))
}

/// Makes `cargo <subcommand>` available, installing `package` from crates.io (once,
/// into `~/.cargo/bin`) when it is missing.
pub fn ensure_cargo_subcommand(subcommand: &str, package: &str) -> Result<()> {
    let sh = Shell::new()?;
    if cmd!(sh, "cargo {subcommand} --version").quiet().ignore_stdout().ignore_stderr().run().is_ok() {
        return Ok(());
    }
    eprintln!("installing {package} (once)");
    cmd!(sh, "cargo install --locked {package}").run().with_context(|| format!("installing {package} from crates.io"))
}
