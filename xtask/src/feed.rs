//! `cargo xtask feed describe FILE` and `cargo xtask feed check`.

use anyhow::{Result, bail};
use xtask::cli::FeedCommand;

pub fn run(command: &FeedCommand) -> Result<()> {
    match command {
        FeedCommand::Describe { .. } => bail!("feed describe: not built yet"),
        FeedCommand::Check => bail!("feed check: not built yet"),
    }
}
