//! A real browser for the tests that look at a page: Debian's `chromium`, found or
//! installed once (`apt-get install chromium`, as root), and run headless with the
//! flags a container needs.
//!
//! Each run gets a fresh profile directory and is bounded in time: a headless
//! Chromium that cannot start (no display, a missing library) tends to wait rather
//! than exit, and a test must fail with its output instead of hanging.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::project_root;

/// Where Debian's package puts the browser.
pub const DEBIAN_BINARY: &str = "/usr/bin/chromium";

/// How long one headless run may take before it is killed.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(90);

/// The flags every run gets. `--no-sandbox`: the sandbox needs user namespaces, which
/// a container (and root) does not have. `--disable-gpu`: there is none. The rest stop
/// what a first start does on its own (updates, sync, QUIC and background fetches),
/// so a run touches no network and no state outside its profile directory.
pub const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    // /dev/shm is small in many containers; Chromium then crashes on larger pages.
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
];

/// The browser: `CHROMIUM` if set, else [`DEBIAN_BINARY`], else `chromium` or
/// `chromium-browser` on `PATH`. Nothing is installed.
pub fn find() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let debian = PathBuf::from(DEBIAN_BINARY);
    if debian.exists() {
        return Some(debian);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|p| p.exists())
}

/// The browser, installing Debian's `chromium` package first when there is none.
///
/// Parallel tests each ask for it; one runs apt while the others wait on the lock,
/// since two apt-gets at once fail on dpkg's own lock instead of waiting.
pub fn ensure() -> Result<PathBuf> {
    if let Some(found) = find() {
        return Ok(found);
    }
    std::fs::create_dir_all(project_root().join(".tools"))?;
    let lock = std::fs::File::create(project_root().join(".tools/chromium.lock"))?;
    lock.lock().context("waiting for another install of chromium")?;
    if let Some(found) = find() {
        return Ok(found);
    }
    if !running_as_root() {
        bail!(
            "chromium is not installed: install it with `sudo apt-get install chromium`, or set CHROMIUM to a browser"
        );
    }
    eprintln!("installing Debian's chromium (once; apt-get install chromium)");
    let started = Instant::now();
    // Without recommends: fonts-liberation, upower, udev and the desktop helpers are
    // not needed headless (fontconfig already brings DejaVu).
    let install = || apt(&["install", "-y", "-q", "--no-install-recommends", "chromium"]);
    // A fresh machine (or an image with its lists removed) knows no package yet:
    // read the lists once and try again, rather than always paying for an update.
    if install().is_err() {
        apt(&["update", "-q"]).context("apt-get update")?;
        install().context("apt-get install chromium")?;
    }
    eprintln!("installed chromium in {:.0?}", started.elapsed());
    find().context("apt-get installed chromium, but /usr/bin/chromium is not there")
}

fn apt(args: &[&str]) -> Result<()> {
    let status = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .status()
        .context("starting apt-get")?;
    if !status.success() {
        bail!("apt-get {} exited with {status}", args.join(" "));
    }
    Ok(())
}

fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// What one headless run printed.
#[derive(Debug)]
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

/// Runs `chromium` headless with [`FLAGS`], a fresh profile and `args`, within
/// [`RUN_TIMEOUT`]; an exit other than success is an error carrying its stderr.
pub fn headless<I, S>(chromium: &Path, args: I) -> Result<Run>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let profile = Profile::new()?;
    // Output goes to files, not pipes: a pipe nobody reads while we poll for the exit
    // would fill up and stall a browser that logs a lot.
    let stdout_path = profile.0.join("stdout");
    let stderr_path = profile.0.join("stderr");
    let started = Instant::now();
    let mut child = Command::new(chromium)
        .args(FLAGS)
        .arg(format!("--user-data-dir={}", profile.0.join("data").display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path)?)
        .stderr(std::fs::File::create(&stderr_path)?)
        .spawn()
        .with_context(|| format!("starting {}", chromium.display()))?;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
            bail!("chromium did not finish within {RUN_TIMEOUT:?}; its stderr:\n{stderr}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&std::fs::read(&stdout_path)?).into_owned();
    let stderr = String::from_utf8_lossy(&std::fs::read(&stderr_path)?).into_owned();
    if !status.success() {
        bail!("chromium exited with {status}; its stderr:\n{stderr}");
    }
    Ok(Run { stdout, stderr, elapsed })
}

/// The DOM of `url` once loaded, serialized (`--dump-dom`).
pub fn dump_dom(chromium: &Path, url: &str) -> Result<Run> {
    headless(chromium, ["--dump-dom", url])
}

/// A PNG screenshot of `url` at `width`×`height` CSS pixels, written to `png`.
pub fn screenshot(chromium: &Path, url: &str, png: &Path, width: u32, height: u32) -> Result<Run> {
    let run = headless(
        chromium,
        [format!("--screenshot={}", png.display()), format!("--window-size={width},{height}"), url.to_owned()],
    )?;
    if !png.exists() {
        bail!("chromium exited without writing {}; its stderr:\n{}", png.display(), run.stderr);
    }
    Ok(run)
}

/// The `file://` URL of an absolute path, each byte outside the unreserved set and
/// `/` percent-encoded (a temp directory's name may hold anything).
pub fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for &byte in path.as_os_str().as_encoded_bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

/// A fresh directory for one run's profile and output, removed when dropped: a
/// reused profile carries the last run's state (and its lock) into the next.
struct Profile(PathBuf);

impl Profile {
    fn new() -> Result<Profile> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "zipster-chromium-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Profile(dir))
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_url_encodes_what_a_url_cannot_hold() {
        assert_eq!(file_url(Path::new("/tmp/a b/page#1.html")), "file:///tmp/a%20b/page%231.html");
        assert_eq!(file_url(Path::new("/tmp/x-y_z.~/r.html")), "file:///tmp/x-y_z.~/r.html");
    }
}
