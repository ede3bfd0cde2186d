//! `target/local/state.json`: what `cargo xtask local` started (ports, process ids),
//! so that a later `local`, `local put` or `local down` finds it.

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub moto: Option<Daemon>,
    /// Only when no server answered and a throwaway MariaDB was started.
    pub mariadb: Option<Daemon>,
    /// The local stage's database, as `cargo xtask local` resolved it: what `seed-db`
    /// and `near` use afterwards (see [`crate::database::local_url`]).
    pub database_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Daemon {
    pub pid: u32,
    pub port: u16,
}

impl Daemon {
    /// Whether the process still exists (signal 0 only checks).
    pub fn alive(&self) -> bool {
        std::process::Command::new("kill")
            .args(["-0", &self.pid.to_string()])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Asks it to stop (SIGTERM), then waits up to 10 s for it to be gone.
    pub fn stop(&self) -> Result<()> {
        if !self.alive() {
            return Ok(());
        }
        std::process::Command::new("kill").arg(self.pid.to_string()).status().context("running kill")?;
        for _ in 0..100 {
            if !self.alive() {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        anyhow::bail!("process {} did not stop within 10 s", self.pid)
    }
}

/// `target/local` (or `ZIPSTER_LOCAL_DIR`, for a test's own local stage): the state
/// file, moto's log, a throwaway MariaDB's data directory.
pub fn dir() -> PathBuf {
    std::env::var_os("ZIPSTER_LOCAL_DIR").map_or_else(|| crate::project_root().join("target/local"), PathBuf::from)
}

fn path() -> PathBuf {
    dir().join("state.json")
}

/// What was recorded; nothing (the default) when there is no state file yet.
pub fn load() -> State {
    std::fs::read_to_string(path()).ok().and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default()
}

pub fn save(state: &State) -> Result<()> {
    std::fs::create_dir_all(dir())?;
    std::fs::write(path(), serde_json::to_vec_pretty(state)?).with_context(|| format!("writing {}", path().display()))
}
