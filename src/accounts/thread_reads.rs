//! Unread markers: when a signed-in person opens a thread, how many replies it had is noted;
//! a list of threads then says how many came since. Threads never opened carry no marker.

use crate::error::Result;
use chrono::Utc;
use kindred_entities::{post, thread_read};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::OnConflict,
};
use std::collections::HashMap;

/// Notes that `user_id` has seen `thread` as it is now.
pub async fn mark_read(
    database: &impl ConnectionTrait,
    user_id: i64,
    thread: &post::Model,
) -> Result<()> {
    thread_read::Entity::insert(thread_read::ActiveModel {
        user_id: Set(user_id),
        thread_id: Set(thread.id),
        seen_replies: Set(thread.reply_count),
        seen_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([thread_read::Column::UserId, thread_read::Column::ThreadId])
            .update_columns([
                thread_read::Column::SeenReplies,
                thread_read::Column::SeenAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(database)
    .await?;
    Ok(())
}

/// For each of `threads` that `user_id` opened and that has replies since, how many: one
/// query.
pub async fn new_replies(
    database: &impl ConnectionTrait,
    user_id: i64,
    threads: &[post::Model],
) -> Result<HashMap<i64, i32>> {
    if threads.is_empty() {
        return Ok(HashMap::new());
    }
    let seen = thread_read::Entity::find()
        .filter(thread_read::Column::UserId.eq(user_id))
        .filter(thread_read::Column::ThreadId.is_in(threads.iter().map(|thread| thread.id)))
        .all(database)
        .await?;
    Ok(seen
        .into_iter()
        .filter_map(|read| {
            let thread = threads.iter().find(|thread| thread.id == read.thread_id)?;
            let since = thread.reply_count - read.seen_replies;
            (since > 0).then_some((thread.id, since))
        })
        .collect())
}
