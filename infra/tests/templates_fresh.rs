//! The committed templates are exactly what `cargo xtask synth` writes, so plain
//! `cargo test` fails when someone changes the stack or stages.toml and forgets to synthesize.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::path::Path;

use zipster_infra::synth::{Staleness, render_all};

#[test]
fn committed_templates_are_up_to_date() {
    let infra = Path::new(env!("CARGO_MANIFEST_DIR"));
    let stages = std::fs::read_to_string(infra.join("stages.toml")).unwrap();
    let rendered = render_all(&stages).unwrap();
    let mut on_disk = Vec::new();
    for entry in std::fs::read_dir(infra.join("templates")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            on_disk.push((name, std::fs::read_to_string(&path).unwrap()));
        }
    }
    let staleness = Staleness::compare(&rendered, &on_disk);
    assert!(staleness.is_fresh(), "{staleness}");
}
