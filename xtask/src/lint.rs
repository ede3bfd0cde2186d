//! `cargo xtask lint`: cfn-lint and checkov (from the project's venv) on every
//! committed template (each stage's stack and its bootstrap), actionlint and
//! checkov's `github_actions` checks on every GitHub workflow. All must pass clean:
//! cfn-lint without errors or warnings, checkov without failed checks (skips live in
//! each resource's `Metadata.checkov`), actionlint without findings.

use anyhow::{Result, bail};
use xshell::{Shell, cmd};
use zipster_infra::StageConfig;
use zipster_infra::synth::{STAGES_FILE, TEMPLATES_DIR, file_names};

use zipster_tools::{project_root, venv};

pub fn run() -> Result<()> {
    crate::synth::run(true)?;
    let root = project_root();
    let stages = StageConfig::from_toml(&std::fs::read_to_string(root.join(STAGES_FILE))?)?;
    // Each template with the region of its stage.
    let templates: Vec<(String, &str)> = stages
        .iter()
        .flat_map(|s| file_names(s).map(|name| (format!("{TEMPLATES_DIR}/{name}"), s.region.as_str())))
        .collect();
    let cfn_lint = venv::tool("cfn-lint")?;
    let checkov = venv::tool("checkov")?;
    let actionlint = venv::tool("actionlint")?;
    let sh = Shell::new()?;
    sh.change_dir(&root);

    let mut failed = Vec::new();
    // Linted in the stage's own region: resource types and instance types differ by region.
    // cfn-lint's exit code is a bit mask (2 errors, 4 warnings, 8 informational);
    // informational findings are advice, errors and warnings fail.
    for (template, region) in &templates {
        if cmd!(sh, "{cfn_lint} --regions {region} --non-zero-exit-code warning -- {template}").run().is_err() {
            failed.push("cfn-lint");
        }
    }
    let files: Vec<String> = templates.iter().flat_map(|(t, _)| ["--file".to_owned(), t.clone()]).collect();
    let checkov_ok = cmd!(sh, "{checkov} --framework cloudformation --compact --quiet --skip-download {files...}")
        .env("BC_SKIP_MAPPING", "TRUE")
        .env("CHECKOV_RUN_SCA_PACKAGE_SCAN_V2", "false")
        .run()
        .is_ok();
    if !checkov_ok {
        failed.push("checkov");
    }
    let workflows: Vec<_> = std::fs::read_dir(root.join(".github/workflows"))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    let workflow_count = workflows.len();
    let workflow_files: Vec<String> =
        workflows.iter().flat_map(|w| ["--file".to_owned(), w.display().to_string()]).collect();
    if cmd!(sh, "{actionlint} {workflows...}").run().is_err() {
        failed.push("actionlint");
    }
    let checkov_actions_ok =
        cmd!(sh, "{checkov} --framework github_actions --compact --quiet --skip-download {workflow_files...}")
            .env("BC_SKIP_MAPPING", "TRUE")
            .env("CHECKOV_RUN_SCA_PACKAGE_SCAN_V2", "false")
            .run()
            .is_ok();
    if !checkov_actions_ok {
        failed.push("checkov");
    }
    failed.dedup();
    if !failed.is_empty() {
        bail!("{} reported problems in {TEMPLATES_DIR} or .github/workflows", failed.join(", "));
    }
    eprintln!(
        "cfn-lint and checkov: {} templates clean; actionlint and checkov: {} workflows clean",
        templates.len(),
        workflow_count
    );
    Ok(())
}
