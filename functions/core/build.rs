//! Compiles the feeds' contracts into the crate: every `feeds/<name>/schema.json` of the
//! repository becomes an entry of `BUILTIN` (name, descriptor text), so a contract change
//! is a code change — a new artifact hash, reviewed and deployed like any other.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // Read when the script runs, not baked in when it is compiled (`env!`): checkouts
    // sharing a target directory share this script's binary, and each must read its own
    // feeds/.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| panic!("cargo sets CARGO_MANIFEST_DIR"));
    let feeds = Path::new(&manifest).join("../../feeds");
    println!("cargo::rerun-if-changed={}", feeds.display());
    let mut entries = Vec::new();
    if let Ok(dir) = std::fs::read_dir(&feeds) {
        for entry in dir.flatten() {
            let schema = entry.path().join("schema.json");
            println!("cargo::rerun-if-changed={}", entry.path().display());
            if schema.is_file() {
                println!("cargo::rerun-if-changed={}", schema.display());
                entries.push((entry.file_name().to_string_lossy().into_owned(), schema));
            }
        }
    }
    entries.sort();
    let mut out = String::from("/// Every feed of `feeds/`, by folder name, with its descriptor's text.\n");
    out.push_str("pub(crate) const BUILTIN: &[(&str, &str)] = &[\n");
    for (name, schema) in &entries {
        let path = schema.canonicalize().unwrap_or_else(|e| panic!("{}: {e}", schema.display()));
        let _ = writeln!(out, "    ({name:?}, include_str!({:?})),", path.display().to_string());
    }
    out.push_str("];\n");
    let target =
        Path::new(&std::env::var("OUT_DIR").unwrap_or_else(|e| panic!("OUT_DIR: {e}"))).join("builtin_feeds.rs");
    std::fs::write(&target, out).unwrap_or_else(|e| panic!("{}: {e}", target.display()));
}
