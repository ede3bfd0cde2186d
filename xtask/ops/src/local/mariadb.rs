//! A MySQL-compatible server for the local stage: `DATABASE_URL`, else the MariaDB
//! on 127.0.0.1:3306, else a throwaway `mariadbd` in `target/local/mariadb` when
//! the binary is installed, else instructions.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use sqlx::mysql::MySqlConnectOptions;

use super::state::Daemon;
use zipster_db::connect::{check_reachable, parse_url};

/// The database the local stage loads into.
pub const DATABASE: &str = "zipster_local";
const DEFAULT_SERVER: &str = "mysql://root@127.0.0.1:3306";

pub const HOW_TO_GET_ONE: &str = "no MySQL-compatible server is reachable and mariadbd is not installed: \
install one with `sudo apt-get install mariadb-server` (then `sudo service mariadb start`), \
or point DATABASE_URL at a server (mysql://user:password@host:port)";

/// A server URL whose database is the local stage's, unless the URL names one.
pub fn with_database(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    match after_scheme.split_once('/') {
        Some((_, db)) if !db.is_empty() && !db.starts_with('?') => url.to_owned(),
        _ => format!("{}/{DATABASE}", url.trim_end_matches('/')),
    }
}

async fn reachable(url: &str) -> bool {
    let Ok(options) = parse_url(url) else { return false };
    check_reachable(&options.database(""), Duration::from_secs(2)).await.is_ok()
}

/// The server to use: `(url, Some(daemon))` when one was started here.
pub async fn find_or_start(root: &Path, running: Option<&Daemon>) -> Result<(String, Option<Daemon>)> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        if !reachable(&url).await {
            bail!("DATABASE_URL is set but no server answers there");
        }
        return Ok((with_database(&url), None));
    }
    if let Some(daemon) = running.filter(|d| d.alive()) {
        let url = format!("mysql://root@127.0.0.1:{}", daemon.port);
        if reachable(&url).await {
            return Ok((with_database(&url), Some(daemon.clone())));
        }
    }
    if reachable(DEFAULT_SERVER).await {
        return Ok((with_database(DEFAULT_SERVER), None));
    }
    let Some(mariadbd) = find_mariadbd() else { bail!(HOW_TO_GET_ONE) };
    let daemon = start_throwaway(root, &mariadbd).await?;
    Ok((with_database(&format!("mysql://root@127.0.0.1:{}", daemon.port)), Some(daemon)))
}

fn find_mariadbd() -> Option<PathBuf> {
    let installed = PathBuf::from("/usr/sbin/mariadbd");
    if installed.exists() {
        return Some(installed);
    }
    std::env::var_os("PATH")?.to_str()?.split(':').map(|dir| Path::new(dir).join("mariadbd")).find(|p| p.exists())
}

/// Initializes a data directory once, then starts `mariadbd` on a free loopback
/// port without grant tables (a throwaway server reachable only from this machine).
async fn start_throwaway(root: &Path, mariadbd: &Path) -> Result<Daemon> {
    let datadir = super::state::dir(root).join("mariadb");
    let data = datadir.display().to_string();
    let running_as_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !datadir.join("mysql").exists() {
        std::fs::create_dir_all(&datadir)?;
        eprintln!("initializing a throwaway MariaDB in {data}");
        let mut install = std::process::Command::new("mariadb-install-db");
        install.args([
            "--no-defaults",
            &format!("--datadir={data}"),
            "--skip-test-db",
            "--auth-root-authentication-method=normal",
        ]);
        if running_as_root {
            install.arg("--user=root");
        }
        let output = install.output().context("running mariadb-install-db")?;
        if !output.status.success() {
            bail!("mariadb-install-db failed: {}", String::from_utf8_lossy(&output.stderr));
        }
    }
    let port = super::moto::free_port()?;
    let mut command = std::process::Command::new(mariadbd);
    command.args([
        "--no-defaults".to_owned(),
        format!("--datadir={data}"),
        format!("--socket={data}/mariadbd.sock"),
        format!("--pid-file={data}/mariadbd.pid"),
        format!("--log-error={data}/error.log"),
        format!("--port={port}"),
        "--bind-address=127.0.0.1".to_owned(),
        "--skip-grant-tables".to_owned(),
    ]);
    if running_as_root {
        command.arg("--user=root");
    }
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting mariadbd")?;
    let daemon = Daemon { pid: child.id(), port };
    let url = format!("mysql://root@127.0.0.1:{port}");
    let started = Instant::now();
    while !reachable(&url).await {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = daemon.stop();
            bail!("mariadbd did not answer within 30 s; see {data}/error.log");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("started a throwaway MariaDB on 127.0.0.1:{port} (pid {})", daemon.pid);
    Ok(daemon)
}

/// Connection options for `url`, creating its database if needed.
pub async fn prepare(url: &str) -> Result<MySqlConnectOptions> {
    let options = parse_url(url)?;
    zipster_db::connect::create_database_if_missing(&options, zipster_db::connect::Limits::default()).await?;
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_database_is_added_only_when_the_url_names_none() {
        assert_eq!(with_database("mysql://root@127.0.0.1:3306"), "mysql://root@127.0.0.1:3306/zipster_local");
        assert_eq!(with_database("mysql://root@127.0.0.1:3306/"), "mysql://root@127.0.0.1:3306/zipster_local");
        assert_eq!(with_database("mysql://u:p@h:1/mine"), "mysql://u:p@h:1/mine");
    }
}
