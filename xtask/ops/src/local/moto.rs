//! A `moto_server` on a loopback port, from the project's venv (`cargo xtask tools`),
//! started through `moto_local.py` beside this file: the launcher of
//! `xtask/ops/tests/support/` (moto gaps that block deploying the template) plus the
//! fields moto leaves out of S3 event records. Each patch is documented in its file.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A free loopback port (the listener is closed before the port is handed out).
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

pub fn venv_bin(root: &Path) -> PathBuf {
    root.join(".tools/venv/bin")
}

/// Installs or updates the venv through `cargo xtask tools` unless it holds exactly
/// `xtask/requirements.txt`: `tools` writes that stamp after pip finishes (a venv
/// half-way through an install already has `moto_server` but not all its modules), and
/// takes a lock, so parallel callers install once.
pub fn ensure_tools(root: &Path) -> Result<PathBuf> {
    let bin = venv_bin(root);
    let wanted =
        std::fs::read_to_string(root.join("xtask/requirements.txt")).context("reading xtask/requirements.txt")?;
    if std::fs::read_to_string(root.join(".tools/venv/requirements.stamp")).is_ok_and(|stamp| stamp == wanted) {
        return Ok(bin);
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = std::process::Command::new(cargo)
        .args(["run", "--quiet", "--package", "xtask", "--", "tools"])
        .current_dir(root)
        .status()
        .context("running `cargo xtask tools`")?;
    if !status.success() || !bin.join("moto_server").exists() {
        bail!(
            "moto is not installed; run `cargo xtask tools` (it needs python3 with venv: apt-get install python3-venv)"
        );
    }
    Ok(bin)
}

/// The command that starts moto on `port`.
pub fn command(root: &Path, port: u16) -> std::process::Command {
    let bin = venv_bin(root);
    let launcher = root.join("xtask/ops/src/local/moto_local.py");
    let mut command = if launcher.exists() {
        let mut c = std::process::Command::new(bin.join("python"));
        c.arg(launcher);
        c
    } else {
        std::process::Command::new(bin.join("moto_server"))
    };
    command.args(["-H", "127.0.0.1", "-p", &port.to_string()]).stdin(Stdio::null());
    command
}

/// A moto owned by the caller (tests): killed when dropped.
pub struct OwnedMoto {
    pub endpoint: String,
    child: tokio::process::Child,
}

impl OwnedMoto {
    pub async fn start(root: &Path) -> Result<Self> {
        ensure_tools(root)?;
        let port = free_port()?;
        let mut command = tokio::process::Command::from(command(root, port));
        command.stdout(Stdio::null()).stderr(Stdio::null()).kill_on_drop(true);
        let child = command.spawn().context("starting moto")?;
        let endpoint = format!("http://127.0.0.1:{port}");
        ready(&endpoint, Duration::from_secs(60)).await?;
        Ok(Self { endpoint, child })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

/// Waits until moto answers, then turns off its Docker-backed Lambda invocations:
/// the local service runs the functions, and without Docker moto only logs errors
/// and slows every publish to a topic with a `lambda` subscription.
pub async fn ready(endpoint: &str, within: Duration) -> Result<()> {
    let started = Instant::now();
    loop {
        if answers(endpoint).await {
            break;
        }
        if started.elapsed() > within {
            bail!("moto did not answer at {endpoint} within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, body) = request(endpoint, "POST", "/moto-api/config", r#"{"lambda":{"use_docker":false}}"#).await?;
    if !(200..300).contains(&status) {
        bail!("configuring moto: HTTP {status}: {body}");
    }
    Ok(())
}

/// Whether something answers as moto at `endpoint`. Its small config document, not
/// `/moto-api/data.json`: that dump fails with HTTP 500 once a stack is deployed.
pub async fn answers(endpoint: &str) -> bool {
    matches!(request(endpoint, "GET", "/moto-api/config", "").await,
             Ok((status, body)) if (200..300).contains(&status) && body.contains("lambda"))
}

/// A minimal HTTP/1.1 exchange with moto's own API (`Connection: close`), so that
/// no HTTP client crate is needed for two calls.
async fn request(endpoint: &str, method: &str, path: &str, body: &str) -> Result<(u16, String)> {
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let exchange = async {
        let mut stream = TcpStream::connect(host).await?;
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        std::io::Result::Ok(response)
    };
    let response = tokio::time::timeout(Duration::from_secs(10), exchange).await.context("moto did not answer")??;
    let text = String::from_utf8_lossy(&response);
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).context("not an HTTP response")?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    Ok((status, body))
}
