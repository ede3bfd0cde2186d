//! `cargo xtask build`: every function compiled for Lambda with cargo-lambda (or
//! for this machine with `--host`, as `cargo lambda watch` does, for the local stage
//! and the moto tests) and packaged as a content-addressed zip.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use zipster_infra::{FUNCTIONS, LAMBDA_ARCHITECTURE};

use crate::Ui;
use crate::artifacts::Artifact;

/// What the functions are built for. Lambda's architecture is the template's, never
/// a choice here: an x86-64 zip on an arm64 function cannot start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Lambda, for the template's architecture, release, via cargo-lambda.
    Lambda,
    /// This machine, dev profile: for the local stage and the moto tests.
    Host,
}

/// A built and packaged function.
#[derive(Debug, Clone)]
pub struct Built {
    pub artifact: Artifact,
    pub zip_path: PathBuf,
    pub binary_bytes: u64,
}

/// Builds every function for `target` and writes `target/lambda-zips/<function>/<sha>.zip`.
pub fn build(root: &Path, target: Target, ui: &mut dyn Ui) -> Result<Vec<Built>> {
    let metadata = Metadata::load(root)?;
    let started = Instant::now();
    ui.step(&format!("building {} functions for {target:?}", FUNCTIONS.len()));
    let mut command = match target {
        Target::Host => {
            let mut command = Command::new(cargo());
            command.args(["build", "--quiet"]);
            command
        }
        Target::Lambda => {
            // Installed with the other Python tools (cargo-lambda and ziglang wheels).
            let venv_bin = zipster_tools::venv::ensure()?;
            let cargo_lambda = venv_bin.join("cargo-lambda");
            let mut command = Command::new(cargo_lambda);
            // cargo-lambda finds zig (the ziglang wheel) through the venv's python.
            let path = std::env::var_os("PATH").unwrap_or_default();
            let mut paths = vec![venv_bin];
            paths.extend(std::env::split_paths(&path));
            command.env("PATH", std::env::join_paths(paths)?);
            command.args(["lambda", "build", "--release", cargo_lambda_architecture()]);
            command
        }
    };
    for function in FUNCTIONS {
        command.args(["--package", function.package]);
    }
    command.current_dir(root);
    let status = command.status().with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        bail!("the build failed ({status}): {command:?}");
    }
    ui.step(&format!("built in {:.1?}", started.elapsed()));

    let mut built = Vec::new();
    for function in FUNCTIONS {
        let binary_name = metadata.binary_of(function.package)?;
        if binary_name != function.binary {
            bail!(
                "zipster_infra::FUNCTIONS says {} builds the binary {}, but its Cargo.toml names it {binary_name}",
                function.package,
                function.binary
            );
        }
        let binary_path = match target {
            Target::Host => metadata.target_directory.join("debug").join(&binary_name),
            Target::Lambda => metadata.target_directory.join("lambda").join(&binary_name).join("bootstrap"),
        };
        let binary = match target {
            Target::Host => strip_debug_info(&binary_path)?,
            Target::Lambda => {
                std::fs::read(&binary_path).with_context(|| format!("reading {}", binary_path.display()))?
            }
        };
        let artifact = Artifact::from_binary(function.name, &binary)?;
        let dir = metadata.target_directory.join("lambda-zips").join(function.name);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let zip_path = dir.join(artifact.key());
        // Written beside it, then renamed: the key is the content's hash, so another build
        // (a concurrent test, a second terminal) may be writing the same path, and a reader
        // must see the whole zip or the one before, never a truncated file.
        let partial = dir.join(format!("{}.{}.partial", artifact.key(), std::process::id()));
        std::fs::write(&partial, &artifact.zip).with_context(|| format!("writing {}", partial.display()))?;
        std::fs::rename(&partial, &zip_path).with_context(|| format!("renaming {} into place", partial.display()))?;
        built.push(Built { artifact, zip_path, binary_bytes: binary.len() as u64 });
    }
    Ok(built)
}

/// Dev binaries are mostly debug info (200+ MB); the local stage and moto need none
/// of it, and zipping it would dominate the deploy. `strip` is deterministic.
fn strip_debug_info(binary: &Path) -> Result<Vec<u8>> {
    // A name of this process's own: tests and `cargo xtask local` package the same
    // binaries concurrently.
    static PACKAGED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = PACKAGED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let stripped = binary.with_extension(format!("stripped-{}-{n}", std::process::id()));
    let status = Command::new("strip").arg("--strip-debug").arg("-o").arg(&stripped).arg(binary).status();
    match status {
        Ok(status) if status.success() => {
            let bytes = std::fs::read(&stripped).with_context(|| format!("reading {}", stripped.display()))?;
            let _ = std::fs::remove_file(&stripped);
            Ok(bytes)
        }
        // Without binutils the zip is just bigger.
        _ => std::fs::read(binary).with_context(|| format!("reading {}", binary.display())),
    }
}

fn cargo() -> String {
    zipster_tools::cargo()
}

/// cargo-lambda's flag for the template's architecture.
fn cargo_lambda_architecture() -> &'static str {
    match LAMBDA_ARCHITECTURE {
        "x86_64" => "--x86-64",
        _ => "--arm64",
    }
}

/// What `cargo metadata` says about the workspace: where binaries go and their names.
struct Metadata {
    target_directory: PathBuf,
    packages: serde_json::Value,
}

impl Metadata {
    fn load(root: &Path) -> Result<Self> {
        let output = Command::new(cargo())
            .args(["metadata", "--no-deps", "--format-version", "1"])
            .current_dir(root)
            .output()
            .context("running cargo metadata")?;
        if !output.status.success() {
            bail!("cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).context("parsing cargo metadata")?;
        let target_directory =
            json["target_directory"].as_str().map(PathBuf::from).context("cargo metadata: no target_directory")?;
        Ok(Self { target_directory, packages: json["packages"].clone() })
    }

    /// The one binary target of `package` (its name is what cargo and cargo-lambda output).
    fn binary_of(&self, package: &str) -> Result<String> {
        let package_json = self
            .packages
            .as_array()
            .and_then(|packages| packages.iter().find(|p| p["name"] == package))
            .with_context(|| format!("package {package} is not in the workspace"))?;
        let bins: Vec<&str> = package_json["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "bin")))
            .filter_map(|t| t["name"].as_str())
            .collect();
        match bins.as_slice() {
            [one] => Ok((*one).to_owned()),
            _ => bail!("package {package} must have exactly one binary target, found {bins:?}"),
        }
    }
}
