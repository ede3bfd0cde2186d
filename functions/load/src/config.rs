//! The function's settings, from its environment.

use zipster_aws::config::{ConfigError, Env};
use zipster_db::connect::Limits;

/// Where results go and how large an object may be.
#[derive(Debug, Clone)]
pub struct Config {
    pub load_topic_arn: String,
    pub alerts_topic_arn: String,
    /// Larger staged objects are refused before download (Lambda's `/tmp` is finite).
    pub max_object_bytes: u64,
    /// The pool's size: what the host's `max_connections` was sized for, per instance.
    pub database_connections: u32,
    /// The feed of staged keys under no feed's prefix (`DEFAULT_FEED`), as the transform
    /// routed them: a staged object keeps its input key.
    pub default_feed: Option<String>,
}

/// 400 MiB: the staged file and the function's own needs fit the default 512 MiB `/tmp`.
pub const DEFAULT_MAX_OBJECT_BYTES: u64 = 400 * 1024 * 1024;

impl Config {
    /// Reads `LOAD_TOPIC_ARN`, `ALERTS_TOPIC_ARN` and optionally `MAX_OBJECT_BYTES`,
    /// `DATABASE_MAX_CONNECTIONS` and `DEFAULT_FEED`.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(var);
        Ok(Self {
            load_topic_arn: env.required("LOAD_TOPIC_ARN")?,
            alerts_topic_arn: env.required("ALERTS_TOPIC_ARN")?,
            max_object_bytes: env.bytes("MAX_OBJECT_BYTES", DEFAULT_MAX_OBJECT_BYTES)?,
            database_connections: env.database_connections(Limits::default().max_connections)?,
            default_feed: env.optional("DEFAULT_FEED"),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_topics_and_limit() {
        let env = |name: &str| match name {
            "LOAD_TOPIC_ARN" => Some("arn:load".to_owned()),
            "ALERTS_TOPIC_ARN" => Some("arn:alerts".to_owned()),
            "MAX_OBJECT_BYTES" => Some("1000".to_owned()),
            "DATABASE_MAX_CONNECTIONS" => Some("3".to_owned()),
            _ => None,
        };
        let config = Config::from_env(env).unwrap();
        assert_eq!((config.load_topic_arn.as_str(), config.max_object_bytes), ("arn:load", 1000));
        assert_eq!(config.database_connections, 3);
        let zero = |name: &str| if name == "DATABASE_MAX_CONNECTIONS" { Some("0".to_owned()) } else { env(name) };
        assert!(Config::from_env(zero).unwrap_err().to_string().contains("DATABASE_MAX_CONNECTIONS"));
        let err = Config::from_env(|name| env(name).filter(|_| name != "ALERTS_TOPIC_ARN")).unwrap_err();
        assert_eq!(err, ConfigError::Missing("ALERTS_TOPIC_ARN"));
    }
}
