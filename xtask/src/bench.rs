//! `cargo xtask bench transform`: the transform against a bare `csv` parse of the
//! same bytes, measured in the same run (`bench load` and `bench local` run in
//! zipster-ops).

use anyhow::Result;
use xshell::{Shell, cmd};

pub fn transform() -> Result<()> {
    let sh = Shell::new()?;
    sh.change_dir(zipster_tools::project_root());
    // Optimized like the Lambda build: a benchmark of debug code measures nothing useful.
    cmd!(sh, "cargo bench --package zipster-core --bench transform").run()?;
    Ok(())
}
