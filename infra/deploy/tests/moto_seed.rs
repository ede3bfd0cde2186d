//! `seed-db --stage`: the seed file is transformed, uploaded once under its
//! content hash, and the migrate function is invoked with its location.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use zipster_deploy::StageClients;
use zipster_deploy::artifacts::Artifact;
use zipster_deploy::bootstrap::{BootstrapOptions, bootstrap};
use zipster_deploy::deploy::{self, AllowReplace, Code, DeployOptions, Outcome};
use zipster_deploy::seed::{SeedOptions, seed, seed_event};
use zipster_deploy::ui::Recorder;
use zipster_infra::FUNCTIONS;
use zipster_infra::StageConfig;
use zipster_tools::project_root;

use zipster_tools::moto::MotoServer;

#[tokio::test(flavor = "multi_thread")]
async fn seed_db_uploads_the_transformed_seed_once_and_invokes_migrate_with_it() {
    let moto = MotoServer::start().unwrap();
    let clients = StageClients::local(&moto.endpoint).await;
    let text = std::fs::read_to_string(project_root().join("infra/stages.toml")).unwrap();
    let stage = StageConfig::named(&text.replace("[local]", "[seed]"), "seed").unwrap();
    // The functions' code does not matter here: moto does not run it.
    let artifacts = FUNCTIONS.iter().map(|f| Artifact::from_binary(f.name, f.name.as_bytes()).unwrap()).collect();
    let options = DeployOptions {
        stage: stage.clone(),
        root: project_root(),
        code: Code::Prebuilt(artifacts),
        dry_run: false,
        recreate: false,
        poll: Duration::from_millis(100),
        allow_replace: AllowReplace::Named(Vec::new()),
    };
    let mut yes = Recorder { answer: true, ..Recorder::default() };
    let boot = BootstrapOptions { stage: stage.clone(), poll: Duration::from_millis(100) };
    bootstrap(boot, &clients, &mut yes).await.unwrap();
    let deployed = deploy::deploy(options, &clients, &mut yes).await.unwrap();
    assert_eq!(deployed.outcome, Outcome::Created);

    let file = project_root().join("testdata/zipcodes/sample.csv");
    let seeded = seed(SeedOptions { stage: stage.clone(), file: file.clone() }, &clients, &mut yes).await.unwrap();
    assert!(seeded.uploaded);
    assert_eq!(seeded.bucket, deployed.outputs["StagingBucketName"]);
    assert!(seeded.key.starts_with("seed/") && seeded.key.ends_with(".csv"));
    assert!(seeded.transform.accepted > 0);
    assert_eq!(seeded.function, deployed.outputs["MigrateFunctionName"]);
    // What migrate received (echoed by the launcher: moto cannot run functions).
    assert_eq!(seeded.result["event"], seed_event(&seeded.bucket, &seeded.key));

    let object = clients.s3.get_object().bucket(&seeded.bucket).key(&seeded.key).send().await.unwrap();
    let body = object.body.collect().await.unwrap().into_bytes();
    let text = std::str::from_utf8(&body).unwrap();
    let zipcodes = zipster_core::feeds::builtin(zipster_core::feeds::ZIPCODES).unwrap();
    assert_eq!(text.lines().next(), Some(zipster_core::transform::output_header(&zipcodes.contract).as_str()));
    assert_eq!(text.lines().count() as u64, seeded.transform.accepted + 1);

    // Same seed, same key: nothing uploaded the second time.
    let again = seed(SeedOptions { stage, file }, &clients, &mut yes).await.unwrap();
    assert_eq!(again.key, seeded.key);
    assert!(!again.uploaded);
}
