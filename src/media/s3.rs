//! The S3-compatible media store (`media.store = "s3"`): the same keys as the file-system
//! store, as objects in one bucket under `media.s3_prefix`, through the `object_store` crate
//! (request signing, retries). Several `kindred serve` processes can share one bucket: every
//! key is the digest of what it holds, so two processes writing the same key write the same
//! bytes.

use crate::{
    config::MediaConfig,
    error::{Error, Result},
    media::MediaStore,
};
use bytes::Bytes;
use object_store::{ObjectStoreExt, PutPayload, aws::AmazonS3, path::Path as ObjectPath};

pub struct S3Store {
    bucket: AmazonS3,
    prefix: String,
}

impl S3Store {
    /// Connects lazily: nothing is sent until the first picture is read or written.
    pub fn new(config: &MediaConfig) -> Result<S3Store> {
        if config.s3_bucket.trim().is_empty() {
            return Err(Error::internal(
                "media.store is \"s3\" but media.s3_bucket is empty",
            ));
        }
        let mut builder = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(config.s3_bucket.trim())
            .with_region(config.s3_region.trim());
        let endpoint = config.s3_endpoint.trim();
        if !endpoint.is_empty() {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if !config.s3_access_key_id.is_empty() {
            builder = builder
                .with_access_key_id(&config.s3_access_key_id)
                .with_secret_access_key(&config.s3_secret_access_key);
        }
        let bucket = builder
            .build()
            .map_err(|error| Error::internal(format!("the S3 media store: {error}")))?;
        Ok(S3Store {
            bucket,
            prefix: config.s3_prefix.trim_matches('/').to_string(),
        })
    }

    fn path_of(&self, key: &str) -> Result<ObjectPath> {
        crate::media::check_key(key)?;
        Ok(if self.prefix.is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{}/{key}", self.prefix))
        })
    }
}

fn failed(error: object_store::Error) -> Error {
    Error::internal(format!("the S3 media store: {error}"))
}

#[async_trait::async_trait]
impl MediaStore for S3Store {
    async fn put(&self, key: &str, bytes: Bytes) -> Result<()> {
        self.bucket
            .put(&self.path_of(key)?, PutPayload::from_bytes(bytes))
            .await
            .map_err(failed)?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        match self.bucket.get(&self.path_of(key)?).await {
            Ok(found) => Ok(Some(found.bytes().await.map_err(failed)?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(failed(error)),
        }
    }

    async fn delete(&self, key: &str) -> Result<()> {
        match self.bucket.delete(&self.path_of(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(failed(error)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The same checks as the file-system store's, against a real S3-compatible server
    /// (`moto_server`, which `.ci/run` starts).
    #[tokio::test]
    async fn the_s3_store_does_what_every_store_does() {
        let Some(configure) = crate::testing::pictures::s3_media_config() else {
            return;
        };
        let mut config = crate::config::Config::default();
        configure(&mut config);
        crate::app::install_crypto_provider();
        let store = S3Store::new(&config.media).unwrap();
        crate::testing::pictures::check_media_store(&store)
            .await
            .unwrap();
    }
}
