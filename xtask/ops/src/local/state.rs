//! `target/local/state.json`: what `cargo xtask local` started (ports, process ids),
//! so that a later `local`, `local put` or `local down` finds it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub moto: Option<Daemon>,
    /// Only when `local` started its own throwaway MariaDB.
    pub mariadb: Option<Daemon>,
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

pub fn dir(root: &Path) -> PathBuf {
    root.join("target/local")
}

fn path(root: &Path) -> PathBuf {
    dir(root).join("state.json")
}

pub fn load(root: &Path) -> State {
    std::fs::read_to_string(path(root)).ok().and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default()
}

pub fn save(root: &Path, state: &State) -> Result<()> {
    std::fs::create_dir_all(dir(root))?;
    std::fs::write(path(root), serde_json::to_vec_pretty(state)?)
        .with_context(|| format!("writing {}", path(root).display()))
}
