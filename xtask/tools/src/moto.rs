//! The one way moto is started, by the local stage and by every test that needs AWS:
//! a `moto_server` from the project's venv on a loopback port, through
//! `xtask/tools/moto/launcher.py`, which patches the moto gaps measured in
//! `xtask/tools/moto/README.md`. The patches live there and nowhere else: nothing
//! in a function, the template or the deploy engine is changed for moto.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::{free_port, project_root, venv};

/// The launcher with the patches.
pub fn launcher() -> PathBuf {
    project_root().join("xtask/tools/moto/launcher.py")
}

/// The command that starts moto on `port` (installing the venv first if needed).
pub fn command(port: u16) -> Result<Command> {
    let python = venv::tool("python")?;
    let mut command = Command::new(python);
    command.arg(launcher()).args(["-H", "127.0.0.1", "-p", &port.to_string()]).stdin(Stdio::null());
    Ok(command)
}

/// The endpoint of a moto on `port`.
pub fn endpoint(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// A moto owned by the caller (a test, a benchmark): killed when dropped. Its log is
/// `$TMPDIR/zipster-moto-<port>.log`.
pub struct MotoServer {
    pub endpoint: String,
    pub log: PathBuf,
    child: Child,
}

impl MotoServer {
    pub fn start() -> Result<Self> {
        let port = free_port()?;
        let log = std::env::temp_dir().join(format!("zipster-moto-{port}.log"));
        let file = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let child = command(port)?.stdout(Stdio::null()).stderr(file).spawn().context("starting moto")?;
        let mut server = Self { endpoint: endpoint(port), log, child };
        if let Err(error) = wait_ready(&server.endpoint, Duration::from_secs(60)) {
            let _ = server.child.kill();
            bail!("{error:#}; see {}", server.log.display());
        }
        Ok(server)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until moto answers, then turns off its Docker-backed Lambda invocations:
/// the local stage runs the functions itself, and without Docker moto only logs
/// errors and slows every publish to a topic with a `lambda` subscription.
pub fn wait_ready(endpoint: &str, within: Duration) -> Result<()> {
    let started = Instant::now();
    while !answers(endpoint) {
        if started.elapsed() > within {
            bail!("moto did not answer at {endpoint} within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, body) = request(endpoint, "POST", "/moto-api/config", r#"{"lambda":{"use_docker":false}}"#)?;
    if !(200..300).contains(&status) {
        bail!("configuring moto at {endpoint}: HTTP {status}: {body}");
    }
    Ok(())
}

/// Whether something answers as moto at `endpoint`. Its small config document, not
/// `/moto-api/data.json`: that dump fails with HTTP 500 once a stack is deployed.
pub fn answers(endpoint: &str) -> bool {
    matches!(request(endpoint, "GET", "/moto-api/config", ""),
             Ok((status, body)) if (200..300).contains(&status) && body.contains("lambda"))
}

/// A minimal HTTP/1.1 exchange with moto's own API (`Connection: close`), so that
/// no HTTP client crate is needed for two calls.
fn request(endpoint: &str, method: &str, path: &str, body: &str) -> Result<(u16, String)> {
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let address = host.parse().with_context(|| format!("{endpoint} is not http://<ip>:<port>"))?;
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).context("moto did not answer")?;
    let text = String::from_utf8_lossy(&response);
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).context("not an HTTP response")?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    Ok((status, body))
}
