#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is the failure report
//! The wait for the database before migrating: a port that refuses connections,
//! then answers. Time-bounded: the waits are a few hundred milliseconds here.

use std::time::{Duration, Instant};

use sqlx::mysql::MySqlConnectOptions;
use zipster_aws::handler::ErrorKind;
use zipster_db::credentials::CredentialsError;
use zipster_db::testing::TestDb;
use zipster_migrate::{MigrateError, NOT_READY, Readiness, wait_until_ready};

fn quick(max_wait_ms: u64) -> Readiness {
    Readiness {
        max_wait: Duration::from_millis(max_wait_ms),
        first_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(80),
        attempt: Duration::from_millis(500),
    }
}

/// A free loopback port with nothing listening on it (yet).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn options(port: u16) -> MySqlConnectOptions {
    MySqlConnectOptions::new().host("127.0.0.1").port(port).username("zipster").database("zipster")
}

#[tokio::test]
async fn a_database_that_never_answers_is_given_up_on_within_the_bound() {
    let port = closed_port();
    let started = Instant::now();
    let error = wait_until_ready(async || Ok(options(port)), &quick(300)).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(error.error_type(), NOT_READY);
    let MigrateError::NotReady { attempts, .. } = &error else { panic!("{error}") };
    assert!(*attempts >= 3, "backoff retried: {error}");
    assert!(error.to_string().contains("not ready after waiting"), "{error}");
}

#[tokio::test]
async fn a_port_that_opens_during_the_wait_is_ready_when_a_database_answers() {
    let Some(db) = TestDb::create("migrate_readiness").await else { return };
    let real = db.options.clone();
    // A proxy port that starts closed and, after 250 ms, forwards to the real server.
    let port = closed_port();
    let target = format!("{}:{}", real.get_host(), real.get_port());
    let proxy = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        loop {
            let (mut inbound, _) = listener.accept().await.unwrap();
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    let through_proxy = real.clone().host("127.0.0.1").port(port);
    let started = Instant::now();
    let (_, failed) = wait_until_ready(async || Ok(through_proxy.clone()), &quick(5_000)).await.unwrap();
    assert!(failed >= 1, "the closed port was retried");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    proxy.abort();
}

#[test]
fn the_bound_is_configurable_and_defaults_under_the_functions_timeout() {
    let default = Readiness::from_env(|_| None).unwrap();
    assert!(default.max_wait < Duration::from_secs(120), "the smallest migrate timeout is 120 s");
    let set = Readiness::from_env(|name| (name == zipster_migrate::READY_WAIT_ENV).then(|| "7".to_owned())).unwrap();
    assert_eq!(set.max_wait, Duration::from_secs(7));
}

/// A server that answers but has no such database will not grow one by waiting: the
/// error comes at once, as a database error, not after the whole wait as "not ready".
#[tokio::test]
async fn a_missing_database_fails_at_once_instead_of_being_waited_for() {
    let Some(db) = TestDb::create("a_missing_database_fails_at_once").await else { return };
    let missing = db.options.clone().database(&format!("{}_absent", db.name));
    let started = Instant::now();
    let error = wait_until_ready(async || Ok(missing.clone()), &quick(5_000)).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2), "not waited for: {:?}", started.elapsed());
    assert!(matches!(error, MigrateError::Migrate(zipster_db::DbError::MissingDatabase { .. })), "{error}");
    assert_eq!(error.error_type(), "DatabaseError");
}

#[test]
fn a_bad_wait_names_the_variable() {
    let error = Readiness::from_env(|_| Some("soon".to_owned())).unwrap_err();
    assert!(error.to_string().contains(zipster_migrate::READY_WAIT_ENV), "{error}");
    assert!(error.to_string().contains("seconds"), "{error}");
}

/// A secret the host has not yet written its CA certificate to (it does so once the
/// users exist) is waited for, read again on every attempt; any other problem with
/// the credentials fails at once.
#[tokio::test]
async fn a_secret_without_the_hosts_certificate_yet_is_waited_for_and_read_again() {
    let Some(db) = TestDb::create("migrate_waits_for_the_certificate").await else { return };
    let reads = std::sync::atomic::AtomicU32::new(0);
    let not_yet = || CredentialsError::NoCertificate { arn: "arn:s".to_owned() };
    let connect_options = async || match reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
        0 | 1 => Err(not_yet()),
        _ => Ok(db.options.clone()),
    };
    let (_, failed) = wait_until_ready(connect_options, &quick(5_000)).await.unwrap();
    assert_eq!(failed, 2);

    let never = wait_until_ready(async || Err(not_yet()), &quick(200)).await.unwrap_err();
    assert_eq!(never.error_type(), NOT_READY);
    assert!(never.to_string().contains("has no ca_certificate"), "{never}");

    let started = Instant::now();
    let missing = wait_until_ready(async || Err(CredentialsError::Missing("DATABASE_HOST")), &quick(5_000)).await;
    let missing = missing.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(matches!(missing, MigrateError::Credentials(_)), "{missing}");
}
