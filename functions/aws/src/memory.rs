//! In-memory [`Storage`] and [`Notify`] for handler tests, with switchable faults.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use zipster_core::event::ObjectRef;

use crate::{Metadata, Notify, NotifyError, ObjectInfo, Storage, StorageError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub body: Vec<u8>,
    pub content_type: String,
    pub metadata: Metadata,
}

/// Buckets as a map of `(bucket, key)` to body; uploads can be made to fail.
#[derive(Default, Debug)]
pub struct MemoryStorage {
    objects: Mutex<BTreeMap<(String, String), StoredObject>>,
    fail_uploads_to: Mutex<Option<String>>,
}

impl MemoryStorage {
    pub fn put(&self, bucket: &str, key: &str, body: impl Into<Vec<u8>>) {
        self.put_with_metadata(bucket, key, body, Metadata::new());
    }

    /// [`Self::put`] with user metadata, as the transform stages objects.
    pub fn put_with_metadata(&self, bucket: &str, key: &str, body: impl Into<Vec<u8>>, metadata: Metadata) {
        self.lock().insert(
            (bucket.to_owned(), key.to_owned()),
            StoredObject { body: body.into(), content_type: "text/csv".to_owned(), metadata },
        );
    }

    pub fn get(&self, bucket: &str, key: &str) -> Option<StoredObject> {
        self.lock().get(&(bucket.to_owned(), key.to_owned())).cloned()
    }

    pub fn keys(&self) -> Vec<(String, String)> {
        self.lock().keys().cloned().collect()
    }

    /// Every later upload to `bucket` fails, as a store outage would.
    pub fn fail_uploads_to(&self, bucket: &str) {
        *self.fail_uploads_to.lock().unwrap_or_else(|e| e.into_inner()) = Some(bucket.to_owned());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), StoredObject>> {
        self.objects.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A stable stand-in for S3's ETag: the FNV-1a hash of the body.
fn etag_of(body: &[u8]) -> String {
    let hash = body.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3));
    format!("{hash:016x}")
}

impl Storage for MemoryStorage {
    async fn download(&self, obj: &ObjectRef, dest: &Path, max_bytes: u64) -> Result<ObjectInfo, StorageError> {
        let stored = self
            .get(&obj.bucket, &obj.key)
            .ok_or_else(|| StorageError::NotFound { bucket: obj.bucket.clone(), key: obj.key.clone() })?;
        let size = stored.body.len() as u64;
        if size > max_bytes {
            return Err(StorageError::TooLarge {
                bucket: obj.bucket.clone(),
                key: obj.key.clone(),
                size,
                limit: max_bytes,
            });
        }
        std::fs::write(dest, &stored.body).map_err(|e| StorageError::Failed {
            operation: "GetObject",
            bucket: obj.bucket.clone(),
            key: obj.key.clone(),
            message: e.to_string(),
        })?;
        Ok(ObjectInfo {
            etag: etag_of(&stored.body),
            version_id: obj.version_id.clone(),
            size,
            metadata: stored.metadata,
        })
    }

    async fn upload(
        &self,
        bucket: &str,
        key: &str,
        src: &Path,
        content_type: &str,
        metadata: &Metadata,
    ) -> Result<(), StorageError> {
        let failed = |message: String| StorageError::Failed {
            operation: "PutObject",
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            message,
        };
        if self.fail_uploads_to.lock().unwrap_or_else(|e| e.into_inner()).as_deref() == Some(bucket) {
            return Err(failed("injected failure".to_owned()));
        }
        let body = std::fs::read(src).map_err(|e| failed(e.to_string()))?;
        self.lock().insert(
            (bucket.to_owned(), key.to_owned()),
            StoredObject { body, content_type: content_type.to_owned(), metadata: metadata.clone() },
        );
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub topic_arn: String,
    pub subject: String,
    pub message: String,
    /// The [`crate::FEED_ATTRIBUTE`] message attribute, as SNS would carry it.
    pub feed: Option<String>,
}

/// Records every publish; can be made to fail.
#[derive(Default, Debug)]
pub struct MemoryNotify {
    published: Mutex<Vec<Published>>,
    failing: Mutex<bool>,
}

impl MemoryNotify {
    pub fn published(&self) -> Vec<Published> {
        self.published.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn set_failing(&self, failing: bool) {
        *self.failing.lock().unwrap_or_else(|e| e.into_inner()) = failing;
    }
}

impl Notify for MemoryNotify {
    async fn publish(
        &self,
        topic_arn: &str,
        subject: &str,
        message: &str,
        feed: Option<&str>,
    ) -> Result<(), NotifyError> {
        if *self.failing.lock().unwrap_or_else(|e| e.into_inner()) {
            return Err(NotifyError { topic: topic_arn.to_owned(), message: "injected failure".to_owned() });
        }
        self.published.lock().unwrap_or_else(|e| e.into_inner()).push(Published {
            topic_arn: topic_arn.to_owned(),
            subject: subject.to_owned(),
            message: message.to_owned(),
            feed: feed.map(str::to_owned),
        });
        Ok(())
    }
}
