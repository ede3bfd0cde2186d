//! `status` on the local stage, each command in a fresh process as a person runs it:
//! the load's outcome from the database's `LOADED_OBJECTS` through the migrate
//! function (the same numbers the table holds), every alarm of the template with its
//! state, an alarm set to ALARM shown first with its reason and the next step, `status
//! KEY` with the key's rows, and, once the migrate function cannot answer (its table
//! gone), the fallback to the load's log lines, saying why.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use zipster_db::testing::TestDb;
use zipster_deploy::StageClients;
use zipster_deploy::query::{CLOUDWATCH, QueryClient};
use zipster_tools::database;

fn ops(local_dir: &Path, database_url: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_zipster-ops"));
    command.args(args).env("ZIPSTER_LOCAL_DIR", local_dir).stdin(std::process::Stdio::null());
    match database_url {
        Some(url) => command.env("DATABASE_URL", url),
        None => command.env_remove("DATABASE_URL"),
    };
    let started = std::time::Instant::now();
    let output = command.output().unwrap();
    eprintln!("`cargo xtask {}`: {:.1} s", args.join(" "), started.elapsed().as_secs_f64());
    output
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn moto_endpoint(local_dir: &Path) -> String {
    let state: Value = serde_json::from_str(&std::fs::read_to_string(local_dir.join("state.json")).unwrap()).unwrap();
    zipster_tools::moto::endpoint(u16::try_from(state["moto"]["port"].as_u64().unwrap()).unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn status_reads_the_loads_from_the_database_and_every_alarms_state_and_falls_back_to_the_logs() {
    let Some(db) = TestDb::create("status_records_alarms").await else { return };
    let local_dir = tempfile::tempdir().unwrap();
    let url = database::with_database(&database::server_url(), &db.name);
    let up = ops(local_dir.path(), Some(&url), &["local"]);
    if !up.status.success() {
        ops(local_dir.path(), None, &["local", "down"]);
        panic!("{}", text(&up));
    }
    // A failure still stops the stage before it is reported.
    let checked = tokio::spawn(check(local_dir.path().to_owned(), db)).await;
    let down = ops(local_dir.path(), None, &["local", "down"]);
    if let Err(failed) = checked {
        std::panic::resume_unwind(failed.into_panic());
    }
    assert!(down.status.success(), "{}", text(&down));
}

async fn check(dir: std::path::PathBuf, db: TestDb) {
    let dir = dir.as_path();
    let key = "status/every rule.csv";
    let input =
        zipster_tools::project_root().join("testdata/zipcodes/cases/every_rule/input.csv").display().to_string();
    let put = ops(dir, None, &["put", "--stage", "local", &input, "--key", key]);
    assert!(put.status.success(), "{}", text(&put));

    // What the table holds about the key: the numbers status must print.
    let (id, read, inserted, updated): (u64, u32, u32, u32) = sqlx::query_as(
        "SELECT ID, ROWS_READ, ROWS_INSERTED, ROWS_UPDATED FROM LOADED_OBJECTS WHERE OBJECT_KEY = ? ORDER BY ID DESC",
    )
    .bind(key)
    .fetch_one(&db.pool)
    .await
    .unwrap();

    // Every alarm the template declares, by its AlarmName.
    let clients = StageClients::local(&moto_endpoint(dir)).await;
    let body = clients.cloudformation.get_template().stack_name("zipster-local").send().await.unwrap();
    let template: Value = serde_json::from_str(body.template_body().unwrap()).unwrap();
    let mut alarms: Vec<String> = template["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::CloudWatch::Alarm")
        .map(|r| r["Properties"]["AlarmName"].as_str().unwrap().to_owned())
        .collect();
    alarms.sort();
    assert!(alarms.len() >= 2, "the template's alarms: {alarms:?}");

    let status = ops(dir, None, &["status", "--stage", "local"]);
    assert!(status.status.success(), "{}", text(&status));
    let listing = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(
        listing.contains("load records: the database's LOADED_OBJECTS (through zipster-local-migrate)"),
        "{listing}"
    );
    let row = listing.lines().find(|l| l.contains(key)).unwrap_or_else(|| panic!("{key} in\n{listing}"));
    assert!(row.contains(&format!(": read {read}, inserted {inserted}, updated {updated}")), "{row}");
    assert!(listing.contains(&format!("alarms: {} — none in ALARM", alarms.len())), "{listing}");
    for alarm in &alarms {
        let line = listing.lines().find(|l| l.contains(&format!(" {alarm}: "))).unwrap_or_else(|| {
            panic!("{alarm} in\n{listing}");
        });
        assert!(line.contains("INSUFFICIENT_DATA") && line.contains("Unchecked: Initial alarm creation"), "{line}");
    }

    // The load's errors alarm fires (as three failed loads would make it).
    let firing = alarms.iter().find(|a| a.ends_with("-load-errors")).expect("the load's errors alarm").clone();
    let reason = "Threshold Crossed: 1 datapoint [3.0] was greater than the threshold (0.0)";
    let cloudwatch = QueryClient::from_config(&clients.config, &clients.region, CLOUDWATCH);
    let params = [("AlarmName", firing.as_str()), ("StateValue", "ALARM"), ("StateReason", reason)];
    cloudwatch
        .call("SetAlarmState", &firing, params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
        .await
        .unwrap();
    let status = ops(dir, None, &["status", "--stage", "local"]);
    let listing = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(status.status.success(), "status is informational, an alarm included: {}", text(&status));
    assert!(listing.contains(&format!("alarms: {} — 1 IN ALARM", alarms.len())), "{listing}");
    let first = listing.lines().skip_while(|l| !l.starts_with("alarms:")).nth(1).unwrap();
    assert!(first.starts_with("!! ALARM") && first.ends_with(&format!("{firing}: {reason}")), "{listing}");
    assert!(
        listing.contains("`cargo xtask logs --stage local --since 1h`")
            && listing.contains("`cargo xtask redrive --stage local`"),
        "{listing}"
    );

    let story = ops(dir, None, &["status", "--stage", "local", key]);
    let story_text = String::from_utf8_lossy(&story.stdout);
    assert!(story.status.success(), "{}", text(&story));
    assert!(
        story_text.contains(&format!(
            "LOADED_OBJECTS #{id}: ETag {}",
            sqlx::query_scalar::<_, String>("SELECT ETAG FROM LOADED_OBJECTS WHERE ID = ?")
                .bind(id)
                .fetch_one(&db.pool)
                .await
                .unwrap()
        )) && story_text.contains(&format!("rows read {read}, inserted {inserted}, updated {updated}")),
        "{story_text}"
    );

    // The migrate function can no longer answer: status says so and reads the logs.
    sqlx::query("DROP TABLE LOADED_OBJECTS").execute(&db.pool).await.unwrap();
    let status = ops(dir, None, &["status", "--stage", "local"]);
    let listing = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(status.status.success(), "{}", text(&status));
    assert!(
        listing.contains(
            "load records: the load's log lines (the database could not be asked: zipster-local-migrate failed: "
        ) && listing.contains("LOADED_OBJECTS"),
        "{listing}"
    );
    let row = listing.lines().find(|l| l.contains(key)).unwrap();
    assert!(row.contains(&format!("loaded {read} rows")), "the load's line instead: {row}");
}
