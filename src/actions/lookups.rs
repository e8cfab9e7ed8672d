//! Finding the post, group or person a request names by id: one 404 each, for the web pages
//! and the API alike.

use crate::{
    database::unique_row,
    error::{Error, Result},
};
use kindred_entities::{actor, post};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

/// The post with this id, or 404.
pub async fn post(database: &impl ConnectionTrait, id: i64) -> Result<post::Model> {
    unique_row(post::Entity::find_by_id(id), database)
        .await?
        .ok_or_else(|| Error::not_found("post"))
}

/// A local post as other servers may fetch it at its id: not one waiting for approval.
pub async fn published_local_post(database: &impl ConnectionTrait, id: i64) -> Result<post::Model> {
    unique_row(post::Entity::find_by_id(id), database)
        .await?
        .filter(|stored| stored.local && !stored.awaiting_approval)
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

/// The actor with this id, when there is one (a log entry or ban may name someone since
/// removed from the database).
pub async fn actor_if_any(
    database: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<actor::Model>> {
    Ok(unique_row(actor::Entity::find_by_id(id), database).await?)
}

/// The thread a post belongs to: the post itself when it opens the thread.
pub async fn thread_of(database: &impl ConnectionTrait, found: post::Model) -> Result<post::Model> {
    match found.thread_id {
        Some(thread_id) => post(database, thread_id).await,
        None => Ok(found),
    }
}

/// A person by handle, as a moderator types it: `name` for someone here, or `name@host` (with
/// or without a leading `@`) for someone this instance knows. `our_domain` is this instance's.
pub async fn person_by_handle(
    database: &impl ConnectionTrait,
    our_domain: &str,
    handle: &str,
) -> Result<actor::Model> {
    use sea_orm::sea_query::{Expr, ExprTrait, Func};
    let handle = handle.trim().trim_start_matches('@');
    let (name, host) = match handle.split_once('@') {
        Some((name, host)) => (name, host.to_lowercase()),
        None => (handle, our_domain.to_string()),
    };
    actor::Entity::find()
        .filter(actor::Column::Kind.eq(actor::ActorKind::Person))
        .filter(actor::Column::DeletedAt.is_null())
        .filter(
            Expr::expr(Func::lower(Expr::col(actor::Column::PreferredUsername)))
                .eq(name.to_lowercase()),
        )
        .all(database)
        .await?
        .into_iter()
        .find(|person| {
            person.preferred_username.eq_ignore_ascii_case(name)
                && crate::hosts::same_host(
                    &crate::groups::directory::host_of_id(&person.ap_id),
                    &host,
                )
        })
        .ok_or_else(|| Error::not_found("person with that handle"))
}
