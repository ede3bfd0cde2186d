//! The load's `LOADED_OBJECTS` records, from the stage's private database through
//! its migrate function (`{"loaded": …}`, answered in a session that cannot write,
//! `zipster_db::loaded`), for `status`. When the function cannot answer (the database
//! down, the function failing or slow), `status` says why and falls back to the
//! load's log lines.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::json;
use zipster_infra::functions::MIGRATE;

use crate::{Invoke, Stage, clock};

/// The most keys the migrate function takes per request (`zipster_db::loaded::MAX_KEYS`).
const KEYS_PER_REQUEST: usize = 100;
/// How long `status` waits for the function before it reads the logs instead: the
/// migrate function waits up to 90 s for a database that does not answer, and status
/// is for now.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(20);

/// One `LOADED_OBJECTS` row, as the migrate function answers it; fields the load adds
/// later are ignored until they are named here.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Record {
    pub id: u64,
    pub bucket: String,
    pub object_key: String,
    pub etag: String,
    pub version_id: Option<String>,
    #[serde(default)]
    pub feed: Option<String>,
    #[serde(default)]
    pub strategy: Option<String>,
    pub rows_read: u64,
    pub rows_inserted: u64,
    pub rows_updated: u64,
    #[serde(default)]
    pub rows_deleted: u64,
    #[serde(default)]
    pub shrink_allowed: bool,
    /// Epoch milliseconds.
    pub loaded_at_ms: i64,
}

impl Record {
    /// `2026-12-01 10:00:00.123: read 10, inserted 9, updated 1`, and for a replace the
    /// rows it deleted (and whether an operator allowed more than the contract).
    pub fn counts(&self) -> String {
        let mut counts = format!(
            "{}: read {}, inserted {}, updated {}",
            clock(self.loaded_at_ms),
            self.rows_read,
            self.rows_inserted,
            self.rows_updated
        );
        if self.strategy.as_deref() == Some("replace") {
            counts.push_str(&format!(", deleted {}", self.rows_deleted));
            if self.shrink_allowed {
                counts.push_str(" (shrink allowed by an operator)");
            }
        }
        counts
    }
}

#[derive(Debug, Deserialize)]
struct Answer {
    records: Vec<Record>,
    truncated: bool,
}

/// What asking the database gave: its records, or why it could not be asked (then
/// `status` reads the load's log lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// `LOADED_OBJECTS`, through `function`; `truncated` when its bound cut the list.
    Answered {
        function: String,
        records: Vec<Record>,
        truncated: bool,
    },
    Unanswered {
        why: String,
    },
}

impl Lookup {
    /// Where the load's outcomes shown came from, for the output.
    pub fn source(&self) -> String {
        match self {
            Lookup::Answered { function, .. } => {
                format!("load records: the database's LOADED_OBJECTS (through {function})")
            }
            Lookup::Unanswered { why } => {
                format!("load records: the load's log lines (the database could not be asked: {why})")
            }
        }
    }

    pub fn records(&self) -> &[Record] {
        match self {
            Lookup::Answered { records, .. } => records,
            Lookup::Unanswered { .. } => &[],
        }
    }
}

/// The records of `keys` in the staging bucket, newest first per key, at most
/// `per_key` each (all of them, up to the function's bound, without).
pub async fn of_keys(
    stage: &Stage,
    invoke: &impl Invoke,
    keys: &[String],
    per_key: Option<u32>,
) -> Result<(Vec<Record>, bool)> {
    let mut records = Vec::new();
    let mut truncated = false;
    for chunk in keys.chunks(KEYS_PER_REQUEST) {
        let mut query = json!({"bucket": stage.staging_bucket, "keys": chunk});
        if let Some(per_key) = per_key {
            query["last"] = json!(per_key);
        }
        let answer = ask(stage, invoke, &json!({ "loaded": query })).await?;
        records.extend(answer.records);
        truncated |= answer.truncated;
    }
    Ok((records, truncated))
}

async fn ask(stage: &Stage, invoke: &impl Invoke, event: &serde_json::Value) -> Result<Answer> {
    let function = stage.function(MIGRATE.name)?;
    let answer = tokio::time::timeout(ANSWER_WITHIN, invoke.invoke(&function.name, event))
        .await
        .map_err(|_| anyhow::anyhow!("{} did not answer within {} s", function.name, ANSWER_WITHIN.as_secs()))??;
    if !answer.succeeded {
        let message = answer.payload["errorMessage"].as_str().unwrap_or("no message");
        bail!("{} failed: {message}", function.name);
    }
    serde_json::from_value(answer.payload["loaded"].clone())
        .with_context(|| format!("{} answered without its `loaded` records: {}", function.name, answer.payload))
}

/// The records of `keys` (see [`of_keys`]), or why the database could not be asked.
pub async fn lookup(stage: &Stage, invoke: &impl Invoke, keys: &[String], per_key: Option<u32>) -> Lookup {
    match of_keys(stage, invoke, keys, per_key).await {
        Ok((records, truncated)) => Lookup::Answered {
            function: stage.function(MIGRATE.name).map(|f| f.name.clone()).unwrap_or_default(),
            records,
            truncated,
        },
        Err(error) => Lookup::Unanswered { why: format!("{error:#}") },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_read_by_field_name_and_new_columns_are_ignored() {
        let answer: Answer = serde_json::from_value(json!({
            "records": [{
                "id": 7, "bucket": "staging", "object_key": "a.csv", "etag": "e", "version_id": null,
                "sequencer": "00A", "rows_read": 10, "rows_inserted": 9, "rows_updated": 1,
                "loaded_at_ms": 1_796_119_200_123_i64, "feed": "zipcodes", "rows_deleted": 0
            }],
            "truncated": false
        }))
        .unwrap();
        let record = &answer.records[0];
        assert_eq!(record.counts(), "2026-12-01 10:00:00.123: read 10, inserted 9, updated 1");
        assert!(!answer.truncated);
        let replace =
            Record { strategy: Some("replace".into()), rows_deleted: 7, shrink_allowed: true, ..record.clone() };
        assert_eq!(
            replace.counts(),
            "2026-12-01 10:00:00.123: read 10, inserted 9, updated 1, deleted 7 (shrink allowed by an operator)"
        );
    }

    #[test]
    fn the_source_is_named_with_the_reason_for_falling_back() {
        let logs = Lookup::Unanswered { why: "zipster-dev-migrate failed: the database was not ready".to_owned() };
        assert!(logs.records().is_empty());
        assert_eq!(
            logs.source(),
            "load records: the load's log lines (the database could not be asked: zipster-dev-migrate failed: \
             the database was not ready)"
        );
        let db = Lookup::Answered { function: "zipster-dev-migrate".to_owned(), records: Vec::new(), truncated: false };
        assert!(db.source().contains("LOADED_OBJECTS (through zipster-dev-migrate)"));
    }
}
