//! Reading a function's settings from its environment, the same way in each: a
//! variable that is set but empty counts as not set, and a bad value names the
//! variable.

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} must be a whole number of {unit}, got {value:?}")]
    NotANumber { name: &'static str, unit: &'static str, value: String },
}

/// The pool size of a function that connects to the database (set by the template).
pub const DATABASE_MAX_CONNECTIONS: &str = "DATABASE_MAX_CONNECTIONS";

/// The environment as a lookup (`std::env::var` in `main`, a table in tests).
pub struct Env<F> {
    var: F,
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    pub fn new(var: F) -> Self {
        Self { var }
    }

    /// The variable as set, even empty.
    pub fn raw(&self, name: &str) -> Option<String> {
        (self.var)(name)
    }

    /// The variable, unless unset or empty.
    pub fn optional(&self, name: &str) -> Option<String> {
        self.raw(name).filter(|v| !v.is_empty())
    }

    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.optional(name).ok_or(ConfigError::Missing(name))
    }

    /// A size in bytes, or `default` when the variable is not set.
    pub fn bytes(&self, name: &'static str, default: u64) -> Result<u64, ConfigError> {
        self.number(name, "bytes", default)
    }

    /// A whole number of `unit`s, or `default` when the variable is not set; a bad
    /// value names the variable.
    /// The most database connections one instance opens (`DATABASE_MAX_CONNECTIONS`,
    /// which the template sizes the server's `max_connections` for), or `default`.
    pub fn database_connections(&self, default: u32) -> Result<u32, ConfigError> {
        let name = DATABASE_MAX_CONNECTIONS;
        let count = self.number(name, "connections", u64::from(default))?;
        u32::try_from(count).ok().filter(|&n| n > 0).ok_or(ConfigError::NotANumber {
            name,
            unit: "connections (1 or more)",
            value: count.to_string(),
        })
    }

    pub fn number(&self, name: &'static str, unit: &'static str, default: u64) -> Result<u64, ConfigError> {
        match self.raw(name) {
            Some(value) => value.trim().parse().map_err(|_| ConfigError::NotANumber { name, unit, value }),
            None => Ok(default),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_unset_and_a_bad_number_is_named() {
        let env = Env::new(|name: &str| match name {
            "EMPTY" => Some(String::new()),
            "SIZE" => Some(" 1000 ".to_owned()),
            "BAD" => Some("lots".to_owned()),
            _ => None,
        });
        assert_eq!(env.required("EMPTY"), Err(ConfigError::Missing("EMPTY")));
        assert_eq!(env.raw("EMPTY").as_deref(), Some(""));
        assert_eq!(env.bytes("SIZE", 1), Ok(1000));
        assert_eq!(env.bytes("UNSET", 7), Ok(7));
        let bad = env.bytes("BAD", 1).expect_err("not a number");
        assert_eq!(bad.to_string(), "environment variable BAD must be a whole number of bytes, got \"lots\"");
    }
}
