//! The media proxy: pages show a remote picture (a post's attachment, an actor's icon) from
//! `/media/…`, fetched here once, checked and re-encoded (`media/images.rs`), kept in the media
//! store and served from there until it has not been shown for `media.cache_max_age_days` or
//! the cache outgrows `media.cache_max_bytes`. Only URLs Kindred stored itself are fetched
//! (never one a visitor names), under every rule deliveries follow: no internal address in
//! production, no blocked server, the size capped while it streams.

use crate::{
    context::Context,
    error::{Error, Result},
    federation::{address_guard, instances},
    media::{images, uploads},
};
use bytes::Bytes;
use chrono::Utc;
use kindred_entities::media_cache;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, OnConflict},
};
use sha2::{Digest, Sha256};
use url::Url;

/// A picture to serve.
pub struct Served {
    pub content_type: String,
    pub bytes: Bytes,
}

/// How stale a cache row's `last_used_at` may get before a read brings it up to date (one
/// write an hour per picture at most, however often it is shown).
const TOUCH_AFTER: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// The picture at `source_url` (a URL Kindred stored: an attachment's or an icon's), from the
/// cache, or fetched, checked, re-encoded and cached now. A picture uploaded here is read from
/// the store.
pub async fn picture(context: &Context, source_url: &str) -> Result<Served> {
    if let Some(key) = uploads::key_of_local_url(&context.config, source_url) {
        return uploaded_picture(context, key).await;
    }
    let cached = crate::database::unique_row(
        media_cache::Entity::find().filter(media_cache::Column::SourceUrl.eq(source_url)),
        &context.read_db,
    )
    .await?;
    if let Some(row) = cached
        && let Some(bytes) = context.media_store.get(&row.storage_key).await?
    {
        if Utc::now() - row.last_used_at > TOUCH_AFTER {
            media_cache::Entity::update_many()
                .col_expr(media_cache::Column::LastUsedAt, Expr::value(Utc::now()))
                .filter(media_cache::Column::Id.eq(row.id))
                .exec(&context.db)
                .await?;
        }
        return Ok(Served {
            content_type: row.content_type,
            bytes,
        });
    }
    let raw = fetch(context, source_url).await?;
    let limits = context.config.media.clone();
    let picture = tokio::task::spawn_blocking(move || images::reencode(&raw, &limits))
        .await
        .map_err(Error::internal)?
        .map_err(|refusal| {
            tracing::info!(url = %source_url, %refusal, "a remote picture was refused");
            Error::Invalid(format!("the remote file is {refusal}"))
        })?;
    let key = format!(
        "{:x}.{}",
        Sha256::digest(source_url.as_bytes()),
        picture.extension
    );
    let bytes = Bytes::from(picture.bytes);
    context.media_store.put(&key, bytes.clone()).await?;
    let now = Utc::now();
    media_cache::Entity::insert(media_cache::ActiveModel {
        source_url: Set(source_url.to_string()),
        storage_key: Set(key),
        content_type: Set(picture.content_type.to_string()),
        byte_size: Set(bytes.len() as i64),
        width: Set(i32::try_from(picture.width).ok()),
        height: Set(i32::try_from(picture.height).ok()),
        fetched_at: Set(now),
        last_used_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::column(media_cache::Column::SourceUrl)
            .update_columns([
                media_cache::Column::StorageKey,
                media_cache::Column::ContentType,
                media_cache::Column::ByteSize,
                media_cache::Column::Width,
                media_cache::Column::Height,
                media_cache::Column::FetchedAt,
                media_cache::Column::LastUsedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(&context.db)
    .await?;
    Ok(Served {
        content_type: picture.content_type.to_string(),
        bytes,
    })
}

/// A picture uploaded here, by its key.
pub async fn uploaded_picture(context: &Context, key: &str) -> Result<Served> {
    let upload = uploads::find_by_key(&context.read_db, key)
        .await?
        .ok_or_else(|| Error::not_found("picture"))?;
    let bytes = context
        .media_store
        .get(&upload.storage_key)
        .await?
        .ok_or_else(|| Error::not_found("picture"))?;
    Ok(Served {
        content_type: upload.content_type,
        bytes,
    })
}

/// Fetches a remote file of at most `media.max_remote_bytes`, under the outbound rules.
async fn fetch(context: &Context, source_url: &str) -> Result<Vec<u8>> {
    let url = Url::parse(source_url).map_err(|_| Error::not_found("picture"))?;
    address_guard::check_outbound_url(&context.config, &url).map_err(Error::Forbidden)?;
    let host = instances::host_of(&url)?;
    let blocked = instances::cached_blocked_hosts(context, &context.read_db).await?;
    if !instances::federates_with(&context.config, &blocked, &host) {
        return Err(Error::Forbidden(format!("{host} is blocked here")));
    }
    let most = context.config.media.max_remote_bytes;
    let unreachable = |error: reqwest::Error| match address_guard::refusal_in(&error) {
        Some(refusal) => Error::Forbidden(refusal),
        None => {
            tracing::info!(url = %source_url, %error, "a remote picture could not be fetched");
            Error::not_found("picture")
        }
    };
    let mut response = context
        .http_client
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "image/*")
        .send()
        .await
        .map_err(unreachable)?;
    if !response.status().is_success() {
        return Err(Error::not_found("picture"));
    }
    if response
        .content_length()
        .is_some_and(|length| length > most)
    {
        return Err(Error::Invalid(format!(
            "the remote file is larger than {most} bytes"
        )));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        if (bytes.len() + chunk.len()) as u64 > most {
            return Err(Error::Invalid(format!(
                "the remote file is larger than {most} bytes"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Forgets cached pictures not shown for `media.cache_max_age_days`, then the least recently
/// shown until the cache holds at most `media.cache_max_bytes`. Returns how many went.
pub async fn evict(context: &Context) -> Result<u64> {
    let limits = &context.config.media;
    let mut evicted = 0;
    let too_old = Utc::now() - chrono::Duration::days(i64::from(limits.cache_max_age_days));
    loop {
        let stale = media_cache::Entity::find()
            .filter(media_cache::Column::LastUsedAt.lt(too_old))
            .limit(500)
            .all(&context.db)
            .await?;
        if stale.is_empty() {
            break;
        }
        evicted += forget(context, stale).await?;
    }
    loop {
        // Cast: PostgreSQL sums a bigint as a numeric.
        let total: Option<i64> = media_cache::Entity::find()
            .select_only()
            .column_as(
                Expr::cust("CAST(COALESCE(SUM(byte_size), 0) AS BIGINT)"),
                "total",
            )
            .into_tuple()
            .one(&context.db)
            .await?;
        let total = total.unwrap_or(0).max(0) as u64;
        if total <= limits.cache_max_bytes {
            break;
        }
        let mut over = total - limits.cache_max_bytes;
        let oldest = media_cache::Entity::find()
            .order_by_asc(media_cache::Column::LastUsedAt)
            .order_by_asc(media_cache::Column::Id)
            .limit(500)
            .all(&context.db)
            .await?;
        let mut going = Vec::new();
        for row in oldest {
            if over == 0 {
                break;
            }
            over = over.saturating_sub(row.byte_size.max(0) as u64);
            going.push(row);
        }
        if going.is_empty() {
            break;
        }
        evicted += forget(context, going).await?;
    }
    Ok(evicted)
}

async fn forget(context: &Context, rows: Vec<media_cache::Model>) -> Result<u64> {
    let mut forgotten = 0;
    for row in rows {
        context.media_store.delete(&row.storage_key).await?;
        forgotten += media_cache::Entity::delete_by_id(row.id)
            .exec(&context.db)
            .await?
            .rows_affected;
    }
    Ok(forgotten)
}
