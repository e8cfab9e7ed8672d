//! What posts carry besides their text (pictures, video, sound, documents, links), stored with
//! the post and replaced when it is edited.

use crate::error::Result;
use kindred_entities::post_attachment::{self, AttachmentKind};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, InsertMany, QueryFilter,
    QueryOrder,
};
use std::collections::HashMap;

/// The most attachments a post keeps; the rest are dropped.
pub const MAX_ATTACHMENTS: usize = 8;

/// An attachment arriving with a post, already checked (an http(s) URL, plain-text alt text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAttachment {
    pub kind: AttachmentKind,
    pub url: String,
    pub media_type: Option<String>,
    pub name: Option<String>,
    pub blurhash: Option<String>,
    pub width: Option<i32>,
    pub height: Option<i32>,
}

/// Replaces the attachments of `post_id` with `attachments` (at most [`MAX_ATTACHMENTS`]).
pub async fn replace(
    database: &impl ConnectionTrait,
    post_id: i64,
    attachments: &[NewAttachment],
) -> Result<()> {
    post_attachment::Entity::delete_many()
        .filter(post_attachment::Column::PostId.eq(post_id))
        .exec(database)
        .await?;
    add(database, post_id, attachments).await
}

/// Stores `attachments` (at most [`MAX_ATTACHMENTS`]) for `post_id`, a post just stored: no
/// statement at all when there are none, as for most posts (this runs on SQLite's one writer
/// for every inbound post).
pub async fn add(
    database: &impl ConnectionTrait,
    post_id: i64,
    attachments: &[NewAttachment],
) -> Result<()> {
    if let Some(insert) = insert_of(post_id, attachments) {
        insert.exec_without_returning(database).await?;
    }
    Ok(())
}

/// The insert `add` runs, or none when there are no attachments.
pub fn insert_of(
    post_id: i64,
    attachments: &[NewAttachment],
) -> Option<InsertMany<post_attachment::ActiveModel>> {
    let rows: Vec<post_attachment::ActiveModel> = attachments
        .iter()
        .take(MAX_ATTACHMENTS)
        .enumerate()
        .map(|(position, attachment)| post_attachment::ActiveModel {
            post_id: Set(post_id),
            position: Set(position as i32),
            kind: Set(attachment.kind),
            url: Set(attachment.url.clone()),
            media_type: Set(attachment.media_type.clone()),
            name: Set(attachment.name.clone()),
            blurhash: Set(attachment.blurhash.clone()),
            width: Set(attachment.width),
            height: Set(attachment.height),
            ..Default::default()
        })
        .collect();
    (!rows.is_empty()).then(|| post_attachment::Entity::insert_many(rows))
}

/// The attachments of `post_ids`, by post, in order: one query.
pub async fn of_posts(
    database: &impl ConnectionTrait,
    post_ids: Vec<i64>,
) -> Result<HashMap<i64, Vec<post_attachment::Model>>> {
    let mut by_post: HashMap<i64, Vec<post_attachment::Model>> = HashMap::new();
    if post_ids.is_empty() {
        return Ok(by_post);
    }
    for attachment in post_attachment::Entity::find()
        .filter(post_attachment::Column::PostId.is_in(post_ids))
        .order_by_asc(post_attachment::Column::PostId)
        .order_by_asc(post_attachment::Column::Position)
        .all(database)
        .await?
    {
        by_post
            .entry(attachment.post_id)
            .or_default()
            .push(attachment);
    }
    Ok(by_post)
}

/// One attachment, by id.
pub async fn find(
    database: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<post_attachment::Model>> {
    Ok(crate::database::unique_row(post_attachment::Entity::find_by_id(id), database).await?)
}
