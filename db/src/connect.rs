//! How every user of the database connects: bounded connect and statement times, so
//! that a database that is down or stuck is one clear error, never a hang.

use std::str::FromStr;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::{ConnectOptions, Connection, Executor};

use crate::DbError;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Opening a connection, or waiting for one from the pool.
    pub connect: Duration,
    /// Any one statement; a whole file's upsert is a few hundred statements.
    pub statement: Duration,
    /// Waiting for a row lock held by another load.
    pub lock_wait: Duration,
    pub max_connections: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            statement: Duration::from_secs(60),
            lock_wait: Duration::from_secs(20),
            max_connections: 2,
        }
    }
}

/// Parses a `mysql://` URL; the error never repeats the URL, which may hold a password.
pub fn parse_url(url: &str) -> Result<MySqlConnectOptions, DbError> {
    MySqlConnectOptions::from_str(url).map_err(|e| DbError::Unreachable {
        target: "DATABASE_URL".to_owned(),
        reason: format!("not a valid mysql:// URL ({})", redact(&e.to_string(), url)),
    })
}

/// `host:port/database as user`, safe to log.
pub fn describe(options: &MySqlConnectOptions) -> String {
    format!(
        "{}:{}/{} as {}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or(""),
        options.get_username()
    )
}

/// A pool whose connections open lazily: for a Lambda container, created once at
/// start without touching the network, so a down database surfaces as the
/// invocation's error (and alert) rather than as an opaque init failure.
pub fn lazy_pool(options: MySqlConnectOptions, limits: Limits) -> MySqlPool {
    pool_options(limits).connect_lazy_with(options)
}

/// Opens one connection first, under the connect limit, so that an unreachable
/// server is reported with its real cause; then returns a pool.
pub async fn pool(options: MySqlConnectOptions, limits: Limits) -> Result<MySqlPool, DbError> {
    check_reachable(&options, limits.connect).await?;
    pool_options(limits).connect_with(options).await.map_err(DbError::sql("opening the connection pool"))
}

/// [`pool`] on the database `options` names, creating it first if it does not exist:
/// what the local commands (`seed-db`, `near`, the local stage, the benchmarks) open.
pub async fn pool_creating_database(options: MySqlConnectOptions, limits: Limits) -> Result<MySqlPool, DbError> {
    create_database_if_missing(&options, limits).await?;
    pool(options, limits).await
}

pub use zipster_contract::migration::LOAD_ROLE;

/// Creates `options`' database if it does not exist (connecting without it first),
/// and the [`LOAD_ROLE`] the migrations grant to: what the local commands and the
/// tests connect with (root) may create both; on the host the access script does.
pub async fn create_database_if_missing(options: &MySqlConnectOptions, limits: Limits) -> Result<(), DbError> {
    let Some(name) = options.get_database().map(str::to_owned) else {
        return Ok(());
    };
    let server = options.clone().database("");
    let mut conn = open(&server, limits.connect).await?;
    // Identifiers cannot be bound as parameters; the name is the operator's own
    // (URL or generated), quoted with backquotes doubled.
    let statement = format!("CREATE DATABASE IF NOT EXISTS {}", quote_identifier(&name));
    conn.execute(sqlx::AssertSqlSafe(statement)).await.map_err(DbError::sql("creating the database"))?;
    let role = format!("CREATE ROLE IF NOT EXISTS {}", quote_identifier(LOAD_ROLE));
    match conn.execute(sqlx::AssertSqlSafe(role)).await {
        Ok(_) => {}
        // ER_SPECIFIC_ACCESS_DENIED_ERROR: a user without CREATE USER (one made for a
        // database of its own) relies on the role being there already; if it is not,
        // the first migration that grants to it says so.
        Err(sqlx::Error::Database(e))
            if e.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>().map(|e| e.number()) == Some(1227) => {}
        Err(e) => return Err(DbError::sql("creating the load's role")(e)),
    }
    conn.close().await.map_err(DbError::sql("closing the connection"))?;
    Ok(())
}

/// Fails with the reason when no connection can be opened within `timeout`.
pub async fn check_reachable(options: &MySqlConnectOptions, timeout: Duration) -> Result<(), DbError> {
    let conn = open(options, timeout).await?;
    conn.close().await.map_err(DbError::sql("closing the connection"))
}

async fn open(options: &MySqlConnectOptions, timeout: Duration) -> Result<sqlx::MySqlConnection, DbError> {
    let unreachable = |reason: String| DbError::Unreachable { target: describe(options), reason };
    match tokio::time::timeout(timeout, options.connect()).await {
        Ok(Ok(conn)) => Ok(conn),
        // ER_BAD_DB_ERROR: the server answered, the database is not there.
        Ok(Err(sqlx::Error::Database(e)))
            if e.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>().map(|e| e.number()) == Some(1049) =>
        {
            Err(DbError::MissingDatabase {
                server: describe(&options.clone().database("")),
                database: options.get_database().unwrap_or_default().to_owned(),
            })
        }
        // The server offers no TLS at all, or its certificate did not verify.
        Ok(Err(sqlx::Error::Tls(e))) => Err(DbError::Tls { target: describe(options), reason: e.to_string() }),
        Ok(Err(sqlx::Error::Io(e))) if tls_failure(&e).is_some() => {
            let reason = tls_failure(&e).map(ToString::to_string).unwrap_or_default();
            Err(DbError::Tls { target: describe(options), reason })
        }
        Ok(Err(e)) => Err(unreachable(e.to_string())),
        Err(_) => Err(unreachable(format!("no answer within {timeout:?}"))),
    }
}

/// The handshake's own error, when an I/O error is rustls refusing the server (sqlx
/// reports a certificate that does not verify as I/O, not as its TLS error).
fn tls_failure(error: &std::io::Error) -> Option<&rustls::Error> {
    error.get_ref()?.downcast_ref::<rustls::Error>()
}

fn pool_options(limits: Limits) -> MySqlPoolOptions {
    let Limits { statement, lock_wait, .. } = limits;
    MySqlPoolOptions::new().max_connections(limits.max_connections).acquire_timeout(limits.connect).after_connect(
        move |conn, _meta| {
            Box::pin(async move {
                // MariaDB bounds every statement with max_statement_time (seconds);
                // MySQL only SELECTs with max_execution_time (ms). Lock waits are
                // bounded on both, which is what a blocked upsert would wait on.
                let version: String = sqlx::query_scalar("SELECT VERSION()").fetch_one(&mut *conn).await?;
                let statement_limit = if version.contains("MariaDB") {
                    format!("max_statement_time = {}", statement.as_secs_f64())
                } else {
                    format!("max_execution_time = {}", statement.as_millis())
                };
                let settings =
                    format!("SET SESSION {statement_limit}, innodb_lock_wait_timeout = {}", lock_wait.as_secs().max(1));
                conn.execute(sqlx::AssertSqlSafe(settings)).await?;
                Ok(())
            })
        },
    )
}

pub fn quote_identifier(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Removes anything after `scheme://` up to `@` from `text` when it echoes `url`.
fn redact(text: &str, url: &str) -> String {
    match url.split_once("://").and_then(|(_, rest)| rest.split_once('@')) {
        Some((credentials, _)) if !credentials.is_empty() => text.replace(credentials, "***"),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn describes_without_the_password() {
        let options = parse_url("mysql://loader:s3cret@db.internal:3307/zipster").unwrap();
        let text = describe(&options);
        assert_eq!(text, "db.internal:3307/zipster as loader");
        assert!(!text.contains("s3cret"));
    }

    #[test]
    fn a_bad_url_error_does_not_echo_credentials() {
        let err = parse_url("mysql://loader:s3cret@db.internal:notaport/zipster").unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }

    #[test]
    fn quotes_identifiers() {
        assert_eq!(quote_identifier("zip`ster"), "`zip``ster`");
    }

    #[tokio::test]
    async fn a_closed_port_is_one_clear_error_within_the_limit() {
        let options = parse_url("mysql://root@127.0.0.1:1/zipster").unwrap();
        let limits = Limits { connect: Duration::from_secs(2), ..Limits::default() };
        let started = std::time::Instant::now();
        let err = pool(options, limits).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(4));
        let text = err.to_string();
        assert!(text.contains("cannot reach the database at 127.0.0.1:1/zipster"), "{text}");
        assert!(text.contains("start-stop-daemon"), "{text}");
    }
}
