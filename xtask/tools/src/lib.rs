//! What a developer's machine needs, found or installed in one place, for every
//! command and test that needs it:
//!
//! - [`venv`]: the project's Python tools (moto, cfn-lint, checkov, cargo-lambda
//!   with zig, actionlint) in `.tools/venv`, and cargo subcommands;
//! - [`moto`]: the one way moto is started, through `moto/launcher.py` with its
//!   measured patches (listed in `moto/README.md`); test support only, never a
//!   dependency of a function or of the deploy engine;
//! - [`database`]: the one answer to "which MySQL server, which database" for the
//!   local stage, `seed-db`, `near`, the benchmarks and the tests;
//! - [`local_state`]: what the local stage left running (`target/local/state.json`);
//! - [`chromium`]: a real browser for the tests that look at a page, Debian's
//!   `chromium` run headless, installed with apt when missing.
//!
//! Only std, serde and anyhow: `cargo xtask` depends on this and must stay quick to build.

pub mod chromium;
pub mod database;
pub mod local_state;
pub mod moto;
pub mod venv;

use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The repository root (this crate is `xtask/tools`).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).map(Path::to_path_buf).unwrap_or_default()
}

/// Where cargo puts build output: `CARGO_TARGET_DIR`, else `<root>/target`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| project_root().join("target"), PathBuf::from)
}

/// `cargo` as cargo itself was started (`CARGO`), else the one on `PATH`.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// A free loopback port (the listener is closed before the port is handed out).
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

/// Whether something accepts TCP connections at `host:port` within 2 s.
pub fn accepts_connections(address: &str) -> bool {
    address
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok())
}
