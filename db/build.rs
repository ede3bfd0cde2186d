// `sqlx::migrate!` embeds the migrations at compile time; without this, a new file
// in migrations/ would not trigger a rebuild and the binary would silently miss it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
