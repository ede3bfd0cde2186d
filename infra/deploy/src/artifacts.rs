//! Function code as content-addressed artifacts: a reproducible zip holding one
//! `bootstrap` executable, keyed by its SHA-256, uploaded to the stage's artifact
//! bucket only when the bucket does not have it yet (as CDK publishes assets).

use std::io::{Cursor, Write};

use anyhow::{Context, Result};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    VersioningConfiguration,
};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::{StageClients, Ui};

/// A function's code, ready to upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// `transform`, `load`, `migrate`.
    pub function: String,
    pub zip: Vec<u8>,
    pub sha256: String,
}

impl Artifact {
    pub fn from_binary(function: &str, binary: &[u8]) -> Result<Self> {
        let zip = zip_bootstrap(binary)?;
        Ok(Self { function: function.to_owned(), sha256: sha256_hex(&zip), zip })
    }

    /// The S3 key, and the value of the function's code-key template parameter.
    pub fn key(&self) -> String {
        format!("{}.zip", self.sha256)
    }
}

/// A zip with one entry, `bootstrap`, mode 755, dated 1980-01-01 (the zip epoch),
/// deflated: the same bytes in always give the same zip out, so the SHA-256 only
/// changes when the code does.
pub fn zip_bootstrap(binary: &[u8]) -> Result<Vec<u8>> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::with_capacity(binary.len() / 2)));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(9))
        .last_modified_time(DateTime::default())
        .unix_permissions(0o755);
    zip.start_file("bootstrap", options).context("zip: starting the bootstrap entry")?;
    zip.write_all(binary).context("zip: writing the bootstrap entry")?;
    Ok(zip.finish().context("zip: finishing")?.into_inner())
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// `zipster-<stage>-artifacts-<account>-<region>`, like the stack's own buckets.
pub fn bucket_name(stage_prefix: &str, account: &str, region: &str) -> String {
    format!("{stage_prefix}-artifacts-{account}-{region}")
}

pub async fn bucket_exists(clients: &StageClients, bucket: &str) -> Result<bool> {
    match clients.s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(true),
        Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(false),
        Err(error) => Err(clients.error("HeadBucket", bucket)(error)),
    }
}

/// Creates the artifact bucket (private, encrypted, versioned, TLS-only) if it is
/// absent; returns whether it was created.
pub async fn ensure_bucket(clients: &StageClients, bucket: &str, ui: &mut dyn Ui) -> Result<bool> {
    if bucket_exists(clients, bucket).await? {
        return Ok(false);
    }
    ui.step(&format!("creating the artifact bucket {bucket}"));
    let mut create = clients.s3.create_bucket().bucket(bucket);
    // us-east-1 is the one region that rejects its own location constraint.
    if clients.region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(clients.region.as_str()))
                .build(),
        );
    }
    create.send().await.map_err(clients.error("CreateBucket", bucket))?;
    let block_all = PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    clients
        .s3
        .put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(block_all)
        .send()
        .await
        .map_err(clients.error("PutPublicAccessBlock", bucket))?;
    let sse = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(
                    ServerSideEncryptionByDefault::builder()
                        .sse_algorithm(ServerSideEncryption::Aes256)
                        .build()
                        .context("encryption rule")?,
                )
                .build(),
        )
        .build()
        .context("encryption configuration")?;
    clients
        .s3
        .put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(sse)
        .send()
        .await
        .map_err(clients.error("PutBucketEncryption", bucket))?;
    clients
        .s3
        .put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build())
        .send()
        .await
        .map_err(clients.error("PutBucketVersioning", bucket))?;
    clients
        .s3
        .put_bucket_policy()
        .bucket(bucket)
        .policy(tls_only_policy(bucket))
        .send()
        .await
        .map_err(clients.error("PutBucketPolicy", bucket))?;
    Ok(true)
}

fn tls_only_policy(bucket: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}
        }]
    })
    .to_string()
}

pub async fn object_exists(clients: &StageClients, bucket: &str, key: &str) -> Result<bool> {
    match clients.s3.head_object().bucket(bucket).key(key).send().await {
        Ok(_) => Ok(true),
        Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(false),
        Err(error) => Err(clients.error("HeadObject", format!("s3://{bucket}/{key}"))(error)),
    }
}

/// One object to publish under a content-addressed key.
pub struct Upload<'a> {
    pub key: String,
    pub body: &'a [u8],
    pub content_type: &'static str,
}

/// HEAD before PUT: uploads the objects the bucket does not have; returns their keys.
pub async fn publish(
    clients: &StageClients,
    bucket: &str,
    uploads: &[Upload<'_>],
    ui: &mut dyn Ui,
) -> Result<Vec<String>> {
    let mut missing = Vec::new();
    for upload in uploads {
        if !object_exists(clients, bucket, &upload.key).await? {
            missing.push(upload);
        }
    }
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    ui.uploads_started(missing.len(), missing.iter().map(|u| u.body.len() as u64).sum());
    let mut uploaded = Vec::new();
    for upload in missing {
        clients
            .s3
            .put_object()
            .bucket(bucket)
            .key(&upload.key)
            .content_type(upload.content_type)
            .body(ByteStream::from(upload.body.to_vec()))
            .send()
            .await
            .map_err(clients.error("PutObject", format!("s3://{bucket}/{}", upload.key)))?;
        ui.uploaded(&upload.key, upload.body.len() as u64);
        uploaded.push(upload.key.clone());
    }
    ui.uploads_finished();
    Ok(uploaded)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn the_same_bytes_give_the_same_zip_with_one_executable_bootstrap() {
        let binary = b"\x7fELF pretend this is a Lambda bootstrap".repeat(1000);
        let first = zip_bootstrap(&binary).unwrap();
        let second = zip_bootstrap(&binary).unwrap();
        assert_eq!(first, second);
        assert_ne!(zip_bootstrap(b"other code").unwrap(), first);

        let mut archive = zip::ZipArchive::new(Cursor::new(&first)).unwrap();
        assert_eq!(archive.len(), 1);
        let mut entry = archive.by_index(0).unwrap();
        assert_eq!(entry.name().unwrap(), "bootstrap");
        assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
        assert_eq!(entry.compression(), CompressionMethod::Deflated);
        let modified = entry.last_modified().unwrap();
        assert_eq!((modified.year(), modified.month(), modified.day()), (1980, 1, 1));
        let mut unpacked = Vec::new();
        entry.read_to_end(&mut unpacked).unwrap();
        assert_eq!(unpacked, binary);
    }

    #[test]
    fn keys_are_the_hex_sha256_of_the_zip() {
        let artifact = Artifact::from_binary("transform", b"code").unwrap();
        assert_eq!(artifact.sha256.len(), 64);
        assert_eq!(artifact.sha256, sha256_hex(&artifact.zip));
        assert_eq!(artifact.key(), format!("{}.zip", artifact.sha256));
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}
