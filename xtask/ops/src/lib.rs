//! zipster-ops as a library, so its integration tests (tests/moto_*.rs) drive the
//! same code as the `zipster-ops` binary.

pub mod aws;
pub mod local;
