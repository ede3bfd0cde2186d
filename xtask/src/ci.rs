//! `cargo xtask ci`: the whole test suite, exactly what `.ci/run` and the GitHub
//! workflow run. It first installs or starts what the tests need, so that a fresh
//! machine gets from `git clone` to a green run with this one command.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::{project_root, tools};

pub fn run() -> Result<()> {
    let sh = Shell::new()?;
    sh.change_dir(project_root());
    let started = Instant::now();
    step("tools", || {
        tools::ensure_venv()?;
        cmd!(sh, "rustup target add aarch64-unknown-linux-gnu").quiet().ignore_stdout().run()?;
        ensure_database()
    })?;
    step("rustfmt", || Ok(cmd!(sh, "cargo fmt --all -- --check").run()?))?;
    step("clippy", || Ok(cmd!(sh, "cargo clippy --workspace --all-targets --quiet -- -D warnings").run()?))?;
    step("templates are fresh", || crate::synth::run(true))?;
    step("template and workflow linters", crate::lint::run)?;
    // Advisories need the RustSec database from GitHub, out of reach here (deny.toml).
    step("licenses, bans and sources (cargo deny)", || {
        tools::ensure_cargo_subcommand("deny", "cargo-deny")?;
        Ok(cmd!(sh, "cargo deny --log-level error check licenses bans sources").run()?)
    })?;
    step("tests", || Ok(cmd!(sh, "cargo nextest run --workspace --no-fail-fast").run()?))?;
    // The Lambda artifacts themselves: release, cross-compiled with cargo-lambda and zig.
    // Only this build sees release-only failures (a future too deep for rustc's layout
    // limit once optimized, seen in the migrate function).
    step("Lambda artifacts (cargo lambda build --arm64)", || {
        // `cargo run -p zipster-ops` would resolve features without the workspace's
        // dev-dependencies and rebuild most of the tree (200 s measured); this build is
        // the one the tests just made, so it only checks freshness.
        cmd!(sh, "cargo build --workspace --tests --quiet").run()?;
        let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| project_root().join("target"), Into::into);
        let ops = target.join("debug/zipster-ops");
        Ok(cmd!(sh, "{ops} build").run()?)
    })?;
    step("short fuzz run", || {
        crate::fuzz::TARGETS.iter().try_for_each(|t| crate::fuzz::fuzz(t, 20, crate::fuzz::Corpus::ReadOnly))
    })?;
    eprintln!("ci: all green in {:.0?}", started.elapsed());
    Ok(())
}

fn step(name: &str, f: impl FnOnce() -> Result<()>) -> Result<()> {
    let started = Instant::now();
    eprintln!("ci: {name}...");
    f().with_context(|| format!("ci step `{name}` failed"))?;
    eprintln!("ci: {name} ok ({:.1?})", started.elapsed());
    Ok(())
}

/// The database the tests use answers, or is started here: the tests need a real
/// MySQL-compatible server and must not silently skip.
fn ensure_database() -> Result<()> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_owned());
    let address = host_port(&url).with_context(|| format!("DATABASE_URL {url:?} names no host:port"))?;
    if answers(&address) {
        return Ok(());
    }
    let sh = Shell::new()?;
    let mariadbd = ["/usr/sbin/mariadbd", "/usr/bin/mariadbd"].into_iter().find(|p| std::path::Path::new(p).exists());
    let Some(mariadbd) = mariadbd else {
        bail!(
            "no database answers at {address} and MariaDB is not installed: run `apt-get install -y mariadb-server` \
             (then this command starts it), or set DATABASE_URL to a MySQL-compatible server"
        );
    };
    eprintln!("ci: no database at {address}; starting {mariadbd}");
    cmd!(sh, "start-stop-daemon --start --oknodo --background --exec {mariadbd}").run()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if answers(&address) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    bail!("started {mariadbd} but nothing answers at {address} after 30 s: see /var/log/mysql/error.log")
}

fn host_port(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    Some(if host.contains(':') { host.to_owned() } else { format!("{host}:3306") })
}

fn answers(address: &str) -> bool {
    address
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok())
}

#[cfg(test)]
mod tests {
    use super::host_port;

    #[test]
    fn database_address_from_url() {
        assert_eq!(host_port("mysql://root@127.0.0.1:3306/x").as_deref(), Some("127.0.0.1:3306"));
        assert_eq!(host_port("mysql://u:p@db.internal/zipster?ssl=true").as_deref(), Some("db.internal:3306"));
        assert_eq!(host_port("nonsense"), None);
    }
}
