//! Media: where pictures are kept (`MediaStore`: a directory under `database.data_dir` by
//! default, or an S3-compatible bucket, `s3.rs`), how a picture is checked and re-encoded
//! (`images.rs`), and the pictures local people upload (`uploads.rs`). It depends on the
//! configuration and the database only; the proxy that fetches remote pictures is
//! `federation/media_proxy.rs`.

pub mod images;
pub mod s3;
pub mod uploads;

use crate::{
    config::{Config, MediaStoreKind},
    error::{Error, Result},
};
use bytes::Bytes;
use std::{path::PathBuf, sync::Arc};

/// The store `media.store` names.
pub fn store_from_config(config: &Config) -> Result<Arc<dyn MediaStore>> {
    Ok(match config.media.store {
        MediaStoreKind::Filesystem => {
            Arc::new(FileSystemStore::new(config.database.data_dir.join("media")))
        }
        MediaStoreKind::S3 => Arc::new(s3::S3Store::new(&config.media)?),
    })
}

/// A key is a digest and an extension: letters, digits, `.`, `-` and `_`, never starting with
/// a dot. Anything else is refused before it reaches a path or a bucket.
pub fn check_key(key: &str) -> Result<()> {
    let valid = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
        && !key.starts_with('.');
    if valid {
        Ok(())
    } else {
        Err(Error::internal(format!("a media key {key:?} is not valid")))
    }
}

/// Where media bytes live, by key (a hex digest and an extension). One small trait, so that a
/// store other than the local disk can take its place.
#[async_trait::async_trait]
pub trait MediaStore: Send + Sync {
    async fn put(&self, key: &str, bytes: Bytes) -> Result<()>;
    /// The bytes under `key`, or `None` when there are none.
    async fn get(&self, key: &str) -> Result<Option<Bytes>>;
    /// Removes `key`; removing what is not there is not an error.
    async fn delete(&self, key: &str) -> Result<()>;
}

/// Media in a directory: `root/ab/abcdef….jpg`, written to a temporary name and renamed, so a
/// reader never sees half a file.
pub struct FileSystemStore {
    root: PathBuf,
}

impl FileSystemStore {
    pub fn new(root: PathBuf) -> FileSystemStore {
        FileSystemStore { root }
    }

    fn path_of(&self, key: &str) -> Result<PathBuf> {
        check_key(key)?;
        Ok(self.root.join(&key[..2.min(key.len())]).join(key))
    }
}

#[async_trait::async_trait]
impl MediaStore for FileSystemStore {
    async fn put(&self, key: &str, bytes: Bytes) -> Result<()> {
        let path = self.path_of(key)?;
        if let Some(directory) = path.parent() {
            tokio::fs::create_dir_all(directory)
                .await
                .map_err(Error::internal)?;
        }
        let temporary = path.with_extension(format!("partial-{}", uuid::Uuid::new_v4()));
        tokio::fs::write(&temporary, &bytes)
            .await
            .map_err(Error::internal)?;
        tokio::fs::rename(&temporary, &path)
            .await
            .map_err(Error::internal)
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        match tokio::fs::read(self.path_of(key)?).await {
            Ok(bytes) => Ok(Some(Bytes::from(bytes))),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(Error::internal(error)),
        }
    }

    async fn delete(&self, key: &str) -> Result<()> {
        match tokio::fs::remove_file(self.path_of(key)?).await {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(Error::internal(error)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_file_system_store_does_what_every_store_does() {
        let directory = tempfile::tempdir().unwrap();
        let store = FileSystemStore::new(directory.path().to_path_buf());
        crate::testing::pictures::check_media_store(&store)
            .await
            .unwrap();
    }
}
