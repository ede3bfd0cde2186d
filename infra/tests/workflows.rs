//! The GitHub workflows that build and deploy the stack, read as GitHub reads them
//! (YAML, parsed by the venv's PyYAML, which cfn-lint and checkov bring): every action
//! pinned to a full commit SHA, and the jobs that can mint an AWS token build and
//! install nothing; each check also on a mutated workflow that it must reject.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;

use serde_json::{Value, json};
use zipster_tools::project_root;

/// The one way a job with `id-token: write` may install from PyPI.
const DEPLOY_REQUIREMENTS: &str = "pip install --require-hashes -r xtask/deploy-requirements.txt";

/// `(file name, raw text, parsed)` of every workflow.
fn workflows() -> Vec<(String, String, Value)> {
    let dir = project_root().join(".github/workflows");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    let python = zipster_tools::venv::tool("python").unwrap();
    files
        .into_iter()
        .map(|path| {
            let output = std::process::Command::new(&python)
                .args(["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"])
                .arg(&path)
                .output()
                .unwrap();
            assert!(output.status.success(), "{}: {}", path.display(), String::from_utf8_lossy(&output.stderr));
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap(), serde_json::from_slice(&output.stdout).unwrap())
        })
        .collect()
}

fn jobs(workflow: &Value) -> Vec<(&String, &Value)> {
    workflow["jobs"].as_object().map(|jobs| jobs.iter().collect()).unwrap_or_default()
}

fn steps(job: &Value) -> Vec<&Value> {
    job["steps"].as_array().map(|steps| steps.iter().collect()).unwrap_or_default()
}

/// `owner/repo[/path]@<40 hex>`, or a workflow or action of this repository (`./…`).
fn is_pinned(uses: &str) -> bool {
    if uses.starts_with("./") {
        return true;
    }
    let Some((action, reference)) = uses.split_once('@') else { return false };
    action.split('/').count() >= 2
        && reference.len() == 40
        && reference.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn every_action_is_pinned_to_a_commit_with_its_version_beside_it(name: &str, text: &str, workflow: &Value) {
    for (job_name, job) in jobs(workflow) {
        let uses = job["uses"].as_str().into_iter().chain(steps(job).into_iter().filter_map(|s| s["uses"].as_str()));
        for uses in uses {
            assert!(is_pinned(uses), "{name}: job {job_name} uses {uses}, not a full commit SHA");
        }
    }
    for line in text.lines().filter(|l| l.trim_start().trim_start_matches("- ").starts_with("uses:")) {
        let pinned = !line.contains("./") && line.contains('@');
        assert!(!pinned || line.contains(" # "), "{name}: {line:?} does not say which version the SHA is");
    }
}

fn jobs_that_can_mint_an_aws_token_build_and_install_nothing(name: &str, _: &str, workflow: &Value) {
    for (job_name, job) in jobs(workflow) {
        if job["permissions"]["id-token"] != "write" {
            continue;
        }
        for step in steps(job) {
            let run = step["run"].as_str().unwrap_or_default();
            for line in run.lines() {
                if line.contains("pip") || line.contains("uv ") {
                    assert_eq!(line.trim(), DEPLOY_REQUIREMENTS, "{name}: job {job_name} installs {line:?}");
                }
                assert!(!line.contains("cargo "), "{name}: job {job_name} builds ({line:?}) while it holds a token");
            }
            let uses = step["uses"].as_str().unwrap_or_default();
            assert!(!uses.contains("setup-python"), "{name}: job {job_name} sets up Python");
        }
    }
}

fn the_deploy_runs_on_its_own_and_a_manual_run_cannot_pick_prod(name: &str, _: &str, workflow: &Value) {
    if name != "deploy.yml" {
        return;
    }
    // PyYAML reads the key `on` as true (YAML 1.1).
    let on = &workflow["true"];
    assert!(on["workflow_dispatch"].is_null(), "{name}: a manual run takes no inputs: {on}");
    let build = &workflow["jobs"]["build"];
    assert!(build["permissions"]["id-token"].is_null(), "{name}: the build job can mint a token");
    assert_eq!(workflow["jobs"]["dev"]["with"]["stage"], "dev");
    assert_eq!(workflow["jobs"]["prod"]["if"], "github.event_name == 'workflow_dispatch'");
    assert_eq!(workflow["jobs"]["prod"]["needs"], json!(["build", "dev"]), "{name}: prod after dev");
}

type Check = fn(&str, &str, &Value);

const CHECKS: [Check; 3] = [
    every_action_is_pinned_to_a_commit_with_its_version_beside_it,
    jobs_that_can_mint_an_aws_token_build_and_install_nothing,
    the_deploy_runs_on_its_own_and_a_manual_run_cannot_pick_prod,
];

#[test]
fn every_workflow_passes_every_check() {
    for (name, text, workflow) in workflows() {
        for check in CHECKS {
            check(&name, &text, &workflow);
        }
    }
}

type Mutation = Box<dyn FnOnce(&mut String, &mut Value)>;

/// Runs `check` on workflow `file` after `mutate`; true if the check fails.
fn catches(file: &str, check: Check, mutate: Mutation) -> bool {
    let (name, mut text, mut workflow) = workflows().into_iter().find(|(name, _, _)| name == file).unwrap();
    mutate(&mut text, &mut workflow);
    std::panic::catch_unwind(AssertUnwindSafe(|| check(&name, &text, &workflow))).is_err()
}

fn deploy_steps(workflow: &mut Value) -> &mut Vec<Value> {
    workflow["jobs"]["deploy"]["steps"].as_array_mut().unwrap()
}

#[test]
fn the_checks_reject_a_weakened_workflow() {
    let cases: Vec<(&str, &str, Check, Mutation)> = vec![
        (
            "a tag",
            "ci.yml",
            every_action_is_pinned_to_a_commit_with_its_version_beside_it,
            Box::new(|_, w| w["jobs"]["test"]["steps"][0]["uses"] = json!("actions/checkout@v4")),
        ),
        (
            "a short SHA",
            "deploy-stage.yml",
            every_action_is_pinned_to_a_commit_with_its_version_beside_it,
            Box::new(|_, w| deploy_steps(w)[0]["uses"] = json!("actions/checkout@11d5960")),
        ),
        (
            "a SHA without its version",
            "ci.yml",
            every_action_is_pinned_to_a_commit_with_its_version_beside_it,
            Box::new(|t, _| *t = t.replace(" # v4.4.0", "")),
        ),
        (
            "a reusable workflow of another repository by branch",
            "deploy.yml",
            every_action_is_pinned_to_a_commit_with_its_version_beside_it,
            Box::new(|_, w| w["jobs"]["dev"]["uses"] = json!("someone/workflows/.github/workflows/d.yml@main")),
        ),
        (
            "the development tools in the deploy job",
            "deploy-stage.yml",
            jobs_that_can_mint_an_aws_token_build_and_install_nothing,
            Box::new(|_, w| deploy_steps(w).push(json!({"run": "pip install -r xtask/requirements.txt"}))),
        ),
        (
            "deploy requirements without hashes",
            "deploy-stage.yml",
            jobs_that_can_mint_an_aws_token_build_and_install_nothing,
            Box::new(|_, w| deploy_steps(w).push(json!({"run": "pip install -r xtask/deploy-requirements.txt"}))),
        ),
        (
            "cargo xtask tools in the deploy job",
            "deploy-stage.yml",
            jobs_that_can_mint_an_aws_token_build_and_install_nothing,
            Box::new(|_, w| deploy_steps(w).push(json!({"run": "cargo xtask tools"}))),
        ),
        (
            "a token for the build job",
            "deploy.yml",
            the_deploy_runs_on_its_own_and_a_manual_run_cannot_pick_prod,
            Box::new(|_, w| w["jobs"]["build"]["permissions"]["id-token"] = json!("write")),
        ),
        (
            "a stage chosen by the dispatch",
            "deploy.yml",
            the_deploy_runs_on_its_own_and_a_manual_run_cannot_pick_prod,
            Box::new(|_, w| {
                w["true"]["workflow_dispatch"] = json!({"inputs": {"stage": {"default": "prod"}}});
            }),
        ),
    ];
    let missed: Vec<&str> = cases
        .into_iter()
        .filter_map(|(what, file, check, mutate)| (!catches(file, check, mutate)).then_some(what))
        .collect();
    assert!(missed.is_empty(), "not caught: {missed:?}");
}
