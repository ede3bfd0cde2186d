//! Rendering every stage's template, shared by `cargo xtask synth` and the
//! freshness test, so both compare exactly the same bytes.

use crate::{StageConfig, StageError, bootstrap, stack};

/// Where the stage files and the committed templates live, relative to the repository root.
pub const STAGES_FILE: &str = "infra/stages.toml";
pub const TEMPLATES_DIR: &str = "infra/templates";
pub const FIX_COMMAND: &str = "cargo xtask synth";

/// The committed files of a stage: its stack, then its bootstrap stack.
pub fn file_names(stage: &StageConfig) -> [String; 2] {
    [format!("{}.json", stage.name), format!("bootstrap-{}.json", stage.name)]
}

/// A rendered template: `<stage>.json` or `bootstrap-<stage>.json`, and its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub file_name: String,
    pub json: String,
}

/// Every stage in `stages_toml`, rendered: each stage's stack and its bootstrap.
pub fn render_all(stages_toml: &str) -> Result<Vec<Rendered>, StageError> {
    Ok(StageConfig::from_toml(stages_toml)?
        .iter()
        .flat_map(|stage| {
            let [stack_file, bootstrap_file] = file_names(stage);
            [
                Rendered { file_name: stack_file, json: stack(stage).to_json() },
                Rendered { file_name: bootstrap_file, json: bootstrap(stage).to_json() },
            ]
        })
        .collect())
}

/// What is stale in a templates directory, given what is on disk.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Staleness {
    /// Missing or different from what synth would write.
    pub outdated: Vec<String>,
    /// `*.json` files with no stage in stages.toml.
    pub orphaned: Vec<String>,
}

impl Staleness {
    pub fn is_fresh(&self) -> bool {
        self.outdated.is_empty() && self.orphaned.is_empty()
    }

    /// `on_disk` lists `(file name, contents)` of the `*.json` files in the templates directory.
    pub fn compare(rendered: &[Rendered], on_disk: &[(String, String)]) -> Self {
        let outdated = rendered
            .iter()
            .filter(|r| !on_disk.iter().any(|(name, json)| *name == r.file_name && *json == r.json))
            .map(|r| r.file_name.clone())
            .collect();
        let orphaned = on_disk
            .iter()
            .filter(|(name, _)| !rendered.iter().any(|r| r.file_name == *name))
            .map(|(name, _)| name.clone())
            .collect();
        Self { outdated, orphaned }
    }
}

impl std::fmt::Display for Staleness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for name in &self.outdated {
            writeln!(f, "{TEMPLATES_DIR}/{name} is stale or missing")?;
        }
        for name in &self.orphaned {
            writeln!(f, "{TEMPLATES_DIR}/{name} has no stage in {STAGES_FILE}")?;
        }
        write!(f, "run `{FIX_COMMAND}` and commit {TEMPLATES_DIR}/")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rendered(name: &str, json: &str) -> Rendered {
        Rendered { file_name: name.to_owned(), json: json.to_owned() }
    }

    #[test]
    fn staleness_reports_outdated_missing_and_orphaned_files() {
        let rendered = [rendered("dev.json", "{}\n"), rendered("prod.json", "{\"a\":1}\n")];
        let fresh = [("dev.json".to_owned(), "{}\n".to_owned()), ("prod.json".to_owned(), "{\"a\":1}\n".to_owned())];
        assert!(Staleness::compare(&rendered, &fresh).is_fresh());

        let stale = [("dev.json".to_owned(), "{ }\n".to_owned()), ("qa.json".to_owned(), "{}\n".to_owned())];
        let staleness = Staleness::compare(&rendered, &stale);
        assert_eq!(staleness.outdated, ["dev.json", "prod.json"]);
        assert_eq!(staleness.orphaned, ["qa.json"]);
        assert!(staleness.to_string().contains("cargo xtask synth"));
    }
}
