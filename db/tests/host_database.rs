#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is the failure report
//! The database host's own scripts, run for real against a MariaDB this test starts
//! the way the host configures it: certificates from `infra/host/database-tls.sh`,
//! `require_secure_transport=ON`, the users and grants of
//! `infra/host/database-access.sh`, then the functions' own connect path
//! ([`options_from_secret`], with the secret's CA) as the migrate and load users.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
use sqlx::{ConnectOptions, Connection, Executor, MySqlPool};
use zipster_db::DbError;
use zipster_db::connect::{self, LOAD_ROLE, Limits};
use zipster_db::credentials::options_from_secret;
use zipster_db::load::{LoadOutcome, ObjectVersion, load_csv};
use zipster_db::rows::OUTPUT_HEADER;

const HOST_SCRIPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/host");
const DATABASE: &str = "zipster";
/// The functions' subnets on the host; loopback here.
const CLIENT_HOST: &str = "127.0.0.0/255.0.0.0";
const MIGRATE_USER: &str = "zipster_migrate";
const LOAD_USER: &str = "zipster_load";
const MIGRATE_PASSWORD: &str = "Migrate0Password0Of0Thirty0Two0X";
const LOAD_PASSWORD: &str = "Load0Password0Of0Thirty0Two0Chars";

fn script(name: &str) -> PathBuf {
    Path::new(HOST_SCRIPTS).join(name)
}

fn describe(out: &Output) -> String {
    format!("{}\n{}{}", out.status, String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn owner() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Runs `database-tls.sh DIR OWNER NAME...`.
fn certificates(dir: &Path, names: &[&str]) -> Output {
    Command::new(script("database-tls.sh")).arg(dir).arg(owner()).args(names).output().unwrap()
}

/// A MariaDB as the host runs it: its data directory holding the certificates the
/// host's script made, TLS required on every TCP connection. Stopped and removed
/// on drop.
struct HostLikeServer {
    dir: PathBuf,
    child: Child,
    port: u16,
}

impl HostLikeServer {
    fn start(name: &str) -> Option<Self> {
        let Some(mariadbd) = ["/usr/sbin/mariadbd", "/usr/bin/mariadbd"].into_iter().find(|p| Path::new(p).exists())
        else {
            assert!(std::env::var_os("CI").is_none(), "under CI this test must run, but mariadbd is not installed");
            eprintln!("\n!!!!! SKIPPED {name}: mariadbd is not installed !!!!!\n");
            return None;
        };
        let dir = std::env::temp_dir().join(format!("zipster-host-db-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let data = dir.join("data");
        std::fs::create_dir_all(&data).unwrap();
        // Each server's temporary files in its own directory (mariadbd's tmpdir defaults to
        // TMPDIR): a bootstrap sharing /tmp with other servers starting up lost its
        // temporary table ("Could not remove temporary table '/tmp/#sql-temptable-…'",
        // then "Installation of system tables failed"), now and then, under CI.
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        let mut install = Command::new("mariadb-install-db");
        install.env("TMPDIR", &tmp);
        install.args(["--no-defaults", "--skip-test-db", "--auth-root-authentication-method=normal"]);
        install.arg(format!("--datadir={}", data.display()));
        if running_as_root() {
            install.arg("--user=root");
        }
        // One install at a time on this machine, as well.
        let lock = std::fs::File::create(std::env::temp_dir().join("zipster-host-db-install.lock")).unwrap();
        lock.lock().unwrap();
        let out = install.output().unwrap();
        drop(lock);
        assert!(out.status.success(), "mariadb-install-db: {}", describe(&out));
        let out = certificates(&data, &["localhost", "127.0.0.1"]);
        assert!(out.status.success(), "database-tls.sh: {}", describe(&out));

        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let file = |name: &str| format!("{}", data.join(name).display());
        let mut command = Command::new(mariadbd);
        command
            .env("TMPDIR", &tmp)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", dir.join("mariadbd.sock").display()))
            .arg(format!("--pid-file={}", dir.join("mariadbd.pid").display()))
            .arg(format!("--log-error={}", dir.join("error.log").display()))
            .arg(format!("--port={port}"))
            // The second address reaches the same server by a name its certificate lacks.
            .arg("--bind-address=127.0.0.1,127.0.0.2")
            // What the host's zipster.cnf sets.
            .arg(format!("--ssl-ca={}", file("zipster-ca.pem")))
            .arg(format!("--ssl-cert={}", file("zipster-server-cert.pem")))
            .arg(format!("--ssl-key={}", file("zipster-server-key.pem")))
            .arg("--require-secure-transport=ON");
        if running_as_root() {
            command.arg("--user=root");
        }
        let child = command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let server = HostLikeServer { dir, child, port };
        let started = Instant::now();
        while !server.dir.join("mariadbd.sock").exists() || std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            let log = std::fs::read_to_string(server.dir.join("error.log")).unwrap_or_default();
            assert!(started.elapsed() < Duration::from_secs(30), "mariadbd did not start:\n{log}");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(server)
    }

    fn ca_pem(&self) -> String {
        std::fs::read_to_string(self.dir.join("data/zipster-ca.pem")).unwrap()
    }

    /// `database-access.sh` as the host runs it, as root on the socket.
    fn apply_access(&self, load_password: &str) -> Output {
        Command::new(script("database-access.sh"))
            .args([DATABASE, CLIENT_HOST, "--user=root"])
            .arg(format!("--socket={}", self.dir.join("mariadbd.sock").display()))
            .env("MIGRATE_USER", MIGRATE_USER)
            .env("MIGRATE_PASSWORD", MIGRATE_PASSWORD)
            .env("LOAD_USER", LOAD_USER)
            .env("LOAD_PASSWORD", load_password)
            .output()
            .unwrap()
    }

    /// What a function connects with: the secret's JSON (with the CA the host wrote
    /// to it) through the functions' own path, TLS verifying the server.
    fn function_options(&self, user: &str, password: &str, ca_pem: &str) -> MySqlConnectOptions {
        let secret = serde_json::json!({ "username": user, "password": password, "ca_certificate": ca_pem });
        let port = self.port.to_string();
        let env = |name: &str| match name {
            "DATABASE_HOST" => Some("127.0.0.1".to_owned()),
            "DATABASE_PORT" => Some(port.clone()),
            "DATABASE_NAME" => Some(DATABASE.to_owned()),
            _ => None,
        };
        options_from_secret("arn:test", &secret.to_string(), env).unwrap()
    }

    async fn pool(&self, options: MySqlConnectOptions) -> Result<MySqlPool, DbError> {
        connect::pool(options, Limits { connect: Duration::from_secs(5), ..Limits::default() }).await
    }
}

impl Drop for HostLikeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn staged(rows: &[&str]) -> Cursor<Vec<u8>> {
    let mut text = format!("{OUTPUT_HEADER}\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    Cursor::new(text.into_bytes())
}

fn object() -> ObjectVersion {
    ObjectVersion {
        bucket: "zipster-staging".to_owned(),
        key: "incoming/zip.csv".to_owned(),
        etag: "e1".to_owned(),
        version_id: None,
        sequencer: None,
    }
}

const PEQUANNOCK: &str = "07440,STANDARD,PEQUANNOCK,NJ,PRIMARY,40.94,-74.29,NA-US-NJ-PEQUANNOCK,false";

/// The MariaDB error number of a failed statement.
fn error_number(error: &sqlx::Error) -> Option<u16> {
    match error {
        sqlx::Error::Database(e) => e.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>().map(|e| e.number()),
        _ => None,
    }
}

#[tokio::test]
async fn connections_are_tls_with_the_server_verified_and_nothing_else_is_accepted() {
    let Some(server) = HostLikeServer::start("tls") else { return };
    assert!(server.apply_access(LOAD_PASSWORD).status.success());
    let ca = server.ca_pem();

    // The functions' path: TLS, the certificate checked against the secret's CA and
    // the name connected to.
    let options = server.function_options(MIGRATE_USER, MIGRATE_PASSWORD, &ca);
    assert!(matches!(options.get_ssl_mode(), MySqlSslMode::VerifyIdentity));
    let pool = server.pool(options.clone()).await.unwrap();
    let (_, cipher): (String, String) =
        sqlx::query_as("SHOW SESSION STATUS LIKE 'Ssl_cipher'").fetch_one(&pool).await.unwrap();
    assert!(!cipher.is_empty(), "the session is not encrypted");
    pool.close().await;

    // Plaintext: refused by the server (MariaDB answers "access denied"), for the
    // functions' users (REQUIRE SSL) and for any other account
    // (require_secure_transport): root, which the same server lets in over TLS.
    let plain = options.clone().ssl_mode(MySqlSslMode::Disabled);
    let refused = plain.connect().await.unwrap_err();
    assert_eq!(error_number(&refused), Some(1045), "{refused}");
    let root = MySqlConnectOptions::new().host("127.0.0.1").port(server.port).username("root");
    let refused = root.clone().ssl_mode(MySqlSslMode::Disabled).connect().await.unwrap_err();
    assert_eq!(error_number(&refused), Some(1045), "{refused}");
    let mut over_tls = root.ssl_mode(MySqlSslMode::Required).connect().await.unwrap();
    over_tls.ping().await.unwrap();

    // A client trusting another CA: the server's certificate does not verify.
    let elsewhere = server.dir.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    assert!(certificates(&elsewhere, &["localhost"]).status.success());
    let other_ca = std::fs::read_to_string(elsewhere.join("zipster-ca.pem")).unwrap();
    let error = server.pool(server.function_options(MIGRATE_USER, MIGRATE_PASSWORD, &other_ca)).await.unwrap_err();
    assert!(matches!(error, DbError::Tls { .. }), "{error}");
    let text = error.to_string();
    assert!(text.starts_with("TLS to the database at 127.0.0.1:"), "{text}");
    assert!(
        text.contains("invalid peer certificate") && text.contains("signed by the CA in the function's secret"),
        "{text}"
    );

    // The right CA, but a name the certificate does not carry.
    let wrong_name = server.function_options(MIGRATE_USER, MIGRATE_PASSWORD, &ca).host("127.0.0.2");
    let error = server.pool(wrong_name).await.unwrap_err();
    assert!(matches!(error, DbError::Tls { .. }), "{error}");
    assert!(error.to_string().contains("not valid for name \"127.0.0.2\""), "{error}");
}

#[tokio::test]
async fn the_load_user_loads_and_cannot_change_the_schema_and_the_migrate_user_migrates() {
    let Some(server) = HostLikeServer::start("access") else { return };
    let out = server.apply_access(LOAD_PASSWORD);
    assert!(out.status.success(), "{}", describe(&out));
    let ca = server.ca_pem();

    let migrate = server.pool(server.function_options(MIGRATE_USER, MIGRATE_PASSWORD, &ca)).await.unwrap();
    let applied = zipster_db::migrate::apply(&migrate).await.unwrap();
    assert_eq!(applied.len(), zipster_db::MIGRATOR.iter().count(), "{applied:?}");

    let load = server.pool(server.function_options(LOAD_USER, LOAD_PASSWORD, &ca)).await.unwrap();
    let roles: String = sqlx::query_scalar("SELECT CURRENT_ROLE()").fetch_one(&load).await.unwrap();
    assert_eq!(roles, LOAD_ROLE);
    let outcome = load_csv(&load, &object(), staged(&[PEQUANNOCK])).await.unwrap();
    assert!(matches!(outcome, LoadOutcome::Loaded(counts) if counts.inserted == 1), "{outcome:?}");
    // Idempotent as ever: the same object again reads the ledger and changes nothing.
    let again = load_csv(&load, &object(), staged(&[PEQUANNOCK])).await.unwrap();
    assert!(!matches!(again, LoadOutcome::Loaded(_)), "{again:?}");

    // ER_TABLEACCESS_DENIED_ERROR (1142) or ER_DBACCESS_DENIED_ERROR (1044) for each.
    for statement in [
        "DROP TABLE ZIPCODES",
        "ALTER TABLE ZIPCODES ADD COLUMN X INT",
        "CREATE TABLE SIDE (A INT)",
        "TRUNCATE TABLE ZIPCODES",
        "DELETE FROM ZIPCODES",
        "DELETE FROM _sqlx_migrations",
        "GRANT SELECT ON ZIPCODES TO zipster_loader",
    ] {
        let error = load.execute(statement).await.unwrap_err();
        assert!(matches!(error_number(&error), Some(1142 | 1044 | 1227)), "{statement}: {error}");
    }
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ZIPCODES").fetch_one(&migrate).await.unwrap();
    assert_eq!(rows, 1, "the table is as the load left it");

    // A replace feed's table, with exactly the rights its strategy needs: a second file
    // one city short deletes it (its keys in a temporary table), and is recorded.
    let cities = zipster_db::load::Target::of(zipster_core::feeds::builtin("cities").unwrap());
    let header = "geonameid,name,latitude,longitude,countrycode,population,timezone,admin1code,alternatenames\n";
    let file = |ids: std::ops::RangeInclusive<u32>| {
        let rows: String = ids.map(|i| format!("{i},City {i},1,2,FR,{i}000,Europe/Paris,,\n")).collect();
        std::io::Cursor::new(format!("{header}{rows}").into_bytes())
    };
    let replace = |etag: &str, ids| {
        let (pool, target, object) = (
            load.clone(),
            cities.clone(),
            ObjectVersion { etag: etag.into(), key: "cities/all.csv".into(), ..object() },
        );
        async move { zipster_db::load::load_table(&pool, &target, &object, Default::default(), file(ids)).await }
    };
    replace("c1", 1..=20).await.unwrap();
    let outcome = replace("c2", 2..=20).await.unwrap();
    assert!(matches!(outcome, LoadOutcome::Loaded(counts) if counts.deleted == 1), "{outcome:?}");
    let error = load.execute("DELETE FROM ZIPCODES").await.unwrap_err();
    assert_eq!(error_number(&error), Some(1142), "DELETE only where the strategy needs it: {error}");
    load.close().await;

    // Every boot applies the script again: idempotent, and a changed password takes.
    let changed = "Load0Password0Changed0At0Boot0X";
    assert!(server.apply_access(changed).status.success());
    let old = server.function_options(LOAD_USER, LOAD_PASSWORD, &ca).connect().await.unwrap_err();
    assert_eq!(error_number(&old), Some(1045), "{old}");
    let mut new = server.function_options(LOAD_USER, changed, &ca).connect().await.unwrap();
    new.ping().await.unwrap();
    migrate.close().await;
}

#[test]
fn the_access_script_refuses_values_that_are_not_safe_in_sql() {
    let run = |database: &str, host: &str, password: &str| {
        Command::new(script("database-access.sh"))
            .args([database, host])
            .env("MIGRATE_USER", MIGRATE_USER)
            .env("MIGRATE_PASSWORD", MIGRATE_PASSWORD)
            .env("LOAD_USER", LOAD_USER)
            .env("LOAD_PASSWORD", password)
            .output()
            .unwrap()
    };
    for (database, host, password) in [
        ("zip`ster", CLIENT_HOST, LOAD_PASSWORD),
        (DATABASE, "%' OR '1", LOAD_PASSWORD),
        (DATABASE, CLIENT_HOST, "short"),
        (DATABASE, CLIENT_HOST, "Quote'Password0Of0Thirty0Two0Chars"),
    ] {
        let out = run(database, host, password);
        assert_eq!(out.status.code(), Some(2), "{database} {host}: {}", describe(&out));
        assert!(!String::from_utf8_lossy(&out.stderr).contains(password), "a password was echoed");
    }
}

#[test]
fn the_certificate_script_keeps_its_ca_and_reissues_only_for_new_names() {
    let dir = std::env::temp_dir().join(format!("zipster-tls-script-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();

    let first = certificates(&dir, &["ip-10-40-0-12.ec2.internal", "10.40.0.12"]);
    assert!(first.status.success(), "{}", describe(&first));
    assert_eq!(String::from_utf8_lossy(&first.stdout).trim(), dir.join("zipster-ca.pem").display().to_string());
    let (ca, cert) = (read("zipster-ca.pem"), read("zipster-server-cert.pem"));
    let text = Command::new("openssl")
        .args(["x509", "-noout", "-ext", "subjectAltName", "-in"])
        .arg(dir.join("zipster-server-cert.pem"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("DNS:ip-10-40-0-12.ec2.internal") && text.contains("IP Address:10.40.0.12"), "{text}");
    use std::os::unix::fs::PermissionsExt;
    for key in ["zipster-ca-key.pem", "zipster-server-key.pem"] {
        assert_eq!(std::fs::metadata(dir.join(key)).unwrap().permissions().mode() & 0o777, 0o600, "{key}");
    }

    // A second boot on the same host: nothing new.
    assert!(certificates(&dir, &["ip-10-40-0-12.ec2.internal", "10.40.0.12"]).status.success());
    assert_eq!((read("zipster-ca.pem"), read("zipster-server-cert.pem")), (ca.clone(), cert.clone()));

    // A replaced host (new private name): a new server certificate from the same CA.
    assert!(certificates(&dir, &["ip-10-40-0-99.ec2.internal", "10.40.0.99"]).status.success());
    assert_eq!(read("zipster-ca.pem"), ca, "the CA the functions trust is kept");
    assert_ne!(read("zipster-server-cert.pem"), cert);
    let verify = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(dir.join("zipster-ca.pem"))
        .arg(dir.join("zipster-server-cert.pem"))
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", describe(&verify));

    // Half a CA is never replaced silently; a bad name is a usage error.
    std::fs::remove_file(dir.join("zipster-ca-key.pem")).unwrap();
    let half = certificates(&dir, &["ip-10-40-0-99.ec2.internal"]);
    assert_eq!(half.status.code(), Some(3), "{}", describe(&half));
    assert_eq!(read("zipster-ca.pem"), ca);
    assert_eq!(certificates(&dir, &["bad name;"]).status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
