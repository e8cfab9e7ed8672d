//! Pictures local people upload: refused when too large or not a picture, re-encoded without
//! their EXIF (`images.rs`), kept in the media store under the digest of their bytes, recorded
//! in `uploads`, and served at `/media/uploads/<key>`. A post, an avatar, a group's icon or
//! banner then names the upload; uploads nobody used are forgotten after a day.

use crate::{
    config::Config,
    error::{Error, Result},
    groups::attachments::NewAttachment,
    media::{MediaStore, images},
};
use bytes::Bytes;
use chrono::Utc;
use kindred_entities::{post_attachment::AttachmentKind, upload};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
    sea_query::Expr,
};
use sha2::{Digest, Sha256};

/// The most pictures one post carries (as on Mastodon).
pub const MAX_PICTURES_PER_POST: usize = 4;

/// The longest alt text kept (as on Mastodon).
pub const MAX_DESCRIPTION: usize = 1_500;

/// The path under which uploads are served.
pub const UPLOADS_PATH: &str = "/media/uploads/";

/// Checks, re-encodes and keeps a picture `uploader_id` sent, with its alt text. Too many
/// bytes is 413; not a picture, a broken one, or one of more than `media.max_pixels` (a
/// decompression bomb) is 422. Nothing is stored unless it is accepted.
pub async fn save(
    database: &impl ConnectionTrait,
    store: &dyn MediaStore,
    config: &Config,
    uploader_id: i64,
    bytes: Bytes,
    description: Option<&str>,
) -> Result<upload::Model> {
    if bytes.len() as u64 > config.media.max_upload_bytes {
        return Err(Error::PayloadTooLarge);
    }
    let description = description
        .map(crate::html::plain_text_field)
        .filter(|text| !text.is_empty());
    if description
        .as_ref()
        .is_some_and(|text| text.chars().count() > MAX_DESCRIPTION)
    {
        return Err(Error::invalid(format!(
            "an alt text has at most {MAX_DESCRIPTION} characters"
        )));
    }
    let limits = config.media.clone();
    let picture = tokio::task::spawn_blocking(move || images::reencode(&bytes, &limits))
        .await
        .map_err(Error::internal)?
        .map_err(|refusal| {
            tracing::info!(uploader_id, %refusal, "an upload was refused");
            Error::Invalid(format!("the file is {refusal}"))
        })?;
    let key = format!("{:x}.{}", Sha256::digest(&picture.bytes), picture.extension);
    let byte_size = picture.bytes.len() as i64;
    store.put(&key, Bytes::from(picture.bytes)).await?;
    let row = upload::Entity::insert(upload::ActiveModel {
        storage_key: Set(key),
        uploader_id: Set(uploader_id),
        content_type: Set(picture.content_type.to_string()),
        byte_size: Set(byte_size),
        width: Set(i32::try_from(picture.width).unwrap_or(i32::MAX)),
        height: Set(i32::try_from(picture.height).unwrap_or(i32::MAX)),
        description: Set(description),
        blurhash: Set(picture.blurhash),
        used_at: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec_with_returning(database)
    .await?;
    tracing::info!(
        upload = row.id,
        uploader_id,
        bytes = row.byte_size,
        width = row.width,
        height = row.height,
        "a picture was uploaded"
    );
    Ok(row)
}

/// The public URL of an upload.
pub fn url_of(config: &Config, upload: &upload::Model) -> String {
    config
        .url_for(&format!("{UPLOADS_PATH}{}", upload.storage_key))
        .to_string()
}

/// The store key named by one of this instance's upload URLs, if `url` is one.
pub fn key_of_local_url<'a>(config: &Config, url: &'a str) -> Option<&'a str> {
    let prefix = config.url_for(UPLOADS_PATH);
    url.strip_prefix(prefix.as_str())
        .filter(|key| !key.is_empty() && !key.contains('/'))
}

/// An upload, by its key, when one was made.
pub async fn find_by_key(
    database: &impl ConnectionTrait,
    key: &str,
) -> Result<Option<upload::Model>> {
    Ok(upload::Entity::find()
        .filter(upload::Column::StorageKey.eq(key))
        .limit(1)
        .one(database)
        .await?)
}

/// The upload `id`, if `uploader_id` made it (422 otherwise).
pub async fn find_own(
    database: &impl ConnectionTrait,
    id: i64,
    uploader_id: i64,
) -> Result<upload::Model> {
    upload::Entity::find_by_id(id)
        .one(database)
        .await?
        .filter(|upload| upload.uploader_id == uploader_id)
        .ok_or_else(|| Error::invalid(format!("there is no picture {id} of yours")))
}

/// The uploads `ids` of `uploader_id`, in the order given, as a post's attachments: each must
/// be theirs, and there may be at most [`MAX_PICTURES_PER_POST`].
pub async fn attachments_for_post(
    database: &impl ConnectionTrait,
    config: &Config,
    uploader_id: i64,
    ids: &[i64],
) -> Result<Vec<NewAttachment>> {
    if ids.len() > MAX_PICTURES_PER_POST {
        return Err(Error::invalid(format!(
            "a post carries at most {MAX_PICTURES_PER_POST} pictures"
        )));
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let found = upload::Entity::find()
        .filter(upload::Column::Id.is_in(ids.to_vec()))
        .filter(upload::Column::UploaderId.eq(uploader_id))
        .all(database)
        .await?;
    ids.iter()
        .map(|id| {
            let upload = found
                .iter()
                .find(|upload| upload.id == *id)
                .ok_or_else(|| Error::invalid(format!("there is no picture {id} of yours")))?;
            Ok(NewAttachment {
                kind: AttachmentKind::Image,
                url: url_of(config, upload),
                media_type: Some(upload.content_type.clone()),
                name: upload.description.clone(),
                blurhash: upload.blurhash.clone(),
                width: Some(upload.width),
                height: Some(upload.height),
            })
        })
        .collect()
}

/// Marks uploads as used (by a post or a profile), so they are kept.
pub async fn mark_used(database: &impl ConnectionTrait, ids: &[i64]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    upload::Entity::update_many()
        .col_expr(upload::Column::UsedAt, Expr::value(Utc::now()))
        .filter(upload::Column::Id.is_in(ids.to_vec()))
        .filter(upload::Column::UsedAt.is_null())
        .exec(database)
        .await?;
    Ok(())
}

/// Marks as used the uploads that these URLs (a profile's icon or banner) name, if any do.
pub async fn mark_used_by_url(
    database: &impl ConnectionTrait,
    config: &Config,
    urls: &[Option<&str>],
) -> Result<()> {
    let keys: Vec<String> = urls
        .iter()
        .flatten()
        .filter_map(|url| key_of_local_url(config, url))
        .map(str::to_string)
        .collect();
    if keys.is_empty() {
        return Ok(());
    }
    upload::Entity::update_many()
        .col_expr(upload::Column::UsedAt, Expr::value(Utc::now()))
        .filter(upload::Column::StorageKey.is_in(keys))
        .filter(upload::Column::UsedAt.is_null())
        .exec(database)
        .await?;
    Ok(())
}

/// Forgets uploads that nothing used within a day of being made, and their bytes when no other
/// upload has the same ones. Returns how many went.
pub async fn forget_unused(database: &impl ConnectionTrait, store: &dyn MediaStore) -> Result<u64> {
    let cutoff = Utc::now() - chrono::Duration::days(1);
    let mut forgotten = 0;
    loop {
        let unused = upload::Entity::find()
            .filter(upload::Column::UsedAt.is_null())
            .filter(upload::Column::CreatedAt.lt(cutoff))
            .limit(500)
            .all(database)
            .await?;
        if unused.is_empty() {
            return Ok(forgotten);
        }
        for row in unused {
            forgotten += upload::Entity::delete_by_id(row.id)
                .exec(database)
                .await?
                .rows_affected;
            if find_by_key(database, &row.storage_key).await?.is_none() {
                store.delete(&row.storage_key).await?;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testing::{self, TestApp, pictures::png};
    use sea_orm::{ActiveModelTrait, IntoActiveModel};

    #[tokio::test]
    async fn uploads_nobody_used_for_a_day_are_forgotten_with_their_bytes() {
        testing::for_each_backend(async |backend| {
            let app = TestApp::on(backend).with_user("ann").start().await;
            let context = app.context();
            let ann = app.person("ann").actor.id;
            let save_png = async |side: u32| {
                save(
                    &context.db,
                    context.media_store.as_ref(),
                    &context.config,
                    ann,
                    Bytes::from(png(side, side)),
                    Some("a square"),
                )
                .await
                .unwrap()
            };
            let (unused, used, fresh) =
                (save_png(10).await, save_png(20).await, save_png(30).await);
            // The same picture twice: one row is forgotten, the bytes stay for the other.
            let twin = save_png(20).await;
            assert_eq!(twin.storage_key, used.storage_key);
            mark_used(&context.db, &[used.id]).await.unwrap();
            for old in [&unused, &used, &twin] {
                let mut row = old.clone().into_active_model();
                row.created_at = Set(Utc::now() - chrono::Duration::days(2));
                row.update(&context.db).await.unwrap();
            }
            let forgotten = forget_unused(&context.db, context.media_store.as_ref())
                .await
                .unwrap();
            assert_eq!(forgotten, 2, "the unused one and the unused twin");
            let store = context.media_store.as_ref();
            assert_eq!(store.get(&unused.storage_key).await.unwrap(), None);
            assert!(store.get(&used.storage_key).await.unwrap().is_some());
            assert!(store.get(&fresh.storage_key).await.unwrap().is_some());
            let mut left: Vec<i64> = upload::Entity::find()
                .all(&context.db)
                .await
                .unwrap()
                .into_iter()
                .map(|row| row.id)
                .collect();
            left.sort_unstable();
            assert_eq!(left, vec![used.id, fresh.id]);
            assert_eq!(used.description.as_deref(), Some("a square"));
        })
        .await;
    }
}
