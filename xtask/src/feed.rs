//! `cargo xtask feed describe FILE` (a starting descriptor from a sample) and
//! `cargo xtask feed check` (every contract of `feeds/` loads, prefixes do not overlap,
//! every stage's default feed exists). The logic is the contract crate's and
//! zipster-core's; this is the shell that reads files and prints.

use std::path::Path;

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
            Ok(())
        }
        FeedCommand::Migration { name } => {
            let now = zipster_report::rfc3339_utc(std::time::SystemTime::now());
            let version: String = now.chars().filter(char::is_ascii_digit).collect();
            let path = migration(&project_root(), name, &version)?;
            println!("wrote {}: review it, then commit it with the contract", path.display());
            Ok(())
        }
    }
}

/// Writes `db/migrations/<version>_create_<feed>.sql`: the feed's table as its contract
/// declares it, and the load's rights on it. Only a new table: a migration that already
/// creates the table means its changes are an `ALTER` to write and review by hand.
pub fn migration(root: &Path, feed: &str, version: &str) -> Result<std::path::PathBuf> {
    let text = std::fs::read_to_string(root.join("feeds").join(feed).join("schema.json"))
        .with_context(|| format!("feed {feed}: reading feeds/{feed}/schema.json"))?;
    let catalog = Catalog::from_sources([(feed, text.as_str())])?;
    let Some(contract) = catalog.get(feed).map(|f| &f.contract) else { bail!("feed {feed} did not load") };
    let table = contract.table(feed);
    let dir = root.join("db/migrations");
    let create = format!("CREATE TABLE {} (", table.name);
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if std::fs::read_to_string(&path).unwrap_or_default().contains(&create) {
            bail!(
                "{} already creates {}: a change to an existing table is an ALTER to write by hand for now (adding a nullable column or widening one), checked by db/tests/contracts.rs",
                path.display(),
                table.name
            );
        }
    }
    let path = dir.join(format!("{version}_create_{}.sql", feed.replace('-', "_")));
    let sql = format!(
        "-- The {feed} feed's table, as feeds/{feed}/schema.json declares it (written by\n\
         -- `cargo xtask feed migration {feed}`; db/tests/contracts.rs checks they agree).\n\
         {}\n\
         -- The load's rights on it, as on every feed's table.\n\
         GRANT SELECT, INSERT, UPDATE ON {} TO zipster_loader;\n",
        table.create_statement(),
        table.name
    );
    std::fs::write(&path, sql).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
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
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod migration_tests {
    use super::*;

    #[test]
    fn a_migration_creates_the_table_once_and_refuses_to_guess_a_change() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("db/migrations")).unwrap();
        std::fs::create_dir_all(root.path().join("feeds/orders")).unwrap();
        std::fs::write(
            root.path().join("feeds/orders/schema.json"),
            r#"{"primaryKey": "id", "fields": [{"name": "id", "type": "integer", "constraints": {"minimum": 1}}, {"name": "note", "type": "string"}]}"#,
        )
        .unwrap();
        let path = migration(root.path(), "orders", "20261201000000").unwrap();
        assert_eq!(path.file_name().unwrap(), "20261201000000_create_orders.sql");
        let sql = std::fs::read_to_string(&path).unwrap();
        assert!(
            sql.contains(
                "CREATE TABLE ORDERS (\n    ID BIGINT UNSIGNED NOT NULL,\n    NOTE TEXT NULL,\n    PRIMARY KEY (ID)\n)"
            ),
            "{sql}"
        );
        assert!(sql.contains("GRANT SELECT, INSERT, UPDATE ON ORDERS TO zipster_loader;"), "{sql}");
        let again = migration(root.path(), "orders", "20261202000000").unwrap_err().to_string();
        assert!(again.contains("already creates ORDERS"), "{again}");
    }
}
