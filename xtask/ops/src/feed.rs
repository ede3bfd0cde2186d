//! The database half of `feed check` (the tables the migrations build against the
//! contracts; `xtask` runs the pure checks first) and `feed migration NAME` (the
//! migration from the feed's table as the migrations build it to its contract). Both
//! read the tables from a scratch database on the local server
//! (`zipster_tools::database::server_url`: `DATABASE_URL`'s server, else the local one)
//! with every migration applied, dropped afterwards; the comparison and the SQL are
//! `zipster_contract::migration`'s.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sqlx::mysql::MySqlConnectOptions;
use zipster_core::feeds::Catalog;
use zipster_db::connect;
use zipster_db::contracts::migration::{Effect, Plan, plan};
use zipster_db::contracts::{Table, migrated_tables};
use zipster_tools::database;

fn server() -> Result<MySqlConnectOptions> {
    Ok(connect::parse_url(&database::server_url())?)
}

/// Every feed's contract and table, as this build compiled them (`feeds/`).
fn feeds() -> Result<Vec<(String, Table)>> {
    let catalog = Catalog::builtin().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(catalog.feeds().iter().map(|f| (f.name.clone(), f.contract.table(&f.name))).collect())
}

/// `feed check`'s tables: one line per feed, and an error naming those that differ.
pub async fn check() -> Result<()> {
    let server = server()?;
    println!(
        "tables, as the migrations build them (a scratch database on {}:{}):",
        server.get_host(),
        server.get_port()
    );
    let (lines, differing) = check_tables(&server, &feeds()?).await?;
    for line in &lines {
        println!("{line}");
    }
    if !differing.is_empty() {
        bail!(
            "the tables of {} differ from their contracts: each feed's line above says how to fix it",
            differing.join(", ")
        );
    }
    Ok(())
}

/// The report's lines, and the feeds whose table differs.
async fn check_tables(server: &MySqlConnectOptions, feeds: &[(String, Table)]) -> Result<(Vec<String>, Vec<String>)> {
    let names: Vec<&str> = feeds.iter().map(|(_, t)| t.name.as_str()).collect();
    let existing = migrated_tables(server, &names).await?;
    let (mut lines, mut differing) = (Vec::new(), Vec::new());
    for ((feed, table), existing) in feeds.iter().zip(&existing) {
        let plan = plan(existing.as_ref(), table);
        if plan.differences.is_empty() {
            lines.push(format!("  feed {feed}: ok"));
            continue;
        }
        differing.push(feed.clone());
        lines.push(format!("  feed {feed}: {} difference(s); {}", plan.differences.len(), fix(feed, &plan)));
        lines.extend(plan.differences.iter().map(|d| format!("    {}", d.text)));
    }
    Ok((lines, differing))
}

/// What resolves a plan's differences.
fn fix(feed: &str, plan: &Plan) -> String {
    let refused = plan.differences.iter().any(|d| matches!(d.effect, Effect::Refused(_)));
    let lossy = plan.differences.iter().any(|d| matches!(d.effect, Effect::Loses(_)));
    match (refused, lossy) {
        (true, _) => format!(
            "fix: a migration written by hand (`cargo xtask feed migration {feed}` says why it cannot write it)"
        ),
        (false, true) => format!(
            "fix: `cargo xtask feed migration {feed} --allow-data-loss` (it can lose data: `cargo xtask feed migration {feed}` lists why)"
        ),
        (false, false) => format!("fix: `cargo xtask feed migration {feed}`"),
    }
}

/// `feed migration NAME [--allow-data-loss]`.
pub async fn migration(name: &str, allow_data_loss: bool) -> Result<()> {
    let feeds = feeds()?;
    let Some((feed, table)) = feeds.iter().find(|(f, _)| f == name) else {
        let known: Vec<&str> = feeds.iter().map(|(f, _)| f.as_str()).collect();
        bail!("no feed {name}: feeds/{name}/schema.json does not exist (the feeds: {})", known.join(", "));
    };
    let now = zipster_operate::clock(zipster_operate::epoch_millis(std::time::SystemTime::now()));
    let version: String = now.chars().take(19).filter(char::is_ascii_digit).collect();
    let root = zipster_tools::project_root();
    match write_migration(&server()?, &root.join("db/migrations"), feed, table, &version, allow_data_loss).await? {
        None => println!("feed {feed}: table {} is already as its contract declares it; nothing written", table.name),
        Some(path) => {
            println!("wrote {}: review it, then commit it with the contract", path.display());
        }
    }
    Ok(())
}

/// Writes the migration from `table` as the migrations build it to `table` as the
/// contract declares it into `dir`; `None` when they already agree.
async fn write_migration(
    server: &MySqlConnectOptions,
    dir: &Path,
    feed: &str,
    table: &Table,
    version: &str,
    allow_data_loss: bool,
) -> Result<Option<PathBuf>> {
    let existing = migrated_tables(server, &[table.name.as_str()]).await?.pop().flatten();
    let Some(migration) = plan(existing.as_ref(), table).migration(allow_data_loss)? else { return Ok(None) };
    let path = dir.join(migration.file_name(version, feed));
    std::fs::write(&path, migration.sql(feed)).with_context(|| format!("writing {}", path.display()))?;
    for line in &migration.data_loss {
        eprintln!("warning: {}: can lose data: {line}", path.display());
    }
    Ok(Some(path))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The server, or `None` (said loudly) when there is none and skipping is allowed.
    async fn server_or_skip(test: &str) -> Option<MySqlConnectOptions> {
        let server = server().unwrap();
        match connect::check_reachable(&server, std::time::Duration::from_secs(3)).await {
            Ok(()) => Some(server),
            Err(e) if std::env::var("ZIPSTER_ALLOW_NO_DB").as_deref() == Ok("1") => {
                eprintln!("\n!!!!! SKIPPED {test}: no database ({e}) !!!!!\n");
                None
            }
            Err(e) => panic!("{test} needs a database: {e}"),
        }
    }

    #[tokio::test]
    async fn a_contract_that_disagrees_with_the_migrations_fails_the_check_with_its_fix() {
        let Some(server) = server_or_skip("feed check").await else { return };
        let mut feeds = feeds().unwrap();
        let (lines, differing) = check_tables(&server, &feeds).await.unwrap();
        assert_eq!(differing, Vec::<String>::new(), "the repository's tables: {lines:?}");
        assert!(lines.contains(&"  feed zipcodes: ok".to_owned()), "{lines:?}");
        let zipcodes = feeds.iter_mut().find(|(f, _)| f == "zipcodes").unwrap();
        let city = zipcodes.1.columns.iter_mut().find(|c| c.name == "CITY").unwrap();
        city.sql_type = "VARCHAR(80)".to_owned();
        let (lines, differing) = check_tables(&server, &feeds).await.unwrap();
        assert_eq!(differing, ["zipcodes"]);
        let at = lines.iter().position(|l| l.starts_with("  feed zipcodes:")).unwrap();
        assert_eq!(
            &lines[at..at + 2],
            [
                "  feed zipcodes: 1 difference(s); fix: `cargo xtask feed migration zipcodes`",
                "    ZIPCODES.CITY: the table has varchar(64), the contract declares VARCHAR(80)"
            ]
        );
    }

    #[tokio::test]
    async fn the_migration_is_written_once_and_a_lossy_one_only_when_asked() {
        let Some(server) = server_or_skip("feed migration").await else { return };
        let dir = tempfile::tempdir().unwrap();
        let (_, mut cities) = feeds().unwrap().into_iter().find(|(f, _)| f == "cities").unwrap();
        let none = write_migration(&server, dir.path(), "cities", &cities, "20991231000000", false).await.unwrap();
        assert_eq!(none, None, "the table is already the contract's");
        cities.columns.retain(|c| c.name != "ADMIN1CODE");
        let refused = write_migration(&server, dir.path(), "cities", &cities, "20991231000000", false).await;
        let error = refused.unwrap_err().to_string();
        assert!(error.contains("CITIES.ADMIN1CODE: a column no field of the contract holds: dropping it deletes its values (lossy: --allow-data-loss writes it"), "{error}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing written");
        let path =
            write_migration(&server, dir.path(), "cities", &cities, "20991231000000", true).await.unwrap().unwrap();
        assert_eq!(path.file_name().unwrap(), "20991231000000_alter_cities.sql");
        let sql = std::fs::read_to_string(&path).unwrap();
        assert!(sql.starts_with("-- DATA LOSS"), "{sql}");
        assert!(sql.ends_with("ALTER TABLE CITIES\n    DROP COLUMN `ADMIN1CODE`;\n"), "{sql}");
    }
}
