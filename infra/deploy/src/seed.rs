//! `cargo xtask seed-db --stage S`: the database host is private, so the stage's
//! migrate function (inside the VPC) applies the migrations and loads the static
//! data. xtask transforms `db/seed/zipcodes.csv` with the feed's own rules, puts
//! the result in the staging bucket, invokes migrate and prints its answer.
//!
//! Why the staging bucket: the migrate role may read only the staging bucket (see
//! the infra crate), and the template's staging notification has no key filter, so
//! the load function also receives `seed/…` and upserts the same rows. The load is
//! idempotent, so this costs one redundant load and nothing else.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use serde::Serialize;
use zipster_core::transform::{Limits, Summary, transform};
use zipster_infra::StageConfig;

use crate::artifacts::{self, Upload};
use crate::deploy::stack_outputs;
use crate::{StageClients, Ui, stack_name};

pub const SEED_FILE: &str = "db/seed/zipcodes.csv";

pub struct SeedOptions {
    pub stage: StageConfig,
    pub file: PathBuf,
}

#[derive(Debug, Serialize)]
pub struct SeedReport {
    pub bucket: String,
    pub key: String,
    pub uploaded: bool,
    pub transform: Summary,
    pub function: String,
    /// What migrate answered (applied migrations, rows loaded).
    pub result: serde_json::Value,
}

/// How many times `seed` invokes migrate while it answers that the database is not
/// ready (each invocation waits for it up to about 90 s): about 5 minutes in all,
/// enough for a fresh host to install and start MariaDB.
pub const NOT_READY_INVOCATIONS: u32 = 3;

/// Whether migrate gave up waiting for the database (`errorType` `DatabaseNotReady`).
fn is_not_ready(payload: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(payload).is_ok_and(|error| error["errorType"] == "DatabaseNotReady")
}

/// The event migrate receives.
pub fn seed_event(bucket: &str, key: &str) -> serde_json::Value {
    serde_json::json!({ "seed": { "bucket": bucket, "key": key } })
}

pub async fn seed(options: SeedOptions, clients: &StageClients, ui: &mut dyn Ui) -> Result<SeedReport> {
    let stack = stack_name(&options.stage);
    let outputs = stack_outputs(clients, &stack).await?;
    let output = |name: &str| {
        outputs.get(name).cloned().with_context(|| format!("stack {stack} has no output {name}: deploy it first"))
    };
    let bucket = output("StagingBucketName")?;
    let function = output("MigrateFunctionName")?;

    let input = std::fs::File::open(&options.file).with_context(|| format!("opening {}", options.file.display()))?;
    let mut accepted = Vec::new();
    let feed = zipster_core::feeds::builtin(zipster_core::feeds::ZIPCODES)?;
    let summary =
        transform(&feed.contract, std::io::BufReader::new(input), &mut accepted, std::io::sink(), &Limits::default())
            .map_err(|failure| anyhow::anyhow!("{}: {failure}", options.file.display()))?;
    ui.step(&format!("{}: {} rows accepted, {} rejected", options.file.display(), summary.accepted, summary.rejected));
    let key = format!("seed/{}.csv", artifacts::sha256_hex(&accepted));
    let account = clients.account_id().await?;
    let uploaded = !artifacts::publish(
        clients,
        &bucket,
        &account,
        &[Upload { key: key.clone(), body: &accepted, content_type: "text/csv" }],
        ui,
    )
    .await?
    .is_empty();

    let event = seed_event(&bucket, &key).to_string();
    let mut attempt = 1;
    let payload = loop {
        ui.step(&format!("invoking {function} with s3://{bucket}/{key}"));
        let response = clients
            .lambda
            .invoke()
            .function_name(&function)
            .invocation_type(InvocationType::RequestResponse)
            .payload(Blob::new(event.clone()))
            .send()
            .await
            .map_err(clients.error("Invoke", &function))?;
        let payload = response.payload().map(|p| p.as_ref().to_vec()).unwrap_or_default();
        let text = String::from_utf8_lossy(&payload).into_owned();
        match response.function_error() {
            None => break payload,
            // The function waited for the database as long as its timeout allows; a
            // host that is still booting (the first seed after a fresh deploy) gets more.
            Some(_) if is_not_ready(&payload) && attempt < NOT_READY_INVOCATIONS => {
                ui.step(&format!(
                    "the database is not ready yet (attempt {attempt} of {NOT_READY_INVOCATIONS}); again"
                ));
                attempt += 1;
            }
            Some(kind) => bail!("Invoke {function}: the function failed ({kind}): {text}"),
        }
    };
    let text = String::from_utf8_lossy(&payload);
    let result = serde_json::from_slice(&payload).unwrap_or_else(|_| serde_json::Value::String(text.into_owned()));
    Ok(SeedReport { bucket, key, uploaded, transform: summary, function, result })
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_a_database_that_is_not_ready_is_worth_invoking_again() {
        assert!(super::is_not_ready(br#"{"errorType":"DatabaseNotReady","errorMessage":"not ready after 90s"}"#));
        assert!(!super::is_not_ready(br#"{"errorType":"DatabaseError","errorMessage":"syntax"}"#));
        assert!(!super::is_not_ready(b"not json"));
    }
}
