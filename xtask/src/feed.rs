//! `cargo xtask feed describe FILE` (a starting descriptor from a sample) and the pure
//! half of `cargo xtask feed check` (every contract of `feeds/` loads, prefixes do not
//! overlap, every stage's default feed exists); its tables half, and `feed migration`,
//! need a database and run in zipster-ops (`xtask/ops/src/feed.rs`). The logic is the
//! contract crate's and zipster-core's; this is the shell that reads files and prints.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use xtask::cli::FeedCommand;
use zipster_contract::Inference;
use zipster_core::feeds::Catalog;
use zipster_tools::project_root;

pub fn run(command: &FeedCommand) -> Result<()> {
    match command {
        FeedCommand::Describe { file, max_enum } => {
            let input = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
            let descriptor = describe(input, *max_enum).with_context(|| format!("describing {}", file.display()))?;
            println!("{descriptor}");
            Ok(())
        }
        FeedCommand::Check => {
            for line in check(&project_root())? {
                println!("{line}");
            }
            // The tables, read back from a database, in zipster-ops: it prints its report
            // and its one-line error itself, so a failure only exits (no second error line).
            if crate::forward_to_ops() != ExitCode::SUCCESS {
                std::process::exit(1);
            }
            Ok(())
        }
        FeedCommand::Migration { .. } => bail!("feed migration runs in zipster-ops"),
    }
}

/// The descriptor inferred from a CSV sample, pretty-printed.
pub fn describe(input: impl std::io::Read, max_enum: usize) -> Result<String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let labels: Vec<String> = reader.headers().context("reading the header")?.iter().map(str::to_owned).collect();
    if labels.iter().all(String::is_empty) {
        bail!("the sample has no header line");
    }
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    let mut inference = Inference::new(&labels, max_enum);
    for (i, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("reading record {}", i + 1))?;
        let cells: Vec<&str> = record.iter().collect();
        inference.observe(&cells);
    }
    Ok(inference.descriptor())
}

/// Checks `<root>/feeds` and `<root>/infra/stages.toml` together; one line per feed.
pub fn check(root: &Path) -> Result<Vec<String>> {
    let dir = root.join("feeds");
    let mut sources = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if !path.is_dir() {
            continue;
        }
        let schema = path.join("schema.json");
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let text = std::fs::read_to_string(&schema)
            .with_context(|| format!("feed {name}: reading {} (every feed folder holds one)", schema.display()))?;
        sources.push((name, text));
    }
    sources.sort();
    let catalog = Catalog::from_sources(sources.iter().map(|(n, t)| (n.as_str(), t.as_str())))?;
    let stages_path = root.join("infra/stages.toml");
    let stages = std::fs::read_to_string(&stages_path).with_context(|| format!("reading {}", stages_path.display()))?;
    for stage in zipster_infra::StageConfig::from_toml(&stages)? {
        if let Some(name) = &stage.default_feed
            && catalog.get(name).is_none()
        {
            bail!("infra/stages.toml: stage {}: default_feed \"{name}\" is not a folder of feeds/", stage.name);
        }
    }
    Ok(catalog
        .feeds()
        .iter()
        .map(|f| {
            format!(
                "feed {}: {} fields, keys {}…, contract {}",
                f.name,
                f.contract.fields().len(),
                f.key_prefix,
                f.short_hash()
            )
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_repositorys_feeds_check() {
        let lines = check(&project_root()).unwrap();
        assert!(lines.iter().any(|l| l.starts_with("feed zipcodes: 9 fields, keys zipcodes/…")), "{lines:?}");
    }

    /// A root with the real stages.toml and the given feeds.
    fn root_with(feeds: &[(&str, &str)]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("infra")).unwrap();
        std::fs::copy(project_root().join("infra/stages.toml"), root.path().join("infra/stages.toml")).unwrap();
        for (name, schema) in feeds {
            std::fs::create_dir_all(root.path().join("feeds").join(name)).unwrap();
            std::fs::write(root.path().join("feeds").join(name).join("schema.json"), schema).unwrap();
        }
        root
    }

    #[test]
    fn overlapping_prefixes_a_bad_descriptor_and_a_missing_default_feed_fail_the_check() {
        let plain = r#"{"fields": [{"name": "a"}]}"#;
        let overlap = root_with(&[
            ("zipcodes", plain),
            ("zip", r#"{"zipster:keyPrefix": "zipcodes/x", "fields": [{"name": "a"}]}"#),
        ]);
        let error = check(overlap.path()).unwrap_err().to_string();
        assert!(error.contains("overlapping key prefixes"), "{error}");
        let bad = root_with(&[("zipcodes", r#"{"fields": [{"name": "a", "type": "geopoint"}]}"#)]);
        let error = check(bad.path()).unwrap_err().to_string();
        assert_eq!(
            error,
            "feed \"zipcodes\": feeds/zipcodes/schema.json: fields[0].type: \"geopoint\" is not supported"
        );
        let no_default = root_with(&[("events", plain)]);
        let error = check(no_default.path()).unwrap_err().to_string();
        assert!(error.contains("default_feed \"zipcodes\" is not a folder of feeds/"), "{error}");
    }

    #[test]
    fn a_described_sample_loads_and_accepts_every_row_of_its_sample() {
        let sample = std::fs::read(project_root().join("db/seed/zipcodes.csv")).unwrap();
        let text = describe(&sample[..], 12).unwrap();
        let contract = zipster_contract::Contract::from_json(&text).unwrap();
        let descriptor: serde_json::Value = serde_json::from_str(&text).unwrap();
        let field =
            |name: &str| descriptor["fields"].as_array().unwrap().iter().find(|f| f["name"] == name).unwrap().clone();
        assert_eq!(field("Zipcode")["type"], "string", "a code with leading zeros stays text");
        assert_eq!(field("Zipcode")["constraints"]["pattern"], "[0-9]{5}");
        assert_eq!(
            field("ZipCodeType")["constraints"]["enum"],
            serde_json::json!(["MILITARY", "PO BOX", "STANDARD", "UNIQUE"])
        );
        assert_eq!(field("Decommisioned")["type"], "boolean");
        assert_eq!(field("City")["constraints"]["required"], true);
        let summary =
            zipster_core::transform(&contract, &sample[..], std::io::sink(), std::io::sink(), &Default::default())
                .unwrap();
        assert_eq!((summary.accepted, summary.rejected), (42_522, 0));
    }

    #[test]
    fn a_sample_with_gaps_written_na_and_datetimes_is_described_as_such() {
        let sample = std::fs::read(project_root().join("testdata/weather/weather.csv")).unwrap();
        let text = describe(&sample[..], 12).unwrap();
        let descriptor: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(descriptor["missingValues"], serde_json::json!(["", "NA"]));
        let types: Vec<&str> =
            descriptor["fields"].as_array().unwrap().iter().map(|f| f["type"].as_str().unwrap()).collect();
        assert_eq!(
            types[5..],
            ["number", "number", "number", "integer", "number", "number", "number", "number", "number", "datetime"]
        );
        assert_eq!(descriptor["fields"][10]["constraints"].get("required"), None, "gusts are mostly NA");
        let contract = zipster_contract::Contract::from_json(&text).unwrap();
        let summary =
            zipster_core::transform(&contract, &sample[..], std::io::sink(), std::io::sink(), &Default::default())
                .unwrap();
        assert_eq!((summary.accepted, summary.rejected), (26_115, 0), "its own sample, the 1,048 mph wind included");
    }
}
