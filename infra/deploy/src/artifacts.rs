//! Function code as content-addressed artifacts: a reproducible zip holding one
//! `bootstrap` executable, keyed by its SHA-256, uploaded to the stage's artifact
//! bucket (made by its bootstrap stack) only when the bucket does not have those
//! very bytes yet (as CDK publishes assets).

use std::io::{Cursor, Write};

use anyhow::{Context, Result};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode};
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

/// The zips of one `cargo xtask build`, copied elsewhere (the deploy workflow's
/// build job hands them to its deploy job): `<dir>/<function>/<sha256>.zip`, one per
/// function, each refused unless its bytes have the SHA-256 its name says.
pub fn read_built(dir: &std::path::Path) -> Result<Vec<Artifact>> {
    let mut artifacts = Vec::new();
    for function in zipster_infra::FUNCTIONS {
        let folder = dir.join(function.name);
        let entries = std::fs::read_dir(&folder)
            .with_context(|| format!("reading the {} function's zips in {}", function.name, folder.display()))?;
        let zips: Vec<std::path::PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|e| e == "zip"))
            .collect();
        let [path] = zips.as_slice() else {
            anyhow::bail!(
                "{}: {} zips for the {} function, expected the one of a single build; pass the lambda-zips \
                 directory of one `cargo xtask build`",
                folder.display(),
                zips.len(),
                function.name
            );
        };
        let zip = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let artifact = Artifact { function: function.name.to_owned(), sha256: sha256_hex(&zip), zip };
        if path.file_name().and_then(|n| n.to_str()) != Some(artifact.key().as_str()) {
            anyhow::bail!(
                "{}: its SHA-256 is {}, not the one its name says; the zip changed after it was built, build again",
                path.display(),
                artifact.sha256
            );
        }
        artifacts.push(artifact);
    }
    Ok(artifacts)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `bucket` exists and belongs to `owner` (a bucket of that name in
/// another account answers 403, which is an error, not "missing").
pub async fn bucket_exists(clients: &StageClients, bucket: &str, owner: &str) -> Result<bool> {
    match clients.s3.head_bucket().bucket(bucket).expected_bucket_owner(owner).send().await {
        Ok(_) => Ok(true),
        Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(false),
        Err(error) => Err(clients.error("HeadBucket", bucket)(error)),
    }
}

/// What is stored under a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    Nothing,
    /// An object and its SHA-256 as S3 computed it at upload (`ChecksumSHA256`, base64);
    /// `None`: uploaded without that checksum, so its bytes are unknown.
    Object(Option<String>),
}

/// What is stored under `key`, with its checksum.
pub async fn stored(clients: &StageClients, bucket: &str, owner: &str, key: &str) -> Result<Stored> {
    let head = clients
        .s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .expected_bucket_owner(owner)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await;
    match head {
        Ok(head) => Ok(Stored::Object(head.checksum_sha256().map(str::to_owned))),
        Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(Stored::Nothing),
        Err(error) => Err(clients.error("HeadObject", format!("s3://{bucket}/{key}"))(error)),
    }
}

/// SHA-256 in the form S3's `ChecksumSHA256` takes and returns: base64.
pub fn sha256_base64(bytes: &[u8]) -> String {
    aws_smithy_types::base64::encode(Sha256::digest(bytes))
}

/// One object to publish under a content-addressed key.
pub struct Upload<'a> {
    pub key: String,
    pub body: &'a [u8],
    pub content_type: &'static str,
}

/// HEAD before PUT: uploads the objects the bucket does not have with these very
/// bytes; returns the keys uploaded. "Already there" is an object under the key whose
/// SHA-256, as S3 computed it at upload, is that of `body`: an object planted under
/// the key with other bytes (or without a checksum) is replaced, never used. Every
/// call names `owner`, so a bucket of the same name in another account is refused.
pub async fn publish(
    clients: &StageClients,
    bucket: &str,
    owner: &str,
    uploads: &[Upload<'_>],
    ui: &mut dyn Ui,
) -> Result<Vec<String>> {
    let mut missing = Vec::new();
    for upload in uploads {
        let expected = sha256_base64(upload.body);
        match stored(clients, bucket, owner, &upload.key).await? {
            Stored::Object(Some(sha256)) if sha256 == expected => {}
            Stored::Object(sha256) => {
                let what = if sha256.is_some() { "other bytes than ours" } else { "an object without a checksum" };
                ui.step(&format!("s3://{bucket}/{}: {what} under this key; replacing it", upload.key));
                missing.push((upload, expected));
            }
            Stored::Nothing => missing.push((upload, expected)),
        }
    }
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    ui.uploads_started(missing.len(), missing.iter().map(|(u, _)| u.body.len() as u64).sum());
    let mut uploaded = Vec::new();
    for (upload, sha256) in missing {
        // S3 refuses the PUT if the bytes it receives do not have this checksum.
        clients
            .s3
            .put_object()
            .bucket(bucket)
            .key(&upload.key)
            .expected_bucket_owner(owner)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(sha256)
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
    fn built_zips_are_read_back_only_when_their_bytes_match_their_names() {
        let dir = tempfile::tempdir().unwrap();
        let mut written = Vec::new();
        for function in zipster_infra::FUNCTIONS {
            let artifact = Artifact::from_binary(function.name, function.name.as_bytes()).unwrap();
            std::fs::create_dir_all(dir.path().join(function.name)).unwrap();
            std::fs::write(dir.path().join(function.name).join(artifact.key()), &artifact.zip).unwrap();
            written.push(artifact);
        }
        assert_eq!(read_built(dir.path()).unwrap(), written);

        let tampered = dir.path().join(&written[0].function).join(written[0].key());
        std::fs::write(&tampered, b"other bytes").unwrap();
        let error = read_built(dir.path()).unwrap_err().to_string();
        assert!(error.contains("not the one its name says"), "{error}");
        std::fs::write(&tampered, &written[0].zip).unwrap();
        std::fs::write(dir.path().join(&written[0].function).join("old.zip"), b"x").unwrap();
        let error = read_built(dir.path()).unwrap_err().to_string();
        assert!(error.contains("2 zips for the transform function"), "{error}");
    }

    #[test]
    fn keys_are_the_hex_sha256_of_the_zip() {
        let artifact = Artifact::from_binary("transform", b"code").unwrap();
        assert_eq!(artifact.sha256.len(), 64);
        assert_eq!(artifact.sha256, sha256_hex(&artifact.zip));
        assert_eq!(artifact.key(), format!("{}.zip", artifact.sha256));
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        // What S3 returns as ChecksumSHA256 for an empty object.
        assert_eq!(sha256_base64(b""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    }
}
