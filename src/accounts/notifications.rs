//! Notifications: a local person hears of replies to their posts and of posts that mention
//! them, wherever those were written. Written in the same transaction as the post.

use crate::error::Result;
use chrono::Utc;
use kindred_entities::{
    actor::{self, ActorKind},
    notification::{self, NotificationKind},
    post, user,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, InsertMany, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, sea_query::OnConflict,
};

/// Notifies the author of the post `stored` answers, and every local person among
/// `mentioned_ap_ids` (the `href`s of its Mention tags, or the local names written as
/// `@name`), except its own author.
pub async fn notify_about_new_post(
    database: &impl ConnectionTrait,
    stored: &post::Model,
    mentioned_ap_ids: &[String],
) -> Result<()> {
    let parent_author_id = match stored.parent_id {
        Some(parent_id) => {
            crate::database::unique_row(post::Entity::find_by_id(parent_id), database)
                .await?
                .map(|parent| parent.author_id)
        }
        None => None,
    };
    let wanted = wanted_for_new_post(
        database,
        parent_author_id,
        stored.author_id,
        mentioned_ap_ids,
    )
    .await?;
    if let Some(insert) = insert_for_new_post(&wanted, stored.id, Utc::now()) {
        insert.exec_without_returning(database).await?;
    }
    Ok(())
}

/// Who `notify_about_new_post` notifies of a post by `author_id` answering a post by
/// `parent_author_id` and
/// mentioning `mentioned_ap_ids`, and why: read before the post is stored, when it is stored
/// in one statement (see `insert_for_new_post`).
pub async fn wanted_for_new_post(
    database: &impl ConnectionTrait,
    parent_author_id: Option<i64>,
    author_id: i64,
    mentioned_ap_ids: &[String],
) -> Result<Vec<(i64, NotificationKind)>> {
    let mut wanted: Vec<(i64, NotificationKind)> = Vec::new();
    if let Some(parent_author_id) = parent_author_id
        && parent_author_id != author_id
        && let Some(account) = account_of(database, parent_author_id).await?
    {
        wanted.push((account, NotificationKind::Reply));
    }
    if !mentioned_ap_ids.is_empty() {
        let mentioned: Vec<i64> = actor::Entity::find()
            .select_only()
            .column(actor::Column::Id)
            .filter(actor::Column::ApId.is_in(mentioned_ap_ids.iter().cloned()))
            .filter(actor::Column::Local.eq(true))
            .filter(actor::Column::Kind.eq(ActorKind::Person))
            .filter(actor::Column::Id.ne(author_id))
            .into_tuple()
            .all(database)
            .await?;
        for actor_id in mentioned {
            if let Some(account) = account_of(database, actor_id).await?
                && !wanted.iter().any(|(already, _)| *already == account)
            {
                wanted.push((account, NotificationKind::Mention));
            }
        }
    }
    Ok(wanted)
}

/// The insert of the notifications `wanted` about the post `post_id`, or none when nobody is
/// to hear of it.
pub fn insert_for_new_post(
    wanted: &[(i64, NotificationKind)],
    post_id: i64,
    now: chrono::DateTime<Utc>,
) -> Option<InsertMany<notification::ActiveModel>> {
    once_each(
        wanted
            .iter()
            .map(|(user_id, kind)| notification::ActiveModel {
                user_id: Set(*user_id),
                kind: Set(*kind),
                post_id: Set(post_id),
                created_at: Set(now),
                read_at: Set(None),
                ..Default::default()
            })
            .collect(),
    )
}

/// Inserts notifications, each at most once per person, post and kind (a repeat is ignored).
async fn insert_once(
    database: &impl ConnectionTrait,
    notifications: Vec<notification::ActiveModel>,
) -> Result<()> {
    if let Some(insert) = once_each(notifications) {
        insert.exec_without_returning(database).await?;
    }
    Ok(())
}

/// The insert of `notifications`, each at most once per person, post and kind; none when there
/// are none.
fn once_each(
    notifications: Vec<notification::ActiveModel>,
) -> Option<InsertMany<notification::ActiveModel>> {
    if notifications.is_empty() {
        return None;
    }
    Some(
        notification::Entity::insert_many(notifications).on_conflict(
            OnConflict::columns([
                notification::Column::UserId,
                notification::Column::PostId,
                notification::Column::Kind,
            ])
            .do_nothing()
            .to_owned(),
        ),
    )
}

/// Tells the author of `shared`, when they have an account here, that `sharer` shared it.
pub async fn notify_about_share(
    database: &impl ConnectionTrait,
    shared: &post::Model,
    sharer: &actor::Model,
) -> Result<()> {
    if shared.author_id == sharer.id {
        return Ok(());
    }
    let Some(account) = account_of(database, shared.author_id).await? else {
        return Ok(());
    };
    insert_once(
        database,
        vec![notification::ActiveModel {
            user_id: Set(account),
            kind: Set(NotificationKind::Share),
            post_id: Set(shared.id),
            actor_id: Set(Some(sharer.id)),
            created_at: Set(Utc::now()),
            read_at: Set(None),
            ..Default::default()
        }],
    )
    .await
}

/// The local names a markdown text mentions as `@name` or `@name@domain` (this domain only).
pub fn local_mentions(markdown: &str, domain: &str) -> Vec<String> {
    let mut names = Vec::new();
    for word in markdown.split(|c: char| c.is_whitespace() || "()[],;:!?\"'".contains(c)) {
        let Some(handle) = word.strip_prefix('@') else {
            continue;
        };
        let handle = handle.trim_end_matches('.');
        let name = match handle.split_once('@') {
            Some((name, host)) if crate::hosts::same_host(host, domain) => name,
            Some(_) => continue,
            None => handle,
        };
        let name = name.to_lowercase();
        if !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !names.contains(&name)
        {
            names.push(name);
        }
    }
    names
}

/// A person's notifications, newest first, with the posts they are about: at most `limit`,
/// with ids below `below` when given (a later page, `crate::paging`).
pub async fn list(
    database: &impl ConnectionTrait,
    user_id: i64,
    below: Option<i64>,
    limit: u64,
) -> Result<Vec<(notification::Model, post::Model)>> {
    let mut notifications =
        notification::Entity::find().filter(notification::Column::UserId.eq(user_id));
    if let Some(below) = below {
        notifications = notifications.filter(notification::Column::Id.lt(below));
    }
    let notifications = notifications
        .order_by_desc(notification::Column::Id)
        .limit(limit)
        .all(database)
        .await?;
    if notifications.is_empty() {
        return Ok(Vec::new());
    }
    let posts = post::Entity::find()
        .filter(post::Column::Id.is_in(notifications.iter().map(|found| found.post_id)))
        .all(database)
        .await?;
    Ok(notifications
        .into_iter()
        .filter_map(|found| {
            let about = posts.iter().find(|post| post.id == found.post_id)?.clone();
            Some((found, about))
        })
        .collect())
}

pub async fn unread_count(database: &impl ConnectionTrait, user_id: i64) -> Result<u64> {
    Ok(notification::Entity::find()
        .filter(notification::Column::UserId.eq(user_id))
        .filter(notification::Column::ReadAt.is_null())
        .count(database)
        .await?)
}

pub async fn mark_all_read(database: &impl ConnectionTrait, user_id: i64) -> Result<()> {
    notification::Entity::update_many()
        .col_expr(
            notification::Column::ReadAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(notification::Column::UserId.eq(user_id))
        .filter(notification::Column::ReadAt.is_null())
        .exec(database)
        .await?;
    Ok(())
}

/// The account of a local person actor, if it is one.
async fn account_of(database: &impl ConnectionTrait, actor_id: i64) -> Result<Option<i64>> {
    Ok(user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::ActorId.eq(actor_id))
        .into_tuple()
        .one(database)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_of_local_people_are_found_in_markdown() {
        assert_eq!(
            local_mentions(
                "Thanks @ann, and @Bob@k.example! Not @cid@other.example or a@b or @ or @x-y.",
                "k.example"
            ),
            vec!["ann".to_string(), "bob".to_string()]
        );
    }
}
