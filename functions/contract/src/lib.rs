//! A feed's contract: a [Frictionless Table Schema v2](https://datapackage.org/standard/table-schema/)
//! descriptor, checked and compiled once ([`Contract::from_json`]), then used to match a
//! header ([`Contract::header`]) and to validate and normalize records in order
//! ([`Validator`]), reporting Frictionless error types. What the crate does not support
//! is refused at load with its JSON path, never ignored.

mod extension;
mod infer;
mod keys;
mod matcher;
pub mod migration;
mod number;
mod schema;
mod table;
mod temporal;
mod validate;

pub use extension::{RaggedRows, Thresholds};
pub use infer::Inference;
pub use schema::{Contract, DescriptorError, Field, FieldsMatch};
pub use table::{LINEAGE_COLUMN, LINEAGE_TYPE, LoadStrategy, MAX_DELETED_SHARE, Table, TableColumn, ValueKind};
pub use validate::{Error, ErrorType, Header, Record, Validator, byte_mask};
