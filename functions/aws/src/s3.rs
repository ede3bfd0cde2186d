//! [`Storage`] over Amazon S3.

use std::path::Path;

use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use tokio::io::AsyncWriteExt;
use zipster_core::event::ObjectRef;

use crate::{Metadata, ObjectInfo, Storage, StorageError, timeouts, upload_response_timeout};

#[derive(Clone, Debug)]
pub struct S3Storage {
    client: aws_sdk_s3::Client,
}

impl S3Storage {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        // Path-style addressing keeps local stand-ins (moto) reachable on a bare
        // host:port; real S3 serves both styles.
        let force_path_style = std::env::var_os("AWS_ENDPOINT_URL").is_some();
        let s3_config = aws_sdk_s3::config::Builder::from(config).force_path_style(force_path_style).build();
        Self { client: aws_sdk_s3::Client::from_conf(s3_config) }
    }
}

fn failed<E: std::error::Error + 'static>(operation: &'static str, bucket: &str, key: &str, err: E) -> StorageError {
    StorageError::Failed {
        operation,
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        message: DisplayErrorContext(err).to_string(),
    }
}

impl Storage for S3Storage {
    async fn download(&self, obj: &ObjectRef, dest: &Path, max_bytes: u64) -> Result<ObjectInfo, StorageError> {
        let (bucket, key) = (obj.bucket.as_str(), obj.key.as_str());
        let response = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .set_version_id(obj.version_id.clone())
            .send()
            .await
            .map_err(|err| match &err {
                SdkError::ServiceError(e) if e.err().is_no_such_key() => {
                    StorageError::NotFound { bucket: bucket.to_owned(), key: key.to_owned() }
                }
                _ => failed("GetObject", bucket, key, err),
            })?;
        let size = response.content_length().and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
        if size > max_bytes {
            return Err(StorageError::TooLarge {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                size,
                limit: max_bytes,
            });
        }
        let etag = response.e_tag().unwrap_or_default().trim_matches('"').to_owned();
        let version_id = response.version_id().map(str::to_owned);
        let metadata: Metadata =
            response.metadata().into_iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect();
        let mut file =
            tokio::fs::File::create(dest).await.map_err(|e| failed("GetObject (local file)", bucket, key, e))?;
        let mut body = response.body.into_async_read();
        let copied =
            tokio::io::copy(&mut body, &mut file).await.map_err(|e| failed("GetObject (body)", bucket, key, e))?;
        file.flush().await.map_err(|e| failed("GetObject (local file)", bucket, key, e))?;
        Ok(ObjectInfo { etag, version_id, size: copied, metadata })
    }

    async fn upload(
        &self,
        bucket: &str,
        key: &str,
        src: &Path,
        content_type: &str,
        metadata: &Metadata,
    ) -> Result<(), StorageError> {
        let body = ByteStream::from_path(src).await.map_err(|e| failed("PutObject (local file)", bucket, key, e))?;
        // A file body knows its exact length (`from_path` has read the metadata).
        let (size, _) = body.size_hint();
        let timeouts = aws_sdk_s3::config::Builder::default().timeout_config(timeouts(upload_response_timeout(size)));
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .set_metadata((!metadata.is_empty()).then(|| metadata.clone().into_iter().collect()))
            .body(body)
            .customize()
            .config_override(timeouts)
            .send()
            .await
            .map_err(|e| failed("PutObject", bucket, key, e))?;
        Ok(())
    }
}
