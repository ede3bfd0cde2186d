//! The one error type of the database layer; messages name the object or server and
//! what to do, never a password.

use crate::rows::RowError;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(
        "cannot reach the database at {target}: {reason}. Is the server running? Locally: \
         `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd` \
         (or `apt-get install mariadb-server`), or set DATABASE_URL"
    )]
    Unreachable { target: String, reason: String },
    #[error(
        "TLS to the database at {target} failed: {reason}. The server must offer TLS with a certificate \
         signed by the CA in the function's secret and naming the host connected to (DATABASE_HOST); \
         check the host's boot log (/var/log/cloud-init-output.log) for its certificate step"
    )]
    Tls { target: String, reason: String },
    #[error(
        "the database {database} does not exist on {server}: `cargo xtask seed-db` (or `cargo xtask local`) \
         creates and fills the local one; for another, check the database in DATABASE_URL or --database-url"
    )]
    MissingDatabase { server: String, database: String },
    #[error(
        "no database connection within the connect timeout: the server is down, unreachable \
         or out of connections"
    )]
    NoConnection,
    #[error(transparent)]
    Rows(#[from] RowError),
    #[error("{context}: {source}")]
    Sql {
        context: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error(
        "the load would delete {deleted} of {table}'s {before} rows, more than its contract's limit of {:.0} %: \
         nothing was changed. If the file is complete and the rows are really gone, reprocess it with \
         `cargo xtask reprocess --allow-shrink`; otherwise upload the complete file", .max_share * 100.0
    )]
    WouldShrink { table: String, before: u64, deleted: u64, max_share: f64 },
    #[error(
        "the file was staged under the {feed} feed's contract {staged:.12}…, but this load has {ours:.12}…: \
         a deploy changed the contract while the file was on its way. Once the deploy is done, \
         reprocess the file (`cargo xtask reprocess KEY`) to transform and load it under one contract"
    )]
    StagedUnderAnotherContract { feed: String, staged: String, ours: String },
    #[error("rewinding the input to restart the load after a deadlock: {0}")]
    Rewind(String),
    #[error("applying migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Seed(String),
    #[error(transparent)]
    Feed(#[from] zipster_core::feeds::LookupError),
    #[error("zip code {0} is not in the database")]
    UnknownZipcode(String),
    #[error("zip code {0} has no known coordinates")]
    NoCoordinates(String),
    #[error("radius must be a finite number of miles, at least 0 (got {0})")]
    BadRadius(f64),
}

impl DbError {
    /// InnoDB chose this transaction as a deadlock's victim and rolled it back
    /// (SQLSTATE 40001, error 1213): restarting it is the documented remedy.
    pub fn is_deadlock(&self) -> bool {
        matches!(self, DbError::Sql { source: sqlx::Error::Database(e), .. } if e.code().as_deref() == Some("40001"))
    }

    /// Wraps a driver error with what we were doing; a pool timeout becomes the
    /// "no connection" error, since that is what it means to an operator.
    pub fn sql(context: &'static str) -> impl FnOnce(sqlx::Error) -> Self {
        move |source| match source {
            sqlx::Error::PoolTimedOut => DbError::NoConnection,
            source => DbError::Sql { context, source },
        }
    }
}

/// Every failure of the database layer is one kind to a function's caller, whether the
/// server, a statement or the file's rows failed: the load is all or nothing.
impl zipster_core::ErrorKind for DbError {
    fn error_type(&self) -> &'static str {
        "DatabaseError"
    }
}
