//! `cargo xtask ci`'s dependency policy: licenses, wildcard requirements and sources,
//! read from `deny.toml` (the same file `cargo deny` reads in the GitHub workflow, where
//! it also checks advisories) and checked against `cargo metadata`.
//!
//! Why not `cargo deny` here: it is not on a fresh machine, and `cargo install
//! cargo-deny` takes about 250 s on 2 cores, a tenth of a cold CI run, for three checks
//! that are a walk over the lock file. The SPDX expressions are evaluated by `spdx`, the
//! crate cargo-deny itself uses.

use std::process::Command;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use zipster_tools::project_root;

#[derive(Deserialize)]
struct Policy {
    licenses: Licenses,
    bans: Bans,
    sources: Sources,
}

#[derive(Deserialize)]
struct Licenses {
    allow: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Bans {
    wildcards: String,
    #[serde(default)]
    allow_wildcard_paths: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Sources {
    allow_registry: Vec<String>,
}

#[derive(Deserialize)]
struct Metadata {
    packages: Vec<Package>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    version: String,
    license: Option<String>,
    source: Option<String>,
    dependencies: Vec<Dependency>,
}

#[derive(Deserialize)]
struct Dependency {
    name: String,
    req: String,
    path: Option<String>,
}

pub fn run() -> Result<()> {
    let root = project_root();
    let policy: Policy = toml::from_str(&std::fs::read_to_string(root.join("deny.toml")).context("reading deny.toml")?)
        .context("deny.toml")?;
    let output = Command::new(zipster_tools::cargo())
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(&root)
        .output()
        .context("running cargo metadata")?;
    if !output.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    let metadata: Metadata = serde_json::from_slice(&output.stdout).context("reading cargo metadata's JSON")?;
    let problems = check(&policy, &metadata.packages)?;
    if !problems.is_empty() {
        bail!("{} dependency policy problem(s) (deny.toml):\n  {}", problems.len(), problems.join("\n  "));
    }
    eprintln!("deny: {} packages: licenses, wildcards and sources as deny.toml allows", metadata.packages.len());
    Ok(())
}

fn check(policy: &Policy, packages: &[Package]) -> Result<Vec<String>> {
    let allowed = policy
        .licenses
        .allow
        .iter()
        .map(|l| spdx::Licensee::parse(l).with_context(|| format!("deny.toml: licenses.allow: {l:?}")))
        .collect::<Result<Vec<_>>>()?;
    let mut problems = Vec::new();
    for p in packages {
        let id = format!("{} {}", p.name, p.version);
        match p.license.as_deref().map(|l| spdx::Expression::parse_mode(l, spdx::ParseMode::LAX)) {
            None => problems.push(format!("{id}: no SPDX license expression (only a license file)")),
            Some(Err(e)) => problems.push(format!("{id}: license is not an SPDX expression: {e}")),
            Some(Ok(expression)) => {
                if !expression.evaluate(|req| allowed.iter().any(|a| a.satisfies(req))) {
                    problems.push(format!("{id}: license {expression} is not allowed by deny.toml"));
                }
            }
        }
        match &p.source {
            None => {}
            Some(source) => {
                let registry = source.strip_prefix("registry+").unwrap_or(source);
                if !policy.sources.allow_registry.iter().any(|r| r == registry) {
                    problems.push(format!("{id}: comes from {source}, not an allowed registry"));
                }
            }
        }
        if policy.bans.wildcards == "deny" {
            for d in &p.dependencies {
                if d.req == "*" && !(policy.bans.allow_wildcard_paths && d.path.is_some()) {
                    problems.push(format!("{id}: depends on {} with a wildcard version", d.name));
                }
            }
        }
    }
    Ok(problems)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn package(name: &str, license: Option<&str>, source: Option<&str>, req: &str) -> Package {
        Package {
            name: name.to_owned(),
            version: "1.0.0".to_owned(),
            license: license.map(str::to_owned),
            source: source.map(str::to_owned),
            dependencies: vec![Dependency { name: "dep".to_owned(), req: req.to_owned(), path: None }],
        }
    }

    #[test]
    fn the_policy_refuses_what_deny_toml_does_not_allow() {
        let policy: Policy =
            toml::from_str(&std::fs::read_to_string(project_root().join("deny.toml")).unwrap()).unwrap();
        let crates_io = Some("registry+https://github.com/rust-lang/crates.io-index");
        let fine = [
            package("a", Some("MIT OR Apache-2.0"), crates_io, "1"),
            package("b", Some("MIT/Apache-2.0"), crates_io, "^0.4"),
            package("c", Some("(MIT OR Apache-2.0) AND Unicode-3.0"), crates_io, "1"),
            package("d", Some("Apache-2.0 WITH LLVM-exception OR MIT"), None, "1"),
            package("e", Some("MIT OR LGPL-2.1-or-later"), crates_io, "1"),
        ];
        assert_eq!(check(&policy, &fine).unwrap(), Vec::<String>::new());
        let bad = [
            package("gpl", Some("GPL-3.0-only"), crates_io, "1"),
            package("both", Some("MIT AND GPL-2.0-only"), crates_io, "1"),
            package("none", None, crates_io, "1"),
            package("git", Some("MIT"), Some("git+https://example.com/x"), "1"),
            package("star", Some("MIT"), crates_io, "*"),
        ];
        let problems = check(&policy, &bad).unwrap();
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert!(problems[0].starts_with("gpl 1.0.0: license GPL-3.0-only is not allowed"), "{problems:?}");
        assert!(problems[4].contains("wildcard"), "{problems:?}");
    }

    #[test]
    fn the_workspaces_dependencies_pass() {
        run().unwrap();
    }
}
