//! `/media/…`: pictures as pages show them. Remote ones come through the media proxy
//! (`federation/media_proxy.rs`): a post's picture by attachment id, an actor's icon or banner
//! by actor id; nothing else is fetched. Pictures uploaded here are served by their key, for
//! pages and for other servers.

use crate::{
    context::Context,
    error::{Error, Result},
    federation::media_proxy as proxy,
    groups::attachments,
};
use axum::{
    extract::Path,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use kindred_entities::{actor, post, post_attachment::AttachmentKind};
use sea_orm::EntityTrait;

/// `GET /media/attachments/{id}`: the picture a post carries, unless the post is not shown.
pub async fn attachment_picture(context: Context, Path(id): Path<i64>) -> Result<Response> {
    let attachment = attachments::find(&context.read_db, id)
        .await?
        .filter(|attachment| attachment.kind == AttachmentKind::Image)
        .ok_or_else(|| Error::not_found("picture"))?;
    let shown = crate::database::unique_row(
        post::Entity::find_by_id(attachment.post_id),
        &context.read_db,
    )
    .await?
    .is_some_and(|post| {
        post.deleted_at.is_none() && post.removed_at.is_none() && !post.awaiting_approval
    });
    if !shown {
        return Err(Error::not_found("picture"));
    }
    Ok(served(proxy::picture(&context, &attachment.url).await?))
}

/// `GET /media/actors/{id}/icon`: a group's or a person's icon.
pub async fn actor_icon(context: Context, Path(id): Path<i64>) -> Result<Response> {
    let icon = crate::database::unique_row(actor::Entity::find_by_id(id), &context.read_db)
        .await?
        .filter(|actor| actor.deleted_at.is_none())
        .and_then(|actor| actor.icon_url)
        .ok_or_else(|| Error::not_found("icon"))?;
    Ok(served(proxy::picture(&context, &icon).await?))
}

/// `GET /media/actors/{id}/banner`: a group's or a person's banner (its `image`).
pub async fn actor_banner(context: Context, Path(id): Path<i64>) -> Result<Response> {
    let banner = crate::database::unique_row(actor::Entity::find_by_id(id), &context.read_db)
        .await?
        .filter(|actor| actor.deleted_at.is_none())
        .and_then(|actor| actor.image_url)
        .ok_or_else(|| Error::not_found("banner"))?;
    Ok(served(proxy::picture(&context, &banner).await?))
}

/// `GET /media/uploads/{key}`: a picture uploaded here. Its key is the digest of its bytes, so
/// it never changes and may be cached for good.
pub async fn uploaded_picture(context: Context, Path(key): Path<String>) -> Result<Response> {
    let mut response = served(proxy::uploaded_picture(&context, &key).await?);
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    Ok(response)
}

fn served(picture: proxy::Served) -> Response {
    let mut response = picture.bytes.into_response();
    let headers = response.headers_mut();
    if let Ok(content_type) = HeaderValue::from_str(&picture.content_type) {
        headers.insert(header::CONTENT_TYPE, content_type);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
