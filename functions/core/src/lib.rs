//! The zip-code feed, free of AWS and async: what a valid row is, how it is
//! normalized, and how a whole file streams through.

pub mod event;
pub mod feed;
mod lines;
pub mod transform;

pub use transform::{FileError, Limits, Summary, transform};
