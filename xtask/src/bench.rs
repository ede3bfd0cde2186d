//! `cargo xtask bench <what>`: each benchmark measures its own baseline in the same
//! run and prints the ratio.

use anyhow::Result;
use xshell::{Shell, cmd};

use crate::project_root;

#[derive(clap::Args)]
pub struct Args {
    #[arg(value_enum)]
    what: Bench,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Bench {
    /// The transform against a bare `csv` parse of the same bytes (1× and 10× the real data).
    Transform,
    /// The load against `LOAD DATA LOCAL INFILE`, and the radius query.
    Load,
    /// Upload-to-rows latency through the local stage, and bootstrap cold starts.
    Local,
}

pub fn run(args: &Args) -> Result<()> {
    let sh = Shell::new()?;
    sh.change_dir(project_root());
    match args.what {
        // Optimized like the Lambda build: a benchmark of debug code measures nothing useful.
        Bench::Transform => cmd!(sh, "cargo bench --package zipster-core --bench transform").run()?,
        Bench::Load => crate::ops(&["bench".to_owned(), "load".to_owned()])?,
        Bench::Local => crate::ops(&["bench".to_owned(), "local".to_owned()])?,
    }
    Ok(())
}
