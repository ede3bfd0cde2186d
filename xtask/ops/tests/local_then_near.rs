//! What `cargo xtask local` prints works as printed: it ends by suggesting a `near`
//! query, and that command, run afterwards in a fresh process with nothing but the
//! local state to go on, queries the database the local stage loaded.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use zipster_db::testing::TestDb;
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

#[tokio::test(flavor = "multi_thread")]
async fn the_near_query_local_suggests_answers_from_the_rows_local_loaded() {
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
    let down = ops(local_dir.path(), None, &["local", "down"]);
    assert!(down.status.success(), "{}", text(&down));
    assert!(near.status.success(), "`cargo xtask {suggested}`: {}", text(&near));
    let neighbors: Vec<&str> = std::str::from_utf8(&near.stdout).unwrap().lines().collect();
    assert!(!neighbors.is_empty(), "`cargo xtask {suggested}` found nothing");
    let loaded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ZIPCODES").fetch_one(&db.pool).await.unwrap();
    assert!(loaded > 0);
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
