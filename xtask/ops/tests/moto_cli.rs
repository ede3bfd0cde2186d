//! The `zipster-ops` binary (what `cargo xtask deploy/diff/destroy` runs) against
//! moto: arguments, the refusal to act without a terminal or `--yes`, `--json`,
//! and the one-sentence answer when there are no credentials.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};
use std::time::Duration;

use zipster_deploy::artifacts::Artifact;
use zipster_deploy::deploy::{self, AllowReplace, Code, DeployOptions, Outcome};
use zipster_deploy::ui::Recorder;
use zipster_deploy::{LOCAL_REGION, StageClients, events};
use zipster_infra::FUNCTIONS;
use zipster_infra::StageConfig;
use zipster_tools::project_root;

use zipster_tools::moto::MotoServer;

/// The binary with moto's endpoint and fake credentials for this child only.
fn ops(moto: &MotoServer, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zipster-ops"))
        .args(args)
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", LOCAL_REGION)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_diffs_refuses_without_yes_and_destroys() {
    let moto = MotoServer::start().unwrap();
    let clients = StageClients::local(&moto.endpoint).await;
    // The binary reads infra/stages.toml, so this is the real `local` stage (us-east-1),
    // in this test's own moto; its outputs file goes to a temporary directory.
    let text_toml = std::fs::read_to_string(project_root().join("infra/stages.toml")).unwrap();
    let stage = StageConfig::named(&text_toml, "local").unwrap();
    let scratch = tempfile::tempdir().unwrap();

    let absent = ops(&moto, &["diff", "--stage", "local"]);
    assert!(absent.status.success(), "{}", text(&absent));
    assert!(text(&absent).contains("does not exist: deploy would create every resource"), "{}", text(&absent));

    // The bootstrap through the command line: created, then "no changes".
    let boot = ops(&moto, &["bootstrap", "--stage", "local", "--yes", "--json"]);
    assert!(boot.status.success(), "{}", text(&boot));
    let report: serde_json::Value = serde_json::from_slice(&boot.stdout).unwrap();
    assert_eq!(report["outcome"], "created");
    let again = ops(&moto, &["bootstrap", "--stage", "local", "--yes"]);
    assert!(again.status.success() && text(&again).contains("no changes: zipster-bootstrap-local"), "{}", text(&again));

    let artifacts = FUNCTIONS.iter().map(|f| Artifact::from_binary(f.name, f.name.as_bytes()).unwrap()).collect();
    let options = DeployOptions {
        stage: stage.clone(),
        root: scratch.path().to_owned(),
        code: Code::Prebuilt(artifacts),
        dry_run: false,
        recreate: false,
        poll: Duration::from_millis(100),
        allow_replace: AllowReplace::Named(Vec::new()),
    };
    let mut yes = Recorder { answer: true, ..Recorder::default() };
    assert_eq!(deploy::deploy(options, &clients, &mut yes).await.unwrap().outcome, Outcome::Created);

    let diff = ops(&moto, &["diff", "--stage", "local", "--json"]);
    assert!(diff.status.success(), "{}", text(&diff));
    let changes: serde_json::Value = serde_json::from_slice(&diff.stdout).unwrap();
    assert_eq!(changes, serde_json::json!([]));

    // No terminal and no --yes: nothing is deleted, and the message says what to do.
    let refused = ops(&moto, &["destroy", "--stage", "local"]);
    assert!(!refused.status.success());
    assert!(text(&refused).contains("--yes"), "{}", text(&refused));
    assert!(events::stack_status(&clients, "zipster-local").await.unwrap().is_some());

    let dry = ops(&moto, &["destroy", "--stage", "local", "--dry-run", "--json"]);
    assert!(dry.status.success(), "{}", text(&dry));
    let report: serde_json::Value = serde_json::from_slice(&dry.stdout).unwrap();
    assert_eq!(report["stack_existed"], true);
    assert_eq!(report["stack_deleted"], false);
    assert_eq!(report["buckets"].as_array().unwrap().len(), 4);

    // --purge-data needs the stage's name: under --yes, as --confirm-stage, and the right one.
    let unconfirmed = ops(&moto, &["destroy", "--stage", "local", "--purge-data", "--yes"]);
    assert!(!unconfirmed.status.success());
    assert!(text(&unconfirmed).contains("--confirm-stage local"), "{}", text(&unconfirmed));
    let wrong = ops(&moto, &["destroy", "--stage", "local", "--purge-data", "--confirm-stage", "prod", "--yes"]);
    assert!(!wrong.status.success());
    assert!(text(&wrong).contains("does not match"), "{}", text(&wrong));
    assert!(events::stack_status(&clients, "zipster-local").await.unwrap().is_some());

    let destroyed = ops(&moto, &["destroy", "--stage", "local", "--yes", "--json"]);
    assert!(destroyed.status.success(), "{}", text(&destroyed));
    assert!(events::stack_status(&clients, "zipster-local").await.unwrap().is_none());
    let report: serde_json::Value = serde_json::from_slice(&destroyed.stdout).unwrap();
    let kept = report["kept_buckets"].as_array().unwrap().clone();
    for bucket in &kept {
        assert!(
            zipster_deploy::artifacts::bucket_exists(&clients, bucket.as_str().unwrap(), zipster_deploy::LOCAL_ACCOUNT)
                .await
                .unwrap()
        );
    }
    // What was kept goes with the command printed for it, the stack being gone.
    let purged = ops(&moto, &["destroy", "--stage", "local", "--purge-data", "--confirm-stage", "local", "--json"]);
    assert!(purged.status.success(), "{}", text(&purged));
    let report: serde_json::Value = serde_json::from_slice(&purged.stdout).unwrap();
    assert_eq!(report["deleted_buckets"].as_array().unwrap().len(), kept.len(), "{report}");
    for bucket in &kept {
        assert!(
            !zipster_deploy::artifacts::bucket_exists(
                &clients,
                bucket.as_str().unwrap(),
                zipster_deploy::LOCAL_ACCOUNT
            )
            .await
            .unwrap()
        );
    }
}

#[test]
fn missing_credentials_get_one_sentence_on_how_to_provide_them() {
    // An unreachable endpoint and no credential source: nothing can leave the machine.
    let output = Command::new(env!("CARGO_BIN_EXE_zipster-ops"))
        .args(["diff", "--stage", "local"])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let message = text(&output);
    assert!(message.contains("no AWS credentials found"), "{message}");
    assert!(message.contains("AWS_PROFILE") && message.contains("aws sso login"), "{message}");
}
