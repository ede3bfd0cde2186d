//! Where the database is and who a function is to it: `DATABASE_URL` for local
//! runs, otherwise a Secrets Manager secret (username, password and the CA
//! certificate the database host published) plus `DATABASE_HOST` and
//! `DATABASE_NAME`. The password never leaves [`MySqlConnectOptions`]: nothing here
//! formats it into a URL or a log line.
//!
//! Through a secret the connection is always TLS with the server verified
//! (`VERIFY_IDENTITY` against the secret's CA: the host's certificate must name
//! `DATABASE_HOST`); a secret without a CA certificate is an error, never plaintext.
//! Only `DATABASE_URL` (the local stage, the tests) chooses its own `ssl-mode`.
//!
//! Reading the secret is the caller's (`zipster_aws::secrets` in the functions), given
//! as a closure: what the secret says is the database's business, how it is fetched
//! is AWS's, and neither crate depends on the other.

use serde::Deserialize;
use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error(
        "environment variable {0} is not set (set DATABASE_URL, or DATABASE_SECRET_ARN with DATABASE_HOST and DATABASE_NAME)"
    )]
    Missing(&'static str),
    #[error("DATABASE_PORT must be a port number, got {0:?}")]
    BadPort(String),
    #[error("DATABASE_URL: {0}")]
    BadUrl(String),
    /// The secret could not be read (the reader's own error, which names the secret).
    #[error(transparent)]
    Unreadable(Box<dyn std::error::Error + Send + Sync>),
    #[error("reading secret {arn}: {message}")]
    Secret { arn: String, message: String },
    #[error(
        "secret {arn} has no ca_certificate: the database host writes its CA certificate there when it \
         boots; wait for the host to finish booting (or see its boot log), nothing is sent without TLS"
    )]
    NoCertificate { arn: String },
}

/// The secret's JSON, as RDS and hand-made secrets have it; host and name in the
/// secret are used only when the environment does not give them.
#[derive(Deserialize)]
struct Secret {
    username: String,
    password: String,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    dbname: Option<String>,
    /// The PEM of the CA that signed the host's certificate (not secret; kept here so
    /// one read gives a function everything it needs to connect).
    #[serde(default)]
    ca_certificate: Option<String>,
}

/// The field of the secret the database host writes its CA certificate to.
pub const CA_CERTIFICATE_FIELD: &str = "ca_certificate";

/// Connection options from the environment, reading the secret `DATABASE_SECRET_ARN`
/// names with `read_secret` if there is no `DATABASE_URL`.
pub async fn options_from_env<E>(
    var: impl Fn(&str) -> Option<String>,
    read_secret: impl AsyncFnOnce(&str) -> Result<String, E>,
) -> Result<MySqlConnectOptions, CredentialsError>
where
    E: std::error::Error + Send + Sync + 'static,
{
    let var = |name: &str| var(name).filter(|v| !v.is_empty());
    if let Some(url) = var("DATABASE_URL") {
        return crate::connect::parse_url(&url).map_err(|e| CredentialsError::BadUrl(e.to_string()));
    }
    let arn = var("DATABASE_SECRET_ARN").ok_or(CredentialsError::Missing("DATABASE_SECRET_ARN"))?;
    let secret = read_secret(&arn).await.map_err(|e| CredentialsError::Unreadable(Box::new(e)))?;
    options_from_secret(&arn, &secret, var)
}

/// Pure: the secret's JSON plus `DATABASE_HOST`, `DATABASE_PORT`, `DATABASE_NAME`.
/// A malformed secret is described by position, never by quoting its text.
pub fn options_from_secret(
    arn: &str,
    secret: &str,
    var: impl Fn(&str) -> Option<String>,
) -> Result<MySqlConnectOptions, CredentialsError> {
    let secret: Secret = serde_json::from_str(secret).map_err(|e| CredentialsError::Secret {
        arn: arn.to_owned(),
        message: format!("expected JSON with username and password (line {}, column {})", e.line(), e.column()),
    })?;
    let host = var("DATABASE_HOST").or(secret.host).ok_or(CredentialsError::Missing("DATABASE_HOST"))?;
    let database = var("DATABASE_NAME").or(secret.dbname).ok_or(CredentialsError::Missing("DATABASE_NAME"))?;
    let port = match var("DATABASE_PORT") {
        Some(text) => text.trim().parse::<u16>().map_err(|_| CredentialsError::BadPort(text))?,
        None => 3306,
    };
    let ca = secret.ca_certificate.filter(|pem| !pem.trim().is_empty());
    let ca = ca.ok_or_else(|| CredentialsError::NoCertificate { arn: arn.to_owned() })?;
    Ok(MySqlConnectOptions::new()
        .host(&host)
        .port(port)
        .username(&secret.username)
        .password(&secret.password)
        .database(&database)
        .ssl_mode(MySqlSslMode::VerifyIdentity)
        .ssl_ca_from_pem(ca.into_bytes()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn builds_options_from_the_secret_and_environment() {
        let env = |name: &str| match name {
            "DATABASE_HOST" => Some("10.0.1.5".to_owned()),
            "DATABASE_NAME" => Some("zipster".to_owned()),
            _ => None,
        };
        let secret = r#"{"username":"loader","password":"p@ss:w/rd","ca_certificate":"-----BEGIN CERTIFICATE-----"}"#;
        let options = options_from_secret("arn:s", secret, env).unwrap();
        assert_eq!(crate::connect::describe(&options), "10.0.1.5:3306/zipster as loader");
        assert!(matches!(options.get_ssl_mode(), MySqlSslMode::VerifyIdentity));
    }

    #[test]
    fn a_secret_without_a_ca_certificate_is_refused_rather_than_sent_in_plaintext() {
        let env = |name: &str| (name == "DATABASE_HOST" || name == "DATABASE_NAME").then(|| "h".to_owned());
        for secret in [r#"{"username":"u","password":"p"}"#, r#"{"username":"u","password":"p","ca_certificate":" "}"#]
        {
            let err = options_from_secret("arn:s", secret, env).unwrap_err();
            assert!(matches!(err, CredentialsError::NoCertificate { .. }), "{err}");
            assert!(err.to_string().contains("nothing is sent without TLS"), "{err}");
        }
    }

    #[test]
    fn a_malformed_secret_is_reported_without_its_text() {
        let err = options_from_secret("arn:s", r#"{"username":"loader","pass":"hunter2"}"#, |_| None).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(err.to_string().starts_with("reading secret arn:s: expected JSON"), "{err}");
        let missing_host = options_from_secret("arn:s", r#"{"username":"u","password":"p"}"#, |_| None).unwrap_err();
        assert!(matches!(missing_host, CredentialsError::Missing("DATABASE_HOST")));
    }

    #[derive(Debug, thiserror::Error)]
    #[error("reading secret {0}: access denied")]
    struct Denied(String);

    #[tokio::test]
    async fn the_url_wins_else_the_secret_named_by_the_environment_is_read() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
        };
        let never = async |_: &str| -> Result<String, Denied> { panic!("no secret is read") };
        let url = env(&[("DATABASE_URL", "mysql://u@h:3307/d"), ("DATABASE_SECRET_ARN", "arn:s")]);
        assert_eq!(crate::connect::describe(&options_from_env(url, never).await.unwrap()), "h:3307/d as u");

        let secret = env(&[("DATABASE_URL", ""), ("DATABASE_SECRET_ARN", "arn:s"), ("DATABASE_HOST", "10.0.1.5")]);
        let read = async |arn: &str| -> Result<String, Denied> {
            assert_eq!(arn, "arn:s");
            Ok(r#"{"username":"loader","password":"p","dbname":"zipster","ca_certificate":"pem"}"#.to_owned())
        };
        let options = options_from_env(secret, read).await.unwrap();
        assert_eq!(crate::connect::describe(&options), "10.0.1.5:3306/zipster as loader");

        let denied = async |arn: &str| -> Result<String, Denied> { Err(Denied(arn.to_owned())) };
        let err = options_from_env(secret, denied).await.unwrap_err();
        assert_eq!(err.to_string(), "reading secret arn:s: access denied");
        let err = options_from_env(env(&[]), never).await.unwrap_err();
        assert!(matches!(err, CredentialsError::Missing("DATABASE_SECRET_ARN")), "{err}");
    }
}
