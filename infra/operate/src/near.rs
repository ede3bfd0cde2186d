//! `near --stage S ZIPCODE --miles R`: the radius query against a stage's database,
//! which is private, through the one function inside its VPC that may read it for a
//! person: the migrate function's `{"near": …}` query (it migrates nothing then).

use anyhow::{Result, bail};
use serde_json::{Value, json};
use zipster_infra::functions::MIGRATE;

use crate::{Invoke, Stage};

/// The zip codes within `miles` of `zipcode`, nearest first, with their distance.
pub async fn near(stage: &Stage, invoke: &impl Invoke, zipcode: &str, miles: f64) -> Result<Vec<(String, f64)>> {
    let function = stage.function(MIGRATE.name)?;
    let answer = invoke.invoke(&function.name, &json!({"near": {"zipcode": zipcode, "miles": miles}})).await?;
    if !answer.succeeded {
        let message = answer.payload["errorMessage"].as_str().unwrap_or("no message");
        bail!("{} could not answer the query: {message}", function.name);
    }
    let Some(rows) = answer.payload["near"].as_array() else {
        bail!("{} answered without a `near` list: {}", function.name, answer.payload);
    };
    rows.iter()
        .map(|row: &Value| match (row["zipcode"].as_str(), row["miles"].as_f64()) {
            (Some(zipcode), Some(miles)) => Ok((zipcode.to_owned(), miles)),
            _ => bail!("{} answered a row without zipcode and miles: {row}", function.name),
        })
        .collect()
}
