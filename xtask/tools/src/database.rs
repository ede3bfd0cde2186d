//! The one answer to "which MySQL server, which database" on a developer's machine,
//! for the local stage, `seed-db` and `near` without `--stage`, the benchmarks, CI
//! and the tests (each test then makes a database of its own on that server).
//!
//! The server: `DATABASE_URL` if set; else the throwaway MariaDB the local stage
//! started, while it runs; else MariaDB on 127.0.0.1:3306 as `root` without a
//! password. [`ensure_server`] also starts a throwaway `mariadbd` when none answers.
//! The database: the local stage's `zipster_local`, unless `DATABASE_URL` names one.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::local_state::{self, Daemon};

/// The server on a machine set up as the README says.
pub const DEFAULT_SERVER: &str = "mysql://root@127.0.0.1:3306";
/// The database the local stage, `seed-db` and `near` use.
pub const LOCAL_DATABASE: &str = "zipster_local";

pub const HOW_TO_GET_ONE: &str = "no MySQL-compatible server is reachable and mariadbd is not installed: \
install one with `sudo apt-get install mariadb-server` (then `sudo service mariadb start`), \
or point DATABASE_URL at a server (mysql://user:password@host:port)";

/// The server URL (no database): `DATABASE_URL`'s server, else a running throwaway
/// MariaDB of the local stage, else [`DEFAULT_SERVER`]. Nothing is started.
pub fn server_url() -> String {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        return server_of(&url);
    }
    match local_state::load().mariadb.filter(Daemon::alive) {
        Some(daemon) => daemon_url(&daemon),
        None => DEFAULT_SERVER.to_owned(),
    }
}

/// The local database's URL: `DATABASE_URL` (with [`LOCAL_DATABASE`] if it names
/// none); else what the local stage recorded when it started; else [`LOCAL_DATABASE`]
/// on [`server_url`]. So `seed-db` and `near` find the rows `cargo xtask local` loaded.
pub fn local_url() -> String {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        return with_database(&url, LOCAL_DATABASE);
    }
    local_state::load().database_url.unwrap_or_else(|| with_database(&server_url(), LOCAL_DATABASE))
}

/// `url` with `database`, unless `url` already names one.
pub fn with_database(url: &str, database: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    match after_scheme.split_once('/') {
        Some((_, db)) if !db.is_empty() && !db.starts_with('?') => url.to_owned(),
        _ => format!("{}/{database}", url.trim_end_matches('/')),
    }
}

/// `url` without its database and options: `mysql://user:pw@host:port`.
pub fn server_of(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}", rest.split(['/', '?']).next().unwrap_or(rest)),
        None => url.to_owned(),
    }
}

/// `host:port` of a `mysql://` URL (3306 when it names no port).
pub fn host_port(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    (!host.is_empty()).then(|| if host.contains(':') { host.to_owned() } else { format!("{host}:3306") })
}

/// Whether a server accepts connections at `url`'s host and port.
pub fn answers(url: &str) -> bool {
    host_port(url).is_some_and(|address| crate::accepts_connections(&address))
}

/// The URL of a server that answers, started here when none does: a throwaway
/// `mariadbd`, recorded in the local state so that [`server_url`] finds it and
/// `cargo xtask local down` stops it.
pub fn ensure_server() -> Result<String> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        if !answers(&url) {
            bail!("DATABASE_URL is set, but no server answers at {}", host_port(&url).unwrap_or_default());
        }
        return Ok(server_of(&url));
    }
    let mut state = local_state::load();
    if let Some(daemon) = state.mariadb.as_ref().filter(|d| d.alive()) {
        let url = daemon_url(daemon);
        if answers(&url) {
            return Ok(url);
        }
    }
    if answers(DEFAULT_SERVER) {
        return Ok(DEFAULT_SERVER.to_owned());
    }
    let Some(mariadbd) = find_mariadbd() else { bail!(HOW_TO_GET_ONE) };
    let daemon = start_throwaway(&mariadbd)?;
    let url = daemon_url(&daemon);
    state.mariadb = Some(daemon);
    local_state::save(&state)?;
    Ok(url)
}

fn daemon_url(daemon: &Daemon) -> String {
    format!("mysql://root@127.0.0.1:{}", daemon.port)
}

fn find_mariadbd() -> Option<PathBuf> {
    let installed = PathBuf::from("/usr/sbin/mariadbd");
    if installed.exists() {
        return Some(installed);
    }
    std::env::var_os("PATH")?.to_str()?.split(':').map(|dir| Path::new(dir).join("mariadbd")).find(|p| p.exists())
}

/// Initializes a data directory once, then starts `mariadbd` on a free loopback
/// port (a throwaway server reachable only from this machine). Its grant tables are
/// real, root without a password (`--auth-root-authentication-method=normal`), so
/// the migrations' grants to the load role work as on the host.
fn start_throwaway(mariadbd: &Path) -> Result<Daemon> {
    let datadir = local_state::dir().join("mariadb");
    let data = datadir.display().to_string();
    let running_as_root =
        Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !datadir.join("mysql").exists() {
        std::fs::create_dir_all(&datadir)?;
        eprintln!("initializing a throwaway MariaDB in {data}");
        let mut install = Command::new("mariadb-install-db");
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
            bail!("mariadb-install-db failed: {}", String::from_utf8_lossy(&output.stderr).trim());
        }
    }
    let port = crate::free_port()?;
    let mut command = Command::new(mariadbd);
    command.args([
        "--no-defaults".to_owned(),
        format!("--datadir={data}"),
        format!("--socket={data}/mariadbd.sock"),
        format!("--pid-file={data}/mariadbd.pid"),
        format!("--log-error={data}/error.log"),
        format!("--port={port}"),
        "--bind-address=127.0.0.1".to_owned(),
    ]);
    if running_as_root {
        command.arg("--user=root");
    }
    // Its own process group: Ctrl-C on the command that started it leaves it up.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting mariadbd")?;
    let daemon = Daemon { pid: child.id(), port };
    let url = daemon_url(&daemon);
    let started = Instant::now();
    while !answers(&url) {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = daemon.stop();
            bail!("mariadbd did not answer within 30 s; see {data}/error.log");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!("started a throwaway MariaDB on 127.0.0.1:{port} (pid {})", daemon.pid);
    Ok(daemon)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_database_is_added_only_when_the_url_names_none() {
        let local = |url| with_database(url, LOCAL_DATABASE);
        assert_eq!(local("mysql://root@127.0.0.1:3306"), "mysql://root@127.0.0.1:3306/zipster_local");
        assert_eq!(local("mysql://root@127.0.0.1:3306/"), "mysql://root@127.0.0.1:3306/zipster_local");
        assert_eq!(local("mysql://u:p@h:1/mine"), "mysql://u:p@h:1/mine");
    }

    #[test]
    fn server_and_address_from_a_url() {
        assert_eq!(server_of("mysql://u:p@db:3307/zipster?ssl-mode=required"), "mysql://u:p@db:3307");
        assert_eq!(server_of("mysql://root@127.0.0.1:3306"), "mysql://root@127.0.0.1:3306");
        assert_eq!(host_port("mysql://root@127.0.0.1:3306/x").as_deref(), Some("127.0.0.1:3306"));
        assert_eq!(host_port("mysql://u:p@db.internal/zipster?ssl=true").as_deref(), Some("db.internal:3306"));
        assert_eq!(host_port("nonsense"), None);
    }
}
