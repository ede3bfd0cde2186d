//! A database of its own for each test: `zipster_test_<random>` on the server every
//! command and test uses (`zipster_tools::database::server_url`: `DATABASE_URL`, else
//! the local MariaDB), dropped when the [`TestDb`] is dropped, a failing test included.
//!
//! With no server reachable a test fails with instructions, unless
//! `ZIPSTER_ALLOW_NO_DB=1`, in which case it says loudly that it was skipped.

use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlPool};
use sqlx::{ConnectOptions, Connection, Executor};

use crate::connect::{self, Limits, quote_identifier};
use crate::migrate::{self, AppliedMigration};

pub struct TestDb {
    pub pool: MySqlPool,
    pub name: String,
    pub options: MySqlConnectOptions,
}

impl TestDb {
    /// An empty database, or `None` when there is no server and skipping is allowed.
    pub async fn create(test: &str) -> Option<TestDb> {
        let url = zipster_tools::database::server_url();
        let server = match connect::parse_url(&url) {
            Ok(options) => options.database(""),
            Err(e) => panic!("{test}: {e}"),
        };
        let name = format!("zipster_test_{:016x}", crate::random());
        let options = server.clone().database(&name);
        let limits = Limits { connect: Duration::from_secs(3), ..Limits::default() };
        if let Err(e) = connect::create_database_if_missing(&options, limits).await {
            if std::env::var("ZIPSTER_ALLOW_NO_DB").as_deref() == Ok("1") {
                eprintln!("\n!!!!! SKIPPED {test}: no database ({e}) !!!!!\n");
                return None;
            }
            panic!(
                "{test} needs a MySQL-compatible server: {e}\n\
                 `cargo xtask ci` starts one if MariaDB is installed; or point DATABASE_URL at one \
                 (default {}), or set \
                 ZIPSTER_ALLOW_NO_DB=1 to skip the database tests (they will be listed as SKIPPED).",
                zipster_tools::database::DEFAULT_SERVER
            );
        }
        let dropper = DropDatabase { server, name: name.clone() };
        let pool = match connect::pool(options.clone(), limits).await {
            Ok(pool) => pool,
            Err(e) => {
                drop(dropper);
                panic!("{test}: {e}");
            }
        };
        std::mem::forget(dropper);
        Some(TestDb { pool, name, options })
    }

    /// A database with every migration applied.
    pub async fn migrated(test: &str) -> Option<(TestDb, Vec<AppliedMigration>)> {
        let db = Self::create(test).await?;
        match migrate::apply(&db.pool).await {
            Ok(applied) => Some((db, applied)),
            Err(e) => panic!("{test}: {e}"),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        drop(DropDatabase { server: self.options.clone().database(""), name: self.name.clone() });
    }
}

/// Drops the database on its own thread and runtime: `Drop` cannot await, and may run
/// while the test's runtime is unwinding from a panic.
struct DropDatabase {
    server: MySqlConnectOptions,
    name: String,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let mut conn = server.connect().await.map_err(|e| e.to_string())?;
                // The test's pool may still hold connections (its runtime is where this
                // drop blocks), possibly inside a transaction after a failed assertion:
                // end them so the drop cannot wait on their locks.
                let sessions: Vec<i64> = sqlx::query_scalar(
                    "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()",
                )
                .bind(&name)
                .fetch_all(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
                for id in sessions {
                    // Gone already is fine.
                    let _ = conn.execute(sqlx::AssertSqlSafe(format!("KILL CONNECTION {id}"))).await;
                }
                conn.execute("SET SESSION lock_wait_timeout = 30").await.map_err(|e| e.to_string())?;
                let statement = format!("DROP DATABASE IF EXISTS {}", quote_identifier(&name));
                conn.execute(sqlx::AssertSqlSafe(statement)).await.map_err(|e| e.to_string())?;
                conn.close().await.map_err(|e| e.to_string())
            })
        })
        .join();
        if let Ok(Err(e)) | Err(e) = dropped.map_err(|_| "panicked".to_owned()) {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

/// Another session holding the row lock of one zip code (an uncommitted insert), so
/// that a load of a file containing it stops there, inside its transaction: a
/// deterministic "middle of a file" for fault tests.
pub struct RowLock {
    holder: sqlx::MySqlConnection,
    watcher: sqlx::MySqlConnection,
    holder_id: u64,
    database: String,
}

impl RowLock {
    pub async fn hold(db: &TestDb, zipcode: &str) -> Result<Self, sqlx::Error> {
        let mut holder = sqlx::MySqlConnection::connect_with(&db.options).await?;
        let watcher = sqlx::MySqlConnection::connect_with(&db.options).await?;
        holder.execute("BEGIN").await?;
        sqlx::query(
            "INSERT INTO ZIPCODES (ZIPCODE, ZIPCODE_TYPE, CITY, STATE, LOCATION_TYPE, LOCATION, DECOMISSIONED) \
             VALUES (?, 'STANDARD', 'LOCKED', 'MA', 'PRIMARY', 'LOCKED', FALSE)",
        )
        .bind(zipcode)
        .execute(&mut holder)
        .await?;
        let holder_id = sqlx::query_scalar("SELECT CONNECTION_ID()").fetch_one(&mut holder).await?;
        Ok(Self { holder, watcher, holder_id, database: db.name.clone() })
    }

    /// The connection of a load that has waited on the lock for `at_least` (or `None`).
    pub async fn waiting_load(&mut self, at_least: Duration) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT ID FROM information_schema.PROCESSLIST \
             WHERE DB = ? AND ID <> ? AND INFO LIKE 'INSERT INTO ZIPCODES%' AND TIME_MS > ?",
        )
        .bind(&self.database)
        .bind(self.holder_id)
        .bind(at_least.as_millis() as u64)
        .fetch_optional(&mut self.watcher)
        .await
    }

    /// Ends the connection of `load` as a network failure or a server restart would.
    pub async fn kill_connection(&mut self, load: i64) -> Result<(), sqlx::Error> {
        self.watcher.execute(sqlx::AssertSqlSafe(format!("KILL CONNECTION {load}"))).await.map(drop)
    }

    /// Rolls the insert back: the zip code was never there, and the waiting load goes on.
    pub async fn release(mut self) -> Result<(), sqlx::Error> {
        self.holder.execute("ROLLBACK").await.map(drop)
    }
}
