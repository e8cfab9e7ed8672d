//! Finding the post, group or person a request names by id: one 404 each, for the web pages
//! and the API alike.

use crate::{
    database::unique_row,
    error::{Error, Result},
};
use kindred_entities::{actor, post};
use sea_orm::{ConnectionTrait, EntityTrait};

/// The post with this id, or 404.
pub async fn post(database: &impl ConnectionTrait, id: i64) -> Result<post::Model> {
    unique_row(post::Entity::find_by_id(id), database)
        .await?
        .ok_or_else(|| Error::not_found("post"))
}

/// The post with this id as a path gives it; an id that is not a number is not found either.
pub async fn post_by_text(database: &impl ConnectionTrait, id: &str) -> Result<post::Model> {
    post(database, id.parse().map_err(|_| Error::not_found("post"))?).await
}

/// The actor (a group or a person) with this id, or 404 naming `what`.
pub async fn actor(
    database: &impl ConnectionTrait,
    id: i64,
    what: &'static str,
) -> Result<actor::Model> {
    unique_row(actor::Entity::find_by_id(id), database)
        .await?
        .ok_or_else(|| Error::not_found(what))
}

/// The thread a post belongs to: the post itself when it opens the thread.
pub async fn thread_of(database: &impl ConnectionTrait, found: post::Model) -> Result<post::Model> {
    match found.thread_id {
        Some(thread_id) => post(database, thread_id).await,
        None => Ok(found),
    }
}
