//! Session Manager logging: the stage's own session document, which logs every
//! session on the host to the logs bucket.
//!
//! Not the account's `SSM-SessionManagerRunShell` (the console's "preferences"): that
//! one document per account and region is shared by every stage there (dev and prod
//! are both in eu-west-1) and may exist already, created by hand; a stack creating it
//! would fail, or take it over. A session is logged when it is started with this
//! document (`aws ssm start-session --target <host> --document-name
//! zipster-<stage>-session`); an operator's IAM policy makes that the only way with
//! `ssm:StartSession` on this document's ARN and `"ssm:SessionDocumentAccessCheck":
//! "true"` (infra/README.md).

use serde_json::json;

use crate::model::ssm::Document;
use crate::model::{Resource, Template};
use crate::stage::StageConfig;

use super::bucket::BucketRefs;
use super::{physical_name, tags};

/// Where SSM Agent writes the session logs in the logs bucket (with the host's role).
pub const SESSION_LOG_PREFIX: &str = "ssm-sessions";
const DOCUMENT: &str = "SessionManagerPreferences";
/// A session left idle this long (minutes) is ended.
const IDLE_SESSION_MINUTES: u32 = 20;

/// `zipster-<stage>-session`: what `aws ssm start-session --document-name` takes.
pub fn document_name(stage: &StageConfig) -> String {
    physical_name(stage, "session")
}

/// Adds the stage's session document, logging to `logs` under [`SESSION_LOG_PREFIX`].
pub fn add(template: &mut Template, stage: &StageConfig, logs: &BucketRefs) {
    let content = json!({
        "schemaVersion": "1.0",
        "description": format!("Sessions on the zipster {} database host, each logged to the logs bucket", stage.name),
        "sessionType": "Standard_Stream",
        "inputs": {
            "s3BucketName": logs.name(),
            "s3KeyPrefix": SESSION_LOG_PREFIX,
            // SSM Agent refuses to start the session unless the bucket encrypts at rest.
            "s3EncryptionEnabled": true,
            "idleSessionTimeout": IDLE_SESSION_MINUTES.to_string(),
        },
    });
    template.add(
        DOCUMENT,
        Resource::from(Document {
            name: document_name(stage),
            document_type: "Session",
            document_format: "JSON",
            content,
            update_method: "NewVersion",
            tags: tags(stage),
        }),
    );
}
