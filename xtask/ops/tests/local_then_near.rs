//! What `cargo xtask local` prints works as printed: it ends by suggesting a `near`
//! query, and that command, run afterwards in a fresh process with nothing but the
//! local state to go on, queries the database the local stage loaded. Then the stage
//! commands on the same local stage, each in a fresh process as a person runs them:
//! `put` (loaded with rejects; refused), `status`, `status KEY`, `logs`, `redrive
//! --dry-run`, `drift` before and after a change made outside the stack, and
//! `reprocess` (nothing again; a replace's wipe guard, then its override), and `status`
//! from the database's `LOADED_OBJECTS` through the migrate function (the numbers the
//! table holds), every alarm with its state (one set to ALARM shown first with its
//! reason and next step), and the fallback to the load's log lines. One
//! stage for all: starting one is most of the time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use serde_json::Value;
use zipster_db::testing::TestDb;
use zipster_deploy::StageClients;
use zipster_deploy::query::{CLOUDWATCH, QueryClient};
use zipster_tools::database;

fn ops(local_dir: &std::path::Path, database_url: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_zipster-ops"));
    command.args(args).env("ZIPSTER_LOCAL_DIR", local_dir).stdin(std::process::Stdio::null());
    match database_url {
        Some(url) => command.env("DATABASE_URL", url),
        None => command.env_remove("DATABASE_URL"),
    };
    command.output().unwrap()
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// The local stage's moto, as `local` recorded it.
fn moto_endpoint(local_dir: &std::path::Path) -> String {
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(local_dir.join("state.json")).unwrap()).unwrap();
    zipster_tools::moto::endpoint(u16::try_from(state["moto"]["port"].as_u64().unwrap()).unwrap())
}

fn case(name: &str, file: &str) -> String {
    zipster_tools::project_root().join("testdata/zipcodes/cases").join(name).join(file).display().to_string()
}

fn timed(local_dir: &std::path::Path, args: &[&str]) -> Output {
    let started = std::time::Instant::now();
    let output = ops(local_dir, None, args);
    eprintln!("`cargo xtask {}`: {:.1} s", args.join(" "), started.elapsed().as_secs_f64());
    output
}

#[tokio::test(flavor = "multi_thread")]
async fn the_near_query_local_suggests_answers_from_the_rows_local_loaded_and_the_stage_commands_operate_it() {
    let Some(db) = TestDb::create("the_near_query_local_suggests").await else { return };
    let local_dir = tempfile::tempdir().unwrap();
    let url = database::with_database(&database::server_url(), &db.name);

    let up = ops(local_dir.path(), Some(&url), &["local"]);
    if !up.status.success() {
        ops(local_dir.path(), None, &["local", "down"]);
        panic!("{}", text(&up));
    }

    let stdout = String::from_utf8_lossy(&up.stdout);
    let suggested = stdout
        .lines()
        .find_map(|l| l.split("`cargo xtask ").nth(1).and_then(|rest| rest.split('`').next()))
        .unwrap_or_else(|| panic!("no suggested command in\n{stdout}"));
    let args: Vec<&str> = suggested.split_whitespace().collect();
    assert_eq!(args[0], "near", "{suggested}");

    // No DATABASE_URL now: only what `local` recorded says where its rows are.
    let near = ops(local_dir.path(), None, &args);
    // The same query through the stage: its migrate function, inside the "VPC".
    let staged: Vec<&str> = args.iter().copied().chain(["--stage", "local"]).collect();
    let near_stage = timed(local_dir.path(), &staged);
    // A failure there still stops the stage below before it is reported.
    let operated = tokio::spawn(operate(local_dir.path().to_owned(), db.pool.clone())).await;
    let down = ops(local_dir.path(), None, &["local", "down"]);
    assert!(down.status.success(), "{}", text(&down));
    if let Err(failed) = operated {
        std::panic::resume_unwind(failed.into_panic());
    }
    assert!(near.status.success(), "`cargo xtask {suggested}`: {}", text(&near));
    assert!(near_stage.status.success(), "near --stage local: {}", text(&near_stage));
    assert_eq!(
        String::from_utf8_lossy(&near_stage.stdout),
        String::from_utf8_lossy(&near.stdout),
        "near --stage local answers as the local near"
    );
    let neighbors: Vec<&str> = std::str::from_utf8(&near.stdout).unwrap().lines().collect();
    assert!(!neighbors.is_empty(), "`cargo xtask {suggested}` found nothing");
    let loaded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ZIPCODES").fetch_one(&db.pool).await.unwrap();
    assert!(loaded > 0);
    let (cities, named): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(CASE WHEN NAME = 'Lavāsān' THEN 1 END) FROM CITIES")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!((cities, named), (1, 1), "the cities feed's rows are in its own table, as the allowed replace left it");
    // Its lineage: the row the replace left unchanged still names the load that wrote it
    // (the first, of the whole file); the replace that shrank the table is recorded with
    // the operator's override.
    let (feed, strategy, allowed, contract): (String, String, bool, String) = sqlx::query_as(
        "SELECT L.FEED, L.STRATEGY, L.SHRINK_ALLOWED, L.CONTRACT_SHA256 FROM CITIES C \
         JOIN LOADED_OBJECTS L ON L.ID = C._LOAD_ID",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!((feed.as_str(), strategy.as_str(), allowed), ("cities", "replace", false));
    assert_eq!(contract, zipster_core::feeds::builtin("cities").unwrap().hash);
    let shrinks: Vec<(u32, u32)> =
        sqlx::query_as("SELECT ROWS_READ, ROWS_DELETED FROM LOADED_OBJECTS WHERE FEED = 'cities' AND SHRINK_ALLOWED")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(shrinks, [(1, 7)], "one allowed shrink: 1 row read, 7 deleted");
    for line in neighbors {
        let zipcode = line.split_whitespace().next().unwrap();
        let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ZIPCODES WHERE ZIPCODE = ?")
            .bind(zipcode)
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(found, 1, "{zipcode} comes from the test's own database");
    }
}

/// The stage commands on the running local stage.
async fn operate(dir: std::path::PathBuf, pool: sqlx::MySqlPool) {
    let dir = dir.as_path();
    let key = "ops/every rule.csv";
    let put = timed(dir, &["put", "--stage", "local", &case("every_rule", "input.csv"), "--key", key]);
    assert!(put.status.success(), "{}", text(&put));
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(case("every_rule", "summary.json")).unwrap()).unwrap();
    let counts = format!("rows accepted {}, rejected {}", golden["accepted"], golden["rejected"]);
    let out = String::from_utf8_lossy(&put.stdout);
    assert!(out.contains("→ loaded") && out.contains(&counts), "{out}");
    assert!(out.contains(&format!("load:      loaded {} rows", golden["accepted"])), "{out}");
    assert!(out.lines().any(|l| l.starts_with("  staged:    s3://") && l.ends_with(key)), "{out}");

    // A second feed, end to end: under its prefix, through its contract, into its table.
    let cities = zipster_tools::project_root().join("testdata/cities/cases/good/input.csv").display().to_string();
    let put_cities = timed(dir, &["put", "--stage", "local", &cities, "--feed", "cities"]);
    assert!(put_cities.status.success(), "{}", text(&put_cities));
    let out = String::from_utf8_lossy(&put_cities.stdout);
    assert!(out.contains("load:      loaded 8 rows"), "{out}");

    let refused =
        timed(dir, &["put", "--stage", "local", &case("missing_columns", "input.csv"), "--key", "ops/refused.csv"]);
    assert!(!refused.status.success(), "a refused file fails the command: {}", text(&refused));
    let reason: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(case("missing_columns", "summary.json")).unwrap()).unwrap();
    let reason = reason["error"].as_str().unwrap();
    assert!(text(&refused).contains("NOT STAGED") && text(&refused).contains(reason), "{}", text(&refused));

    let status = timed(dir, &["status", "--stage", "local"]);
    assert!(status.status.success(), "{}", text(&status));
    let listing = String::from_utf8_lossy(&status.stdout);
    let row = |key: &str| {
        listing.lines().find(|l| l.contains(key)).unwrap_or_else(|| panic!("{key} in\n{listing}")).to_owned()
    };
    assert!(row("ops/every rule.csv").contains("staged") && row("ops/every rule.csv").contains("loaded"), "{listing}");
    assert!(row("ops/refused.csv").contains("refused"), "{listing}");
    assert!(listing.contains("on-failure queue: 0 record(s)"), "{listing}");
    let story = timed(dir, &["status", "--stage", "local", key]);
    let story_text = String::from_utf8_lossy(&story.stdout);
    assert!(
        story.status.success() && story_text.contains("load: loaded") && story_text.contains("rejects:"),
        "{}",
        text(&story)
    );

    let logs = timed(dir, &["logs", "--stage", "local", "--function", "load", "--since", "10m"]);
    let lines = String::from_utf8_lossy(&logs.stdout);
    assert!(logs.status.success(), "{}", text(&logs));
    assert!(lines.lines().any(|l| l.contains("load |") && l.contains("load done") && l.contains(key)), "{lines}");
    assert!(!lines.contains("transform |"), "only the load's lines: {lines}");
    let json = timed(dir, &["logs", "--stage", "local", "--since", "10m", "--filter", "ops/refused.csv", "--json"]);
    let records: Vec<serde_json::Value> =
        String::from_utf8_lossy(&json.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(!records.is_empty() && records.iter().all(|r| r["function"] == "transform"), "{records:?}");

    let dry = timed(dir, &["redrive", "--stage", "local", "--dry-run"]);
    assert!(dry.status.success() && text(&dry).contains("0 record(s)"), "{}", text(&dry));

    let clean = timed(dir, &["drift", "--stage", "local"]);
    assert!(clean.status.success() && text(&clean).contains("no drift"), "{}", text(&clean));
    let clients = zipster_deploy::StageClients::local(&moto_endpoint(dir)).await;
    clients
        .lambda
        .update_function_configuration()
        .function_name("zipster-local-load")
        .timeout(42)
        .send()
        .await
        .unwrap();
    let drifted = timed(dir, &["drift", "--stage", "local"]);
    assert!(!drifted.status.success(), "drift fails the command: {}", text(&drifted));
    let report = text(&drifted);
    assert!(report.contains("LoadFunction (AWS::Lambda::Function): MODIFIED"), "{report}");
    assert!(report.contains("/Timeout: expected 300, actual 42"), "{report}");

    // Reprocessing: the same file under the same contract loads nothing.
    let again = timed(dir, &["reprocess", "--stage", "local", "cities/input.csv"]);
    assert!(again.status.success() && text(&again).contains("load:      already loaded"), "{}", text(&again));
    // A truncated upload of the cities (a replace) would delete 7 of its 8 rows: refused
    // every retry, dead-lettered, the table untouched.
    let good = std::fs::read_to_string(&cities).unwrap();
    let lavasan: Vec<&str> = good.lines().filter(|l| l.starts_with("geonameid") || l.starts_with("490,")).collect();
    let truncated = dir.join("truncated.csv");
    std::fs::write(&truncated, format!("{}\n", lavasan.join("\n"))).unwrap();
    let shrink = timed(dir, &["put", "--stage", "local", truncated.to_str().unwrap(), "--key", "cities/input.csv"]);
    assert!(!shrink.status.success(), "{}", text(&shrink));
    assert!(text(&shrink).contains("would delete 7 of CITIES's 8 rows"), "{}", text(&shrink));
    // The operator's override, through the transform to the load: the file replaces the table.
    let allowed = timed(dir, &["reprocess", "--stage", "local", "cities/input.csv", "--allow-shrink"]);
    assert!(allowed.status.success(), "{}", text(&allowed));
    assert!(text(&allowed).contains("1 unchanged, 7 deleted"), "{}", text(&allowed));
    // A feed's files since a time, selected by the functions' own routing: only the cities
    // key (the zip codes' keys are the default feed's), loaded already.
    let by_feed = timed(dir, &["reprocess", "--stage", "local", "--feed", "cities", "--since", "1h"]);
    let said = text(&by_feed);
    assert!(by_feed.status.success() && said.contains("load:      already loaded"), "{said}");
    assert_eq!(said.matches("reprocess: s3://").count(), 1, "{said}");
    assert!(said.contains("/cities/input.csv"), "{said}");

    // `status` from the database's records, through the migrate function, and the alarms.
    // What the table holds about the key: the numbers status must print.
    let (id, read, inserted, updated): (u64, u32, u32, u32) = sqlx::query_as(
        "SELECT ID, ROWS_READ, ROWS_INSERTED, ROWS_UPDATED FROM LOADED_OBJECTS WHERE OBJECT_KEY = ? ORDER BY ID DESC",
    )
    .bind(key)
    .fetch_one(&pool)
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

    let status = timed(dir, &["status", "--stage", "local"]);
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
    let status = timed(dir, &["status", "--stage", "local"]);
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

    let story = timed(dir, &["status", "--stage", "local", key]);
    let story_text = String::from_utf8_lossy(&story.stdout);
    assert!(story.status.success(), "{}", text(&story));
    assert!(
        story_text.contains(&format!(
            "LOADED_OBJECTS #{id}: ETag {}",
            sqlx::query_scalar::<_, String>("SELECT ETAG FROM LOADED_OBJECTS WHERE ID = ?")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap()
        )) && story_text.contains(&format!("rows read {read}, inserted {inserted}, updated {updated}")),
        "{story_text}"
    );

    // The migrate function can no longer answer (its table gone; renamed, since the feeds'
    // lineage keys refer to it): status says so and reads the logs.
    sqlx::query("RENAME TABLE LOADED_OBJECTS TO LOADED_OBJECTS_AWAY").execute(&pool).await.unwrap();
    let status = timed(dir, &["status", "--stage", "local"]);
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
    sqlx::query("RENAME TABLE LOADED_OBJECTS_AWAY TO LOADED_OBJECTS").execute(&pool).await.unwrap();
}
