//! The command line of `cargo xtask`, shared by its two binaries: `xtask` (this
//! package: the light commands, and the door to every command) and `zipster-ops`
//! (`xtask/ops`: the commands that need the AWS SDK or sqlx).

pub mod cli;
