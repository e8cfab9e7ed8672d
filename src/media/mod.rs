//! Media: where pictures are kept (`MediaStore`, a directory under `database.data_dir` by
//! default) and how a picture is checked and re-encoded (`images.rs`). It depends on nothing
//! but the configuration; the proxy that fetches remote pictures is
//! `federation/media_proxy.rs`.

pub mod images;

use crate::error::{Error, Result};
use bytes::Bytes;
use std::path::PathBuf;

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
        let valid = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
            && !key.starts_with('.');
        if !valid {
            return Err(Error::internal(format!("a media key {key:?} is not valid")));
        }
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
    async fn the_file_system_store_keeps_replaces_and_forgets() {
        let directory = tempfile::tempdir().unwrap();
        let store = FileSystemStore::new(directory.path().to_path_buf());
        assert_eq!(store.get("abc.png").await.unwrap(), None);
        store
            .put("abc.png", Bytes::from_static(b"one"))
            .await
            .unwrap();
        store
            .put("abc.png", Bytes::from_static(b"two"))
            .await
            .unwrap();
        assert_eq!(
            store.get("abc.png").await.unwrap(),
            Some(Bytes::from_static(b"two"))
        );
        store.delete("abc.png").await.unwrap();
        store.delete("abc.png").await.unwrap();
        assert_eq!(store.get("abc.png").await.unwrap(), None);
        assert!(store.put("../escape", Bytes::new()).await.is_err());
        assert!(store.get("a/b").await.is_err());
    }
}
