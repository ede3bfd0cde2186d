//! One object read through a local scratch file, for the load and the migrate
//! function's seed alike.
//!
//! Here rather than in `zipster-db`, which does not know [`Storage`], and generic over
//! what reads the file, so that this crate does not know the database: `zipster-db`'s
//! load takes any `Read + Seek` (it rewinds after a deadlock), and a local file gives
//! it that with flat memory and retries that do not read S3 again.

use std::fs::File;
use std::io::BufReader;

use zipster_core::ErrorKind;
use zipster_core::event::ObjectRef;

use crate::{ObjectInfo, Storage, StorageError};

#[derive(Debug, thiserror::Error)]
pub enum ObjectError<E> {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("scratch file for s3://{bucket}/{key}: {message}")]
    Scratch { bucket: String, key: String, message: String },
    /// What `read` failed with, said with the object it was reading.
    #[error("s3://{bucket}/{key}: {source}")]
    Read {
        bucket: String,
        key: String,
        #[source]
        source: E,
    },
}

impl<E: ErrorKind + 'static> ErrorKind for ObjectError<E> {
    fn error_type(&self) -> &'static str {
        match self {
            Self::Storage(error) => error.error_type(),
            Self::Scratch { .. } => "ScratchError",
            Self::Read { source, .. } => source.error_type(),
        }
    }
}

/// Downloads `obj` (the exact version it names, at most `max_bytes`) to a scratch
/// file and hands `read` what the store said about it and a reader from the file's
/// start. The file is removed afterwards, whatever `read` returned.
pub async fn read_object<S: Storage, T, E>(
    storage: &S,
    obj: &ObjectRef,
    max_bytes: u64,
    read: impl AsyncFnOnce(ObjectInfo, BufReader<File>) -> Result<T, E>,
) -> Result<T, ObjectError<E>> {
    let scratch = |e: std::io::Error| ObjectError::Scratch {
        bucket: obj.bucket.clone(),
        key: obj.key.clone(),
        message: e.to_string(),
    };
    let file = tempfile::NamedTempFile::new().map_err(scratch)?;
    let info = storage.download(obj, file.path(), max_bytes).await?;
    let reader = BufReader::new(file.reopen().map_err(scratch)?);
    read(info, reader).await.map_err(|source| ObjectError::Read {
        bucket: obj.bucket.clone(),
        key: obj.key.clone(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::memory::MemoryStorage;

    #[derive(Debug, thiserror::Error)]
    #[error("unreadable")]
    struct Unreadable;

    impl ErrorKind for Unreadable {
        fn error_type(&self) -> &'static str {
            "ReadError"
        }
    }

    fn object(key: &str) -> ObjectRef {
        ObjectRef { bucket: "b".into(), key: key.into(), version_id: None, etag: None, sequencer: None, size: None }
    }

    #[tokio::test]
    async fn the_reader_gets_the_body_and_failures_say_which_object_and_kind() {
        let storage = MemoryStorage::default();
        storage.put("b", "k.csv", "a,b\n");
        let body = read_object(&storage, &object("k.csv"), 100, async |info, mut reader| {
            let mut body = String::new();
            reader.read_to_string(&mut body).map(|_| (info.size, body))
        })
        .await;
        assert_eq!(body.ok(), Some((4, "a,b\n".to_owned())));

        let failed = read_object(&storage, &object("k.csv"), 100, async |_, _| Err::<(), _>(Unreadable)).await;
        let error = failed.expect_err("read fails");
        assert_eq!((error.to_string().as_str(), error.error_type()), ("s3://b/k.csv: unreadable", "ReadError"));

        let missing = read_object(&storage, &object("gone.csv"), 100, async |_, _| Ok::<(), Unreadable>(())).await;
        let error = missing.expect_err("no object");
        assert_eq!(
            (error.to_string().as_str(), error.error_type()),
            ("s3://b/gone.csv does not exist", "StorageError")
        );
    }
}
