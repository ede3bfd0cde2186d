//! `cargo xtask synth [--check]`: writes (or checks) `infra/templates/<stage>.json`
//! for every stage in `infra/stages.toml`.

use std::path::Path;

use anyhow::{Context, Result, bail};
use zipster_infra::synth::{STAGES_FILE, Staleness, TEMPLATES_DIR, render_all};

use zipster_tools::project_root;

pub fn run(check: bool) -> Result<()> {
    let root = project_root();
    let stages = std::fs::read_to_string(root.join(STAGES_FILE)).with_context(|| format!("reading {STAGES_FILE}"))?;
    let rendered = render_all(&stages)?;
    let dir = root.join(TEMPLATES_DIR);
    if check {
        let staleness = Staleness::compare(&rendered, &read_templates(&dir)?);
        if !staleness.is_fresh() {
            bail!("{staleness}");
        }
        eprintln!("{} templates are up to date", rendered.len());
        return Ok(());
    }
    std::fs::create_dir_all(&dir)?;
    for template in &rendered {
        let path = dir.join(&template.file_name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(template.json.as_str()) {
            std::fs::write(&path, &template.json).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {TEMPLATES_DIR}/{}", template.file_name);
        }
    }
    let orphaned = Staleness::compare(&rendered, &read_templates(&dir)?).orphaned;
    for name in orphaned {
        eprintln!("warning: {TEMPLATES_DIR}/{name} has no stage in {STAGES_FILE}; delete it if the stage is gone");
    }
    Ok(())
}

/// `(file name, contents)` of every `*.json` in `dir` (none if it does not exist).
pub fn read_templates(dir: &Path) -> Result<Vec<(String, String)>> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(Vec::new()) };
    let mut templates = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json")
            && let Some(name) = path.file_name().and_then(|n| n.to_str())
        {
            templates.push((name.to_owned(), std::fs::read_to_string(&path)?));
        }
    }
    templates.sort();
    Ok(templates)
}

/// `template-diff OLD NEW`: Markdown for a pull-request comment.
pub fn template_diff(old_dir: &Path, new_dir: &Path) -> Result<()> {
    let parse = |dir: &Path| -> Result<std::collections::BTreeMap<String, serde_json::Value>> {
        read_templates(dir)?
            .into_iter()
            .map(|(name, text)| {
                Ok((name.clone(), serde_json::from_str(&text).with_context(|| format!("parsing {name}"))?))
            })
            .collect()
    };
    let diffs = zipster_infra::template_diff::diff(&parse(old_dir)?, &parse(new_dir)?);
    print!("{}", zipster_infra::template_diff::render(&diffs));
    Ok(())
}
