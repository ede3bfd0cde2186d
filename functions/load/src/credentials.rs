//! Where the database is and who the function is to it: `DATABASE_URL` for local
//! runs, otherwise a Secrets Manager secret (username and password) plus
//! `DATABASE_HOST` and `DATABASE_NAME`. The password never leaves
//! [`MySqlConnectOptions`]: nothing here formats it into a URL or a log line.

use serde::Deserialize;
use sqlx::mysql::MySqlConnectOptions;

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
    #[error("reading secret {arn}: {message}")]
    Secret { arn: String, message: String },
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
}

/// Connection options from the environment, reading the secret if needed.
pub async fn database_options(
    aws: &aws_config::SdkConfig,
    var: impl Fn(&str) -> Option<String>,
) -> Result<MySqlConnectOptions, CredentialsError> {
    let var = |name: &str| var(name).filter(|v| !v.is_empty());
    if let Some(url) = var("DATABASE_URL") {
        return zipster_db::connect::parse_url(&url).map_err(|e| CredentialsError::BadUrl(e.to_string()));
    }
    let arn = var("DATABASE_SECRET_ARN").ok_or(CredentialsError::Missing("DATABASE_SECRET_ARN"))?;
    let client = aws_sdk_secretsmanager::Client::new(aws);
    let response = client.get_secret_value().secret_id(&arn).send().await.map_err(|e| CredentialsError::Secret {
        arn: arn.clone(),
        message: aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
    })?;
    let secret = response.secret_string().ok_or_else(|| CredentialsError::Secret {
        arn: arn.clone(),
        message: "the secret has no string value".to_owned(),
    })?;
    options_from_secret(&arn, secret, var)
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
    Ok(MySqlConnectOptions::new()
        .host(&host)
        .port(port)
        .username(&secret.username)
        .password(&secret.password)
        .database(&database))
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
        let options = options_from_secret("arn:s", r#"{"username":"loader","password":"p@ss:w/rd"}"#, env).unwrap();
        assert_eq!(zipster_db::connect::describe(&options), "10.0.1.5:3306/zipster as loader");
    }

    #[test]
    fn a_malformed_secret_is_reported_without_its_text() {
        let err = options_from_secret("arn:s", r#"{"username":"loader","pass":"hunter2"}"#, |_| None).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(err.to_string().starts_with("reading secret arn:s: expected JSON"), "{err}");
        let missing_host = options_from_secret("arn:s", r#"{"username":"u","password":"p"}"#, |_| None).unwrap_err();
        assert!(matches!(missing_host, CredentialsError::Missing("DATABASE_HOST")));
    }
}
